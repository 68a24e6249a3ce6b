// packet/packet_pool.h: a fixed set of packet buffers, handed out and taken back in bursts.
//
// Every buffer the dataplane uses is carved at setup out of one contiguous,
// cache-line-aligned allocation: `count` buffers of `buffer_size` bytes each
// (an odd number of cache lines apart, so that their headers spread over
// all cache sets).
// Descriptors (Packet) live in a parallel array. Free descriptors sit on a
// stack, so alloc and free are a pop and a push, and recently freed (cache
// warm) buffers are reused first. Nothing is allocated after construction; an
// empty pool makes alloc return nullptr / fewer packets than asked, which the
// caller counts as an rx drop.
//
// Threads: a pool has no locks and no atomics. Exactly one thread may call
// alloc*/free* on a given pool at a time, normally the poll thread that owns
// the port (one pool per poll thread or per port). A packet that crosses to
// another thread must come back to its owner to be freed (or be freed by the
// owner after that thread is done with it). Construction and destruction
// belong to the control thread while no poll thread uses the pool.
//
// Misuse (freeing a packet twice, or one from another pool) is a bug that
// would corrupt the free stack; it is checked with one branch and aborts.
//
// Large buffers: a GSO super-frame kept whole (up to 64 KiB, see packet.h)
// takes one of `large_count` buffers of kLargeBufferSize, carved out of an
// allocation of their own (never part of the registered area: no AF_XDP
// port sees one) and touched only when used. They have their own free
// stack; free() tells them apart by their descriptor's address.
//
// Registered memory (AF_XDP): the area starts on a page and is whole pages
// long, so a port can register it as its UMEM and let the kernel write
// frames straight into pool buffers; index_of_offset() turns the offset the
// kernel reports back into the packet that owns it. Such a port lends
// packets to the kernel and, when it closes on the control thread, gives the
// ones still lent back with hand_back(): the one call here that another
// thread may make. The owner takes them in reclaim(), which costs one
// relaxed load when nothing is waiting.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "packet/packet.h"

namespace sockswitch::packet {

class PacketPool final {
 public:
  // Room for a 1500-byte MTU frame, two VLAN tags and the default headroom.
  static constexpr std::uint32_t kDefaultBufferSize = 2048;

  // A 64 KiB GSO frame, two VLAN tags and the headroom.
  static constexpr std::uint32_t kLargeBufferSize = (64u << 10) + 512;
  // Super-frames one poll thread keeps in flight: two bursts' worth (an
  // AF_PACKET port receives a burst only into as many as are free).
  static constexpr std::uint32_t kDefaultLargeCount = 64;

  // Allocates everything. Throws std::invalid_argument when count is 0 or
  // the headroom leaves no room for a frame, std::bad_alloc when out of memory.
  explicit PacketPool(std::uint32_t count, std::uint32_t buffer_size = kDefaultBufferSize,
                      std::uint32_t headroom = kDefaultHeadroom,
                      std::uint32_t large_count = kDefaultLargeCount);
  // Packets point into the pool for their whole life: it stays where it is
  // built (hold it by value in per-thread state, or in a unique_ptr).
  PacketPool(const PacketPool&) = delete;
  PacketPool& operator=(const PacketPool&) = delete;
  ~PacketPool();

  // One empty packet with the pool's headroom and in_port kPortNone, or
  // nullptr when the pool is exhausted.
  [[nodiscard]] Packet* alloc() noexcept { return top_ == 0 ? nullptr : take(free_.get(), top_); }
  // Fills out.front() .. with as many packets as are free (up to out.size())
  // and returns how many; the rest of `out` is left untouched.
  [[nodiscard]] std::size_t alloc_burst(std::span<Packet*> out) noexcept {
    const std::size_t n = out.size() < top_ ? out.size() : top_;
    for (std::size_t i = 0; i < n; ++i)
      out[i] = take(free_.get(), top_);
    return n;
  }

  // One empty large packet (headroom and in_port as alloc()), or nullptr
  // when every large buffer is in use (or the pool has none).
  [[nodiscard]] Packet* alloc_large() noexcept {
    return large_top_ == 0 ? nullptr : take(large_free_.get(), large_top_);
  }
  // A packet with room for `length` bytes after the headroom: an ordinary
  // one when it fits, else a large one; nullptr when none is free.
  [[nodiscard]] Packet* alloc_for(std::uint32_t length) noexcept {
    return length <= buffer_size_ - headroom_ ? alloc() : alloc_large();
  }

  // Inline: every packet passes here once, so a call per packet shows.
  void free(Packet* p) noexcept {
    if (!owns(p)) [[unlikely]] {
      free_large(p);
      return;
    }
    if (p->in_pool_) [[unlikely]]
      misuse("packet freed twice");
    p->in_pool_ = true;
    free_[top_++] = p;
  }
  void free_burst(std::span<Packet* const> packets) noexcept {
    for (Packet* p : packets)
      free(p);
  }

  [[nodiscard]] std::size_t available() const noexcept { return top_; }
  [[nodiscard]] std::size_t large_available() const noexcept { return large_top_; }
  [[nodiscard]] std::size_t large_size() const noexcept { return large_count_; }
  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  [[nodiscard]] std::uint32_t buffer_size() const noexcept { return buffer_size_; }
  [[nodiscard]] std::uint32_t headroom() const noexcept { return headroom_; }
  // The buffer area, for registration as an AF_XDP UMEM: page-aligned,
  // whole pages, buffer i at offset i * stride().
  [[nodiscard]] std::span<std::uint8_t> area() noexcept { return {memory_.get(), area_bytes_}; }
  [[nodiscard]] std::size_t stride() const noexcept { return stride_; }
  // The packet whose buffer holds byte `offset` of the area (offset < area size).
  [[nodiscard]] Packet& packet_at_offset(std::uint64_t offset) noexcept {
    return packets_[offset / stride_];
  }
  [[nodiscard]] std::uint64_t offset_of(const Packet& p) const noexcept {
    return static_cast<std::uint64_t>(p.data() - memory_.get());
  }
  [[nodiscard]] std::size_t index_of(const Packet& p) const noexcept {
    return static_cast<std::size_t>(&p - packets_.get());
  }

  // Receive rings (AF_XDP fill rings) lend packets to the kernel and keep
  // them while their queue is idle. Each ring that lends from this pool
  // registers (control thread, while it is built and closed), and keeps at
  // most lend_share() packets lent: the lendable part of the pool (all but
  // the eighth kept for transmit copies and other ports) split evenly, so
  // that no queue is left with an empty ring because others filled theirs
  // first (a queue without buffers drops every frame the kernel hashes onto it).
  //
  // A ring gives lent packets back only as its queue receives, so a ring
  // added while others are full (a port added at run time, beside idle
  // ones) can take only what they left: each ring's share is also capped,
  // so that a thread's pool keeps room for the rings added later. The cap
  // is far above what a busy-polling thread leaves unpolled.
  static constexpr std::size_t kMaxLendShare = 512;
  void add_lender() noexcept { set_lenders(lenders_ + 1); }
  void remove_lender() noexcept { set_lenders(lenders_ - 1); }
  [[nodiscard]] std::size_t lend_floor() const noexcept { return count_ / 8; }
  [[nodiscard]] std::size_t lend_share() const noexcept {
    return lend_share_.load(std::memory_order_relaxed);
  }
  // Control thread: more rings lend than can each hold the capped share, so
  // a ring added now may find the pool emptied by idle ones.
  [[nodiscard]] bool overcommitted() const noexcept {
    return lenders_ * kMaxLendShare > count_ - lend_floor();
  }

  // Any thread: queues packets taken from this pool for the owner to free
  // at its next reclaim(). Lock-free; allocates the list node (control path).
  void hand_back(std::vector<Packet*> packets);
  // Owner thread: frees what hand_back() queued. Returns how many.
  std::size_t reclaim() noexcept {
    if (returned_.load(std::memory_order_relaxed) == nullptr) return 0;
    return reclaim_slow();
  }

  [[nodiscard]] bool owns(const Packet* p) const noexcept {
    return is_one_of(p, packets_.get(), count_);
  }

 private:
  [[noreturn, gnu::cold]] static void misuse(const char* what) noexcept;
  void free_large(Packet* p) noexcept;
  // Pops a non-empty free stack: an empty packet with the pool's headroom.
  Packet* take(Packet** stack, std::size_t& top) noexcept {
    Packet* p = stack[--top];
    p->in_pool_ = false;
    p->reset(headroom_);
    return p;
  }
  // Whether `p` is one of the `n` descriptors from `first` (compared as
  // integers: relational operators on unrelated pointers are unspecified).
  static bool is_one_of(const Packet* p, const Packet* first, std::size_t n) noexcept {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    const auto lo = reinterpret_cast<std::uintptr_t>(first);
    const auto hi = reinterpret_cast<std::uintptr_t>(first + n);
    return a >= lo && a < hi && (a - lo) % sizeof(Packet) == 0;
  }
  // Binds `n` descriptors to buffers `stride` apart from `memory`, all free,
  // the lowest buffers on top (a lightly used pool touches the fewest pages).
  static void carve(std::uint8_t* memory, std::size_t stride, std::uint32_t size, std::size_t n,
                    Packet* packets, Packet** stack) noexcept;
  std::size_t reclaim_slow() noexcept;
  void set_lenders(std::size_t n) noexcept {
    lenders_ = n;
    lend_share_.store(std::min(kMaxLendShare, (count_ - lend_floor()) / (n == 0 ? 1 : n)),
                      std::memory_order_relaxed);
  }

  struct Returned {  // one hand_back() call, on a singly linked stack
    std::vector<Packet*> packets;
    Returned* next = nullptr;
  };

  struct AlignedFree {
    void operator()(std::uint8_t* p) const noexcept;
  };

  std::unique_ptr<std::uint8_t[], AlignedFree> memory_;
  std::unique_ptr<Packet[]> packets_;
  std::unique_ptr<Packet*[]> free_;  // stack of free descriptors, top_ entries
  std::size_t count_ = 0;
  std::size_t top_ = 0;
  std::unique_ptr<std::uint8_t[], AlignedFree> large_memory_;
  std::unique_ptr<Packet[]> large_packets_;
  std::unique_ptr<Packet*[]> large_free_;
  std::size_t large_count_ = 0;
  std::size_t large_top_ = 0;
  std::size_t stride_ = 0;
  std::size_t area_bytes_ = 0;
  std::atomic<Returned*> returned_{nullptr};
  std::size_t lenders_ = 0;                 // control thread
  std::atomic<std::size_t> lend_share_{0};  // read by the poll thread
  std::uint32_t buffer_size_ = 0;
  std::uint32_t headroom_ = 0;
};

}  // namespace sockswitch::packet
