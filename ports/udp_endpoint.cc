// ports/udp_endpoint.cc: conversions between endpoints, sockaddrs and text.
#include "ports/udp_endpoint.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <net/if.h>

#include <charconv>

namespace sockswitch::ports {

std::optional<UdpEndpoint> UdpEndpoint::from_sockaddr(const sockaddr* sa, socklen_t len) noexcept {
  if (sa == nullptr) return std::nullopt;
  if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    sockaddr_in in;
    std::memcpy(&in, sa, sizeof in);
    return ipv4(in.sin_addr.s_addr, ntohs(in.sin_port));
  }
  if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    sockaddr_in6 in6;
    std::memcpy(&in6, sa, sizeof in6);
    return ipv6(in6.sin6_addr, ntohs(in6.sin6_port), in6.sin6_scope_id);
  }
  return std::nullopt;
}

UdpEndpoint UdpEndpoint::ipv4(std::uint32_t addr_be, std::uint16_t port) noexcept {
  UdpEndpoint e;
  e.sa_.sin6_family = AF_INET6;
  e.sa_.sin6_port = htons(port);
  e.sa_.sin6_addr.s6_addr[10] = 0xff;
  e.sa_.sin6_addr.s6_addr[11] = 0xff;
  std::memcpy(&e.sa_.sin6_addr.s6_addr[12], &addr_be, 4);
  return e;
}

UdpEndpoint UdpEndpoint::ipv6(const in6_addr& addr, std::uint16_t port,
                              std::uint32_t scope_id) noexcept {
  UdpEndpoint e;
  e.sa_.sin6_family = AF_INET6;
  e.sa_.sin6_port = htons(port);
  e.sa_.sin6_addr = addr;
  e.sa_.sin6_scope_id = scope_id;
  return e;
}

bool UdpEndpoint::is_v4() const noexcept {
  return is_set() && IN6_IS_ADDR_V4MAPPED(&sa_.sin6_addr);
}

std::uint32_t UdpEndpoint::v4_addr_be() const noexcept {
  std::uint32_t a;
  std::memcpy(&a, &sa_.sin6_addr.s6_addr[12], 4);
  return a;
}

std::optional<UdpEndpoint> UdpEndpoint::parse(std::string_view text) noexcept {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == text.size()) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535)
    return std::nullopt;
  char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    std::uint32_t scope = 0;
    if (const std::size_t pct = host.find('%'); pct != std::string_view::npos) {
      const std::string_view ifname = host.substr(pct + 1);
      if (ifname.empty() || ifname.size() >= IF_NAMESIZE) return std::nullopt;
      ifname.copy(buf, ifname.size());
      buf[ifname.size()] = '\0';
      scope = ::if_nametoindex(buf);
      if (scope == 0) {
        const auto [e, err] = std::from_chars(ifname.data(), ifname.data() + ifname.size(), scope);
        if (err != std::errc{} || e != ifname.data() + ifname.size()) return std::nullopt;
      }
      host = host.substr(0, pct);
    }
    if (host.size() >= INET6_ADDRSTRLEN) return std::nullopt;
    host.copy(buf, host.size());
    buf[host.size()] = '\0';
    in6_addr a6;
    if (::inet_pton(AF_INET6, buf, &a6) != 1) return std::nullopt;
    return ipv6(a6, static_cast<std::uint16_t>(port), scope);
  }
  if (host.empty() || host.size() >= INET_ADDRSTRLEN) return std::nullopt;
  host.copy(buf, host.size());
  buf[host.size()] = '\0';
  in_addr a4;
  if (::inet_pton(AF_INET, buf, &a4) != 1) return std::nullopt;
  return ipv4(a4.s_addr, static_cast<std::uint16_t>(port));
}

std::string UdpEndpoint::to_string() const {
  if (!is_set()) return "(none)";
  char buf[INET6_ADDRSTRLEN];
  if (is_v4()) {
    in_addr a4;
    a4.s_addr = v4_addr_be();
    ::inet_ntop(AF_INET, &a4, buf, sizeof buf);
    return fmt::format("{}:{}", buf, port());
  }
  ::inet_ntop(AF_INET6, &sa_.sin6_addr, buf, sizeof buf);
  if (sa_.sin6_scope_id != 0) return fmt::format("[{}%{}]:{}", buf, sa_.sin6_scope_id, port());
  return fmt::format("[{}]:{}", buf, port());
}

}  // namespace sockswitch::ports
