// ports/neighbor_snoop.h: which MAC owns which IP on the bridge side of an L3 port.
//
// An L3 device (tun, WireGuard) delivers bare IP packets; to put one on the
// bridge the port must pick a destination MAC. It learns that by snooping
// what the bridge sends it: the sender of an ARP packet and the source of
// every IPv4/IPv6 packet transmitted out of the port. The same knowledge
// tells the ARP/ND responder which addresses live on the bridge side and so
// must not be answered for.
//
// Bounded on purpose: a fixed set-associative table (kSets x kWays) inside
// the object, no allocation after construction, the least recently learned
// way of a full set is replaced. There is no aging: a stale entry only
// misdirects unicast until the host sends again (any packet it transmits
// through this port re-learns it), and the table is small enough to be
// dominated by live hosts.
//
// Threads: owned by one poll thread (the one that owns the port's queue).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

#include "packet/mac_addr.h"

namespace sockswitch::ports {

// An IPv6 address, or an IPv4 one mapped into ::ffff:0:0/96, in wire order.
struct IpKey final {
  std::array<std::uint8_t, 16> bytes{};

  [[nodiscard]] static IpKey v4(const std::uint8_t* wire) noexcept {
    IpKey k;
    k.bytes[10] = k.bytes[11] = 0xff;
    std::memcpy(k.bytes.data() + 12, wire, 4);
    return k;
  }
  [[nodiscard]] static IpKey v6(const std::uint8_t* wire) noexcept {
    IpKey k;
    std::memcpy(k.bytes.data(), wire, 16);
    return k;
  }
  friend bool operator==(const IpKey&, const IpKey&) = default;
};

class NeighborSnoop final {
 public:
  static constexpr unsigned kSetBits = 6;
  static constexpr std::size_t kSets = std::size_t{1} << kSetBits;
  static constexpr std::size_t kWays = 4;
  static constexpr std::size_t kCapacity = kSets * kWays;

  void learn(const IpKey& ip, packet::MacAddr mac) noexcept {
    Entry* set = &entries_[set_of(ip) * kWays];
    Entry* victim = set;
    ++clock_;
    for (std::size_t w = 0; w < kWays; ++w) {
      Entry& e = set[w];
      if (e.used && e.ip == ip) {
        e.mac = mac;
        e.stamp = clock_;
        return;
      }
      if (!e.used) {
        if (victim->used) victim = &e;
      } else if (victim->used && e.stamp < victim->stamp) {
        victim = &e;
      }
    }
    if (!victim->used) ++size_;
    *victim = Entry{ip, mac, clock_, true};
  }

  [[nodiscard]] std::optional<packet::MacAddr> lookup(const IpKey& ip) const noexcept {
    const Entry* set = &entries_[set_of(ip) * kWays];
    for (std::size_t w = 0; w < kWays; ++w)
      if (set[w].used && set[w].ip == ip) return set[w].mac;
    return std::nullopt;
  }

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  void clear() noexcept {
    entries_ = {};
    size_ = 0;
  }

 private:
  struct Entry {
    IpKey ip;
    packet::MacAddr mac;
    std::uint64_t stamp = 0;
    bool used = false;
  };

  [[nodiscard]] static std::size_t set_of(const IpKey& ip) noexcept {
    std::uint64_t hi, lo;
    std::memcpy(&hi, ip.bytes.data(), 8);
    std::memcpy(&lo, ip.bytes.data() + 8, 8);
    // Multiply-shift: the top bits of the product depend on every input bit
    // (an IPv4-mapped key varies only in its last four bytes).
    std::uint64_t h = hi ^ (lo * 0x9e3779b97f4a7c15ULL);
    h = (h ^ (h >> 32)) * 0xd6e8feb86659fd93ULL;
    return static_cast<std::size_t>(h >> (64 - kSetBits));
  }

  std::array<Entry, kCapacity> entries_{};
  std::uint64_t clock_ = 0;
  std::size_t size_ = 0;
};

}  // namespace sockswitch::ports
