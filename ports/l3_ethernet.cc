// ports/l3_ethernet.cc: header synthesis/strip and the ARP/ND responder.
#include "ports/l3_ethernet.h"

#include <cstring>

#include "wire/checksum.h"
#include "wire/ethernet.h"

namespace sockswitch::ports {
namespace {

using packet::MacAddr;

using wire::kEthArp;
using wire::kEthHeader;
using wire::kEthIpv4;
using wire::kEthIpv6;
using wire::kEthQinQ;
using wire::kEthVlan;
using wire::kIpv6Header;
constexpr std::size_t kArpBody = 28;
constexpr std::size_t kMinFrame = 60;  // without FCS; a NIC would pad, a veth does not
constexpr std::uint8_t kNdRouterSolicit = 133, kNdRedirect = 137;
constexpr std::uint8_t kNdNeighborSolicit = 135, kNdNeighborAdvert = 136;
constexpr MacAddr kBroadcast = MacAddr::from_u64(0xffff'ffff'ffffULL);

MacAddr load_mac(const std::uint8_t* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < 6; ++i)
    v = v << 8 | p[i];
  return MacAddr{v};
}
void store_mac(std::uint8_t* p, MacAddr m) noexcept {
  for (int i = 0; i < 6; ++i)
    p[i] = static_cast<std::uint8_t>(m.bits >> (40 - 8 * i));
}
bool all_zero(const std::uint8_t* p, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] != 0) return false;
  return true;
}

// Which MAC a bare IP packet bound for `dst` gets on the bridge.
MacAddr multicast_mac_v4(const std::uint8_t* dst) noexcept {
  return MacAddr{0x01005e000000ULL | std::uint64_t(dst[1] & 0x7f) << 16 |
                 std::uint64_t(dst[2]) << 8 | dst[3]};
}
MacAddr multicast_mac_v6(const std::uint8_t* dst) noexcept {
  return MacAddr{0x333300000000ULL | std::uint64_t(dst[12]) << 24 | std::uint64_t(dst[13]) << 16 |
                 std::uint64_t(dst[14]) << 8 | dst[15]};
}

}  // namespace

MacAddr L3Ethernet::mac_for_name(std::string_view name) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
  for (char c : name) {
    h ^= static_cast<std::uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  h &= 0xffff'ffff'ffffULL;
  // Unicast (group bit clear), locally administered (bit 1 of the first octet).
  return MacAddr{(h & ~(std::uint64_t{0x01} << 40)) | std::uint64_t{0x02} << 40};
}

bool L3Ethernet::to_bridge(packet::Packet& p) noexcept {
  const std::uint8_t* ip = p.data();
  const std::size_t len = p.length();
  std::uint16_t type;
  MacAddr dst = kBroadcast;
  if (len >= 20 && ip[0] >> 4 == 4) {
    type = kEthIpv4;
    const std::uint8_t* d = ip + 16;
    if (d[0] >= 224 && d[0] <= 239) {
      dst = multicast_mac_v4(d);
    } else if (!(d[0] == 255 && d[1] == 255 && d[2] == 255 && d[3] == 255)) {
      if (auto m = neighbors_.snoop.lookup(IpKey::v4(d))) dst = *m;
    }
  } else if (len >= kIpv6Header && ip[0] >> 4 == 6) {
    type = kEthIpv6;
    const std::uint8_t* d = ip + 24;
    if (d[0] == 0xff) {
      dst = multicast_mac_v6(d);
    } else if (auto m = neighbors_.snoop.lookup(IpKey::v6(d))) {
      dst = *m;
    }
  } else {
    bump(rx_not_ip_);
    return false;
  }
  std::uint8_t* eth = p.push_front(kEthHeader);
  if (eth == nullptr) return false;
  store_mac(eth, dst);
  store_mac(eth + 6, mac_);
  wire::store_be16(eth + 12, type);
  return true;
}

L3Ethernet::TxAction L3Ethernet::to_device(packet::Packet& p) noexcept {
  const std::uint8_t* d = p.data();
  const std::size_t len = p.length();
  if (len < kEthHeader) {
    bump(non_ip_);
    return TxAction::drop;
  }
  std::size_t off = kEthHeader;
  std::uint16_t type = wire::load_be16(d + 12);
  bool tagged = false;
  for (int tags = 0; tags < 2 && (type == kEthVlan || type == kEthQinQ) && off + 4 <= len; ++tags) {
    type = wire::load_be16(d + off + 2);
    off += 4;
    tagged = true;
  }
  const MacAddr src_mac = load_mac(d + 6);
  const std::uint8_t* ip = d + off;
  const std::size_t l = len - off;

  if (type == kEthArp) {
    if (tagged) {
      bump(consumed_);
      return TxAction::consumed;
    }
    return handle_arp(ip, l, d);
  }

  std::size_t keep;  // the IP packet's own length: anything after it is padding
  if (type == kEthIpv4) {
    if (l < 20 || ip[0] >> 4 != 4 || wire::load_be16(ip + 2) < 20 || wire::load_be16(ip + 2) > l) {
      bump(non_ip_);
      return TxAction::drop;
    }
    keep = wire::load_be16(ip + 2);
    if (!src_mac.is_multicast() && !all_zero(ip + 12, 4))
      neighbors_.snoop.learn(IpKey::v4(ip + 12), src_mac);
  } else if (type == kEthIpv6) {
    if (l < kIpv6Header || ip[0] >> 4 != 6 || kIpv6Header + wire::load_be16(ip + 4) > l) {
      bump(non_ip_);
      return TxAction::drop;
    }
    keep = kIpv6Header + wire::load_be16(ip + 4);
    if (!src_mac.is_multicast() && ip[8] != 0xff && !all_zero(ip + 8, 16))
      neighbors_.snoop.learn(IpKey::v6(ip + 8), src_mac);
    if (ip[6] == wire::kProtoIcmpv6 && keep >= kIpv6Header + 4 && ip[40] >= kNdRouterSolicit &&
        ip[40] <= kNdRedirect) {
      // Neighbour discovery is link-local: answered or absorbed here, never sent on.
      if (!tagged && ip[40] == kNdNeighborSolicit) return handle_nd(p, off);
      bump(consumed_);
      return TxAction::consumed;
    }
  } else {
    bump(non_ip_);
    return TxAction::drop;
  }
  (void)p.pull_front(static_cast<std::uint32_t>(off));
  (void)p.trim(static_cast<std::uint32_t>(l - keep));
  return TxAction::send;
}

L3Ethernet::TxAction L3Ethernet::handle_arp(const std::uint8_t* arp, std::size_t len,
                                            const std::uint8_t* eth) noexcept {
  if (len < kArpBody || wire::load_be16(arp) != 1 || wire::load_be16(arp + 2) != kEthIpv4 ||
      arp[4] != 6 || arp[5] != 4) {
    bump(non_ip_);
    return TxAction::drop;
  }
  const std::uint16_t op = wire::load_be16(arp + 6);
  const std::uint8_t *sha = arp + 8, *spa = arp + 14, *tpa = arp + 24;
  const MacAddr sender = load_mac(sha);
  if (!all_zero(spa, 4) && !sender.is_multicast()) neighbors_.snoop.learn(IpKey::v4(spa), sender);

  const bool probe_or_gratuitous = all_zero(spa, 4) || std::memcmp(spa, tpa, 4) == 0;
  if (op != 1 || probe_or_gratuitous || !answerable(IpKey::v4(tpa))) {
    bump(consumed_);
    return TxAction::consumed;
  }
  Reply* r = reserve_reply();
  if (r == nullptr) {
    bump(replies_dropped_);
    return TxAction::consumed;
  }
  std::uint8_t* o = r->bytes.data();
  std::memset(o, 0, kMinFrame);
  std::memcpy(o, eth + 6, 6);  // back to whoever asked
  store_mac(o + 6, mac_);
  wire::store_be16(o + 12, kEthArp);
  std::uint8_t* a = o + kEthHeader;
  wire::store_be16(a, 1);
  wire::store_be16(a + 2, kEthIpv4);
  a[4] = 6;
  a[5] = 4;
  wire::store_be16(a + 6, 2);
  store_mac(a + 8, mac_);
  std::memcpy(a + 14, tpa, 4);
  std::memcpy(a + 18, sha, 6);
  std::memcpy(a + 24, spa, 4);
  r->length = kMinFrame;
  bump(arp_replies_);
  return TxAction::consumed;
}

L3Ethernet::TxAction L3Ethernet::handle_nd(packet::Packet& p, std::size_t l3) noexcept {
  const std::uint8_t* d = p.data();
  const std::uint8_t* ip = d + l3;
  const std::uint8_t* icmp = ip + kIpv6Header;
  const std::uint8_t* src = ip + 8;
  const std::uint8_t* target = icmp + 8;
  const bool valid = ip[7] == 255 && icmp[1] == 0 && wire::load_be16(ip + 4) >= 24;
  if (!valid || all_zero(src, 16) || target[0] == 0xff || !answerable(IpKey::v6(target))) {
    bump(consumed_);
    return TxAction::consumed;
  }
  Reply* r = reserve_reply();
  if (r == nullptr) {
    bump(replies_dropped_);
    return TxAction::consumed;
  }
  constexpr std::uint16_t kNaLength = 32;  // header 4, flags 4, target 16, option 8
  std::uint8_t* o = r->bytes.data();
  std::memcpy(o, d + 6, 6);
  store_mac(o + 6, mac_);
  wire::store_be16(o + 12, kEthIpv6);
  std::uint8_t* h = o + kEthHeader;
  h[0] = 0x60, h[1] = 0, h[2] = 0, h[3] = 0;
  wire::store_be16(h + 4, kNaLength);
  h[6] = wire::kProtoIcmpv6;
  h[7] = 255;
  std::memcpy(h + 8, target, 16);
  std::memcpy(h + 24, src, 16);
  std::uint8_t* na = h + kIpv6Header;
  na[0] = kNdNeighborAdvert;
  na[1] = 0;
  wire::store_be16(na + 2, 0);
  na[4] = 0x60;  // Solicited | Override
  na[5] = na[6] = na[7] = 0;
  std::memcpy(na + 8, target, 16);
  na[24] = 2;  // target link-layer address option, 8 bytes
  na[25] = 1;
  store_mac(na + 26, mac_);
  std::uint32_t acc = wire::checksum_partial({h + 8, 32});  // pseudo-header: addresses,
  acc += kNaLength + wire::kProtoIcmpv6;                    // upper-layer length and next header
  wire::store_be16(na + 2, wire::checksum_finish(wire::checksum_partial({na, kNaLength}, acc)));
  r->length = kEthHeader + kIpv6Header + kNaLength;
  bump(nd_replies_);
  return TxAction::consumed;
}

L3Ethernet::Reply* L3Ethernet::reserve_reply() noexcept {
  if (tail_ - head_ == kReplyQueue) return nullptr;
  return &replies_[tail_++ % kReplyQueue];
}

std::size_t L3Ethernet::take_replies(packet::PacketPool& pool,
                                     std::span<packet::Packet*> out) noexcept {
  std::size_t n = 0;
  while (head_ != tail_ && n < out.size()) {
    packet::Packet* p = pool.alloc();
    if (p == nullptr) break;
    const Reply& r = replies_[head_ % kReplyQueue];
    std::uint8_t* dst = p->append(r.length);
    if (dst == nullptr) {
      pool.free(p);
      break;
    }
    std::memcpy(dst, r.bytes.data(), r.length);
    out[n++] = p;
    ++head_;
  }
  return n;
}

std::vector<PortDrop> L3Ethernet::named_drops(std::span<const L3Ethernet* const> adapters) {
  L3EthernetCounters sum;
  for (const L3Ethernet* a : adapters) {
    const L3EthernetCounters c = a->counters();
    sum.arp_replies += c.arp_replies;
    sum.nd_replies += c.nd_replies;
    sum.replies_dropped += c.replies_dropped;
    sum.consumed += c.consumed;
    sum.non_ip += c.non_ip;
    sum.rx_not_ip += c.rx_not_ip;
  }
  return {
      {"l3.answered", "ARP/ND requests from the bridge the port answered itself",
       sum.arp_replies + sum.nd_replies},
      {"l3.consumed", "ARP/ND frames from the bridge learned from and not answered", sum.consumed},
      {"l3.reply_queue_full", "answers lost: the port's reply queue was full", sum.replies_dropped},
      {"l3.non_ip", "frames from the bridge the device cannot carry (not IP, ARP or ND)",
       sum.non_ip},
      {"l3.rx_not_ip", "packets from the device that were neither IPv4 nor IPv6", sum.rx_not_ip},
  };
}

L3EthernetCounters L3Ethernet::counters() const noexcept {
  auto r = [](const std::atomic<std::uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  return {r(arp_replies_), r(nd_replies_), r(replies_dropped_), r(consumed_),
          r(not_behind_),  r(non_ip_),     r(rx_not_ip_)};
}

}  // namespace sockswitch::ports
