// ports/port_capture.cc: the capture ring.
#include "ports/port_capture.h"

#include <time.h>

#include <algorithm>
#include <cstring>

namespace sockswitch::ports {

PortCapture::PortCapture(CaptureDirection directions)
    : directions_(directions), slots_(std::make_unique<Slot[]>(kSlots)) {
  for (std::size_t i = 0; i < kSlots; ++i)
    slots_[i].turn.store(i, std::memory_order_relaxed);
}

void PortCapture::record(CaptureDirection direction,
                         std::span<packet::Packet* const> packets) noexcept {
  if ((static_cast<unsigned>(directions_) & static_cast<unsigned>(direction)) == 0) return;
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  const std::uint64_t time_ns = static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000U +
                                static_cast<std::uint64_t>(now.tv_nsec);
  for (const packet::Packet* p : packets)
    record_one(direction, *p, time_ns);
}

void PortCapture::record_one(CaptureDirection direction, const packet::Packet& p,
                             std::uint64_t time_ns) noexcept {
  std::uint64_t position = tail_.load(std::memory_order_relaxed);
  Slot* slot = nullptr;
  for (;;) {
    slot = &slots_[position & (kSlots - 1)];
    const std::uint64_t turn = slot->turn.load(std::memory_order_acquire);
    if (turn == position) {
      if (tail_.compare_exchange_weak(position, position + 1, std::memory_order_relaxed)) break;
    } else if (turn < position) {
      dropped_.fetch_add(1, std::memory_order_relaxed);  // the reader is a lap behind: full
      return;
    } else {
      position = tail_.load(std::memory_order_relaxed);  // another thread took it
    }
  }
  Frame& f = slot->frame;
  f.time_ns = time_ns;
  f.length = p.length();
  f.captured = static_cast<std::uint16_t>(std::min<std::size_t>(p.length(), kSnapLength));
  f.direction = direction;
  std::memcpy(f.data.data(), p.data(), f.captured);
  slot->turn.store(position + 1, std::memory_order_release);
  recorded_.fetch_add(1, std::memory_order_relaxed);
}

bool PortCapture::take(Frame& out) noexcept {
  Slot& slot = slots_[head_ & (kSlots - 1)];
  if (slot.turn.load(std::memory_order_acquire) != head_ + 1) return false;
  const Frame& f = slot.frame;
  out.time_ns = f.time_ns;
  out.length = f.length;
  out.captured = f.captured;
  out.direction = f.direction;
  std::memcpy(out.data.data(), f.data.data(), f.captured);
  // Free for the producer one lap on.
  slot.turn.store(head_ + kSlots, std::memory_order_release);
  ++head_;
  return true;
}

}  // namespace sockswitch::ports
