// ports/wireguard/allowed_ips.h: cryptokey routing, AllowedIPs as a
// longest-prefix table from IP prefixes to peers.
//
// What: on transmit, lookup(destination) chooses the peer a packet is
// encrypted to; on receive, lookup(source) == the peer it came from decides
// whether the peer may send it. Both happen for every packet.
//
// Two types, because the table is written by one thread and read by others:
//
//   AllowedIps        the editable table, on the control/handshake thread:
//                     insert, remove one prefix, remove or replace all of a
//                     peer's prefixes, list a peer's prefixes (UAPI get,
//                     showconf). Each prefix has one owner; inserting a
//                     prefix another peer owns moves it, as in WireGuard.
//                     Prefixes are stored with host bits cleared.
//   AllowedIpsLookup  an immutable, flattened copy made by
//                     AllowedIps::build_lookup(): the hot path. lookup() is
//                     noexcept, allocation-free and never changes.
//
// Publication: after a change the control thread builds a new
// AllowedIpsLookup and publishes a pointer to it (the same RCU scheme as the
// flow-table versions: poll threads load the pointer, and the old copy is
// freed once each has passed a quiescent point). A reader therefore sees
// either the whole old table or the whole new one, never a half-applied UAPI
// `set`.
//
// Design of the lookup copy: CIDR prefixes are either nested or disjoint, so
// the address space cuts into at most 2n+1 runs that each map to one answer
// (a peer or none). A sweep over the prefixes in (address, length) order
// writes the start of each run into a sorted array; lookup is the last start
// <= address. A direct index on the top bits of the address (sized to about
// one bucket per run, at most 2^16 buckets) narrows the binary search to a
// few entries, so a lookup costs one index read and a short search in
// contiguous memory. IPv4 and IPv6 are separate arrays.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <vector>

#include "ports/wireguard/ip_prefix.h"

namespace sockswitch::wireguard {

// A peer as the Device numbers them (an index into its peer array).
using PeerId = std::uint32_t;

class AllowedIpsLookup final {
 public:
  AllowedIpsLookup() = default;  // empty: every lookup misses

  // Addresses in network byte order, as in the packet header.
  [[nodiscard]] std::optional<PeerId> lookup_v4(const std::uint8_t* addr) const noexcept;
  [[nodiscard]] std::optional<PeerId> lookup_v6(const std::uint8_t* addr) const noexcept;
  [[nodiscard]] std::optional<PeerId> lookup(const IpAddress& addr) const noexcept;

  [[nodiscard]] std::size_t run_count() const noexcept { return v4_.size() + v6_.size(); }

  // The layout, named here for the builder in allowed_ips.cc.
  struct U128 {
    std::uint64_t hi = 0, lo = 0;
    friend auto operator<=>(const U128&, const U128&) = default;
  };
  // One family: run starts (ascending), the answer for each run, and the
  // direct index over the top `index_bits` of the address.
  template <typename Key>
  struct Runs {
    std::vector<Key> starts;
    std::vector<PeerId> peers;  // kNone where no prefix covers the run
    std::vector<std::uint32_t> index;
    unsigned index_bits = 0;
    [[nodiscard]] std::size_t size() const noexcept { return starts.size(); }
  };
  static constexpr PeerId kNone = ~PeerId{0};

 private:
  friend class AllowedIps;
  Runs<std::uint32_t> v4_;
  Runs<U128> v6_;
};

class AllowedIps final {
 public:
  // Inserts `prefix` (host bits cleared) for `peer`, taking it from any
  // other peer that owned it. `peer` must not be ~0u.
  void insert(const IpPrefix& prefix, PeerId peer);
  // Removes `prefix` if `peer` owns it; returns whether it did.
  bool remove(const IpPrefix& prefix, PeerId peer);
  void remove_peer(PeerId peer);
  // UAPI replace_allowed_ips / wg setconf: the peer's set becomes `prefixes`.
  void replace_peer(PeerId peer, std::span<const IpPrefix> prefixes);

  // Exact owner of `prefix` (no longest match); control path.
  [[nodiscard]] std::optional<PeerId> owner(const IpPrefix& prefix) const;
  // The peer's prefixes, IPv4 first, then by address and length.
  [[nodiscard]] std::vector<IpPrefix> prefixes_of(PeerId peer) const;
  [[nodiscard]] std::size_t size() const noexcept { return owner_.size(); }

  [[nodiscard]] AllowedIpsLookup build_lookup() const;

 private:
  std::map<IpPrefix, PeerId> owner_;              // normalised prefix -> peer
  std::map<PeerId, std::set<IpPrefix>> by_peer_;  // the reverse, for listing
};

}  // namespace sockswitch::wireguard
