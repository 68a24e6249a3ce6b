// ports/wireguard/endpoint.cc: endpoint text, name resolution and sockaddr forms.
#include "ports/wireguard/endpoint.h"

#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>
#include <memory>

namespace sockswitch::wireguard {
namespace {

struct HostPort {
  std::string_view host;  // without brackets
  std::string_view port;
};

// "host:port" or "[host]:port"; the port is what follows the last ':'
// outside brackets.
std::optional<HostPort> split_host_port(std::string_view text) noexcept {
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::nullopt;
    return HostPort{text.substr(1, close - 1), text.substr(close + 2)};
  }
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::string_view host = text.substr(0, colon);
  // An unbracketed IPv6 address is ambiguous ("::1:51820"); `wg` rejects it too.
  if (host.find(':') != std::string_view::npos) return std::nullopt;
  return HostPort{host, text.substr(colon + 1)};
}

std::optional<std::uint16_t> parse_port(std::string_view text) noexcept {
  unsigned value = 0;
  if (text.empty() || text.size() > 5) return std::nullopt;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > 65535)
    return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

// "fe80::1%eth0" or "fe80::1%2" -> address and scope id.
std::optional<std::pair<IpAddress, std::uint32_t>> parse_scoped(std::string_view host) noexcept {
  const std::size_t pct = host.find('%');
  const auto address = IpAddress::parse(host.substr(0, pct));
  if (!address) return std::nullopt;
  if (pct == std::string_view::npos) return std::pair{*address, std::uint32_t{0}};
  if (address->is_v4()) return std::nullopt;
  const std::string_view scope = host.substr(pct + 1);
  std::uint32_t id = 0;
  const auto [end, ec] = std::from_chars(scope.data(), scope.data() + scope.size(), id);
  if (scope.empty()) return std::nullopt;
  if (ec != std::errc{} || end != scope.data() + scope.size()) {
    char name[IF_NAMESIZE];
    if (scope.size() >= sizeof name) return std::nullopt;
    std::memcpy(name, scope.data(), scope.size());
    name[scope.size()] = '\0';
    id = if_nametoindex(name);
    if (id == 0) return std::nullopt;
  }
  return std::pair{*address, id};
}

}  // namespace

std::optional<Endpoint> Endpoint::parse(std::string_view text) noexcept {
  const auto hp = split_host_port(text);
  if (!hp) return std::nullopt;
  const bool bracketed = text.front() == '[';
  const auto port = parse_port(hp->port);
  const auto scoped = parse_scoped(hp->host);
  if (!port || !scoped) return std::nullopt;
  // Brackets exactly around IPv6, as `wg` prints it.
  if (bracketed == scoped->first.is_v4()) return std::nullopt;
  return Endpoint{scoped->first, *port, scoped->second};
}

std::optional<Endpoint> Endpoint::resolve(std::string_view text, std::string& error) {
  bool lookup_failed = false;
  return resolve(text, error, lookup_failed);
}

std::optional<Endpoint> Endpoint::resolve(std::string_view text, std::string& error,
                                          bool& lookup_failed) {
  lookup_failed = false;
  if (auto numeric = parse(text)) return numeric;
  const auto hp = split_host_port(text);
  if (!hp || hp->host.empty()) {
    error = "endpoint must be host:port or [IPv6]:port";
    return std::nullopt;
  }
  const auto port = parse_port(hp->port);
  if (!port) {
    error = "endpoint port must be 1..65535";
    return std::nullopt;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_protocol = IPPROTO_UDP;
  addrinfo* found = nullptr;
  const std::string host(hp->host);
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (rc != 0) {
    error = "cannot resolve endpoint host: " + std::string(gai_strerror(rc));
    lookup_failed = true;
    return std::nullopt;
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owner(found, &freeaddrinfo);
  // The first answer, as `wg` takes it.
  for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    if (auto e = from_sockaddr(ai->ai_addr, ai->ai_addrlen)) {
      e->port = *port;
      return e;
    }
  }
  error = "endpoint host has no IPv4 or IPv6 address";
  lookup_failed = true;
  return std::nullopt;
}

socklen_t Endpoint::to_sockaddr(sockaddr_storage& out) const noexcept {
  std::memset(&out, 0, sizeof out);
  if (address.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&out);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, address.bytes().data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  sin6->sin6_scope_id = scope_id;
  std::memcpy(&sin6->sin6_addr, address.bytes().data(), 16);
  return sizeof(sockaddr_in6);
}

std::optional<Endpoint> Endpoint::from_sockaddr(const sockaddr* sa, socklen_t len) noexcept {
  if (sa == nullptr) return std::nullopt;
  if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    sockaddr_in sin;
    std::memcpy(&sin, sa, sizeof sin);
    std::array<std::uint8_t, 4> b;
    std::memcpy(b.data(), &sin.sin_addr, 4);
    return Endpoint{IpAddress::v4(b), ntohs(sin.sin_port), 0};
  }
  if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    sockaddr_in6 sin6;
    std::memcpy(&sin6, sa, sizeof sin6);
    std::array<std::uint8_t, 16> b;
    std::memcpy(b.data(), &sin6.sin6_addr, 16);
    return Endpoint{IpAddress::v6(b), ntohs(sin6.sin6_port), sin6.sin6_scope_id};
  }
  return std::nullopt;
}

std::string Endpoint::to_string() const {
  if (address.is_v4()) return address.to_string() + ":" + std::to_string(port);
  std::string host = address.to_string();
  if (scope_id != 0) {
    char name[IF_NAMESIZE];
    host += "%";
    host +=
        if_indextoname(scope_id, name) != nullptr ? std::string(name) : std::to_string(scope_id);
  }
  return "[" + host + "]:" + std::to_string(port);
}

}  // namespace sockswitch::wireguard
