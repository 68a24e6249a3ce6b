// flowtable/value_text.cc: numbers and addresses as flow text, both ways.
#include "flowtable/value_text.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <array>
#include <cstring>

namespace sockswitch::flowtable {
namespace {

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A 0..max prefix length; `bits` is the address width.
int parse_prefix(std::string_view s, int bits) {
  if (s.empty() || s.size() > 4) throw ValueError(fmt::format("prefix '/{}' is not a number", s));
  int n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') throw ValueError(fmt::format("prefix '/{}' is not a number", s));
    n = n * 10 + (c - '0');
  }
  if (n > bits) throw ValueError(fmt::format("prefix /{} is out of range 0..{}", s, bits));
  return n;
}

Wide wide_prefix(int n) noexcept {
  Wide m;
  if (n >= 64) {
    m.hi = ~std::uint64_t{0};
    m.lo = n == 64 ? 0 : ~std::uint64_t{0} << (128 - n);
  } else {
    m.hi = n == 0 ? 0 : ~std::uint64_t{0} << (64 - n);
  }
  return m;
}

std::optional<int> prefix_len(std::uint64_t hi, std::uint64_t lo) noexcept {
  // A prefix mask is a run of ones then only zeros.
  int n = 0;
  bool zero_seen = false;
  for (int i = 0; i < 128; ++i) {
    const std::uint64_t word = i < 64 ? hi : lo;
    if (word >> (63 - i % 64) & 1) {
      if (zero_seen) return std::nullopt;
      ++n;
    } else {
      zero_seen = true;
    }
  }
  return n;
}

}  // namespace

MaskedText split_mask(std::string_view s) noexcept {
  const auto slash = s.find('/');
  if (slash == std::string_view::npos) return {s, std::nullopt};
  return {s.substr(0, slash), s.substr(slash + 1)};
}

std::uint64_t parse_number(std::string_view s) {
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    std::string_view digits = s.substr(2);
    std::uint64_t v = 0;
    for (char c : digits) {
      const int d = hex_digit(c);
      if (d < 0) throw ValueError(fmt::format("'{}' is not a number", s));
      if (v >> 60) throw ValueError(fmt::format("{} does not fit in 64 bits", s));
      v = v << 4 | static_cast<std::uint64_t>(d);
    }
    return v;
  }
  if (s.empty()) throw ValueError("a number is missing");
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') throw ValueError(fmt::format("'{}' is not a number", s));
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (~std::uint64_t{0} - d) / 10)
      throw ValueError(fmt::format("{} does not fit in 64 bits", s));
    v = v * 10 + d;
  }
  if (s.size() > 1 && s[0] == '0')
    throw ValueError(fmt::format(
        "'{}' has a leading zero, which ovs-ofctl reads as octal; write it in decimal or 0x hex",
        s));
  return v;
}

std::uint64_t parse_number_max(std::string_view s, std::uint64_t max) {
  const std::uint64_t v = parse_number(s);
  if (v > max) throw ValueError(fmt::format("is out of range 0..{}", max), true);
  return v;
}

std::uint64_t parse_mac(std::string_view s) {
  std::uint64_t mac = 0;
  std::size_t pos = 0;
  for (int i = 0; i < 6; ++i) {
    int digits = 0;
    unsigned byte = 0;
    while (pos < s.size() && digits < 3 && hex_digit(s[pos]) >= 0) {
      byte = byte << 4 | static_cast<unsigned>(hex_digit(s[pos]));
      ++pos;
      ++digits;
    }
    const bool sep_ok = i == 5 ? pos == s.size() : pos < s.size() && s[pos] == ':';
    if (digits == 0 || digits > 2 || !sep_ok)
      throw ValueError(fmt::format("'{}' is not a MAC address (xx:xx:xx:xx:xx:xx)", s));
    if (i < 5) ++pos;
    mac = mac << 8 | byte;
  }
  return mac;
}

std::uint32_t parse_ipv4(std::string_view s) {
  std::uint32_t addr = 0;
  std::size_t pos = 0;
  for (int i = 0; i < 4; ++i) {
    const std::size_t start = pos;
    unsigned octet = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9' && pos - start < 4) {
      octet = octet * 10 + static_cast<unsigned>(s[pos] - '0');
      ++pos;
    }
    const std::size_t len = pos - start;
    const bool sep_ok = i == 3 ? pos == s.size() : pos < s.size() && s[pos] == '.';
    if (len == 0 || len > 3 || !sep_ok)
      throw ValueError(fmt::format("'{}' is not an IPv4 address (A.B.C.D)", s));
    if (len > 1 && s[start] == '0')
      throw ValueError(
          fmt::format("'{}' has an octet with a leading zero (read as octal by some tools)", s));
    if (octet > 255)
      throw ValueError(fmt::format("'{}' has octet {} out of range 0..255", s, octet));
    if (i < 3) ++pos;
    addr = addr << 8 | octet;
  }
  return addr;
}

Wide parse_ipv6(std::string_view s) {
  std::array<unsigned char, 16> bytes{};
  const std::string text(s);
  if (s.size() > 45 || ::inet_pton(AF_INET6, text.c_str(), bytes.data()) != 1)
    throw ValueError(fmt::format("'{}' is not an IPv6 address", s));
  Wide w;
  for (std::size_t i = 0; i < 8; ++i)
    w.hi = w.hi << 8 | bytes[i];
  for (std::size_t i = 8; i < 16; ++i)
    w.lo = w.lo << 8 | bytes[i];
  return w;
}

std::uint32_t parse_ipv4_mask(std::string_view s) {
  if (s.find('.') != std::string_view::npos) return parse_ipv4(s);
  const int n = parse_prefix(s, 32);
  return n == 0 ? 0 : ~std::uint32_t{0} << (32 - n);
}

Wide parse_ipv6_mask(std::string_view s) {
  if (s.find(':') != std::string_view::npos) return parse_ipv6(s);
  return wide_prefix(parse_prefix(s, 128));
}

std::string format_hex(std::uint64_t v) {
  return fmt::format("{:#x}", v);
}

std::string format_mac(std::uint64_t mac) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", mac >> 40 & 0xff,
                     mac >> 32 & 0xff, mac >> 24 & 0xff, mac >> 16 & 0xff, mac >> 8 & 0xff,
                     mac & 0xff);
}

std::string format_ipv4(std::uint32_t a) {
  return fmt::format("{}.{}.{}.{}", a >> 24, a >> 16 & 0xff, a >> 8 & 0xff, a & 0xff);
}

std::string format_ipv6(Wide w) {
  std::array<unsigned char, 16> bytes{};
  for (std::size_t i = 0; i < 8; ++i)
    bytes[i] = static_cast<unsigned char>(w.hi >> (56 - 8 * i));
  for (std::size_t i = 0; i < 8; ++i)
    bytes[8 + i] = static_cast<unsigned char>(w.lo >> (56 - 8 * i));
  std::array<char, INET6_ADDRSTRLEN> buf{};
  ::inet_ntop(AF_INET6, bytes.data(), buf.data(), buf.size());
  return buf.data();
}

std::string format_ipv4_mask(std::uint32_t mask) {
  if (mask == ~std::uint32_t{0}) return "";
  if (auto n = prefix_len(std::uint64_t{mask} << 32, 0)) return fmt::format("/{}", *n);
  return fmt::format("/{}", format_ipv4(mask));
}

std::string format_ipv6_mask(Wide mask) {
  if (mask.hi == ~std::uint64_t{0} && mask.lo == ~std::uint64_t{0}) return "";
  if (auto n = prefix_len(mask.hi, mask.lo)) return fmt::format("/{}", *n);
  return fmt::format("/{}", format_ipv6(mask));
}

bool equals_ignore_case(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace sockswitch::flowtable
