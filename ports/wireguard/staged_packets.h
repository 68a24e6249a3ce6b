// ports/wireguard/staged_packets.h: IP packets held for a peer until its session is ready.
//
// When the poll thread has a packet for a peer without a usable session
// it copies the packet here and asks for a handshake, as wireguard-go
// stages packets. The ring and its buffers are allocated when the peer is
// created; each slot has transport headroom and tailroom so a staged
// packet is later encrypted in place. Poll thread only.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "ports/wireguard/messages.h"

namespace sockswitch::wireguard {

class StagedPackets final {
 public:
  static constexpr std::size_t kHeadroom = kTransportHeaderSize;
  static constexpr std::size_t kTailroom = 32;

  StagedPackets(std::size_t slots, std::size_t max_packet)
      : slot_size_(kHeadroom + max_packet + kTailroom),
        max_packet_(max_packet),
        sizes_(slots),
        storage_(slots * slot_size_) {}

  enum class Result : std::uint8_t { staged, full, too_big };
  [[nodiscard]] Result push(std::span<const std::uint8_t> packet) noexcept {
    if (packet.size() > max_packet_) return Result::too_big;
    if (count_ == sizes_.size()) return Result::full;
    const std::size_t slot = (first_ + count_) % sizes_.size();
    std::memcpy(packet_at(slot), packet.data(), packet.size());
    sizes_[slot] = static_cast<std::uint32_t>(packet.size());
    ++count_;
    return Result::staged;
  }

  // The oldest staged packet (with headroom and tailroom around it).
  [[nodiscard]] std::uint8_t* front(std::uint32_t& size) noexcept {
    size = sizes_[first_];
    return packet_at(first_);
  }
  void pop() noexcept {
    first_ = (first_ + 1) % sizes_.size();
    --count_;
  }
  void clear() noexcept { first_ = count_ = 0; }
  [[nodiscard]] std::size_t size() const noexcept { return count_; }

 private:
  std::uint8_t* packet_at(std::size_t slot) noexcept {
    return storage_.data() + slot * slot_size_ + kHeadroom;
  }
  std::size_t slot_size_;
  std::size_t max_packet_;
  std::vector<std::uint32_t> sizes_;
  std::vector<std::uint8_t> storage_;
  std::size_t first_ = 0;
  std::size_t count_ = 0;
};

}  // namespace sockswitch::wireguard
