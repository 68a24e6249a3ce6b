// tests/fuzz/l3_ethernet_fuzz.cc: the L3 <-> Ethernet adapter in both directions.
//
// The input is a sequence of records. Each starts with a byte whose top two
// bits say what follows:
//   00  a raw frame from the bridge (to_device)
//   01  a raw packet from the device (to_bridge)
//   10  an ARP packet from the bridge, its sender and target taken from small
//       sets so that learning and the answering rule interact across records
//   11  an IPv6 Neighbor Solicitation from the bridge, likewise
// Raw records carry a two-byte length; structured ones a few choice bytes
// and then raw trailing bytes. The low bits of the first byte pick an
// optional VLAN tag and whether the queued replies are taken now, through a
// pool small enough to run dry.
//
// Checks (ASan and UBSan watch every read and write besides):
//  * a frame the adapter sends to the device is exactly one bare IP packet:
//    version 4 with its total length, or 6 with 40 + its payload length;
//  * a packet it passes to the bridge is the same packet behind a 14-byte
//    header from the port's MAC with the right EtherType, to broadcast, a
//    multicast MAC for a multicast destination, or a learned unicast MAC;
//    a packet it refuses is left as it was;
//  * every reply is a well-formed ARP reply (60 bytes) or Neighbor
//    Advertisement (86 bytes, checksum valid) from the port's MAC, and the
//    replies generated are those queued plus those taken.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "packet/packet_pool.h"
#include "ports/l3_ethernet.h"

namespace pk = sockswitch::packet;
using sockswitch::ports::L3Ethernet;

namespace {

constexpr std::uint64_t kPortMac = 0x02aabbccdd01;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "l3_ethernet_fuzz: %s\n", what);
  __builtin_trap();
}
void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

class Input {
 public:
  Input(const std::uint8_t* d, std::size_t n) : d_(d), n_(n) {}
  [[nodiscard]] bool empty() const { return at_ >= n_; }
  std::uint8_t u8() { return at_ < n_ ? d_[at_++] : 0; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() << 8 | u8()); }
  // Up to `n` of the remaining bytes.
  std::vector<std::uint8_t> bytes(std::size_t n) {
    const std::size_t take = n < n_ - at_ ? n : n_ - at_;
    std::vector<std::uint8_t> out(d_ + at_, d_ + at_ + take);
    at_ += take;
    return out;
  }

 private:
  const std::uint8_t* d_;
  std::size_t n_, at_ = 0;
};

std::uint16_t load16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}
std::uint64_t load_mac(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 6; ++i)
    v = v << 8 | p[i];
  return v;
}

struct Frame {
  std::vector<std::uint8_t> b;
  void u8(std::uint8_t v) { b.push_back(v); }
  void u16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v >> 8));
    u8(static_cast<std::uint8_t>(v));
  }
  void mac(std::uint64_t m) {
    for (int i = 0; i < 6; ++i)
      u8(static_cast<std::uint8_t>(m >> (40 - 8 * i)));
  }
  void raw(const std::vector<std::uint8_t>& r) { b.insert(b.end(), r.begin(), r.end()); }
};

// Small sets, so that what one record learns another one asks about.
constexpr std::uint64_t kMacs[] = {0x5254000000aa, 0x5254000000bb, 0x01005e000001, kPortMac};
constexpr std::uint8_t kIps4[][4] = {{10, 0, 0, 1}, {10, 0, 0, 2}, {0, 0, 0, 0}, {224, 0, 0, 5}};
constexpr std::uint8_t kIps6Low[] = {0, 1, 2, 0xff};  // fd00::N, or ff02::1, or ::

void ip6(Frame& f, std::uint8_t pick) {
  const std::uint8_t low = kIps6Low[pick & 3];
  if (low == 0xff) {
    f.u8(0xff), f.u8(0x02);
    for (int i = 0; i < 13; ++i)
      f.u8(0);
    f.u8(1);
  } else {
    f.u8(low == 0 ? 0 : 0xfd);
    for (int i = 0; i < 14; ++i)
      f.u8(0);
    f.u8(low);
  }
}

void ethernet(Frame& f, std::uint64_t dst, std::uint64_t src, std::uint8_t tag_bits,
              std::uint16_t type) {
  f.mac(dst);
  f.mac(src);
  if (tag_bits & 1) {
    f.u16(tag_bits & 2 ? 0x88a8 : 0x8100);
    f.u16(10);
  }
  f.u16(type);
}

Frame arp(Input& in, std::uint8_t how) {
  const std::uint8_t pick = in.u8();
  Frame f;
  const std::uint64_t sender = kMacs[pick & 3];
  ethernet(f, 0xffffffffffff, sender, how, 0x0806);
  f.u16(1);
  f.u16(0x0800);
  f.u8(6);
  f.u8(4);
  f.u16(pick & 0x40 ? 2 : 1);  // reply or request
  f.mac(sender);
  for (std::uint8_t b : kIps4[pick >> 2 & 3])
    f.u8(b);
  f.mac(0);
  for (std::uint8_t b : kIps4[pick >> 4 & 3])
    f.u8(b);
  f.raw(in.bytes(in.u8() & 0x1f));
  return f;
}

Frame neighbor_solicit(Input& in, std::uint8_t how) {
  const std::uint8_t pick = in.u8(), extra = in.u8();
  const std::vector<std::uint8_t> tail = in.bytes(extra & 0x1f);
  Frame f;
  ethernet(f, 0x333300000001, kMacs[pick & 3], how, 0x86dd);
  f.u8(0x60), f.u8(0), f.u8(0), f.u8(0);
  f.u16(static_cast<std::uint16_t>(24 + tail.size() - (extra & 0x20 ? 24 : 0)));  // may lie
  f.u8(58);
  f.u8(extra & 0x40 ? 64 : 255);
  ip6(f, pick >> 2);
  ip6(f, pick >> 4);
  f.u8(135);
  f.u8(extra & 0x80 ? 1 : 0);
  f.u16(0);
  f.u16(0), f.u16(0);
  ip6(f, pick >> 6);
  f.raw(tail);
  return f;
}

// Ones' complement sum of 16-bit words.
std::uint32_t sum16(const std::uint8_t* p, std::size_t n, std::uint32_t acc) {
  for (std::size_t i = 0; i + 1 < n; i += 2)
    acc += load16(p + i);
  if (n & 1) acc += static_cast<std::uint32_t>(p[n - 1]) << 8;
  return acc;
}

void check_reply(const pk::Packet& p) {
  const std::uint8_t* d = p.data();
  check(load_mac(d + 6) == kPortMac, "reply not from the port's MAC");
  if (p.length() == 60) {
    check(load16(d + 12) == 0x0806, "60-byte reply is not ARP");
    check(load16(d + 20) == 2, "ARP reply opcode is not 2");
    check(load_mac(d + 22) == kPortMac, "ARP reply sender is not the port");
  } else if (p.length() == 86) {
    check(load16(d + 12) == 0x86dd, "86-byte reply is not IPv6");
    check(load16(d + 18) == 32 && d[20] == 58 && d[21] == 255, "NA IPv6 header");
    check(d[54] == 136, "NA type");
    std::uint32_t acc = sum16(d + 22, 32, 0) + 32 + 58;
    acc = sum16(d + 54, 32, acc);
    while (acc >> 16)
      acc = (acc & 0xffff) + (acc >> 16);
    check(acc == 0xffff, "NA checksum");
  } else {
    fail("reply of an unexpected length");
  }
}

// What lies behind the port: half of each family, less one subnet routed
// elsewhere, so that both sides of the answering rule are reached.
std::unique_ptr<sockswitch::ports::NeighborClaims> claims() {
  using sockswitch::ports::ClaimPrefix;
  using sockswitch::ports::NeighborClaims;
  std::vector<NeighborClaims::Route> routes = {{*ClaimPrefix::parse("0.0.0.0/1"), true},
                                               {*ClaimPrefix::parse("::/1"), true},
                                               {*ClaimPrefix::parse("10.0.0.0/24"), false},
                                               {*ClaimPrefix::parse("0.0.0.0/0"), false}};
  return std::make_unique<NeighborClaims>(std::move(routes), NeighborClaims::Source::proxy);
}

struct Rig {
  Rig() { neighbors.claims.publish(claims()); }
  pk::PacketPool pool{8};
  sockswitch::ports::L3Neighbors neighbors;
  L3Ethernet port{pk::MacAddr{kPortMac}, neighbors};
  std::uint64_t taken = 0;
};

void to_device(Rig& r, const std::vector<std::uint8_t>& frame) {
  pk::Packet* p = r.pool.alloc();
  if (frame.size() > p->tailroom()) {
    r.pool.free(p);
    return;
  }
  if (!frame.empty())
    std::memcpy(p->append(static_cast<std::uint32_t>(frame.size())), frame.data(), frame.size());
  if (r.port.to_device(*p) == L3Ethernet::TxAction::send) {
    const std::uint8_t* ip = p->data();
    const std::size_t len = p->length();
    check(len >= 20, "sent a packet shorter than an IPv4 header");
    if (ip[0] >> 4 == 4)
      check(load16(ip + 2) == len, "sent IPv4 length differs from its total length");
    else if (ip[0] >> 4 == 6)
      check(len >= 40 && 40u + load16(ip + 4) == len, "sent IPv6 length differs from its header");
    else
      fail("sent something that is neither IPv4 nor IPv6");
  }
  r.pool.free(p);
}

void to_bridge(Rig& r, const std::vector<std::uint8_t>& packet) {
  pk::Packet* p = r.pool.alloc();
  if (packet.size() > p->tailroom()) {
    r.pool.free(p);
    return;
  }
  if (!packet.empty())
    std::memcpy(p->append(static_cast<std::uint32_t>(packet.size())), packet.data(), packet.size());
  if (r.port.to_bridge(*p)) {
    const std::uint8_t* d = p->data();
    check(p->length() == packet.size() + 14, "to_bridge did not add exactly 14 bytes");
    check(std::memcmp(d + 14, packet.data(), packet.size()) == 0, "to_bridge changed the packet");
    check(load_mac(d + 6) == kPortMac, "to_bridge source is not the port's MAC");
    const bool v4 = packet[0] >> 4 == 4;
    check(load16(d + 12) == (v4 ? 0x0800 : 0x86dd), "to_bridge EtherType");
    const std::uint64_t dst = load_mac(d);
    const bool ip_multicast = v4 ? (packet[16] >= 224 && packet[16] <= 239) : packet[24] == 0xff;
    if (!ip_multicast)
      check(dst == 0xffffffffffff || !(dst >> 40 & 1), "unicast IP sent to a multicast MAC");
  } else {
    check(p->length() == packet.size() &&
              (packet.empty() || std::memcmp(p->data(), packet.data(), packet.size()) == 0),
          "a refused packet was changed");
  }
  r.pool.free(p);
}

void take_replies(Rig& r, std::size_t room) {
  pk::Packet* out[L3Ethernet::kReplyQueue];
  const std::size_t n = r.port.take_replies(r.pool, std::span(out, room));
  for (std::size_t i = 0; i < n; ++i) {
    check_reply(*out[i]);
    r.pool.free(out[i]);
  }
  r.taken += n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Rig r;
  Input in(data, size);
  while (!in.empty()) {
    const std::uint8_t how = in.u8();
    switch (how >> 6) {
      case 0:
        to_device(r, in.bytes(in.u16() & 0x7ff));
        break;
      case 1:
        to_bridge(r, in.bytes(in.u16() & 0x7ff));
        break;
      case 2:
        to_device(r, arp(in, how).b);
        break;
      default:
        to_device(r, neighbor_solicit(in, how).b);
        break;
    }
    check(r.port.pending_replies() <= L3Ethernet::kReplyQueue, "reply queue beyond its bound");
    if (how & 0x04) take_replies(r, 1 + (how >> 3 & 7) % L3Ethernet::kReplyQueue);
  }
  take_replies(r, L3Ethernet::kReplyQueue);
  const auto c = r.port.counters();
  check(c.arp_replies + c.nd_replies == r.taken + r.port.pending_replies(),
        "replies generated differ from replies queued and taken");
  check(r.pool.available() == r.pool.size(), "a packet was not returned to the pool");
  return 0;
}
