// dataplane/meter_table.cc: token buckets and the published meter index.
#include "dataplane/meter_table.h"

#include <time.h>

namespace sockswitch::dataplane {

namespace {
constexpr std::uint64_t kNanos = 1'000'000'000;
}

std::uint64_t monotonic_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * kNanos + static_cast<std::uint64_t>(ts.tv_nsec);
}

MeterState::MeterState(const flowtable::MeterConfig& config)
    : config_(config),
      band_stats_(std::make_unique<BandStats[]>(config.bands.size())),
      last_ns_(monotonic_ns()),
      created_ns_(last_ns_) {
  for (const flowtable::MeterBand& b : config_.bands) {
    // One unit (a packet, or a kilobit) is `kNanos` rate-nanoseconds.
    const std::uint64_t burst = b.burst_size != 0 ? b.burst_size : b.rate;
    const std::uint64_t capacity = burst * kNanos;
    buckets_.push_back({capacity, capacity, b.rate, capacity / b.rate});
  }
}

bool MeterState::admit(std::uint32_t bytes, std::uint64_t now_ns) noexcept {
  const std::uint64_t elapsed = now_ns > last_ns_ ? now_ns - last_ns_ : 0;
  last_ns_ = std::max(last_ns_, now_ns);
  // A packet is one unit; a kilobit is one unit, so a frame is bits/1000 of one.
  const std::uint64_t cost = config_.unit == flowtable::MeterUnit::pktps
                                 ? kNanos
                                 : std::uint64_t{bytes} * 8 * (kNanos / 1000);
  packets_in_.add(1);
  bytes_in_.add(bytes);
  bool pass = true;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    Bucket& b = buckets_[i];
    b.tokens = std::min(b.capacity, b.tokens + std::min(elapsed, b.fill_ns) * b.rate);
    if (b.tokens >= cost) {
      b.tokens -= cost;
    } else {
      pass = false;
      band_stats_[i].packets.add(1);
      band_stats_[i].bytes.add(bytes);
    }
  }
  return pass;
}

MeterSet MeterSet::with(std::shared_ptr<MeterState> state) const {
  MeterSet next = without(state->config().id);
  const auto at = std::lower_bound(next.ids_.begin(), next.ids_.end(), state->config().id);
  const auto i = at - next.ids_.begin();
  next.ids_.insert(at, state->config().id);
  next.meters_.insert(next.meters_.begin() + i, std::move(state));
  return next;
}

MeterSet MeterSet::without(std::uint32_t id) const {
  MeterSet next;
  if (id == 0) return next;
  for (std::size_t i = 0; i < ids_.size(); ++i)
    if (ids_[i] != id) {
      next.ids_.push_back(ids_[i]);
      next.meters_.push_back(meters_[i]);
    }
  return next;
}

}  // namespace sockswitch::dataplane
