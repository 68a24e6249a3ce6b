// control/ovsdb/ofport_allocator.cc: OVS's rotating port-number allocation.
#include "control/ovsdb/ofport_allocator.h"

namespace sockswitch::control::ovsdb {

bool OfportAllocator::in_use(std::uint32_t number) const {
  const auto it = usage_.find(number);
  return it != usage_.end() && it->second == Clock::time_point::max();
}

std::optional<std::uint32_t> OfportAllocator::take(std::uint32_t wanted) {
  if (wanted == 0 || wanted >= kMax || in_use(wanted)) return std::nullopt;
  usage_[wanted] = Clock::time_point::max();
  return wanted;
}

std::optional<std::uint32_t> OfportAllocator::allocate(Clock::time_point now) {
  const std::uint32_t end = last_;
  std::optional<std::uint32_t> oldest;
  Clock::time_point oldest_at = Clock::time_point::max();
  for (;;) {
    if (++last_ >= kAutomaticLimit) last_ = 1;
    const auto it = usage_.find(last_);
    if (it == usage_.end() || it->second <= now - kReuseAfter) {
      usage_[last_] = Clock::time_point::max();
      return last_;
    }
    if (it->second < oldest_at) {
      oldest_at = it->second;
      oldest = last_;
    }
    if (last_ == end || (end == 0 && last_ == kAutomaticLimit - 1)) break;
  }
  // Every number was used within the hour: the longest resting goes again.
  if (oldest) usage_[*oldest] = Clock::time_point::max();
  return oldest;
}

void OfportAllocator::release(std::uint32_t number, Clock::time_point now) {
  if (const auto it = usage_.find(number); it != usage_.end()) it->second = now;
}

}  // namespace sockswitch::control::ovsdb
