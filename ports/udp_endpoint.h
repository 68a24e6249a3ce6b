// ports/udp_endpoint.h: an IPv4 or IPv6 address with a UDP port, as the underlay sees it.
//
// The WireGuard port's UDP socket is dual-stack (one AF_INET6 socket that
// also carries IPv4 as v4-mapped addresses), so every endpoint is kept in
// one form: a sockaddr_in6, with IPv4 stored as ::ffff:a.b.c.d. recvmmsg
// writes straight into it, and sendmmsg points at it, so moving endpoints
// between the socket and the protocol code never converts or allocates.
// When the host has no IPv6 and the socket falls back to AF_INET, the
// socket converts at its edge (UdpBatchSocket::sockaddr_for), not here.
//
// A value type: trivially copyable, compared by address, port and (for
// link-local IPv6) scope id; flow label and the other sockaddr fields are
// ignored so that a reply from the same peer compares equal.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace sockswitch::ports {

class UdpEndpoint final {
 public:
  UdpEndpoint() noexcept { std::memset(&sa_, 0, sizeof sa_); }

  // From a sockaddr_in or sockaddr_in6 of `len` bytes; nullopt for any
  // other family or a short length.
  [[nodiscard]] static std::optional<UdpEndpoint> from_sockaddr(const sockaddr* sa,
                                                                socklen_t len) noexcept;
  // a.b.c.d (network byte order) and a host-order port.
  [[nodiscard]] static UdpEndpoint ipv4(std::uint32_t addr_be, std::uint16_t port) noexcept;
  [[nodiscard]] static UdpEndpoint ipv6(const in6_addr& addr, std::uint16_t port,
                                        std::uint32_t scope_id = 0) noexcept;
  // "192.0.2.1:51820", "[2001:db8::1]:51820", "[fe80::1%eth0]:51820";
  // numeric only (no DNS: the control path resolves names before this).
  [[nodiscard]] static std::optional<UdpEndpoint> parse(std::string_view text) noexcept;

  [[nodiscard]] bool is_set() const noexcept { return sa_.sin6_family == AF_INET6; }
  [[nodiscard]] bool is_v4() const noexcept;  // v4-mapped
  [[nodiscard]] std::uint16_t port() const noexcept { return ntohs(sa_.sin6_port); }
  [[nodiscard]] const sockaddr_in6& sockaddr6() const noexcept { return sa_; }
  // The IPv4 address in network byte order; meaningful when is_v4().
  [[nodiscard]] std::uint32_t v4_addr_be() const noexcept;

  // The form `wg` prints: "192.0.2.1:51820" or "[2001:db8::1]:51820".
  [[nodiscard]] std::string to_string() const;

  // For recvmmsg: the kernel writes the source here.
  [[nodiscard]] sockaddr_in6* raw() noexcept { return &sa_; }

  friend bool operator==(const UdpEndpoint& a, const UdpEndpoint& b) noexcept {
    return a.sa_.sin6_family == b.sa_.sin6_family && a.sa_.sin6_port == b.sa_.sin6_port &&
           std::memcmp(&a.sa_.sin6_addr, &b.sa_.sin6_addr, sizeof(in6_addr)) == 0 &&
           a.sa_.sin6_scope_id == b.sa_.sin6_scope_id;
  }

 private:
  sockaddr_in6 sa_;
};

}  // namespace sockswitch::ports
