// ports/neighbor_claims.cc: prefixes in IpKey space, longest-match over ours and the rest.
#include "ports/neighbor_claims.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace sockswitch::ports {
namespace {

constexpr unsigned kMappedBits = 96;  // ::ffff:0:0/96 holds IPv4

void clear_host_bits(IpKey& key, unsigned bits) noexcept {
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned first = i * 8;
    if (first >= bits)
      key.bytes[i] = 0;
    else if (bits - first < 8)
      key.bytes[i] &= static_cast<std::uint8_t>(0xff00u >> (bits - first));
  }
}

bool is_mapped_v4(const IpKey& key) noexcept {
  for (unsigned i = 0; i < 10; ++i)
    if (key.bytes[i] != 0) return false;
  return key.bytes[10] == 0xff && key.bytes[11] == 0xff;
}

}  // namespace

ClaimPrefix ClaimPrefix::of(const std::uint8_t* bytes, bool v4, unsigned family_bits) noexcept {
  ClaimPrefix p;
  p.address = v4 ? IpKey::v4(bytes) : IpKey::v6(bytes);
  p.v4 = v4;
  p.bits = static_cast<std::uint8_t>(v4 ? kMappedBits + std::min(family_bits, 32u)
                                        : std::min(family_bits, 128u));
  clear_host_bits(p.address, p.bits);
  return p;
}

std::optional<ClaimPrefix> ClaimPrefix::parse(std::string_view text) noexcept {
  const std::size_t slash = text.find('/');
  const std::string address(text.substr(0, slash));
  std::uint8_t bytes[16];
  bool v4;
  if (::inet_pton(AF_INET, address.c_str(), bytes) == 1)
    v4 = true;
  else if (::inet_pton(AF_INET6, address.c_str(), bytes) == 1)
    v4 = false;
  else
    return std::nullopt;
  unsigned bits = v4 ? 32 : 128;
  if (slash != std::string_view::npos) {
    const std::string_view len = text.substr(slash + 1);
    const auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), bits);
    if (len.empty() || ec != std::errc{} || end != len.data() + len.size() ||
        bits > (v4 ? 32u : 128u))
      return std::nullopt;
  }
  return of(bytes, v4, bits);
}

bool ClaimPrefix::contains(const IpKey& ip) const noexcept {
  if (v4 != is_mapped_v4(ip)) return false;
  IpKey masked = ip;
  clear_host_bits(masked, bits);
  return masked == address;
}

std::string ClaimPrefix::to_string() const {
  char text[INET6_ADDRSTRLEN];
  if (v4) {
    ::inet_ntop(AF_INET, address.bytes.data() + 12, text, sizeof text);
    return fmt::format("{}/{}", text, bits - kMappedBits);
  }
  ::inet_ntop(AF_INET6, address.bytes.data(), text, sizeof text);
  return fmt::format("{}/{}", text, bits);
}

NeighborClaims::NeighborClaims(std::vector<Route> routes, Source source)
    : routes_(std::move(routes)), source_(source) {
  std::stable_sort(routes_.begin(), routes_.end(), [](const Route& a, const Route& b) {
    return a.prefix.bits != b.prefix.bits ? a.prefix.bits > b.prefix.bits : a.ours > b.ours;
  });
}

bool NeighborClaims::claims(const IpKey& target) const noexcept {
  // A handful of routes on the hosts this runs on, and only ARP/ND asks.
  for (const Route& r : routes_)
    if (r.prefix.contains(target)) return r.ours;
  return false;
}

std::string NeighborClaims::describe() const {
  std::string out;
  for (const Route& r : routes_)
    if (r.ours) out += (out.empty() ? "" : ", ") + r.prefix.to_string();
  const char* from = source_ == Source::proxy         ? "proxy"
                     : source_ == Source::allowed_ips ? "AllowedIPs"
                                                      : "kernel routes";
  return fmt::format("{} ({})", out.empty() ? "nothing" : out, from);
}

bool NeighborClaimsCell::publish(std::unique_ptr<const NeighborClaims> next) {
  const NeighborClaims* old = current_.load(std::memory_order_relaxed);
  if (old != nullptr && next != nullptr && *old == *next) return false;
  current_.store(next.release(), std::memory_order_release);
  if (old != nullptr) {
    packet::rcu_synchronize();
    delete old;
  }
  return true;
}

}  // namespace sockswitch::ports
