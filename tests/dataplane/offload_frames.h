// tests/dataplane/offload_frames.h: TCP/UDP frames with checksums, and a checker that trusts
// nothing.
//
// The checksum completion and GSO segmentation tests need frames whose
// checksums are exactly right (or exactly partial) and a way to verify a
// result that does not share code with what it verifies: the sums here are
// the plain RFC 1071 loop over 16-bit words.
#pragma once

#include <cstdint>
#include <vector>

namespace sockswitch::dataplane::test {

inline std::uint32_t plain_sum(const std::uint8_t* p, std::size_t n, std::uint32_t sum = 0) {
  for (std::size_t i = 0; i + 1 < n; i += 2)
    sum += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
  if (n % 2) sum += static_cast<std::uint32_t>(p[n - 1] << 8);
  return sum;
}

inline std::uint16_t plain_fold(std::uint32_t sum) {
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

struct OffloadFrame {
  std::vector<std::uint8_t> bytes;
  std::size_t l3 = 0, l4 = 0, checksum_at = 0;
  bool ipv6 = false, udp = false;

  [[nodiscard]] std::size_t l4_length() const { return bytes.size() - l4; }
  [[nodiscard]] std::uint32_t pseudo_sum() const {
    const std::uint32_t len = static_cast<std::uint32_t>(l4_length());
    const std::uint32_t addr = ipv6 ? plain_sum(&bytes[l3 + 8], 32) : plain_sum(&bytes[l3 + 12], 8);
    return addr + (udp ? 17u : 6u) + len;
  }
  [[nodiscard]] std::uint16_t stored() const {
    return static_cast<std::uint16_t>(bytes[checksum_at] << 8 | bytes[checksum_at + 1]);
  }
  void store(std::uint16_t v) {
    bytes[checksum_at] = static_cast<std::uint8_t>(v >> 8);
    bytes[checksum_at + 1] = static_cast<std::uint8_t>(v);
  }
  // As the sender's stack leaves it for offload: the folded pseudo-header sum.
  void make_partial() { store(plain_fold(pseudo_sum())); }
  // As a receiver checks it.
  [[nodiscard]] bool l4_valid() const {
    return plain_fold(plain_sum(&bytes[l4], l4_length(), pseudo_sum())) == 0xffff;
  }
  [[nodiscard]] bool ipv4_header_valid() const {
    const std::size_t ihl = std::size_t{bytes[l3] & 0x0fu} * 4;
    return ipv6 || plain_fold(plain_sum(&bytes[l3], ihl)) == 0xffff;
  }
};

// Ethernet (with `vlans` 802.1Q tags), IPv4 or IPv6, then TCP (flags PSH|ACK
// and FIN when `fin`) or UDP, `payload` bytes of a counting pattern, every
// checksum complete.
inline OffloadFrame offload_frame(bool ipv6, bool udp, std::size_t payload, int vlans = 0,
                                  bool fin = false) {
  OffloadFrame f;
  f.ipv6 = ipv6;
  f.udp = udp;
  auto& b = f.bytes;
  auto u8 = [&](unsigned v) { b.push_back(static_cast<std::uint8_t>(v)); };
  auto u16 = [&](unsigned v) { u8(v >> 8), u8(v & 0xff); };
  auto u32 = [&](std::uint32_t v) { u16(v >> 16), u16(v & 0xffff); };
  for (int i = 0; i < 6; ++i)
    u8(0x02);
  for (int i = 0; i < 6; ++i)
    u8(0x04 + i);
  for (int v = 0; v < vlans; ++v)
    u16(0x8100), u16(100 + v);
  u16(ipv6 ? 0x86dd : 0x0800);
  f.l3 = b.size();
  const std::size_t l4_len = (udp ? 8 : 20) + payload;
  if (ipv6) {
    u32(0x60000000), u16(static_cast<unsigned>(l4_len)), u8(udp ? 17 : 6), u8(64);
    for (int i = 0; i < 16; ++i)
      u8(i == 0 ? 0xfd : i == 15 ? 1 : 0);
    for (int i = 0; i < 16; ++i)
      u8(i == 0 ? 0xfd : i == 15 ? 2 : 0);
  } else {
    u8(0x45), u8(0), u16(static_cast<unsigned>(20 + l4_len)), u16(0x1234), u16(0x4000);
    u8(64), u8(udp ? 17 : 6), u16(0), u32(0x0a000001), u32(0x0a000002);
    const std::uint16_t c = static_cast<std::uint16_t>(~plain_fold(plain_sum(&b[f.l3], 20)));
    b[f.l3 + 10] = static_cast<std::uint8_t>(c >> 8), b[f.l3 + 11] = static_cast<std::uint8_t>(c);
  }
  f.l4 = b.size();
  if (udp) {
    u16(40000), u16(5201), u16(static_cast<unsigned>(l4_len)), u16(0);
    f.checksum_at = f.l4 + 6;
  } else {
    u16(40000), u16(5201), u32(1000), u32(77), u8(0x50), u8(0x18 | (fin ? 1 : 0)), u16(502), u16(0),
        u16(0);
    f.checksum_at = f.l4 + 16;
  }
  for (std::size_t i = 0; i < payload; ++i)
    u8(static_cast<unsigned>(i * 7 + 3));
  f.store(0);
  std::uint16_t c =
      static_cast<std::uint16_t>(~plain_fold(plain_sum(&b[f.l4], l4_len, f.pseudo_sum())));
  f.store(c == 0 ? 0xffff : c);
  return f;
}

}  // namespace sockswitch::dataplane::test
