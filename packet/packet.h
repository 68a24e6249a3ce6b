// packet/packet.h: one frame in a pool-owned buffer, with room to grow at the front.
//
// A Packet is the descriptor the whole dataplane passes around: a pointer
// into a fixed buffer that a PacketPool owns, the frame's offset and length
// within it, and the port it came in on. It never owns or reallocates
// memory, so every edit is pointer arithmetic and either fits in the buffer
// or fails (nullptr / false) without touching the frame.
//
// Headroom (default 128 bytes) is reserved in front of the frame at receive
// time so that an L3 port can push a synthesised 14-byte Ethernet header and
// a VLAN push can move 12 bytes forward, both without copying the payload.
//
// Layout of the buffer:
//
//   buf_                  buf_ + offset_         + length_            buf_ + size_
//   |<----- headroom ---->|<------ frame -------->|<---- tailroom ---->|
//
// A frame may be a GSO super-frame (up to 64 KiB) that a local sender left
// to its device to cut, kept whole through the bridge (see gso()): such a
// packet lives in one of the pool's large buffers, and its TCP/UDP checksum
// field holds only the pseudo-header sum, as the sender's kernel left it.
//
// Threads: a Packet belongs to whoever holds its pointer; the pool hands it
// out and takes it back (see packet_pool.h). Nothing here is synchronised.
#pragma once

#include <cstdint>
#include <span>

#include "flowtable/port_no.h"
#include "wire/segmentation.h"

namespace sockswitch::packet {

inline constexpr std::uint32_t kDefaultHeadroom = 128;

class Packet final {
 public:
  Packet() noexcept = default;
  Packet(const Packet&) = delete;  // a descriptor is unique: copies would alias one buffer
  Packet& operator=(const Packet&) = delete;

  // Binds the descriptor to its buffer for good. Called by the pool at setup.
  void bind(std::uint8_t* buffer, std::uint32_t size) noexcept {
    buf_ = buffer;
    size_ = size;
    reset(0);
  }

  // Empties the frame and reserves `headroom` bytes (clamped to the buffer).
  void reset(std::uint32_t headroom = kDefaultHeadroom) noexcept {
    offset_ = headroom < size_ ? headroom : size_;
    length_ = 0;
    in_port_ = flowtable::kPortNone;
    gso_ = {};
  }

  [[nodiscard]] std::uint8_t* data() noexcept { return buf_ + offset_; }
  [[nodiscard]] const std::uint8_t* data() const noexcept { return buf_ + offset_; }
  [[nodiscard]] std::uint32_t length() const noexcept { return length_; }
  [[nodiscard]] bool empty() const noexcept { return length_ == 0; }
  // The whole buffer, headroom and tailroom included.
  [[nodiscard]] std::uint32_t capacity() const noexcept { return size_; }
  [[nodiscard]] std::uint32_t headroom() const noexcept { return offset_; }
  [[nodiscard]] std::uint32_t tailroom() const noexcept { return size_ - offset_ - length_; }

  [[nodiscard]] std::span<std::uint8_t> bytes() noexcept { return {data(), length_}; }
  [[nodiscard]] std::span<const std::uint8_t> bytes() const noexcept { return {data(), length_}; }

  [[nodiscard]] flowtable::PortNo in_port() const noexcept { return in_port_; }
  void set_in_port(flowtable::PortNo p) noexcept { in_port_ = p; }

  // A super-frame still to be cut (kind none for an ordinary frame).
  [[nodiscard]] wire::Segmentation gso() const noexcept { return gso_; }
  [[nodiscard]] bool is_gso() const noexcept { return gso_.kind != wire::GsoKind::none; }
  void set_gso(wire::Segmentation s) noexcept { gso_ = s; }

  // Grows the frame by n bytes at the front; returns the new start, or
  // nullptr (frame unchanged) when the headroom is too small.
  [[nodiscard]] std::uint8_t* push_front(std::uint32_t n) noexcept {
    if (n > offset_) return nullptr;
    offset_ -= n;
    length_ += n;
    return data();
  }
  // Drops n bytes from the front; returns the new start, or nullptr (frame
  // unchanged) when the frame is shorter than n.
  [[nodiscard]] std::uint8_t* pull_front(std::uint32_t n) noexcept {
    if (n > length_) return nullptr;
    offset_ += n;
    length_ -= n;
    return data();
  }
  // Grows the frame by n bytes at the end; returns where the new bytes go,
  // or nullptr (frame unchanged) when the tailroom is too small.
  [[nodiscard]] std::uint8_t* append(std::uint32_t n) noexcept {
    if (n > tailroom()) return nullptr;
    std::uint8_t* tail = data() + length_;
    length_ += n;
    return tail;
  }
  // Drops n bytes from the end; false (frame unchanged) when shorter than n.
  [[nodiscard]] bool trim(std::uint32_t n) noexcept {
    if (n > length_) return false;
    length_ -= n;
    return true;
  }

 private:
  friend class PacketPool;  // keeps its free-list bookkeeping in the descriptor

  std::uint8_t* buf_ = nullptr;
  std::uint32_t size_ = 0;
  std::uint32_t offset_ = 0;
  std::uint32_t length_ = 0;
  flowtable::PortNo in_port_ = flowtable::kPortNone;
  wire::Segmentation gso_{};
  bool in_pool_ = false;  // catches double frees and frees of foreign packets
};

}  // namespace sockswitch::packet
