// dataplane/meter_table.h: a bridge's meters as the poll thread runs them.
//
// A MeterState is one meter's bands as token buckets, with OVS's userspace
// arithmetic: a band holds up to burst_size units (the rate when no burst
// is given), starts full, and refills at its rate; a packet takes one unit
// (pktps) or its frame's bits (kbps, k = 1 000) from every band that has
// them, and is dropped when any band had not enough. Tokens are kept in
// rate-nanoseconds, so refilling is one multiply with no rounding loss.
//
// A MeterSet is the immutable id -> MeterState index that a BridgeSnapshot
// publishes. Changing one meter builds a new set that shares the other
// meters' states, so their buckets and counters carry on; a modified meter
// starts again with full buckets (as OVS's does).
//
// Threads: a meter's buckets are written only by the poll thread of its
// bridge (one thread per bridge, as the MAC table); its counters are
// relaxed single-writer atomics the control thread reads for meter-stats.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/thread_stats.h"
#include "flowtable/meter.h"

namespace sockswitch::dataplane {

class MeterState final {
 public:
  explicit MeterState(const flowtable::MeterConfig& config);

  // Hot path: whether a frame of `bytes` passes at `now_ns` (monotonic).
  [[nodiscard]] bool admit(std::uint32_t bytes, std::uint64_t now_ns) noexcept;

  [[nodiscard]] const flowtable::MeterConfig& config() const noexcept { return config_; }
  struct BandStats {
    StatCounter packets, bytes;  // dropped by this band
  };
  [[nodiscard]] std::uint64_t packets_in() const noexcept { return packets_in_.get(); }
  [[nodiscard]] std::uint64_t bytes_in() const noexcept { return bytes_in_.get(); }
  [[nodiscard]] const BandStats& band(std::size_t i) const noexcept { return band_stats_[i]; }
  [[nodiscard]] std::uint64_t created_ns() const noexcept { return created_ns_; }

 private:
  struct Bucket {
    std::uint64_t tokens;    // rate-nanoseconds
    std::uint64_t capacity;  // burst_size (or rate) units, in rate-nanoseconds
    std::uint64_t rate;      // units a second
    std::uint64_t fill_ns;   // time to fill from empty: a longer gap adds nothing more
  };

  flowtable::MeterConfig config_;
  std::vector<Bucket> buckets_;
  std::unique_ptr<BandStats[]> band_stats_;
  StatCounter packets_in_, bytes_in_;
  std::uint64_t last_ns_ = 0;
  std::uint64_t created_ns_ = 0;
};

class MeterSet final {
 public:
  MeterSet() = default;
  // A set with `state` in place of the meter of its id (or added).
  [[nodiscard]] MeterSet with(std::shared_ptr<MeterState> state) const;
  // A set without meter `id` (every meter when id is 0).
  [[nodiscard]] MeterSet without(std::uint32_t id) const;

  // Hot path: the meter `id`, or nullptr.
  [[nodiscard]] MeterState* find(std::uint32_t id) const noexcept {
    const auto it = std::lower_bound(ids_.begin(), ids_.end(), id);
    return it != ids_.end() && *it == id ? meters_[std::size_t(it - ids_.begin())].get() : nullptr;
  }
  [[nodiscard]] const std::vector<std::shared_ptr<MeterState>>& meters() const noexcept {
    return meters_;
  }

 private:
  std::vector<std::uint32_t> ids_;  // sorted
  std::vector<std::shared_ptr<MeterState>> meters_;
};

// The monotonic clock in nanoseconds, as meters read it (once per burst).
[[nodiscard]] std::uint64_t monotonic_ns() noexcept;

}  // namespace sockswitch::dataplane
