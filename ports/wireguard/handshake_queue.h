// ports/wireguard/handshake_queue.h: handshake datagrams from the poll thread to the handshake
// thread.
//
// A bounded single-producer single-consumer ring of fixed slots (a copy of
// the message, at most 148 bytes, and its source). The poll thread pushes
// types 1-3 and moves on; when the ring is full the datagram is dropped and
// counted, so a flood costs the data path one copy per message at most.
// Its depth also tells the handshake thread that it is under load (then it
// demands cookies).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <span>
#include <vector>

#include "ports/wireguard/endpoint.h"
#include "ports/wireguard/messages.h"

namespace sockswitch::wireguard {

struct QueuedHandshake {
  Endpoint source;
  std::uint32_t size = 0;
  std::array<std::uint8_t, kInitiationSize> bytes{};
  [[nodiscard]] std::span<const std::uint8_t> view() const noexcept { return {bytes.data(), size}; }
};

class HandshakeQueue final {
 public:
  explicit HandshakeQueue(std::size_t capacity) : slots_(capacity == 0 ? 1 : capacity) {}

  // Poll thread. false when full or the datagram is larger than a slot.
  [[nodiscard]] bool push(std::span<const std::uint8_t> datagram, const Endpoint& source) noexcept {
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_.load(std::memory_order_acquire) >= slots_.size()) return false;
    if (datagram.size() > kInitiationSize) return false;
    QueuedHandshake& s = slots_[tail % slots_.size()];
    s.source = source;
    s.size = static_cast<std::uint32_t>(datagram.size());
    std::copy(datagram.begin(), datagram.end(), s.bytes.begin());
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Handshake thread.
  [[nodiscard]] bool pop(QueuedHandshake& out) noexcept {
    const std::size_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_.load(std::memory_order_acquire)) return false;
    out = slots_[head % slots_.size()];
    head_.store(head + 1, std::memory_order_release);
    return true;
  }
  [[nodiscard]] std::size_t depth() const noexcept {
    return tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_acquire);
  }

 private:
  std::vector<QueuedHandshake> slots_;
  alignas(64) std::atomic<std::size_t> head_{0};
  alignas(64) std::atomic<std::size_t> tail_{0};
};

}  // namespace sockswitch::wireguard
