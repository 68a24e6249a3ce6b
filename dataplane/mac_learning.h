// dataplane/mac_learning.h: the MAC learning table behind the NORMAL action.
//
// What: (MAC, VLAN ID) -> port, learned from source addresses, aged out
// after an idle time, bounded in size. One table per bridge.
//
// Time: every call that needs the time takes `now` (a monotonic count of
// seconds from any epoch the caller likes). The table never reads a clock,
// so tests drive aging by passing numbers, and the poll thread reads its
// clock once per burst, not once per packet.
//
// Aging: an entry is live while now - last_seen < aging (default 300 s,
// OVS's default). lookup() ignores expired entries; they are reclaimed by
// expire(now, budget), which a poll thread calls at its leisure with a work
// bound, and by learn() when the table is full.
//
// Bound and eviction (why a MAC flood cannot take the table): the table
// never grows past max_entries (default 8192, all memory allocated in the
// constructor). When it is full, a new address first reclaims the oldest
// expired entry if there is one; otherwise it evicts the least recently
// seen entry of the port that holds the most entries (OVS does the same).
// A host flooding random source MACs from one port therefore mostly churns
// its own port's entries: a port's entries can only be evicted while it
// holds at least as many entries as the flooding port, so ports with few
// hosts keep theirs for as long as the flood lasts. Each port keeps its
// entries on an LRU list, so both choices are O(ports), not O(entries).
//
// Other rules: multicast/broadcast source MACs are never learned, a known
// MAC seen on another port moves there, and a port that goes down is
// forgotten with flush_port(). Ports are tracked in max_ports slots (default
// 256); while all are held by ports that have entries, an address seen on
// yet another port is not learned (learn() says no_port).
//
// Structure: entries live in a fixed array, linked into their port's LRU
// list by index. An open-addressing index (linear probing, load <= 1/2,
// backward-shift deletion, seeded hash) maps (MAC, VLAN) to an entry. The
// hash seed is random unless given, so a remote host cannot aim at long
// probe chains.
//
// Threads: no locks. One thread (the bridge's poll thread, or the control
// thread while no poll thread runs NORMAL) may call the mutating methods;
// lookup() is const but must not race with them. Only the published_*
// counts may be read by any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "flowtable/port_no.h"
#include "packet/mac_addr.h"

namespace sockswitch::dataplane {

// 802.1Q VLAN ID, 0..4095; 0 for untagged frames.
enum class VlanId : std::uint16_t {};
inline constexpr std::uint16_t kVlanIdMax = 4095;

struct MacLearningConfig {
  std::uint32_t max_entries = 8192;
  std::chrono::seconds aging{300};
  std::uint32_t max_ports = 256;
  std::uint64_t seed = 0;  // hash seed; 0 asks for a random one
};

// A port that left its bridge, numbered in the order ports leave (seq > 0).
// The control thread logs removals in the bridge's snapshot; the table's
// writer applies them (the table has one writer, so the control thread
// cannot flush it itself).
struct PortRemoval {
  std::uint64_t seq = 0;
  flowtable::PortNo port{};
};

enum class LearnResult : std::uint8_t {
  refreshed,  // known on this port; its age is reset
  learned,    // new entry
  moved,      // known on another port; now on this one
  ignored,    // multicast source, VLAN ID > 4095, or not a real port number
  no_port,    // all port slots are taken by other ports
};

// One live entry as `fdb-show` lists it.
struct FdbEntry {
  flowtable::PortNo port{};
  VlanId vlan{};
  packet::MacAddr mac{};
  std::chrono::seconds age{};
};

class MacLearningTable final {
 public:
  using Seconds = std::chrono::seconds;

  // Allocates everything the table will ever use. Throws
  // std::invalid_argument for a zero or oversized bound or a non-positive aging.
  explicit MacLearningTable(const MacLearningConfig& config = {});

  // Records that `mac` on `vlan` was seen as a source on `port` at `now`.
  LearnResult learn(packet::MacAddr mac, VlanId vlan, flowtable::PortNo port, Seconds now) noexcept;

  // The port `mac` on `vlan` was last seen on, unless unknown or expired.
  [[nodiscard]] std::optional<flowtable::PortNo> lookup(packet::MacAddr mac, VlanId vlan,
                                                        Seconds now) const noexcept;

  // Forgets every entry on `port`; returns how many.
  std::size_t flush_port(flowtable::PortNo port) noexcept;
  void flush() noexcept;
  // Forgets the ports of the removals in `log` (ascending seq, the most
  // recent ones) not applied yet; when some not applied have already left
  // the log, forgets everything. Returns how many entries went.
  std::size_t apply_removals(std::span<const PortRemoval> log) noexcept;
  // The seq of the last removal applied (or skipped, for a new table).
  [[nodiscard]] std::uint64_t removals_applied() const noexcept { return removals_applied_; }
  // A new table owes nothing to removals made before it existed.
  void skip_removals_through(std::uint64_t seq) noexcept { removals_applied_ = seq; }
  // Removes up to `budget` expired entries, oldest of each port first;
  // returns how many.
  std::size_t expire(Seconds now, std::size_t budget) noexcept;

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return entries_.size(); }
  [[nodiscard]] Seconds aging() const noexcept { return Seconds{aging_}; }
  // Entries (live or not yet reclaimed) held for `port`.
  [[nodiscard]] std::size_t port_entries(flowtable::PortNo port) const noexcept;
  // Entries removed to make room for new ones since construction.
  [[nodiscard]] std::uint64_t evictions() const noexcept { return evictions_; }

  // The writer copies size() and evictions() where any thread may read them
  // (metrics), at its leisure: the poll thread does it once a second.
  void publish_counts() noexcept {
    published_size_.store(size_, std::memory_order_relaxed);
    published_evictions_.store(evictions_, std::memory_order_relaxed);
  }
  [[nodiscard]] std::size_t published_size() const noexcept {
    return published_size_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t published_evictions() const noexcept {
    return published_evictions_.load(std::memory_order_relaxed);
  }

  // A copy of the live entries for one other thread (the control thread's
  // `fdb-show`), which may not read the table while the writer changes it:
  // it asks with request_copy() (the first ask allocates room for every
  // entry) and waits for copy_ready(ticket); the writer, which looks at
  // copy_wanted() between bursts, answers with write_copy(now) without
  // allocating. Only one thread may ask, and not again until its answer
  // came or it gave up waiting.
  [[nodiscard]] std::uint64_t request_copy();
  [[nodiscard]] bool copy_wanted() const noexcept {
    return copy_requested_.load(std::memory_order_relaxed) != copy_served_seen_;
  }
  void write_copy(Seconds now) noexcept;
  [[nodiscard]] bool copy_ready(std::uint64_t ticket) const noexcept {
    return copy_served_.load(std::memory_order_acquire) >= ticket;
  }
  // The answer to the latest ticket that copy_ready() said is ready.
  [[nodiscard]] std::span<const FdbEntry> copy() const noexcept {
    return std::span(copy_).first(copy_count_);
  }

 private:
  static constexpr std::uint32_t kNil = 0xffff'ffff;

  struct Entry {
    std::uint64_t key = 0;  // mac << 12 | vlan
    std::int64_t last_seen = 0;
    flowtable::PortNo port{};
    std::uint32_t prev = kNil;  // port LRU list, oldest at head; `next` also links the free list
    std::uint32_t next = kNil;
    std::uint16_t port_slot = 0;
  };
  struct Slot {
    std::uint32_t entry = kNil;
    std::uint32_t hash = 0;  // low 32 bits of the key's hash: home slot and cheap pre-compare
  };
  struct PortState {
    flowtable::PortNo port = flowtable::kPortNone;
    std::uint32_t count = 0;  // 0 means the slot is free
    std::uint32_t head = kNil;
    std::uint32_t tail = kNil;
  };

  [[nodiscard]] std::uint32_t hash(std::uint64_t key) const noexcept;
  [[nodiscard]] std::uint32_t find_slot(std::uint64_t key, std::uint32_t h) const noexcept;
  [[nodiscard]] std::uint32_t find_port(flowtable::PortNo port) const noexcept;
  [[nodiscard]] std::uint32_t acquire_port(flowtable::PortNo port) noexcept;
  void link_tail(std::uint32_t e, std::uint32_t port_slot) noexcept;
  void unlink(std::uint32_t e) noexcept;
  void remove(std::uint32_t e) noexcept;  // from index, port list and into the free list
  void evict_one(std::int64_t now) noexcept;
  [[nodiscard]] bool expired(const Entry& e, std::int64_t now) const noexcept {
    return now - e.last_seen >= aging_;
  }

  std::vector<Entry> entries_;
  std::vector<Slot> index_;
  std::vector<PortState> ports_;
  std::uint64_t seed_ = 0;
  std::int64_t aging_ = 0;
  std::uint32_t index_mask_ = 0;
  std::uint32_t free_head_ = kNil;
  std::uint32_t ports_high_ = 0;  // port slots at or above this were never used
  std::size_t size_ = 0;
  std::uint64_t evictions_ = 0;
  std::uint64_t removals_applied_ = 0;
  std::atomic<std::size_t> published_size_{0};
  std::atomic<std::uint64_t> published_evictions_{0};
  std::vector<FdbEntry> copy_;  // sized once, by the first request_copy()
  std::size_t copy_count_ = 0;
  std::atomic<std::uint64_t> copy_requested_{0};
  std::atomic<std::uint64_t> copy_served_{0};
  std::uint64_t copy_served_seen_ = 0;  // the writer's own copy of copy_served_
};

}  // namespace sockswitch::dataplane
