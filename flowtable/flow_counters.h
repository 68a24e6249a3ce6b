// flowtable/flow_counters.h: a flow's packet and byte counters, one slot per
// poll thread.
//
// Counters are written on the hot path, so no thread may share a write with
// another: each poll thread owns slot[its index] and is its only writer
// (relaxed load + store, no locked read-modify-write). Readers (the control
// thread, dump-flows) sum the slots.
//
// The counters belong to the rule, not to a table version: a rule that a new
// version keeps, or a modify that only changes actions, shares the same
// FlowCounters object, so counts survive both without any copying. All slots
// of one rule share a cache line (64 bytes for four threads); two threads
// hitting the same flow at the same time pay false sharing, which is cheaper
// than four cache lines per flow at 100 000 flows.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace sockswitch::flowtable {

inline constexpr std::size_t kMaxPollThreads = 4;

class FlowCounters final {
 public:
  // Hot path: only poll thread `thread` may call this for its slot.
  void count(std::size_t thread, std::uint64_t packets, std::uint64_t bytes) noexcept {
    Slot& s = slots_[thread];
    s.packets.store(s.packets.load(std::memory_order_relaxed) + packets, std::memory_order_relaxed);
    s.bytes.store(s.bytes.load(std::memory_order_relaxed) + bytes, std::memory_order_relaxed);
  }

  [[nodiscard]] std::uint64_t packets() const noexcept {
    std::uint64_t n = 0;
    for (const Slot& s : slots_)
      n += s.packets.load(std::memory_order_relaxed);
    return n;
  }
  [[nodiscard]] std::uint64_t bytes() const noexcept {
    std::uint64_t n = 0;
    for (const Slot& s : slots_)
      n += s.bytes.load(std::memory_order_relaxed);
    return n;
  }

 private:
  struct Slot {
    std::atomic<std::uint64_t> packets{0};
    std::atomic<std::uint64_t> bytes{0};
  };
  alignas(64) std::array<Slot, kMaxPollThreads> slots_{};
};

}  // namespace sockswitch::flowtable
