// control/trace_frame.cc: header by header, in wire order.
#include "control/trace_frame.h"

#include <array>
#include <stdexcept>

#include <fmt/format.h>

#include "dataplane/flow_extractor.h"
#include "wire/checksum.h"

namespace sockswitch::control {
namespace {

using namespace sockswitch::flowtable;

class Writer {
 public:
  void u8(std::uint64_t v) { bytes.push_back(static_cast<std::uint8_t>(v)); }
  void u16(std::uint64_t v) {
    u8(v >> 8);
    u8(v);
  }
  void u32(std::uint64_t v) {
    u16(v >> 16);
    u16(v);
  }
  void mac(std::uint64_t v) {
    for (int s = 40; s >= 0; s -= 8)
      u8(v >> s);
  }
  void ip6(Wide a) {
    for (std::uint64_t w : {a.hi, a.lo})
      for (int s = 56; s >= 0; s -= 8)
        u8(w >> s);
  }
  void put16(std::size_t at, std::uint16_t v) {
    bytes[at] = static_cast<std::uint8_t>(v >> 8);
    bytes[at + 1] = static_cast<std::uint8_t>(v);
  }
  [[nodiscard]] std::size_t size() const { return bytes.size(); }

  std::vector<std::uint8_t> bytes;
};

// The transport header from the key; returns the offset of its checksum
// field (0: none, or one not summed over a pseudo-header).
std::size_t write_l4(Writer& w, const FlowKey& k, std::uint8_t proto, std::uint64_t tcp_flags) {
  const std::size_t start = w.size();
  switch (proto) {
    case kIpProtoTcp:
      w.u16(k.get(FieldId::tp_src));
      w.u16(k.get(FieldId::tp_dst));
      w.u32(0);  // seq
      w.u32(0);  // ack
      w.u16(5u << 12 | (tcp_flags & 0x0fff));
      w.u16(0xffff);  // window
      w.u16(0);       // checksum
      w.u16(0);       // urgent
      return start + 16;
    case kIpProtoUdp:
      w.u16(k.get(FieldId::tp_src));
      w.u16(k.get(FieldId::tp_dst));
      w.u16(8);
      w.u16(0);
      return start + 6;
    case kIpProtoSctp:
      w.u16(k.get(FieldId::tp_src));
      w.u16(k.get(FieldId::tp_dst));
      w.u32(0);  // verification tag
      w.u32(0);  // CRC32c: no one on the trace path reads it
      return 0;
    case kIpProtoIcmp:
    case kIpProtoIcmpv6: {
      const std::uint64_t type = k.get(FieldId::tp_src);
      w.u8(type);
      w.u8(k.get(FieldId::tp_dst));
      w.u16(0);
      w.u32(0);
      if (proto == kIpProtoIcmpv6 && (type == 135 || type == 136)) {
        w.ip6(k.get_wide(FieldId::nd_target));
        const std::uint64_t lladdr = k.get(type == 135 ? FieldId::arp_sha : FieldId::arp_tha);
        if (lladdr != 0) {
          w.u8(type == 135 ? 1 : 2);  // source / target link-layer address option
          w.u8(1);                    // in units of 8 bytes
          w.mac(lladdr);
        }
      }
      return start + 2;
    }
    default:
      return 0;
  }
}

void write_ipv4(Writer& w, const FlowKey& k, std::uint8_t ttl, std::uint64_t tcp_flags) {
  const std::size_t ip = w.size();
  const auto proto = static_cast<std::uint8_t>(k.get(FieldId::ip_proto));
  const std::uint64_t frag = k.get(FieldId::ip_frag);
  // A first fragment has More Fragments set; a later one an offset.
  const std::uint16_t frag_field = !(frag & 1) ? 0 : (frag & 2) ? 1 : 0x2000;
  w.u8(0x45);
  w.u8(k.get(FieldId::ip_tos));
  w.u16(0);  // total length, below
  w.u16(0x5353);
  w.u16(frag_field);
  w.u8(ttl);
  w.u8(proto);
  w.u16(0);
  w.u32(k.get(FieldId::ipv4_src));
  w.u32(k.get(FieldId::ipv4_dst));
  const std::size_t l4 = w.size();
  const std::size_t csum = (frag & 2) ? 0 : write_l4(w, k, proto, tcp_flags);
  w.put16(ip + 2, static_cast<std::uint16_t>(w.size() - ip));
  w.put16(ip + 10,
          wire::checksum_finish(wire::checksum_partial(std::span(w.bytes).subspan(ip, l4 - ip))));
  if (csum == 0) return;
  const auto l4_bytes = std::span<const std::uint8_t>(w.bytes).subspan(l4);
  std::uint32_t sum = wire::checksum_partial(l4_bytes);
  if (proto != kIpProtoIcmp) {
    sum = wire::checksum_partial(std::span<const std::uint8_t>(w.bytes).subspan(ip + 12, 8), sum);
    sum += proto + static_cast<std::uint32_t>(l4_bytes.size());
  }
  w.put16(csum, proto == kIpProtoUdp ? wire::l4_checksum_field(sum) : wire::checksum_finish(sum));
}

void write_ipv6(Writer& w, const FlowKey& k, std::uint8_t hop_limit, std::uint64_t tcp_flags) {
  const std::size_t ip = w.size();
  const auto proto = static_cast<std::uint8_t>(k.get(FieldId::ip_proto));
  const std::uint64_t frag = k.get(FieldId::ip_frag);
  w.u32(6u << 28 | k.get(FieldId::ip_tos) << 20 | (k.get(FieldId::ipv6_label) & 0xfffff));
  w.u16(0);  // payload length, below
  w.u8((frag & 1) ? 44 : proto);
  w.u8(hop_limit);
  w.ip6(k.get_wide(FieldId::ipv6_src));
  w.ip6(k.get_wide(FieldId::ipv6_dst));
  if (frag & 1) {
    w.u8(proto);
    w.u8(0);
    w.u16((frag & 2) ? 1u << 3 : 1);  // offset 8 bytes, or the first with More set
    w.u32(0x5353);
  }
  const std::size_t l4 = w.size();
  const std::size_t csum = (frag & 2) ? 0 : write_l4(w, k, proto, tcp_flags);
  w.put16(ip + 4, static_cast<std::uint16_t>(w.size() - ip - 40));
  if (csum == 0) return;
  const auto l4_bytes = std::span<const std::uint8_t>(w.bytes).subspan(l4);
  std::uint32_t sum = wire::checksum_partial(l4_bytes);
  sum = wire::checksum_partial(std::span<const std::uint8_t>(w.bytes).subspan(ip + 8, 32), sum);
  sum += proto + static_cast<std::uint32_t>(l4_bytes.size());
  w.put16(csum, proto == kIpProtoUdp ? wire::l4_checksum_field(sum) : wire::checksum_finish(sum));
}

void write_arp(Writer& w, const FlowKey& k, const Match& packet) {
  w.u16(1);  // Ethernet
  w.u16(kEthTypeIpv4);
  w.u8(6);
  w.u8(4);
  w.u16(packet.has(FieldId::ip_proto) ? k.get(FieldId::ip_proto) : 1);
  w.mac(k.get(FieldId::arp_sha));
  w.u32(k.get(FieldId::ipv4_src));
  w.mac(k.get(FieldId::arp_tha));
  w.u32(k.get(FieldId::ipv4_dst));
}

std::string field_text(const FlowKey& k, FieldId f) {
  const FieldLayout& l = layout_of(f);
  if (l.bits == 128) {
    const Wide v = k.get_wide(f);
    return fmt::format("{:#x}{:016x}", v.hi, v.lo);
  }
  return fmt::format("{:#x}", k.get(f));
}

}  // namespace

TraceFrame build_trace_frame(const Match& packet) {
  const FlowKey& k = packet.value;
  const std::uint64_t tci = k.get(FieldId::vlan_tci);
  const auto type = static_cast<std::uint16_t>(k.get(FieldId::eth_type));
  const auto ttl =
      static_cast<std::uint8_t>(packet.has(FieldId::ip_ttl) ? k.get(FieldId::ip_ttl) : 64);
  // A TCP segment opens its connection unless the description says otherwise.
  const std::uint64_t tcp_flags =
      packet.has(FieldId::tcp_flags) ? k.get(FieldId::tcp_flags) : 0x002;

  Writer w;
  // Two different addresses: equal ones would have NORMAL learn the source
  // and then refuse to send the packet back where it came from.
  w.mac(packet.has(FieldId::eth_dst) ? k.get(FieldId::eth_dst) : 0x020000000002);
  w.mac(packet.has(FieldId::eth_src) ? k.get(FieldId::eth_src) : 0x020000000001);
  if (tci & kVlanCfi) {
    w.u16(kEthTypeVlan);
    w.u16(tci & ~std::uint64_t{kVlanCfi});
  }
  // 802.3 frames carry a length where the type would be: OVS keys them as 0x05ff.
  w.u16(type < 0x0600 ? 0 : type);
  if (type == kEthTypeIpv4) {
    write_ipv4(w, k, ttl, tcp_flags);
  } else if (type == kEthTypeIpv6) {
    write_ipv6(w, k, ttl, tcp_flags);
  } else if (type == kEthTypeArp || type == kEthTypeRarp) {
    write_arp(w, k, packet);
  }
  while (w.size() < 60)
    w.u8(0);

  TraceFrame frame{std::move(w.bytes), {}};
  (void)dataplane::extract_flow(frame.bytes, kPortNone, frame.key);
  for (const FieldLayout& l : kFieldLayouts) {
    if (!packet.has(l.id)) continue;
    if (is_pipeline_field(l.id)) {
      frame.key.set(l.id, k.get(l.id));
      continue;
    }
    bool same;
    if (l.bits == 128) {
      const Wide m = packet.mask.get_wide(l.id), got = frame.key.get_wide(l.id);
      const Wide want = k.get_wide(l.id);
      same = (got.hi & m.hi) == want.hi && (got.lo & m.lo) == want.lo;
    } else {
      same = (frame.key.get(l.id) & packet.mask.get(l.id)) == k.get(l.id);
    }
    if (!same)
      throw std::invalid_argument(fmt::format(
          "the trace cannot build a packet with {}={}: a frame with these headers carries {}",
          l.name, field_text(k, l.id), field_text(frame.key, l.id)));
  }
  return frame;
}

}  // namespace sockswitch::control
