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

namespace sockswitch::ports {

class FrameRing final {
 public:
  static constexpr std::uint32_t kSlotSize = 2048;

  explicit FrameRing(std::uint32_t depth)
      : mask_(round_up(depth) - 1),
        slots_(std::make_unique<Slot[]>(mask_ + 1)),
        wakeup_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (wakeup_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  }
  ~FrameRing() { ::close(wakeup_); }
  FrameRing(const FrameRing&) = delete;
  FrameRing& operator=(const FrameRing&) = delete;

  // Producer. False when the ring is full or the frame is larger than a slot.
  [[nodiscard]] bool push(std::span<const std::uint8_t> frame) noexcept {
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    const std::uint64_t tail = tail_.load(std::memory_order_acquire);
    if (head - tail > mask_ || frame.size() > kSlotSize) return false;
    Slot& s = slots_[head & mask_];
    std::memcpy(s.bytes, frame.data(), frame.size());
    s.length = static_cast<std::uint32_t>(frame.size());
    head_.store(head + 1, std::memory_order_release);
    if (head == tail && !signaled_.exchange(true, std::memory_order_acq_rel)) {
      const std::uint64_t one = 1;
      [[maybe_unused]] const ssize_t w = ::write(wakeup_, &one, sizeof one);
    }
    return true;
  }

  // Consumer. The oldest frame, or an empty span; valid until pop().
  [[nodiscard]] std::span<const std::uint8_t> front() noexcept {
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail == head_.load(std::memory_order_acquire)) return {};
    const Slot& s = slots_[tail & mask_];
    return {s.bytes, s.length};
  }
  void pop() noexcept {
    tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
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
  struct Slot {
    std::uint32_t length = 0;
    std::uint8_t bytes[kSlotSize];
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
  int wakeup_;
  alignas(64) std::atomic<std::uint64_t> head_{0};
  alignas(64) std::atomic<std::uint64_t> tail_{0};
  alignas(64) std::atomic<bool> signaled_{false};
};

}  // namespace sockswitch::ports
