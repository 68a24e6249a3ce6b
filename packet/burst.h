// packet/burst.h: up to kBurstSize packet pointers, the unit every stage works on.
//
// Stages take a whole burst so that dispatch, prefetching and counter
// updates happen once per burst rather than once per packet (DESIGN.md: rx
// bursts of at most 32). A Burst is a fixed array plus a count: it lives on
// the poll thread's stack or in its per-core state and never allocates.
// `storage()` is what a port's rx_burst fills; `set_size` then says how many
// it wrote. `packets()` is the filled part as a std::span.
//
// A Burst does not own its packets: whoever drops it must free or forward them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "packet/packet.h"

namespace sockswitch::packet {

inline constexpr std::size_t kBurstSize = 32;

class Burst final {
 public:
  [[nodiscard]] std::span<Packet*> packets() noexcept { return {slots_.data(), size_}; }
  [[nodiscard]] std::span<Packet* const> packets() const noexcept { return {slots_.data(), size_}; }
  // All kBurstSize slots, for a producer that writes first and counts after.
  [[nodiscard]] std::span<Packet*, kBurstSize> storage() noexcept { return slots_; }

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] bool full() const noexcept { return size_ == kBurstSize; }
  [[nodiscard]] static constexpr std::size_t capacity() noexcept { return kBurstSize; }

  // False (burst unchanged) when already full.
  [[nodiscard]] bool push(Packet* p) noexcept {
    if (size_ == kBurstSize) return false;
    slots_[size_++] = p;
    return true;
  }
  // Clamped to kBurstSize, so a misbehaving producer cannot make packets()
  // reach past the array.
  void set_size(std::size_t n) noexcept { size_ = n < kBurstSize ? n : kBurstSize; }
  void clear() noexcept { size_ = 0; }

  [[nodiscard]] Packet* operator[](std::size_t i) const noexcept { return slots_[i]; }
  [[nodiscard]] Packet* const* begin() const noexcept { return slots_.data(); }
  [[nodiscard]] Packet* const* end() const noexcept { return slots_.data() + size_; }

 private:
  std::array<Packet*, kBurstSize> slots_{};
  std::size_t size_ = 0;
};

}  // namespace sockswitch::packet
