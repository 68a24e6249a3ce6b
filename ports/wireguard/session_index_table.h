// ports/wireguard/session_index_table.h: receiver index -> keypair, for the poll thread.
//
// Every handshake and session has a 32-bit local index that the other side
// puts in each message to us. We choose the indices, so the low bits name
// a slot of a fixed array and the high bits are random: a lookup is one
// load and one compare, no hashing, no probing. The handshake thread
// reserves a slot when it starts a handshake, publishes the keypair into it
// when the session is derived, and releases it once the keypair is retired
// and a grace period has passed. It also records which peer owns each slot
// so that responses and cookie replies find their handshake.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <vector>

#include "ports/wireguard/keypair.h"

namespace sockswitch::wireguard {

class SessionIndexTable final {
 public:
  explicit SessionIndexTable(std::size_t min_slots);

  // --- handshake thread ---
  // A fresh index for `owner`, or nullopt when every slot is taken.
  [[nodiscard]] std::optional<std::uint32_t> reserve(std::uint32_t owner,
                                                     std::uint32_t random) noexcept;
  void publish(std::uint32_t index, Keypair* keypair) noexcept;
  void unpublish(std::uint32_t index) noexcept;
  void release(std::uint32_t index) noexcept;  // after unpublish + grace period
  // The owner of a reserved index (it must still be reserved with exactly it).
  [[nodiscard]] std::optional<std::uint32_t> owner_of(std::uint32_t index) const noexcept;

  // --- poll thread ---
  [[nodiscard]] Keypair* find(std::uint32_t index) const noexcept {
    Keypair* k = keypairs_[index & mask_].load(std::memory_order_seq_cst);
    return k != nullptr && k->local_index == index ? k : nullptr;
  }

 private:
  struct Reservation {
    bool used = false;
    std::uint32_t index = 0;
    std::uint32_t owner = 0;
  };
  std::uint32_t mask_;
  std::vector<std::atomic<Keypair*>> keypairs_;
  std::vector<Reservation> reservations_;  // handshake thread only
  std::size_t next_ = 0;
};

}  // namespace sockswitch::wireguard
