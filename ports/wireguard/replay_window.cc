// ports/wireguard/replay_window.cc: ReplayWindow::accept.
#include "ports/wireguard/replay_window.h"

#include <algorithm>

namespace sockswitch::wireguard {

bool ReplayWindow::accept(std::uint64_t counter) noexcept {
  if (counter >= kRejectAfterMessages) return false;
  const std::uint64_t word = counter / kWordBits;
  if (!any_ || counter > highest_) {
    const std::uint64_t current = any_ ? highest_ / kWordBits : word;
    // Clear the words between the old top and the new one (all of them
    // after a jump wider than the ring); the new top's own word included.
    const std::uint64_t advance = any_ ? std::min(word - current, kWords) : kWords;
    for (std::uint64_t i = 1; i <= advance; ++i)
      bits_[(current + i) % kWords] = 0;
    highest_ = counter;
    any_ = true;
  } else if (highest_ - counter > kWindowSize) {
    return false;
  }
  std::uint64_t& w = bits_[word % kWords];
  const std::uint64_t bit = std::uint64_t{1} << (counter % kWordBits);
  if (w & bit) return false;
  w |= bit;
  return true;
}

void ReplayWindow::reset() noexcept {
  bits_.fill(0);
  highest_ = 0;
  any_ = false;
}

}  // namespace sockswitch::wireguard
