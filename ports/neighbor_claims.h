// ports/neighbor_claims.h: which addresses an L3 port may answer ARP/ND for.
//
// An L3 port (tun, WireGuard, AF_PACKET on a bare-IP device) stands in for
// every host behind its device, so it answers ARP and Neighbor Solicitations
// for them. It must answer for nothing else: a port that claimed every
// address would take the bridge's gateway or a neighbour container's address
// away from its owner whenever its answer came first. The rule is the one a
// Linux proxy-ARP router uses: answer for a target when the best route to it
// goes through this device.
//
//   * what lies behind the port: the `proxy` prefixes of its config when
//     given; else a native WireGuard port's AllowedIPs; else the kernel's
//     routes whose output device is the port's device;
//   * the competition: every other unicast route the kernel has (all tables),
//     so a more specific route elsewhere wins: warp0's 0.0.0.0/0 does not
//     claim 10.2.0.1 while 10.2.0.0/24 is routed to the bridge's own device.
//     An equally specific route elsewhere does not take the address away
//     (two defaults, one of them through the port, still claim).
//
// The control thread builds an immutable NeighborClaims and publishes it in
// the port's NeighborClaimsCell (RCU: the poll thread reads it with no lock).
// Until it does, the port answers for nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "packet/rcu.h"
#include "ports/neighbor_snoop.h"

namespace sockswitch::ports {

// A prefix in IpKey's space: IPv4 is mapped into ::ffff:0:0/96, so an IPv4
// /24 is 120 bits here and never covers an IPv6 address.
struct ClaimPrefix final {
  IpKey address;          // host bits cleared
  std::uint8_t bits = 0;  // 0..128
  bool v4 = false;        // an IPv6 prefix (even ::/0) never covers an IPv4 address

  // "10.2.0.0/24", "fd00::/64", "10.2.0.50" (a host). nullopt when not that.
  [[nodiscard]] static std::optional<ClaimPrefix> parse(std::string_view text) noexcept;
  // From wire-order bytes (4 or 16) and a length in that family's bits.
  [[nodiscard]] static ClaimPrefix of(const std::uint8_t* bytes, bool v4,
                                      unsigned family_bits) noexcept;
  [[nodiscard]] bool contains(const IpKey& ip) const noexcept;
  [[nodiscard]] std::string to_string() const;
  friend bool operator==(const ClaimPrefix&, const ClaimPrefix&) = default;
};

class NeighborClaims final {
 public:
  struct Route {
    ClaimPrefix prefix;
    bool ours = false;  // behind this port (else: a route to somewhere else)
    friend bool operator==(const Route&, const Route&) = default;
  };
  enum class Source : std::uint8_t { proxy, allowed_ips, kernel_routes };

  NeighborClaims(std::vector<Route> routes, Source source);

  // Poll thread: whether the best route to `target` is one of ours.
  [[nodiscard]] bool claims(const IpKey& target) const noexcept;

  [[nodiscard]] Source source() const noexcept { return source_; }
  // Ours, for `show`: "10.2.0.50/32 (proxy)", "nothing (kernel routes)".
  [[nodiscard]] std::string describe() const;
  friend bool operator==(const NeighborClaims&, const NeighborClaims&) = default;

 private:
  std::vector<Route> routes_;  // longest first; at equal length ours first
  Source source_;
};

// One per L3 port, shared by its queues' adapters.
class NeighborClaimsCell final {
 public:
  NeighborClaimsCell() = default;
  ~NeighborClaimsCell() { delete current_.load(std::memory_order_relaxed); }
  NeighborClaimsCell(const NeighborClaimsCell&) = delete;
  NeighborClaimsCell& operator=(const NeighborClaimsCell&) = delete;

  // Poll thread: nullptr until the control thread has published claims.
  [[nodiscard]] const NeighborClaims* get() const noexcept {
    return current_.load(std::memory_order_acquire);
  }
  // Control thread: publishes `next` unless it equals what is published;
  // waits for the poll threads before freeing the old one. Returns whether
  // it changed anything.
  bool publish(std::unique_ptr<const NeighborClaims> next);

 private:
  packet::RcuPointer<NeighborClaims> current_{nullptr};
};

// What an L3 port knows about its neighbours: who lives on the bridge side
// (learned) and what lies behind its device (claims). One per port: every
// queue of a port is served by the same poll thread, and a MAC learned from a
// frame sent on one queue must address the replies read from another.
struct L3Neighbors final {
  NeighborSnoop snoop;
  NeighborClaimsCell claims;
};

}  // namespace sockswitch::ports
