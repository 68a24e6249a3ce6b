// packet/single_writer_counter.h: a counter one thread writes and any thread reads.
//
// Poll threads count per packet and burst; the control thread reads the
// counts for `show` and metrics. With one writer an atomic increment (a
// locked read-modify-write) buys nothing: a relaxed load and store of the
// writer's own value cost a plain add, and a reader still sees a whole
// value, never a torn one.
#pragma once

#include <atomic>
#include <cstdint>

namespace sockswitch::packet {

// Only the counter's one writer thread may call this.
inline void single_writer_add(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) noexcept {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

}  // namespace sockswitch::packet
