// ports/wireguard/session_index_table.cc: slot reservation and publication.
#include "ports/wireguard/session_index_table.h"

#include <bit>

namespace sockswitch::wireguard {

SessionIndexTable::SessionIndexTable(std::size_t min_slots)
    : mask_(static_cast<std::uint32_t>(std::bit_ceil(std::max<std::size_t>(min_slots, 2)) - 1)),
      keypairs_(std::size_t{mask_} + 1),
      reservations_(std::size_t{mask_} + 1) {
  for (auto& k : keypairs_)
    k.store(nullptr, std::memory_order_relaxed);
}

std::optional<std::uint32_t> SessionIndexTable::reserve(std::uint32_t owner,
                                                        std::uint32_t random) noexcept {
  for (std::size_t n = 0; n < reservations_.size(); ++n) {
    const std::size_t slot = (next_ + n) & mask_;
    Reservation& r = reservations_[slot];
    if (r.used) continue;
    next_ = slot + 1;
    r = {true, (random & ~mask_) | static_cast<std::uint32_t>(slot), owner};
    return r.index;
  }
  return std::nullopt;
}

void SessionIndexTable::publish(std::uint32_t index, Keypair* keypair) noexcept {
  keypairs_[index & mask_].store(keypair, std::memory_order_seq_cst);
}

void SessionIndexTable::unpublish(std::uint32_t index) noexcept {
  keypairs_[index & mask_].store(nullptr, std::memory_order_seq_cst);
}

void SessionIndexTable::release(std::uint32_t index) noexcept {
  Reservation& r = reservations_[index & mask_];
  if (r.used && r.index == index) r = {};
}

std::optional<std::uint32_t> SessionIndexTable::owner_of(std::uint32_t index) const noexcept {
  const Reservation& r = reservations_[index & mask_];
  if (!r.used || r.index != index) return std::nullopt;
  return r.owner;
}

}  // namespace sockswitch::wireguard
