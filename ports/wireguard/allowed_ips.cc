// ports/wireguard/allowed_ips.cc: the editable AllowedIPs table and its
// flattened lookup copy.
#include "ports/wireguard/allowed_ips.h"

#include <algorithm>
#include <bit>
#include <stdexcept>

namespace sockswitch::wireguard {
namespace {

using U128 = AllowedIpsLookup::U128;

std::uint32_t load_be32(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}
std::uint64_t load_be64(const std::uint8_t* p) noexcept {
  return (std::uint64_t{load_be32(p)} << 32) | load_be32(p + 4);
}

// What the sweep and the index need to know of a key type.
template <typename Key>
struct KeyOps;

template <>
struct KeyOps<std::uint32_t> {
  static std::uint32_t from(const IpAddress& a) noexcept { return load_be32(a.bytes().data()); }
  static std::uint32_t last_of(std::uint32_t start, unsigned len) noexcept {
    return len >= 32 ? start : start | (~std::uint32_t{0} >> len);  // a shift by 32 is undefined
  }
  static bool is_max(std::uint32_t k) noexcept { return k == ~std::uint32_t{0}; }
  static std::uint32_t next(std::uint32_t k) noexcept { return k + 1; }
  static std::uint32_t bucket_start(std::uint32_t b, unsigned bits) noexcept {
    return bits == 0 ? 0 : b << (32 - bits);
  }
  static std::uint32_t bucket_of(std::uint32_t k, unsigned bits) noexcept {
    return bits == 0 ? 0 : k >> (32 - bits);
  }
};

template <>
struct KeyOps<U128> {
  static U128 from(const IpAddress& a) noexcept {
    return {load_be64(a.bytes().data()), load_be64(a.bytes().data() + 8)};
  }
  static U128 last_of(U128 start, unsigned len) noexcept {
    const std::uint64_t all = ~std::uint64_t{0};
    if (len == 0) return {all, all};
    if (len < 64) return {start.hi | (all >> len), all};
    if (len == 64) return {start.hi, all};
    return {start.hi, len == 128 ? start.lo : start.lo | (all >> (len - 64))};
  }
  static bool is_max(U128 k) noexcept { return ~k.hi == 0 && ~k.lo == 0; }
  static U128 next(U128 k) noexcept {
    return k.lo == ~std::uint64_t{0} ? U128{k.hi + 1, 0} : U128{k.hi, k.lo + 1};
  }
  static U128 bucket_start(std::uint32_t b, unsigned bits) noexcept {
    return {bits == 0 ? 0 : std::uint64_t{b} << (64 - bits), 0};
  }
  static std::uint32_t bucket_of(U128 k, unsigned bits) noexcept {
    return bits == 0 ? 0 : static_cast<std::uint32_t>(k.hi >> (64 - bits));
  }
};

template <typename Key, typename Runs, typename It>
void build_runs(It first, It last, PeerId none, Runs& r) {
  using Ops = KeyOps<Key>;
  auto emit = [&](Key start, PeerId peer) {
    // A later boundary at the same start is more specific and wins.
    if (!r.starts.empty() && r.starts.back() == start) {
      r.peers.back() = peer;
    } else {
      r.starts.push_back(start);
      r.peers.push_back(peer);
    }
  };
  struct Open {
    Key last;
    PeerId peer;
  };
  std::vector<Open> open;  // the prefixes containing the current point, outermost first
  auto close = [&](bool all, Key before) {
    while (!open.empty() && (all || open.back().last < before)) {
      const Open done = open.back();
      open.pop_back();
      if (!Ops::is_max(done.last))
        emit(Ops::next(done.last), open.empty() ? none : open.back().peer);
    }
  };
  emit(Key{}, none);
  // (address, length) order: a prefix comes after every prefix containing it.
  for (It it = first; it != last; ++it) {
    const Key start = Ops::from(it->first.address);
    close(false, start);
    emit(start, it->second);
    open.push_back({Ops::last_of(start, it->first.length), it->second});
  }
  close(true, Key{});

  // Merge neighbouring runs with the same answer.
  std::size_t out = 0;
  for (std::size_t i = 0; i < r.starts.size(); ++i) {
    if (out > 0 && r.peers[out - 1] == r.peers[i]) continue;
    r.starts[out] = r.starts[i];
    r.peers[out] = r.peers[i];
    ++out;
  }
  r.starts.resize(out);
  r.peers.resize(out);

  // About one bucket per run, at most 2^16 buckets.
  r.index_bits = std::min(16u, static_cast<unsigned>(std::bit_width(out - 1)));
  const std::uint32_t buckets = std::uint32_t{1} << r.index_bits;
  r.index.resize(buckets);
  std::size_t j = 0;
  for (std::uint32_t b = 0; b < buckets; ++b) {
    const Key bs = Ops::bucket_start(b, r.index_bits);
    while (j + 1 < out && !(bs < r.starts[j + 1]))
      ++j;
    r.index[b] = static_cast<std::uint32_t>(j);
  }
}

template <typename Key, typename Runs>
std::optional<PeerId> find(const Runs& r, Key k, PeerId none) noexcept {
  if (r.starts.empty()) return std::nullopt;
  using Ops = KeyOps<Key>;
  const std::uint32_t b = Ops::bucket_of(k, r.index_bits);
  const std::size_t lo = r.index[b];
  const std::size_t hi = b + 1 < r.index.size() ? r.index[b + 1] + 1 : r.starts.size();
  // starts[lo] <= k, so the answer is in [lo, hi).
  const Key* pos = std::upper_bound(r.starts.data() + lo, r.starts.data() + hi, k);
  const PeerId peer = r.peers[static_cast<std::size_t>(pos - r.starts.data()) - 1];
  if (peer == none) return std::nullopt;
  return peer;
}

}  // namespace

std::optional<PeerId> AllowedIpsLookup::lookup_v4(const std::uint8_t* addr) const noexcept {
  return find(v4_, load_be32(addr), kNone);
}

std::optional<PeerId> AllowedIpsLookup::lookup_v6(const std::uint8_t* addr) const noexcept {
  return find(v6_, U128{load_be64(addr), load_be64(addr + 8)}, kNone);
}

std::optional<PeerId> AllowedIpsLookup::lookup(const IpAddress& addr) const noexcept {
  return addr.is_v4() ? lookup_v4(addr.bytes().data()) : lookup_v6(addr.bytes().data());
}

void AllowedIps::insert(const IpPrefix& prefix, PeerId peer) {
  if (peer == AllowedIpsLookup::kNone) throw std::invalid_argument("AllowedIps: reserved peer id");
  const IpPrefix p = prefix.masked();
  auto [it, inserted] = owner_.try_emplace(p, peer);
  if (!inserted && it->second != peer) {
    // The prefix moves to the new peer, as in WireGuard.
    auto old = by_peer_.find(it->second);
    old->second.erase(p);
    if (old->second.empty()) by_peer_.erase(old);
    it->second = peer;
  }
  by_peer_[peer].insert(p);
}

bool AllowedIps::remove(const IpPrefix& prefix, PeerId peer) {
  const IpPrefix p = prefix.masked();
  const auto it = owner_.find(p);
  if (it == owner_.end() || it->second != peer) return false;
  owner_.erase(it);
  auto mine = by_peer_.find(peer);
  mine->second.erase(p);
  if (mine->second.empty()) by_peer_.erase(mine);
  return true;
}

void AllowedIps::remove_peer(PeerId peer) {
  const auto mine = by_peer_.find(peer);
  if (mine == by_peer_.end()) return;
  for (const IpPrefix& p : mine->second)
    owner_.erase(p);
  by_peer_.erase(mine);
}

void AllowedIps::replace_peer(PeerId peer, std::span<const IpPrefix> prefixes) {
  remove_peer(peer);
  for (const IpPrefix& p : prefixes)
    insert(p, peer);
}

std::optional<PeerId> AllowedIps::owner(const IpPrefix& prefix) const {
  const auto it = owner_.find(prefix.masked());
  if (it == owner_.end()) return std::nullopt;
  return it->second;
}

std::vector<IpPrefix> AllowedIps::prefixes_of(PeerId peer) const {
  const auto mine = by_peer_.find(peer);
  if (mine == by_peer_.end()) return {};
  return {mine->second.begin(), mine->second.end()};
}

AllowedIpsLookup AllowedIps::build_lookup() const {
  AllowedIpsLookup t;
  // owner_ is ordered IPv4 first, then by address and length.
  const auto first_v6 = std::find_if(owner_.begin(), owner_.end(),
                                     [](const auto& e) { return !e.first.address.is_v4(); });
  build_runs<std::uint32_t>(owner_.begin(), first_v6, AllowedIpsLookup::kNone, t.v4_);
  build_runs<AllowedIpsLookup::U128>(first_v6, owner_.end(), AllowedIpsLookup::kNone, t.v6_);
  return t;
}

}  // namespace sockswitch::wireguard
