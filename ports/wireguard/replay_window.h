// ports/wireguard/replay_window.h: the receive side's sliding anti-replay window.
//
// 8192 bits as in the Linux module and wireguard-go (RFC 6479's layout): a
// ring of 64-bit words indexed by counter / 64, plus the highest counter
// seen. A counter above it slides the window forward, clearing the words
// it passes over (at most the whole ring, so a huge jump costs the same as
// a small one); a counter more than kWindowSize - 64 behind it is too old;
// otherwise its bit says whether it was seen. Counters from
// kRejectAfterMessages (2^64 - 2^13 - 1) on are refused: a sender must
// rekey before it gets there, and the window arithmetic stays far from
// wrapping.
//
// Call accept() only after the packet authenticated, so forged counters
// cannot move the window. One writer (the poll thread owning the session).
#pragma once

#include <array>
#include <cstdint>

namespace sockswitch::wireguard {

inline constexpr std::uint64_t kRejectAfterMessages = ~std::uint64_t{0} - (std::uint64_t{1} << 13);

class ReplayWindow final {
 public:
  static constexpr std::uint64_t kWindowBits = 8192;
  static constexpr std::uint64_t kWordBits = 64;
  // How far behind the highest counter a packet may still arrive.
  static constexpr std::uint64_t kWindowSize = kWindowBits - kWordBits;

  // true (and the counter recorded) if the counter is new, in the window
  // and below the limit; false for duplicates, too old, or at the limit.
  [[nodiscard]] bool accept(std::uint64_t counter) noexcept;
  void reset() noexcept;

 private:
  static constexpr std::uint64_t kWords = kWindowBits / kWordBits;
  std::array<std::uint64_t, kWords> bits_{};
  std::uint64_t highest_ = 0;
  bool any_ = false;  // counter 0 is a valid first packet
};

}  // namespace sockswitch::wireguard
