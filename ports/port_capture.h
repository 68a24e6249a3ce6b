// ports/port_capture.h: frames a port receives or sends, copied out for
// `ctl capture` while one is armed.
//
// On an AF_XDP port the kernel never shows received frames to a packet
// socket, so `tcpdump -i` sees nothing of them: the switch has to copy them
// itself. The control thread makes a PortCapture, hangs it on the port
// (Port::set_capture) and drains it every 100 ms or so; the poll threads
// that serve the port's queues copy each burst in as it passes. Cost when
// none is armed: one relaxed pointer load per burst.
//
// Memory is bounded: a ring of kSlots frames of at most kSnapLength bytes
// (longer frames are cut; the record keeps their length). When the reader
// is slow the ring fills and frames are dropped from the capture (counted),
// never from the traffic. Several poll threads may serve one port's
// queues, so slots are claimed as in a bounded multi-producer queue
// (Vyukov): a per-slot sequence number says whose turn it is, and nothing
// waits.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>

#include "packet/packet.h"

namespace sockswitch::ports {

enum class CaptureDirection : std::uint8_t { rx = 1, tx = 2, both = 3 };

class PortCapture final {
 public:
  static constexpr std::size_t kSlots = 1024;  // a power of two
  static constexpr std::size_t kSnapLength = 2048;

  struct Frame {
    std::uint64_t time_ns = 0;   // CLOCK_REALTIME, as pcap wants it
    std::uint32_t length = 0;    // on the wire
    std::uint16_t captured = 0;  // bytes kept in data
    CaptureDirection direction = CaptureDirection::rx;
    std::array<std::uint8_t, kSnapLength> data{};
  };

  explicit PortCapture(CaptureDirection directions);

  // Poll thread: copies the frames in, if this capture wants `direction`.
  void record(CaptureDirection direction, std::span<packet::Packet* const> packets) noexcept;

  // Control thread (one reader): the oldest frame not yet taken, copied to
  // `out`; false when there is none.
  [[nodiscard]] bool take(Frame& out) noexcept;
  // Control thread: whether take() would find a frame.
  [[nodiscard]] bool has_frame() const noexcept {
    return slots_[head_ & (kSlots - 1)].turn.load(std::memory_order_acquire) == head_ + 1;
  }

  [[nodiscard]] CaptureDirection directions() const noexcept { return directions_; }
  // Frames copied in, and frames the full ring had no room for.
  [[nodiscard]] std::uint64_t recorded() const noexcept {
    return recorded_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t dropped() const noexcept {
    return dropped_.load(std::memory_order_relaxed);
  }

 private:
  struct Slot {
    std::atomic<std::uint64_t> turn{0};  // == position: free to fill; == position + 1: filled
    Frame frame;
  };

  void record_one(CaptureDirection direction, const packet::Packet& p,
                  std::uint64_t time_ns) noexcept;

  const CaptureDirection directions_;
  std::unique_ptr<Slot[]> slots_;
  alignas(64) std::atomic<std::uint64_t> tail_{0};  // next position to claim
  alignas(64) std::uint64_t head_ = 0;              // next position to take (the reader's)
  std::atomic<std::uint64_t> recorded_{0};
  std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace sockswitch::ports
