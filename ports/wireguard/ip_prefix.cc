// ports/wireguard/ip_prefix.cc: text forms and masking of IP addresses and prefixes.
#include "ports/wireguard/ip_prefix.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace sockswitch::wireguard {

IpAddress IpAddress::v4(std::span<const std::uint8_t, 4> bytes) noexcept {
  IpAddress a;
  a.family_ = IpFamily::v4;
  std::memcpy(a.bytes_.data(), bytes.data(), 4);
  return a;
}

IpAddress IpAddress::v6(std::span<const std::uint8_t, 16> bytes) noexcept {
  IpAddress a;
  a.family_ = IpFamily::v6;
  std::memcpy(a.bytes_.data(), bytes.data(), 16);
  return a;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) noexcept {
  // inet_pton wants a NUL-terminated string; the longest IPv6 text is 45.
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  std::array<std::uint8_t, 16> bytes{};
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, bytes.data()) != 1) return std::nullopt;
    return v4(std::span<const std::uint8_t, 4>(bytes.data(), 4));
  }
  if (inet_pton(AF_INET6, buf, bytes.data()) != 1) return std::nullopt;
  return v6(bytes);
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof buf);
  return buf;
}

std::optional<IpPrefix> IpPrefix::parse(std::string_view text) noexcept {
  const std::size_t slash = text.find('/');
  const auto address = IpAddress::parse(text.substr(0, slash));
  if (!address) return std::nullopt;
  const unsigned max = address->bit_length();
  unsigned length = max;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    // Decimal only, no sign, no leading zeros beyond "0" itself.
    if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits[0] == '0'))
      return std::nullopt;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
    if (ec != std::errc{} || end != digits.data() + digits.size() || length > max)
      return std::nullopt;
  }
  return IpPrefix{*address, static_cast<std::uint8_t>(length)};
}

IpPrefix IpPrefix::masked() const noexcept {
  std::array<std::uint8_t, 16> bytes{};
  const auto src = address.bytes();
  for (std::size_t i = 0; i < src.size(); ++i) {
    const int bits = static_cast<int>(length) - static_cast<int>(i * 8);
    if (bits >= 8)
      bytes[i] = src[i];
    else if (bits > 0)
      bytes[i] = static_cast<std::uint8_t>(src[i] & (0xff00u >> bits));
  }
  const IpAddress a = address.is_v4()
                          ? IpAddress::v4(std::span<const std::uint8_t, 4>(bytes.data(), 4))
                          : IpAddress::v6(bytes);
  return IpPrefix{a, length};
}

bool IpPrefix::contains(const IpAddress& a) const noexcept {
  if (a.family() != address.family()) return false;
  return IpPrefix{a, length}.masked().address == masked().address;
}

std::string IpPrefix::to_string() const {
  return address.to_string() + "/" + std::to_string(length);
}

}  // namespace sockswitch::wireguard
