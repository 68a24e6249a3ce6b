// ports/frame_ring.h: a bounded single-producer/single-consumer ring of
// frames, copied in and out of fixed-size slots.
//
// The in-memory ports (tests, benchmarks, patch links between bridges) pass
// frames between two threads without locks: the producer owns `head_`, the
// consumer `tail_`, each publishes with release and reads the other's with
// acquire. Frames are copied because packets belong to the pool of the
// thread that allocated them (packet_pool.h); a 64-byte copy costs less than
// any cross-thread buffer return.
//
// Slots are cache-line aligned 2 KiB buffers (an odd number of lines apart)
// and the lengths sit in their own array, so a minimum-size frame touches
// one line of its slot. The
// batch forms (reserve/slot/publish, available/peek/release) move a whole
// burst with one index load and one index store per side instead of one
// per frame.
//
// Wake-up: a consumer that sleeps needs an fd that turns readable when the
// ring stops being empty. The producer writes the eventfd only on the
// empty -> non-empty edge and only once until the consumer rearms it, so a
// busy ring costs no system calls on either side.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <stdexcept>
#include <system_error>

#include "packet/frame_copy.h"

namespace sockswitch::ports {

class FrameRing final {
 public:
  static constexpr std::uint32_t kSlotSize = 2048;

  explicit FrameRing(std::uint32_t depth)
      : mask_(round_up(depth) - 1),
        slots_(std::make_unique<Slot[]>(mask_ + 1)),
        lengths_(std::make_unique<std::uint32_t[]>(mask_ + 1)),
        wakeup_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (wakeup_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  }
  ~FrameRing() { ::close(wakeup_); }
  FrameRing(const FrameRing&) = delete;
  FrameRing& operator=(const FrameRing&) = delete;

  // Producer. False when the ring is full or the frame is larger than a slot.
  [[nodiscard]] bool push(std::span<const std::uint8_t> frame) noexcept {
    if (frame.size() > kSlotSize || reserve(1) == 0) return false;
    packet::copy_frame_bytes(slot(0), frame.data(), frame.size());
    set_length(0, static_cast<std::uint32_t>(frame.size()));
    publish(1);
    return true;
  }

  // Producer, a burst at a time: reserve(n) says how many slots (<= n) are
  // free; fill slot(i) (kSlotSize bytes) and set_length(i) for i below the
  // count to publish, then publish(count) makes them visible at once.
  [[nodiscard]] std::size_t reserve(std::size_t n) noexcept {
    reserved_head_ = head_.load(std::memory_order_relaxed);
    reserved_tail_ = tail_.load(std::memory_order_acquire);
    const std::uint64_t free = mask_ + 1 - (reserved_head_ - reserved_tail_);
    const std::size_t count = n < free ? n : static_cast<std::size_t>(free);
    // A deep ring's slots are out of L1 by the time they come round again:
    // ask for all of a burst's lines at once rather than one store miss
    // after the other (single pushes get theirs from publish()).
    if (count > 1)
      for (std::size_t i = 0; i < count; ++i)
        __builtin_prefetch(slot(i), 1);
    return count;
  }
  [[nodiscard]] std::uint8_t* slot(std::size_t i) noexcept {
    return slots_[(reserved_head_ + i) & mask_].bytes;
  }
  void set_length(std::size_t i, std::uint32_t length) noexcept {
    lengths_[(reserved_head_ + i) & mask_] = length;
  }
  void publish(std::size_t n) noexcept {
    if (n == 0) return;
    head_.store(reserved_head_ + n, std::memory_order_release);
    __builtin_prefetch(slots_[(reserved_head_ + n) & mask_].bytes, 1);  // the next push's line
    if (reserved_head_ == reserved_tail_ && !signaled_.exchange(true, std::memory_order_acq_rel)) {
      const std::uint64_t one = 1;
      [[maybe_unused]] const ssize_t w = ::write(wakeup_, &one, sizeof one);
    }
  }

  // Consumer. The oldest frame, or an empty span; valid until pop().
  [[nodiscard]] std::span<const std::uint8_t> front() noexcept {
    return available() == 0 ? std::span<const std::uint8_t>{} : peek(0);
  }
  void pop() noexcept { release(1); }

  // Consumer, a burst at a time: available() frames are ready; peek(i) is
  // the i-th oldest of them (a view of its slot, kSlotSize bytes readable),
  // valid until release(n) drops the n oldest.
  [[nodiscard]] std::size_t available() noexcept {
    return static_cast<std::size_t>(head_.load(std::memory_order_acquire) -
                                    tail_.load(std::memory_order_relaxed));
  }
  [[nodiscard]] std::span<const std::uint8_t> peek(std::size_t i) const noexcept {
    const std::uint64_t at = (tail_.load(std::memory_order_relaxed) + i) & mask_;
    return {slots_[at].bytes, lengths_[at]};
  }
  void release(std::size_t n) noexcept {
    tail_.store(tail_.load(std::memory_order_relaxed) + n, std::memory_order_release);
  }

  // Consumer, when it found the ring empty: clears the wake-up signal so the
  // next push raises it again. Returns true when frames arrived meanwhile.
  bool rearm() noexcept {
    if (!signaled_.load(std::memory_order_acquire)) return false;
    signaled_.store(false, std::memory_order_release);
    std::uint64_t count;
    [[maybe_unused]] const ssize_t r = ::read(wakeup_, &count, sizeof count);
    return !front().empty();
  }

  [[nodiscard]] int wakeup_fd() const noexcept { return wakeup_; }
  [[nodiscard]] std::size_t size() const noexcept {
    return head_.load(std::memory_order_acquire) - tail_.load(std::memory_order_acquire);
  }

 private:
  // One spare line makes the stride an odd number of lines: slots 2 KiB
  // apart would put every frame's first line in the same two L1 sets.
  struct alignas(64) Slot {
    std::uint8_t bytes[kSlotSize + 64];
  };

  static std::uint32_t round_up(std::uint32_t n) {
    if (n == 0 || n > (1u << 20)) throw std::invalid_argument("ring depth must be 1..1048576");
    std::uint32_t p = 1;
    while (p < n)
      p <<= 1;
    return p;
  }

  std::uint64_t mask_;
  std::unique_ptr<Slot[]> slots_;
  std::unique_ptr<std::uint32_t[]> lengths_;
  int wakeup_;
  alignas(64) std::atomic<std::uint64_t> head_{0};
  std::uint64_t reserved_head_ = 0, reserved_tail_ = 0;  // the producer's, from reserve to publish
  alignas(64) std::atomic<std::uint64_t> tail_{0};
  alignas(64) std::atomic<bool> signaled_{false};
};

}  // namespace sockswitch::ports
