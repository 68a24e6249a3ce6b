// dataplane/header_rewrite.cc: header edits with checksum fix-ups.
#include "dataplane/header_rewrite.h"

#include <array>
#include <cstring>

#include "dataplane/header_layout.h"
#include "wire/checksum.h"

namespace sockswitch::dataplane {

using packet::Packet;
using wire::checksum_update16;
using wire::checksum_update32;
using wire::load_be16;
using wire::load_be32;
using wire::store_be16;
using wire::store_be32;

namespace {

using flowtable::Action;
using flowtable::ActionKind;
using flowtable::FieldId;
using flowtable::FlowKey;

// A GSO super-frame's TCP/UDP checksum field holds the pseudo-header sum
// alone, not inverted (packet.h): an address it covers changes it as a sum,
// a port (outside the pseudo-header) not at all. This keeps the stored
// value what the device that cuts the frame expects.
std::uint16_t pseudo_updated(const Packet& p, std::uint16_t stored, std::uint16_t old_word,
                             std::uint16_t new_word) noexcept {
  if (!p.is_gso()) return checksum_update16(stored, old_word, new_word);
  return static_cast<std::uint16_t>(
      ~checksum_update16(static_cast<std::uint16_t>(~stored), old_word, new_word));
}
std::uint16_t pseudo_updated32(const Packet& p, std::uint16_t stored, std::uint32_t old_value,
                               std::uint32_t new_value) noexcept {
  stored = pseudo_updated(p, stored, static_cast<std::uint16_t>(old_value >> 16),
                          static_cast<std::uint16_t>(new_value >> 16));
  return pseudo_updated(p, stored, static_cast<std::uint16_t>(old_value),
                        static_cast<std::uint16_t>(new_value));
}

// Offset of the checksum that covers the IP pseudo-header, or 0.
std::uint32_t pseudo_checksum_at(const Packet& p, const FlowKey& key,
                                 const HeaderLayout& l) noexcept {
  if (l.l4 == 0) return 0;
  const auto proto = static_cast<std::uint8_t>(key.get(FieldId::ip_proto));
  const bool v6 = key.get(FieldId::eth_type) == flowtable::kEthTypeIpv6;
  std::uint32_t at = 0;
  if (proto == flowtable::kIpProtoTcp) at = l.l4 + 16;
  if (proto == flowtable::kIpProtoUdp) {
    at = l.l4 + 6;
    // An IPv4 UDP checksum of zero means "none": it stays zero.
    if (!v6 && at + 2 <= p.length() && load_be16(p.data() + at) == 0) return 0;
  }
  if (proto == flowtable::kIpProtoIcmpv6 && v6) at = l.l4 + 2;
  return at != 0 && at + 2 <= p.length() ? at : 0;
}

void fix_sctp(Packet& p, const FlowKey& key, const HeaderLayout& l) noexcept {
  if (l.l4 == 0 || key.get(FieldId::ip_proto) != flowtable::kIpProtoSctp) return;
  if (l.l4 + 12 > p.length()) return;
  std::uint8_t* s = p.data() + l.l4;
  std::memset(s + 8, 0, 4);
  const std::uint32_t crc = crc32c(s, p.length() - l.l4);
  // SCTP stores its CRC32c little-endian.
  s[8] = static_cast<std::uint8_t>(crc);
  s[9] = static_cast<std::uint8_t>(crc >> 8);
  s[10] = static_cast<std::uint8_t>(crc >> 16);
  s[11] = static_cast<std::uint8_t>(crc >> 24);
}

void store_mac(std::uint8_t* at, std::uint64_t mac) noexcept {
  for (int i = 0; i < 6; ++i)
    at[i] = static_cast<std::uint8_t>(mac >> (40 - 8 * i));
}

bool set_mac(Packet& p, std::uint32_t at, std::uint64_t mac) noexcept {
  if (at + 6 > p.length()) return false;
  store_mac(p.data() + at, mac);
  return true;
}

// IPv4 address (or ARP protocol address under ARP).
bool set_ipv4(Packet& p, FlowKey& key, bool source, std::uint32_t value) noexcept {
  const HeaderLayout l = locate(p, key);
  std::uint8_t* f = p.data();
  if (key.get(FieldId::eth_type) == flowtable::kEthTypeArp) {
    const std::uint32_t at = l.l3 + (source ? 14 : 24);
    if (at + 4 > p.length()) return false;
    store_be32(f + at, value);
  } else {
    const std::uint32_t at = l.l3 + (source ? 12 : 16);
    if (l.l3 + 20 > p.length()) return false;
    const std::uint32_t old = load_be32(f + at);
    store_be32(f + at, value);
    store_be16(f + l.l3 + 10, checksum_update32(load_be16(f + l.l3 + 10), old, value));
    if (const std::uint32_t c = pseudo_checksum_at(p, key, l))
      store_be16(f + c, pseudo_updated32(p, load_be16(f + c), old, value));
  }
  key.set(source ? FieldId::ipv4_src : FieldId::ipv4_dst, value);
  return true;
}

bool set_ipv6(Packet& p, FlowKey& key, bool source, flowtable::Wide value) noexcept {
  const HeaderLayout l = locate(p, key);
  if (l.l3 + 40 > p.length()) return false;
  std::uint8_t* f = p.data();
  std::uint8_t* addr = f + l.l3 + (source ? 8 : 24);
  std::array<std::uint8_t, 16> next;
  for (std::size_t i = 0; i < 8; ++i) {
    next[i] = static_cast<std::uint8_t>(value.hi >> (56 - 8 * i));
    next[8 + i] = static_cast<std::uint8_t>(value.lo >> (56 - 8 * i));
  }
  if (const std::uint32_t c = pseudo_checksum_at(p, key, l)) {
    std::uint16_t sum = load_be16(f + c);
    for (int i = 0; i < 16; i += 2)
      sum = pseudo_updated(p, sum, load_be16(addr + i), load_be16(next.data() + i));
    store_be16(f + c, sum);
  }
  std::memcpy(addr, next.data(), 16);
  key.set_wide(source ? FieldId::ipv6_src : FieldId::ipv6_dst, value);
  return true;
}

bool set_port(Packet& p, FlowKey& key, bool source, std::uint16_t value) noexcept {
  const HeaderLayout l = locate(p, key);
  if (l.l4 == 0 || l.l4 + 4 > p.length()) return false;
  std::uint8_t* f = p.data();
  const std::uint32_t at = l.l4 + (source ? 0 : 2);
  const std::uint16_t old = load_be16(f + at);
  store_be16(f + at, value);
  if (const std::uint32_t c = pseudo_checksum_at(p, key, l); c != 0 && !p.is_gso())
    store_be16(f + c, checksum_update16(load_be16(f + c), old, value));
  fix_sctp(p, key, l);
  key.set(source ? FieldId::tp_src : FieldId::tp_dst, value);
  return true;
}

// Replaces the bits `mask` of the IP TOS / IPv6 traffic class.
bool set_tos(Packet& p, FlowKey& key, std::uint8_t value, std::uint8_t mask) noexcept {
  const HeaderLayout l = locate(p, key);
  std::uint8_t* f = p.data();
  const bool v6 = key.get(FieldId::eth_type) == flowtable::kEthTypeIpv6;
  if (l.l3 + (v6 ? 40 : 20) > p.length()) return false;
  std::uint8_t tos;
  if (v6) {
    tos = static_cast<std::uint8_t>((f[l.l3] & 0x0f) << 4 | f[l.l3 + 1] >> 4);
    tos = static_cast<std::uint8_t>((tos & ~mask) | (value & mask));
    f[l.l3] = static_cast<std::uint8_t>((f[l.l3] & 0xf0) | tos >> 4);
    f[l.l3 + 1] = static_cast<std::uint8_t>((f[l.l3 + 1] & 0x0f) | (tos & 0x0f) << 4);
  } else {
    const std::uint16_t old = load_be16(f + l.l3);
    tos = static_cast<std::uint8_t>((f[l.l3 + 1] & ~mask) | (value & mask));
    f[l.l3 + 1] = tos;
    store_be16(f + l.l3 + 10,
               checksum_update16(load_be16(f + l.l3 + 10), old, load_be16(f + l.l3)));
  }
  key.set(FieldId::ip_tos, tos);
  return true;
}

bool set_ttl(Packet& p, FlowKey& key, std::uint8_t ttl) noexcept {
  const HeaderLayout l = locate(p, key);
  std::uint8_t* f = p.data();
  if (key.get(FieldId::eth_type) == flowtable::kEthTypeIpv6) {
    if (l.l3 + 40 > p.length()) return false;
    f[l.l3 + 7] = ttl;
  } else {
    if (l.l3 + 20 > p.length()) return false;
    const std::uint16_t old = load_be16(f + l.l3 + 8);
    f[l.l3 + 8] = ttl;
    store_be16(f + l.l3 + 10,
               checksum_update16(load_be16(f + l.l3 + 10), old, load_be16(f + l.l3 + 8)));
  }
  key.set(FieldId::ip_ttl, ttl);
  return true;
}

bool set_ipv6_label(Packet& p, FlowKey& key, std::uint32_t label) noexcept {
  const HeaderLayout l = locate(p, key);
  if (l.l3 + 40 > p.length()) return false;
  std::uint8_t* f = p.data() + l.l3;
  f[1] = static_cast<std::uint8_t>((f[1] & 0xf0) | ((label >> 16) & 0x0f));
  f[2] = static_cast<std::uint8_t>(label >> 8);
  f[3] = static_cast<std::uint8_t>(label);
  key.set(FieldId::ipv6_label, label & 0xfffff);
  return true;
}

bool set_arp_field(Packet& p, FlowKey& key, FieldId field, std::uint64_t value) noexcept {
  const HeaderLayout l = locate(p, key);
  if (key.get(FieldId::eth_type) != flowtable::kEthTypeArp || l.l3 + 28 > p.length()) return false;
  std::uint8_t* f = p.data() + l.l3;
  if (field == FieldId::ip_proto) store_be16(f + 6, static_cast<std::uint16_t>(value));
  if (field == FieldId::arp_sha) store_mac(f + 8, value);
  if (field == FieldId::arp_tha) store_mac(f + 18, value);
  key.set(field, value);
  return true;
}

// The outer tag's TCI with CFI set, or 0 when untagged, as the key keeps it.
std::uint16_t outer_tci(const Packet& p) noexcept {
  if (p.length() < 18 || !is_vlan_tpid(load_be16(p.data() + 12))) return 0;
  return static_cast<std::uint16_t>(load_be16(p.data() + 14) | flowtable::kVlanCfi);
}

bool push_tag(Packet& p, std::uint16_t tpid, std::uint16_t tci) noexcept {
  if (p.length() < 14) return false;
  std::uint8_t* f = p.push_front(4);
  if (f == nullptr) return false;
  std::memmove(f, f + 4, 12);
  store_be16(f + 12, tpid);
  store_be16(f + 14, tci);
  return true;
}

bool pop_tag(Packet& p) noexcept {
  if (outer_tci(p) == 0) return true;  // nothing to strip: OpenFlow makes it a no-op
  std::uint8_t* f = p.data();
  std::memmove(f + 4, f, 12);
  return p.pull_front(4) != nullptr;
}

bool push_tag(Packet& p, FlowKey& key, std::uint16_t tpid, std::uint16_t tci) noexcept {
  if (!push_tag(p, tpid, tci)) return false;
  key.set(FieldId::vlan_tci, tci | flowtable::kVlanCfi);
  return true;
}

bool pop_tag(Packet& p, FlowKey& key) noexcept {
  if (!pop_tag(p)) return false;
  key.set(FieldId::vlan_tci, outer_tci(p));
  return true;
}

// Sets the bits `mask` of the outer TCI, pushing a tag first when untagged.
bool set_tci_bits(Packet& p, FlowKey& key, std::uint16_t bits, std::uint16_t mask) noexcept {
  if (outer_tci(p) == 0) return push_tag(p, key, flowtable::kEthTypeVlan, bits & mask);
  const std::uint16_t tci = static_cast<std::uint16_t>((load_be16(p.data() + 14) & ~mask) | bits);
  store_be16(p.data() + 14, tci);
  key.set(FieldId::vlan_tci, tci | flowtable::kVlanCfi);
  return true;
}

bool set_field(const Action& a, Packet& p, FlowKey& key) noexcept {
  const std::uint64_t v = a.value.lo;
  switch (a.field) {
    case FieldId::eth_src:
      if (!set_mac(p, 6, v)) return false;
      key.set(FieldId::eth_src, v);
      return true;
    case FieldId::eth_dst:
      if (!set_mac(p, 0, v)) return false;
      key.set(FieldId::eth_dst, v);
      return true;
    case FieldId::ipv4_src:
    case FieldId::ipv4_dst:
      return set_ipv4(p, key, a.field == FieldId::ipv4_src, static_cast<std::uint32_t>(v));
    case FieldId::ipv6_src:
    case FieldId::ipv6_dst:
      return set_ipv6(p, key, a.field == FieldId::ipv6_src, a.value);
    case FieldId::tp_src:
    case FieldId::tp_dst:
      return set_port(p, key, a.field == FieldId::tp_src, static_cast<std::uint16_t>(v));
    case FieldId::ip_tos:  // set_field to nw_ecn/ip_ecn: the ECN bits only
      return set_tos(p, key, static_cast<std::uint8_t>(v), 0x03);
    case FieldId::ip_ttl:
      return set_ttl(p, key, static_cast<std::uint8_t>(v));
    case FieldId::ipv6_label:
      return set_ipv6_label(p, key, static_cast<std::uint32_t>(v));
    case FieldId::ip_proto:
    case FieldId::arp_sha:
    case FieldId::arp_tha:
      return set_arp_field(p, key, a.field, v);
    case FieldId::metadata:
    case FieldId::reg0:
    case FieldId::reg1:
    case FieldId::reg2:
    case FieldId::reg3:
    case FieldId::reg4:
    case FieldId::reg5:
    case FieldId::reg6:
    case FieldId::reg7:
      key.set(a.field, v);  // pipeline state, not packet bytes
      return true;
    default:
      return false;
  }
}

constexpr std::array<std::uint32_t, 256> make_crc32c_table() noexcept {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k)
      c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kCrc32cTable = make_crc32c_table();

}  // namespace

std::uint32_t crc32c(const std::uint8_t* data, std::size_t length) noexcept {
  std::uint32_t c = 0xffffffffu;
  for (std::size_t i = 0; i < length; ++i)
    c = kCrc32cTable[(c ^ data[i]) & 0xff] ^ (c >> 8);
  return ~c;
}

bool apply_rewrite(const Action& a, Packet& p, FlowKey& key) noexcept {
  const std::uint64_t v = a.value.lo;
  switch (a.kind) {
    case ActionKind::mod_dl_src:
    case ActionKind::mod_dl_dst:
    case ActionKind::mod_nw_src:
    case ActionKind::mod_nw_dst:
    case ActionKind::mod_tp_src:
    case ActionKind::mod_tp_dst:
    case ActionKind::mod_nw_ttl:
    case ActionKind::set_field:
      return set_field(a, p, key);
    case ActionKind::mod_nw_tos:
      return set_tos(p, key, static_cast<std::uint8_t>(v), 0xfc);
    case ActionKind::mod_vlan_vid:
      return set_tci_bits(p, key, static_cast<std::uint16_t>(v & 0x0fff), 0x0fff);
    case ActionKind::mod_vlan_pcp:
      return set_tci_bits(p, key, static_cast<std::uint16_t>((v & 7) << 13), 0xe000);
    case ActionKind::strip_vlan:
    case ActionKind::pop_vlan:
      return pop_tag(p, key);
    case ActionKind::push_vlan: {
      const auto tci = static_cast<std::uint16_t>(outer_tci(p) & ~unsigned{flowtable::kVlanCfi});
      return push_tag(p, key, static_cast<std::uint16_t>(v), tci);
    }
    case ActionKind::dec_ttl: {
      const auto ttl = static_cast<std::uint8_t>(key.get(FieldId::ip_ttl));
      if (ttl <= 1) return false;
      return set_ttl(p, key, static_cast<std::uint8_t>(ttl - 1));
    }
    default:
      return false;
  }
}

bool set_outer_tci(Packet& p, std::uint16_t tci) noexcept {
  const std::uint16_t have = outer_tci(p);
  if (tci == 0) return pop_tag(p);
  if (have == 0) return push_tag(p, flowtable::kEthTypeVlan, tci);
  // The drop-eligible bit is the frame's own; VID and priority are set.
  constexpr std::uint16_t kVidPcp = 0xefff;
  const std::uint16_t now = load_be16(p.data() + 14);
  if ((now & kVidPcp) != tci)
    store_be16(p.data() + 14, static_cast<std::uint16_t>((now & ~kVidPcp) | tci));
  return true;
}

}  // namespace sockswitch::dataplane
