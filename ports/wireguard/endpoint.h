// ports/wireguard/endpoint.h: a peer's UDP endpoint as configuration and the
// UAPI carry it (an address, a port and, for link-local IPv6, a scope).
//
// Text forms are those of `wg`: "192.0.2.1:51820", "[2001:db8::1]:51820",
// "[fe80::1%eth0]:51820". parse() is numeric only and never blocks, for the
// UAPI (wireguard-go accepts only numeric endpoints there too); resolve()
// also accepts host names and looks them up with getaddrinfo, as `wg` and
// wg-quick do when they read a file. It blocks on DNS, so it belongs to the
// control path only, when a file is loaded.
//
// The socket side (ports/, which this library does not depend on) converts
// with to_sockaddr() into its own sockaddr form.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ports/wireguard/ip_prefix.h"

namespace sockswitch::wireguard {

struct Endpoint {
  IpAddress address;
  std::uint16_t port = 0;
  std::uint32_t scope_id = 0;  // IPv6 link-local interface index; 0 otherwise

  [[nodiscard]] static std::optional<Endpoint> parse(std::string_view text) noexcept;
  // Resolves "host:port" or "[host]:port" (a name or a numeric address);
  // on failure returns nullopt and sets `error` to a sentence saying why.
  [[nodiscard]] static std::optional<Endpoint> resolve(std::string_view text, std::string& error);
  // The same; `lookup_failed` says whether the text was a good host:port
  // whose name did not resolve (now: no DNS yet at boot, say), as opposed
  // to text that can never be an endpoint.
  [[nodiscard]] static std::optional<Endpoint> resolve(std::string_view text, std::string& error,
                                                       bool& lookup_failed);

  // sockaddr_in or sockaddr_in6 into `out`; returns its length.
  socklen_t to_sockaddr(sockaddr_storage& out) const noexcept;
  [[nodiscard]] static std::optional<Endpoint> from_sockaddr(const sockaddr* sa,
                                                             socklen_t len) noexcept;

  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

}  // namespace sockswitch::wireguard
