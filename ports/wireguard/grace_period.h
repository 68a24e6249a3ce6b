// ports/wireguard/grace_period.h: when memory the poll thread may still read can be freed.
//
// The poll thread brackets each burst with enter()/leave(), which bump one
// counter (odd = inside a burst). The handshake thread first unpublishes an
// object (a seq_cst store of the pointer that replaces it), then takes a
// ticket(). The object may be freed once passed(ticket): either the poll
// thread was outside a burst when the ticket was taken (so any later burst
// loads the new pointer), or it has since left the burst it was in. Two
// atomic increments per burst, nothing per packet. One poll thread.
#pragma once

#include <atomic>
#include <cstdint>

namespace sockswitch::wireguard {

class GracePeriod final {
 public:
  void enter() noexcept { epoch_.fetch_add(1, std::memory_order_seq_cst); }
  void leave() noexcept { epoch_.fetch_add(1, std::memory_order_seq_cst); }

  [[nodiscard]] std::uint64_t ticket() const noexcept {
    return epoch_.load(std::memory_order_seq_cst);
  }
  [[nodiscard]] bool passed(std::uint64_t ticket) const noexcept {
    return (ticket & 1) == 0 || epoch_.load(std::memory_order_seq_cst) != ticket;
  }

 private:
  std::atomic<std::uint64_t> epoch_{0};
};

}  // namespace sockswitch::wireguard
