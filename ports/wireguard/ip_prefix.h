// ports/wireguard/ip_prefix.h: IP addresses and CIDR prefixes as WireGuard's
// configuration carries them (AllowedIPs, wg-quick Address, UAPI allowed_ip).
//
// One value type for both families so that a peer's AllowedIPs is one list.
// The address bytes are in network order (as in a packet header); an IPv4
// address uses the first 4 of the 16 bytes and the rest stay zero, so the
// defaulted comparisons order IPv4 before IPv6 and, within a family, by
// address and then by prefix length (a containing prefix sorts before the
// prefixes it contains), which the cryptokey table's builder relies on.
//
// Text: inet_pton/inet_ntop forms; "10.0.0.1" without a length is a host
// prefix (/32 or /128), as `wg` reads it.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sockswitch::wireguard {

enum class IpFamily : std::uint8_t { v4 = 4, v6 = 6 };

class IpAddress final {
 public:
  IpAddress() noexcept = default;  // 0.0.0.0
  [[nodiscard]] static IpAddress v4(std::span<const std::uint8_t, 4> bytes) noexcept;
  [[nodiscard]] static IpAddress v6(std::span<const std::uint8_t, 16> bytes) noexcept;
  // Numeric text only ("192.0.2.1", "2001:db8::1"); no names, no scope.
  [[nodiscard]] static std::optional<IpAddress> parse(std::string_view text) noexcept;

  [[nodiscard]] IpFamily family() const noexcept { return family_; }
  [[nodiscard]] bool is_v4() const noexcept { return family_ == IpFamily::v4; }
  [[nodiscard]] unsigned bit_length() const noexcept { return is_v4() ? 32 : 128; }
  // 4 or 16 bytes, network order.
  [[nodiscard]] std::span<const std::uint8_t> bytes() const noexcept {
    return {bytes_.data(), is_v4() ? 4u : 16u};
  }
  [[nodiscard]] std::string to_string() const;

  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;

 private:
  IpFamily family_ = IpFamily::v4;
  std::array<std::uint8_t, 16> bytes_{};
};

struct IpPrefix {
  IpAddress address;
  std::uint8_t length = 0;  // 0..32 or 0..128

  // "10.0.0.0/8", "fd00::/64", "10.0.0.1" (host prefix). Host bits are kept
  // as written; call masked() to normalise them as WireGuard does on insert.
  [[nodiscard]] static std::optional<IpPrefix> parse(std::string_view text) noexcept;

  [[nodiscard]] IpPrefix masked() const noexcept;
  [[nodiscard]] bool has_host_bits() const noexcept { return masked() != *this; }
  [[nodiscard]] bool contains(const IpAddress& a) const noexcept;
  [[nodiscard]] std::string to_string() const;  // "10.0.0.0/8"

  friend auto operator<=>(const IpPrefix&, const IpPrefix&) = default;
};

}  // namespace sockswitch::wireguard
