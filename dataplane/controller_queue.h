// dataplane/controller_queue.h: frames between a bridge's poll thread and
// the control thread's OpenFlow sessions.
//
// Two single-producer single-consumer rings per bridge (exactly one poll
// thread serves a bridge, and only the control thread talks OpenFlow):
//   punts     poll thread -> control thread: frames a `controller` action
//             sent up, to become PACKET_IN messages;
//   injected  control thread -> poll thread: PACKET_OUT frames with their
//             actions, run by the poll thread as if received.
// Slots are fixed arrays allocated with the bridge: nothing is allocated on
// the packet path, and a full ring refuses (the punt is counted as
// drop.controller_queue; a PACKET_OUT gets an error), so a flood of
// controller traffic cannot grow memory or starve the control thread.
// The poll thread signals new punts through an eventfd only when the ring
// was empty, so a burst costs one wake-up.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

#include "flowtable/action.h"

namespace sockswitch::dataplane {

template <typename T, std::size_t N>
class SpscRing final {
  static_assert((N & (N - 1)) == 0, "a power of two");

 public:
  // Producer: the slot to fill, or nullptr when the ring is full.
  [[nodiscard]] T* slot() noexcept {
    const std::uint64_t h = head_.load(std::memory_order_relaxed);
    if (h - tail_.load(std::memory_order_acquire) == N) return nullptr;
    return &slots_[h & (N - 1)];
  }
  // Producer: publishes the slot slot() gave. True when the ring was empty.
  bool push() noexcept {
    const std::uint64_t h = head_.load(std::memory_order_relaxed);
    head_.store(h + 1, std::memory_order_release);
    return h == tail_.load(std::memory_order_acquire);
  }
  // Consumer: the oldest entry, or nullptr.
  [[nodiscard]] const T* front() noexcept {
    const std::uint64_t t = tail_.load(std::memory_order_relaxed);
    if (t == head_.load(std::memory_order_acquire)) return nullptr;
    return &slots_[t & (N - 1)];
  }
  void pop() noexcept {
    tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }

 private:
  alignas(64) std::atomic<std::uint64_t> head_{0};
  alignas(64) std::atomic<std::uint64_t> tail_{0};
  std::array<T, N> slots_{};
};

// The largest frame either way: a pool buffer's.
inline constexpr std::size_t kControllerFrameMax = 2048;

struct PuntedPacket {
  std::uint64_t cookie = 0;
  std::uint32_t in_port = 0;  // OpenFlow port number
  std::uint16_t total_len = 0;
  std::uint16_t len = 0;  // bytes in data (the flow's max_len cut)
  std::uint8_t table = 0;
  std::uint8_t reason = 1;  // OFPR_NO_MATCH 0 (a table-miss flow), OFPR_ACTION 1
  bool miss = false;        // no flow matched at all (for OpenFlow 1.0 clients)
  std::array<std::uint8_t, kControllerFrameMax> data;
};

struct InjectedPacket {
  static constexpr std::size_t kMaxActions = 16;
  std::uint32_t in_port = 0;  // OpenFlow port number (CONTROLLER, LOCAL or a port)
  bool to_table = false;      // output:TABLE: run through the flow table
  std::uint8_t actions_len = 0;
  std::uint16_t len = 0;
  std::array<flowtable::Action, kMaxActions> actions;
  std::array<std::uint8_t, kControllerFrameMax> data;
};

struct ControllerQueues {
  ControllerQueues();
  ~ControllerQueues();
  ControllerQueues(const ControllerQueues&) = delete;
  ControllerQueues& operator=(const ControllerQueues&) = delete;

  SpscRing<PuntedPacket, 128> punts;
  SpscRing<InjectedPacket, 32> injected;
  int punt_fd = -1;  // eventfd: readable when punts went from empty to not
  // Wakes the control thread (poll thread, after a push that found the
  // ring empty).
  void signal_punt() const noexcept;
};

}  // namespace sockswitch::dataplane
