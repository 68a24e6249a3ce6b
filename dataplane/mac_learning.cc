// dataplane/mac_learning.cc: index probing, port LRU lists and eviction for MacLearningTable.
#include "dataplane/mac_learning.h"

#include <bit>
#include <random>
#include <stdexcept>

namespace sockswitch::dataplane {

using packet::MacAddr;

namespace {

using flowtable::PortNo;

constexpr std::uint64_t make_key(MacAddr mac, VlanId vlan) noexcept {
  return (mac.bits & 0xffff'ffff'ffffULL) << 12 | static_cast<std::uint16_t>(vlan);
}

}  // namespace

MacLearningTable::MacLearningTable(const MacLearningConfig& config)
    : seed_(config.seed), aging_(config.aging.count()) {
  // Entry indices are 32-bit with one value reserved; port slots are 16-bit.
  if (config.max_entries == 0 || config.max_entries > (1u << 30))
    throw std::invalid_argument("mac learning: max_entries must be in 1..2^30");
  if (config.max_ports == 0 || config.max_ports > 0xffff)
    throw std::invalid_argument("mac learning: max_ports must be in 1..65535");
  if (config.aging.count() <= 0)
    throw std::invalid_argument("mac learning: aging time must be positive");
  if (seed_ == 0) {
    std::random_device rd;
    seed_ = std::uint64_t{rd()} << 32 | rd();
  }
  entries_.resize(config.max_entries);
  index_.resize(std::bit_ceil(std::size_t{config.max_entries} * 2));
  index_mask_ = static_cast<std::uint32_t>(index_.size() - 1);
  ports_.resize(config.max_ports);
  flush();
}

std::uint32_t MacLearningTable::hash(std::uint64_t key) const noexcept {
  // A 64-bit finaliser over key ^ seed: every key bit reaches the low bits
  // that pick the slot, and without the seed the slot is not predictable.
  std::uint64_t x = key ^ seed_;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return static_cast<std::uint32_t>(x);
}

std::uint32_t MacLearningTable::find_slot(std::uint64_t key, std::uint32_t h) const noexcept {
  // Load <= 1/2 guarantees an empty slot, so the probe ends.
  for (std::uint32_t i = h & index_mask_;; i = (i + 1) & index_mask_) {
    const Slot& s = index_[i];
    if (s.entry == kNil) return kNil;
    if (s.hash == h && entries_[s.entry].key == key) return i;
  }
}

std::uint32_t MacLearningTable::find_port(PortNo port) const noexcept {
  for (std::uint32_t i = 0; i < ports_high_; ++i)
    if (ports_[i].count != 0 && ports_[i].port == port) return i;
  return kNil;
}

std::uint32_t MacLearningTable::acquire_port(PortNo port) noexcept {
  std::uint32_t unused = kNil;
  for (std::uint32_t i = 0; i < ports_high_; ++i) {
    if (ports_[i].count == 0) {
      if (unused == kNil) unused = i;
    } else if (ports_[i].port == port) {
      return i;
    }
  }
  if (unused == kNil) {
    if (ports_high_ == ports_.size()) return kNil;
    unused = ports_high_++;
  }
  ports_[unused] = PortState{port, 0, kNil, kNil};
  return unused;
}

void MacLearningTable::link_tail(std::uint32_t e, std::uint32_t port_slot) noexcept {
  PortState& ps = ports_[port_slot];
  Entry& en = entries_[e];
  en.port_slot = static_cast<std::uint16_t>(port_slot);
  en.port = ps.port;
  en.prev = ps.tail;
  en.next = kNil;
  if (ps.tail != kNil) {
    entries_[ps.tail].next = e;
  } else {
    ps.head = e;
  }
  ps.tail = e;
  ++ps.count;
}

void MacLearningTable::unlink(std::uint32_t e) noexcept {
  Entry& en = entries_[e];
  PortState& ps = ports_[en.port_slot];
  if (en.prev != kNil) {
    entries_[en.prev].next = en.next;
  } else {
    ps.head = en.next;
  }
  if (en.next != kNil) {
    entries_[en.next].prev = en.prev;
  } else {
    ps.tail = en.prev;
  }
  en.prev = en.next = kNil;
  --ps.count;  // at 0 the slot is free for another port
}

void MacLearningTable::remove(std::uint32_t e) noexcept {
  const std::uint64_t key = entries_[e].key;
  std::uint32_t i = find_slot(key, hash(key));
  // Backward-shift deletion: pull later members of the probe run into the
  // hole when the hole lies between their home slot and where they sit, so
  // lookups never need tombstones.
  for (std::uint32_t j = (i + 1) & index_mask_; index_[j].entry != kNil;
       j = (j + 1) & index_mask_) {
    const std::uint32_t home = index_[j].hash & index_mask_;
    if (((j - home) & index_mask_) >= ((j - i) & index_mask_)) {
      index_[i] = index_[j];
      i = j;
    }
  }
  index_[i] = Slot{};
  unlink(e);
  entries_[e].next = free_head_;
  free_head_ = e;
  --size_;
}

void MacLearningTable::evict_one(std::int64_t now) noexcept {
  std::uint32_t biggest = kNil, oldest = kNil;
  for (std::uint32_t i = 0; i < ports_high_; ++i) {
    const PortState& ps = ports_[i];
    if (ps.count == 0) continue;
    if (biggest == kNil || ps.count > ports_[biggest].count) biggest = i;
    if (oldest == kNil || entries_[ps.head].last_seen < entries_[oldest].last_seen)
      oldest = ps.head;
  }
  if (biggest == kNil) return;  // cannot happen while full; keeps the invariant local
  if (oldest != kNil && expired(entries_[oldest], now)) {
    remove(oldest);
    return;
  }
  remove(ports_[biggest].head);
  ++evictions_;
}

LearnResult MacLearningTable::learn(MacAddr mac, VlanId vlan, PortNo port, Seconds now) noexcept {
  if (mac.is_multicast() || static_cast<std::uint16_t>(vlan) > kVlanIdMax ||
      flowtable::to_u32(port) > flowtable::to_u32(flowtable::kPortMax) ||
      flowtable::to_u32(port) == 0)
    return LearnResult::ignored;
  const std::int64_t t = now.count();
  const std::uint64_t key = make_key(mac, vlan);
  const std::uint32_t h = hash(key);

  if (const std::uint32_t s = find_slot(key, h); s != kNil) {
    const std::uint32_t e = index_[s].entry;
    Entry& en = entries_[e];
    if (en.port == port) {
      // Within the same second nothing changes: the common per-packet case
      // is one compare, no list surgery. Time never runs backwards here, so
      // each port list stays in last-seen order.
      if (t > en.last_seen) {
        en.last_seen = t;
        const std::uint32_t slot = en.port_slot;
        unlink(e);
        link_tail(e, slot);
      }
      return LearnResult::refreshed;
    }
    const std::uint32_t slot = acquire_port(port);
    if (slot == kNil) {
      // Keeping the old port would forward to where the host no longer is.
      remove(e);
      return LearnResult::no_port;
    }
    unlink(e);
    en.last_seen = t;
    link_tail(e, slot);
    return LearnResult::moved;
  }

  if (size_ == entries_.size()) evict_one(t);
  const std::uint32_t slot = acquire_port(port);
  if (slot == kNil) return LearnResult::no_port;

  const std::uint32_t e = free_head_;  // not kNil: size_ < capacity after the eviction
  free_head_ = entries_[e].next;
  entries_[e].key = key;
  entries_[e].last_seen = t;
  link_tail(e, slot);
  std::uint32_t i = h & index_mask_;
  while (index_[i].entry != kNil)
    i = (i + 1) & index_mask_;
  index_[i] = Slot{e, h};
  ++size_;
  return LearnResult::learned;
}

std::optional<PortNo> MacLearningTable::lookup(MacAddr mac, VlanId vlan,
                                               Seconds now) const noexcept {
  const std::uint64_t key = make_key(mac, vlan);
  const std::uint32_t s = find_slot(key, hash(key));
  if (s == kNil) return std::nullopt;
  const Entry& en = entries_[index_[s].entry];
  if (expired(en, now.count())) return std::nullopt;
  return en.port;
}

std::size_t MacLearningTable::flush_port(PortNo port) noexcept {
  const std::uint32_t slot = find_port(port);
  if (slot == kNil) return 0;
  std::size_t removed = 0;
  // remove() frees the slot when its last entry goes; stop on the count, not the slot.
  while (ports_[slot].count != 0) {
    remove(ports_[slot].head);
    ++removed;
  }
  return removed;
}

std::size_t MacLearningTable::apply_removals(std::span<const PortRemoval> log) noexcept {
  if (log.empty() || log.back().seq <= removals_applied_) return 0;
  std::size_t removed = 0;
  if (log.front().seq > removals_applied_ + 1) {  // some left the log unapplied
    removed = size_;
    flush();
  } else {
    for (const PortRemoval& r : log)
      if (r.seq > removals_applied_) removed += flush_port(r.port);
  }
  removals_applied_ = log.back().seq;
  return removed;
}

void MacLearningTable::flush() noexcept {
  for (Slot& s : index_)
    s = Slot{};
  for (PortState& p : ports_)
    p = PortState{};
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    entries_[i] = Entry{};
    entries_[i].next = i + 1 < entries_.size() ? static_cast<std::uint32_t>(i + 1) : kNil;
  }
  free_head_ = 0;
  ports_high_ = 0;
  size_ = 0;
}

std::size_t MacLearningTable::expire(Seconds now, std::size_t budget) noexcept {
  std::size_t removed = 0;
  for (std::uint32_t i = 0; i < ports_high_ && removed < budget; ++i) {
    // Each port's list is in last-seen order, so its expired entries are a prefix.
    while (removed < budget && ports_[i].count != 0 &&
           expired(entries_[ports_[i].head], now.count())) {
      remove(ports_[i].head);
      ++removed;
    }
  }
  return removed;
}

std::size_t MacLearningTable::port_entries(PortNo port) const noexcept {
  const std::uint32_t slot = find_port(port);
  return slot == kNil ? 0 : ports_[slot].count;
}

std::uint64_t MacLearningTable::request_copy() {
  if (copy_.size() != entries_.size()) copy_.resize(entries_.size());
  // Release: the writer that sees the new ticket sees the buffer too.
  return copy_requested_.fetch_add(1, std::memory_order_release) + 1;
}

void MacLearningTable::write_copy(Seconds now) noexcept {
  const std::uint64_t ticket = copy_requested_.load(std::memory_order_acquire);
  if (ticket == copy_served_seen_) return;
  std::size_t n = 0;
  for (std::uint32_t s = 0; s < ports_high_ && n < copy_.size(); ++s)
    for (std::uint32_t e = ports_[s].head; e != kNil && n < copy_.size(); e = entries_[e].next) {
      const Entry& entry = entries_[e];
      if (expired(entry, now.count())) continue;
      copy_[n++] = {entry.port, VlanId{static_cast<std::uint16_t>(entry.key & 0xfff)},
                    packet::MacAddr{entry.key >> 12}, Seconds{now.count() - entry.last_seen}};
    }
  copy_count_ = n;
  copy_served_seen_ = ticket;
  copy_served_.store(ticket, std::memory_order_release);
}

}  // namespace sockswitch::dataplane
