// dataplane/thread_stats.h: what one poll thread did, readable while it runs.
//
// Written only by the owning poll thread (relaxed load + store: no locked
// instruction on the hot path) and read by the control thread, which sums
// the threads ("counters are per thread and summed on read"). Updated once
// per burst where possible: the per-packet work accumulates in locals.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "dataplane/drop_reason.h"
#include "dataplane/flow_extractor.h"
#include "packet/single_writer_counter.h"

namespace sockswitch::dataplane {

class StatCounter final {
 public:
  void add(std::uint64_t n) noexcept { packet::single_writer_add(v_, n); }
  [[nodiscard]] std::uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

struct ThreadStats {
  StatCounter packets;  // received (or sent by PACKET_OUT) and processed
  // Of those, the ones at least one copy of which was queued to a port;
  // every other one is counted once under a drop reason below.
  StatCounter forwarded;
  StatCounter bursts;              // rx bursts that carried at least one packet
  StatCounter emc_hits;            // decided by the exact-match cache
  StatCounter megaflow_hits;       // decided by the megaflow cache
  StatCounter classifier_lookups;  // went to the classifier (cache misses)
  StatCounter cycles;              // TSC cycles spent processing bursts
  StatCounter sleeps;              // times the thread slept on its ports' wake-up fds
  StatCounter busy_ns;             // wall time of the passes that moved packets
  std::array<StatCounter, static_cast<std::size_t>(Drop::kCount)> drops;
  std::array<StatCounter, static_cast<std::size_t>(ParseResult::kCount)> parse;

  void drop(Drop d, std::uint64_t n = 1) noexcept { drops[static_cast<std::size_t>(d)].add(n); }
  [[nodiscard]] std::uint64_t dropped(Drop d) const noexcept {
    return drops[static_cast<std::size_t>(d)].get();
  }
};

}  // namespace sockswitch::dataplane
