// ports/wireguard/endpoint_cell.h: a peer's current endpoint, read on every packet, written on
// roaming.
//
// A seqlock over the Endpoint's bytes held in relaxed atomic words (so the
// racy copy is defined behaviour): readers retry if a write overlapped.
// Writers are the poll thread (a peer roamed) and the handshake thread
// (configured, or a handshake came from a new address); they exclude each
// other with a spin flag held for a few stores, and writes are rare
// (only when the address actually changes). port == 0 means unknown.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "ports/wireguard/endpoint.h"

namespace sockswitch::wireguard {

class EndpointCell final {
 public:
  static_assert(std::is_trivially_copyable_v<Endpoint>);
  static constexpr std::size_t kWords = (sizeof(Endpoint) + 7) / 8;

  EndpointCell() noexcept { store(Endpoint{}); }

  void store(const Endpoint& e) noexcept {
    std::array<std::uint64_t, kWords> raw{};
    std::memcpy(raw.data(), &e, sizeof e);
    while (writing_.test_and_set(std::memory_order_acquire)) {
    }
    seq_.fetch_add(1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    for (std::size_t i = 0; i < kWords; ++i)
      words_[i].store(raw[i], std::memory_order_relaxed);
    seq_.fetch_add(1, std::memory_order_release);
    writing_.clear(std::memory_order_release);
  }

  [[nodiscard]] Endpoint load() const noexcept {
    std::array<std::uint64_t, kWords> raw{};
    for (;;) {
      const std::uint32_t before = seq_.load(std::memory_order_acquire);
      if (before & 1) continue;
      for (std::size_t i = 0; i < kWords; ++i)
        raw[i] = words_[i].load(std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (seq_.load(std::memory_order_relaxed) == before) break;
    }
    Endpoint e;
    std::memcpy(static_cast<void*>(&e), raw.data(), sizeof e);
    return e;
  }

 private:
  std::atomic<std::uint32_t> seq_{0};
  std::array<std::atomic<std::uint64_t>, kWords> words_{};
  std::atomic_flag writing_ = ATOMIC_FLAG_INIT;
};

}  // namespace sockswitch::wireguard
