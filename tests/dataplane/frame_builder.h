// tests/dataplane/frame_builder.h: writes test frames byte by byte, in wire order.
//
// The extractor tests need real frames, not structs: each call appends one
// header exactly as it appears on the wire, so a test reads top to bottom
// like a packet dump. IPv4 total length and IPv6 payload length are filled
// in by build() from what follows them, unless a test overrides them to make
// a malformed frame. Checksums are left 0: the extractor does not read them.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <vector>

#include "flowtable/flow_key.h"

namespace sockswitch::dataplane::test {

class FrameBuilder {
 public:
  FrameBuilder& u8(std::uint8_t v) {
    bytes_.push_back(v);
    return *this;
  }
  FrameBuilder& u16(std::uint16_t v) { return u8(v >> 8).u8(v & 0xff); }
  FrameBuilder& u32(std::uint32_t v) { return u16(v >> 16).u16(v & 0xffff); }
  FrameBuilder& mac(std::uint64_t v) {
    for (int s = 40; s >= 0; s -= 8)
      u8((v >> s) & 0xff);
    return *this;
  }
  FrameBuilder& ip6(flowtable::Wide a) {
    for (std::uint64_t w : {a.hi, a.lo})
      for (int s = 56; s >= 0; s -= 8)
        u8((w >> s) & 0xff);
    return *this;
  }
  FrameBuilder& raw(std::initializer_list<std::uint8_t> b) {
    bytes_.insert(bytes_.end(), b);
    return *this;
  }
  FrameBuilder& zeros(std::size_t n) {
    bytes_.insert(bytes_.end(), n, 0);
    return *this;
  }

  // Ethernet addresses only; follow with tag()s and type().
  FrameBuilder& eth_addrs(std::uint64_t dst, std::uint64_t src) { return mac(dst).mac(src); }
  FrameBuilder& tag(std::uint16_t tpid, std::uint16_t tci) { return u16(tpid).u16(tci); }
  FrameBuilder& type(std::uint16_t t) { return u16(t); }
  FrameBuilder& eth(std::uint64_t dst, std::uint64_t src, std::uint16_t t) {
    return eth_addrs(dst, src).type(t);
  }

  struct Ipv4 {
    std::uint8_t proto = flowtable::kIpProtoTcp;
    std::uint32_t src = 0x0a000001;
    std::uint32_t dst = 0x0a000002;
    std::uint8_t tos = 0;
    std::uint8_t ttl = 64;
    std::uint16_t frag = 0;                     // flags(3) | offset(13)
    std::uint8_t ihl = 5;                       // header words as written in the header
    std::size_t options = 0;                    // option bytes actually written
    std::optional<std::uint16_t> total_length;  // default: to the end at build()
  };
  FrameBuilder& ipv4(const Ipv4& h) {
    ipv4_at_ = bytes_.size();
    ipv4_total_ = h.total_length;
    u8(0x40 | (h.ihl & 0x0f)).u8(h.tos).u16(0).u16(0x1234).u16(h.frag);
    u8(h.ttl).u8(h.proto).u16(0).u32(h.src).u32(h.dst);
    for (std::size_t i = 0; i < h.options; ++i)
      u8(1);  // NOP options
    return *this;
  }

  struct Ipv6 {
    std::uint8_t next = flowtable::kIpProtoTcp;
    flowtable::Wide src{0x20010db800000000, 1};
    flowtable::Wide dst{0x20010db800000000, 2};
    std::uint8_t tclass = 0;
    std::uint32_t label = 0;
    std::uint8_t hop_limit = 64;
    std::optional<std::uint16_t> payload_length;
  };
  FrameBuilder& ipv6(const Ipv6& h) {
    ipv6_at_ = bytes_.size();
    ipv6_payload_ = h.payload_length;
    u32(6u << 28 | std::uint32_t{h.tclass} << 20 | (h.label & 0xfffff));
    u16(0).u8(h.next).u8(h.hop_limit).ip6(h.src).ip6(h.dst);
    return *this;
  }
  // Hop-by-hop / routing / destination options: `units` 8-byte units beyond the first.
  FrameBuilder& ext(std::uint8_t next, std::uint8_t units = 0) {
    u8(next).u8(units).zeros(6 + 8 * std::size_t{units});
    return *this;
  }
  FrameBuilder& ah(std::uint8_t next) {  // 12 bytes of ICV: payload len (24/4)-2 = 4
    return u8(next).u8(4).u16(0).u32(0x100).u32(1).zeros(12);
  }
  FrameBuilder& frag6(std::uint8_t next, std::uint16_t offset_units, bool more) {
    return u8(next).u8(0).u16(offset_units << 3 | (more ? 1 : 0)).u32(0xabcd);
  }

  FrameBuilder& tcp(std::uint16_t sport, std::uint16_t dport, std::uint16_t flags,
                    std::uint8_t doff = 5) {
    u16(sport).u16(dport).u32(1000).u32(0);
    u16(std::uint16_t(doff) << 12 | (flags & 0x0fff)).u16(65535).u16(0).u16(0);
    if (doff > 5) zeros((doff - 5) * 4);
    return *this;
  }
  FrameBuilder& udp(std::uint16_t sport, std::uint16_t dport) {
    return u16(sport).u16(dport).u16(8).u16(0);
  }
  FrameBuilder& sctp(std::uint16_t sport, std::uint16_t dport) {
    return u16(sport).u16(dport).u32(0xdeadbeef).u32(0);
  }
  FrameBuilder& icmp(std::uint8_t type, std::uint8_t code) {
    return u8(type).u8(code).u16(0).u32(0x00010001);
  }
  // ARP for Ethernet/IPv4.
  FrameBuilder& arp(std::uint16_t op, std::uint64_t sha, std::uint32_t spa, std::uint64_t tha,
                    std::uint32_t tpa) {
    return u16(1).u16(0x0800).u8(6).u8(4).u16(op).mac(sha).u32(spa).mac(tha).u32(tpa);
  }
  // ICMPv6 Neighbor Solicitation (135) or Advertisement (136) with its target.
  FrameBuilder& nd(std::uint8_t type, flowtable::Wide target) {
    return u8(type).u8(0).u16(0).u32(type == 136 ? 0x60000000 : 0).ip6(target);
  }
  FrameBuilder& nd_lla(std::uint8_t opt, std::uint64_t mac_addr) {
    return u8(opt).u8(1).mac(mac_addr);
  }

  // Fills in the IP lengths (unless overridden) and returns the frame.
  std::vector<std::uint8_t> build() const {
    std::vector<std::uint8_t> f = bytes_;
    if (ipv4_at_) {
      const std::size_t at = *ipv4_at_;
      const std::uint16_t total = ipv4_total_.value_or(std::uint16_t(f.size() - at));
      f[at + 2] = total >> 8;
      f[at + 3] = total & 0xff;
    }
    if (ipv6_at_) {
      const std::size_t at = *ipv6_at_;
      const std::uint16_t payload = ipv6_payload_.value_or(std::uint16_t(f.size() - at - 40));
      f[at + 4] = payload >> 8;
      f[at + 5] = payload & 0xff;
    }
    return f;
  }

 private:
  std::vector<std::uint8_t> bytes_;
  std::optional<std::size_t> ipv4_at_, ipv6_at_;
  std::optional<std::uint16_t> ipv4_total_, ipv6_payload_;
};

}  // namespace sockswitch::dataplane::test
