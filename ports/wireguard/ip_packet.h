// ports/wireguard/ip_packet.h: the few IP header fields cryptokey routing needs.
//
// A decrypted payload is only trusted after its inner source address is
// checked against the peer's AllowedIPs, and an outgoing packet is routed
// by its destination; both need the version, the addresses and the
// header's own length (the payload after it is padding). Bounds-checked:
// the input may be anything a peer managed to authenticate.
#pragma once

#include <cstdint>

namespace sockswitch::wireguard {

struct IpPacketView {
  bool valid = false;
  bool v4 = false;
  const std::uint8_t* source = nullptr;       // 4 or 16 bytes, network order
  const std::uint8_t* destination = nullptr;  // 4 or 16 bytes
  std::uint32_t length = 0;                   // from the header, <= the buffer
};

[[nodiscard]] inline IpPacketView view_ip_packet(const std::uint8_t* p,
                                                 std::uint32_t size) noexcept {
  IpPacketView v;
  if (size < 1) return v;
  const unsigned version = p[0] >> 4;
  if (version == 4 && size >= 20) {
    const std::uint32_t total = std::uint32_t{p[2]} << 8 | p[3];
    if (total < 20 || total > size) return v;
    return {true, true, p + 12, p + 16, total};
  }
  if (version == 6 && size >= 40) {
    const std::uint32_t total = (std::uint32_t{p[4]} << 8 | p[5]) + 40;
    if (total > size) return v;
    return {true, false, p + 8, p + 24, total};
  }
  return v;
}

}  // namespace sockswitch::wireguard
