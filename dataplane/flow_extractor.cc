// dataplane/flow_extractor.cc: the header walk behind extract_flow.
//
// Each layer first checks that its whole fixed header lies within the bytes
// left (`n`), then reads at constant offsets from `p`. That single check per
// header is what keeps every read in bounds; no read happens before it.
#include "dataplane/flow_extractor.h"

#include "dataplane/flow_hash.h"

#include <bit>
#include <cstring>
#include <utility>

namespace sockswitch::dataplane {

using packet::Packet;

namespace {

using flowtable::FieldId;
using flowtable::FlowKey;

// Ethernet and IP constants not shared with the flow model.
constexpr std::size_t kEthHeader = 14;
constexpr std::size_t kVlanTag = 4;
constexpr std::uint16_t kEthTypeMin = 0x0600;   // below: an 802.3 length field
constexpr std::uint16_t kEthTypeNone = 0x05ff;  // OVS's eth_type for non-SNAP 802.3
constexpr std::size_t kLlcSnapHeader = 8;       // DSAP SSAP CTRL OUI(3) TYPE(2)
constexpr std::size_t kArpEthIpv4 = 28;
constexpr std::size_t kIpv4Header = 20;
constexpr std::size_t kIpv6Header = 40;
constexpr std::size_t kTcpHeader = 20;
constexpr std::size_t kUdpHeader = 8;
constexpr std::size_t kSctpHeader = 12;
constexpr std::size_t kIcmpHeader = 8;  // type, code, checksum, 4 bytes of rest-of-header
constexpr std::size_t kNdHeader = 24;   // ICMPv6 header, reserved, 16-byte target
constexpr std::uint8_t kIpv6HopByHop = 0;
constexpr std::uint8_t kIpv6Routing = 43;
constexpr std::uint8_t kIpv6Fragment = 44;
constexpr std::uint8_t kIpv6Ah = 51;
constexpr std::uint8_t kIpv6DstOpts = 60;
constexpr std::uint8_t kNdSolicit = 135;
constexpr std::uint8_t kNdAdvert = 136;
constexpr std::uint8_t kNdOptSourceLinkAddr = 1;
constexpr std::uint8_t kNdOptTargetLinkAddr = 2;

// Big-endian loads. Callers have checked the bytes are there.
inline std::uint16_t be16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}
inline std::uint32_t be32(const std::uint8_t* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap32(v);
  return v;
}
inline std::uint64_t be64(const std::uint8_t* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  return v;
}
inline std::uint64_t be48(const std::uint8_t* p) noexcept {
  return std::uint64_t{be16(p)} << 32 | be32(p + 2);
}

// Clears the key with straight-line stores. A plain `key = FlowKey{}` becomes
// `rep stos` at -O2, whose start-up cost was a third of a 64-byte packet's
// parse time in flow_extract_bench.
template <std::size_t... I>
inline void clear_key(FlowKey& key, std::index_sequence<I...>) noexcept {
  ((key.w[I] = 0), ...);
}
// The same for the words after the hot ones.
template <std::size_t... I>
inline void clear_tail(FlowKey& key, std::index_sequence<I...>) noexcept {
  ((key.w[kHotKeyWords + I] = 0), ...);
}

ParseResult parse_tcp(const std::uint8_t* p, std::size_t n, FlowKey& key) noexcept {
  if (n < kTcpHeader) return ParseResult::truncated_l4;
  const std::size_t doff = (std::size_t{p[12]} >> 4) * 4;
  if (doff < kTcpHeader) return ParseResult::bad_l4;
  if (doff > n) return ParseResult::truncated_l4;
  key.set(FieldId::tp_src, be16(p));
  key.set(FieldId::tp_dst, be16(p + 2));
  key.set(FieldId::tcp_flags, be16(p + 12) & 0x0fff);
  return ParseResult::ok;
}

ParseResult parse_ports(const std::uint8_t* p, std::size_t n, std::size_t header,
                        FlowKey& key) noexcept {
  if (n < header) return ParseResult::truncated_l4;
  key.set(FieldId::tp_src, be16(p));
  key.set(FieldId::tp_dst, be16(p + 2));
  return ParseResult::ok;
}

ParseResult parse_icmp(const std::uint8_t* p, std::size_t n, FlowKey& key) noexcept {
  if (n < kIcmpHeader) return ParseResult::truncated_l4;
  key.set(FieldId::tp_src, p[0]);
  key.set(FieldId::tp_dst, p[1]);
  return ParseResult::ok;
}

// Neighbor Solicitation/Advertisement: the target, then options of 8-byte
// units. A zero-length or overlong option, or a second address option of
// the same kind, makes the message invalid: then none of the ND fields are
// kept, so a flow can never match half-believed ND data.
ParseResult parse_nd(const std::uint8_t* p, std::size_t n, FlowKey& key) noexcept {
  if (n < kNdHeader) return ParseResult::truncated_l4;
  const flowtable::Wide target{be64(p + 8), be64(p + 16)};
  std::uint64_t sll = 0, tll = 0;
  bool have_sll = false, have_tll = false;
  p += kNdHeader;
  n -= kNdHeader;
  while (n >= 8) {  // fewer than 8 trailing bytes cannot hold an option; OVS ignores them too
    const std::size_t len = std::size_t{p[1]} * 8;
    if (len == 0 || len > n) return ParseResult::bad_l4;
    if (len == 8 && p[0] == kNdOptSourceLinkAddr) {
      if (have_sll) return ParseResult::bad_l4;
      have_sll = true;
      sll = be48(p + 2);
    } else if (len == 8 && p[0] == kNdOptTargetLinkAddr) {
      if (have_tll) return ParseResult::bad_l4;
      have_tll = true;
      tll = be48(p + 2);
    }
    p += len;
    n -= len;
  }
  key.set_wide(FieldId::nd_target, target);
  key.set(FieldId::arp_sha, sll);
  key.set(FieldId::arp_tha, tll);
  return ParseResult::ok;
}

ParseResult parse_icmpv6(const std::uint8_t* p, std::size_t n, FlowKey& key) noexcept {
  if (n < kIcmpHeader) return ParseResult::truncated_l4;
  key.set(FieldId::tp_src, p[0]);
  key.set(FieldId::tp_dst, p[1]);
  if (p[1] == 0 && (p[0] == kNdSolicit || p[0] == kNdAdvert)) return parse_nd(p, n, key);
  return ParseResult::ok;
}

// `v6` picks which ICMP is meaningful: ICMPv4 only over IPv4, ICMPv6 only over IPv6.
ParseResult parse_l4(std::uint8_t proto, bool v6, const std::uint8_t* p, std::size_t n,
                     FlowKey& key) noexcept {
  switch (proto) {
    case flowtable::kIpProtoTcp:
      return parse_tcp(p, n, key);
    case flowtable::kIpProtoUdp:
      return parse_ports(p, n, kUdpHeader, key);
    case flowtable::kIpProtoSctp:
      return parse_ports(p, n, kSctpHeader, key);
    case flowtable::kIpProtoIcmp:
      return v6 ? ParseResult::ok : parse_icmp(p, n, key);
    case flowtable::kIpProtoIcmpv6:
      return v6 ? parse_icmpv6(p, n, key) : ParseResult::ok;
    default:
      return ParseResult::ok;
  }
}

ParseResult parse_arp(const std::uint8_t* p, std::size_t n, FlowKey& key) noexcept {
  if (n < kArpEthIpv4) return ParseResult::truncated_l3;
  if (be16(p) != 1 || be16(p + 2) != flowtable::kEthTypeIpv4 || p[4] != 6 || p[5] != 4)
    return ParseResult::bad_l3;
  const std::uint16_t op = be16(p + 6);
  if (op <= 0xff) key.set(FieldId::ip_proto, op);
  key.set(FieldId::arp_sha, be48(p + 8));
  key.set(FieldId::ipv4_src, be32(p + 14));
  key.set(FieldId::arp_tha, be48(p + 18));
  key.set(FieldId::ipv4_dst, be32(p + 24));
  return ParseResult::ok;
}

ParseResult parse_ipv4(const std::uint8_t* p, std::size_t n, FlowKey& key) noexcept {
  if (n < kIpv4Header) return ParseResult::truncated_l3;
  const std::size_t ihl = std::size_t{p[0] & 0x0fu} * 4;
  if (p[0] >> 4 != 4 || ihl < kIpv4Header) return ParseResult::bad_l3;
  if (ihl > n) return ParseResult::truncated_l3;
  const std::size_t total = be16(p + 2);
  if (total < ihl) return ParseResult::bad_l3;
  if (total > n) return ParseResult::truncated_l3;

  const std::uint16_t frag_word = be16(p + 6);
  const bool more = (frag_word & 0x2000) != 0;
  const bool later = (frag_word & 0x1fff) != 0;
  const std::uint8_t proto = p[9];
  key.set(FieldId::ip_tos, p[1]);
  key.set(FieldId::ip_ttl, p[8]);
  key.set(FieldId::ip_proto, proto);
  key.set(FieldId::ip_frag, (more || later ? 1u : 0u) | (later ? 2u : 0u));
  key.set(FieldId::ipv4_src, be32(p + 12));
  key.set(FieldId::ipv4_dst, be32(p + 16));
  if (later) return ParseResult::ok;
  return parse_l4(proto, false, p + ihl, total - ihl, key);
}

constexpr bool is_ipv6_extension(std::uint8_t next) noexcept {
  return next == kIpv6HopByHop || next == kIpv6Routing || next == kIpv6DstOpts ||
         next == kIpv6Fragment || next == kIpv6Ah;
}

ParseResult parse_ipv6(const std::uint8_t* p, std::size_t n, FlowKey& key) noexcept {
  if (n < kIpv6Header) return ParseResult::truncated_l3;
  const std::uint32_t vtf = be32(p);
  if (vtf >> 28 != 6) return ParseResult::bad_l3;
  const std::size_t payload = be16(p + 4);
  if (payload > n - kIpv6Header) return ParseResult::truncated_l3;

  key.set(FieldId::ipv6_label, vtf & 0xfffff);
  key.set_wide(FieldId::ipv6_src, {be64(p + 8), be64(p + 16)});
  key.set_wide(FieldId::ipv6_dst, {be64(p + 24), be64(p + 32)});
  const std::uint8_t tos = static_cast<std::uint8_t>(vtf >> 20);
  const std::uint8_t hop_limit = p[7];
  std::uint8_t next = p[6];
  p += kIpv6Header;
  n = payload;  // from here on, trailing padding is out of reach

  // As in OVS, the remaining L3 fields are set only once the extension
  // chain is known good: a broken chain leaves just addresses and label.
  std::uint8_t frag = 0;
  bool later = false;
  for (int seen = 0; is_ipv6_extension(next); ++seen) {
    if (seen == kMaxIpv6ExtHeaders) return ParseResult::bad_l3;
    if (n < 8) return ParseResult::truncated_l3;  // every extension header is >= 8 bytes
    std::size_t len = 8;
    if (next == kIpv6Ah) {
      len = (std::size_t{p[1]} + 2) * 4;
    } else if (next != kIpv6Fragment) {
      len = (std::size_t{p[1]} + 1) * 8;
    } else {
      const std::uint16_t offlg = be16(p + 2);
      later = (offlg & 0xfff8) != 0;
      if (later || (offlg & 1)) frag = later ? 3 : 1;
    }
    if (len > n) return ParseResult::truncated_l3;
    if (later) break;  // the rest belongs to the first fragment; next stays 44
    next = p[0];
    p += len;
    n -= len;
  }

  key.set(FieldId::ip_tos, tos);
  key.set(FieldId::ip_ttl, hop_limit);
  key.set(FieldId::ip_proto, next);
  key.set(FieldId::ip_frag, frag);
  if (later) return ParseResult::ok;
  return parse_l4(next, true, p, n, key);
}

// The fast path (see flow_extractor.h): true when `f` is untagged IPv4 with
// IHL 5, not a fragment, with a complete TCP or UDP header inside the IP
// length; then `key` is what the walk would give, and the result ok.
// Otherwise false, and `key` untouched.
[[gnu::always_inline]] inline bool extract_plain_ipv4(const std::uint8_t* f, std::size_t n,
                                                      std::uint32_t in_port,
                                                      FlowKey& key) noexcept {
  if (n < kEthHeader + kIpv4Header) return false;
  const std::uint8_t* ip = f + kEthHeader;
  if (be16(f + 12) != flowtable::kEthTypeIpv4 || ip[0] != 0x45) return false;
  const std::size_t total = be16(ip + 2);
  if (total < kIpv4Header || total > n - kEthHeader) return false;
  if ((be16(ip + 6) & 0x3fff) != 0) return false;  // MF or an offset: a fragment
  const std::uint8_t proto = ip[9];
  const std::uint8_t* l4 = ip + kIpv4Header;
  const std::size_t l4_len = total - kIpv4Header;
  std::uint64_t ports = 0;
  if (proto == flowtable::kIpProtoTcp) {
    if (l4_len < kTcpHeader) return false;
    const std::size_t doff = (std::size_t{l4[12]} >> 4) * 4;
    if (doff < kTcpHeader || doff > l4_len) return false;
    ports = std::uint64_t{be16(l4 + 12) & 0x0fffu} << 32;
  } else if (proto == flowtable::kIpProtoUdp) {
    if (l4_len < kUdpHeader) return false;
  } else {
    return false;
  }
  ports |= std::uint64_t{be16(l4)} | std::uint64_t{be16(l4 + 2)} << 16;
  // Word layout: flow_key.h's kFieldLayouts (words 0..4; the rest are 0).
  key.w[0] = in_port | std::uint64_t{flowtable::kEthTypeIpv4} << 32;
  key.w[1] = be48(f + 6) | std::uint64_t{proto} << 48 | std::uint64_t{ip[1]} << 56;
  key.w[2] = be48(f) | std::uint64_t{ip[8]} << 48;
  key.w[3] = be32(ip + 12) | std::uint64_t{be32(ip + 16)} << 32;
  key.w[4] = ports;
  clear_tail(key, std::make_index_sequence<flowtable::kKeyWords - kHotKeyWords>{});
  return true;
}

// Which words a key from the walk can use: IPv6 (addresses, ND) and ARP
// fill words past the hot ones, everything else stays within them.
inline std::uint8_t extent_of(const FlowKey& key) noexcept {
  const auto type = key.get(FieldId::eth_type);
  return type == flowtable::kEthTypeIpv6 || type == flowtable::kEthTypeArp ||
                 type == flowtable::kEthTypeRarp
             ? static_cast<std::uint8_t>(flowtable::kKeyWords)
             : kHotKeyWords;
}

}  // namespace

ParseResult extract_flow(std::span<const std::uint8_t> frame, flowtable::PortNo in_port,
                         FlowKey& key) noexcept {
  if (extract_plain_ipv4(frame.data(), frame.size(), flowtable::to_u32(in_port), key))
    return ParseResult::ok;
  return extract_flow_by_walk(frame, in_port, key);
}

ParseResult extract_flow_by_walk(std::span<const std::uint8_t> frame, flowtable::PortNo in_port,
                                 FlowKey& key) noexcept {
  clear_key(key, std::make_index_sequence<flowtable::kKeyWords>{});
  key.set(FieldId::in_port, flowtable::to_u32(in_port));
  const std::uint8_t* p = frame.data();
  std::size_t n = frame.size();
  if (n < kEthHeader) return ParseResult::truncated_l2;
  key.set(FieldId::eth_dst, be48(p));
  key.set(FieldId::eth_src, be48(p + 6));
  p += 12;  // at the first type/TPID; n >= 2 here
  n -= 12;

  std::uint16_t type = be16(p);
  for (int tags = 0; type == flowtable::kEthTypeVlan || type == flowtable::kEthTypeQinQ; ++tags) {
    if (tags == kMaxVlanTags) {
      key.set(FieldId::eth_type, type);
      return ParseResult::vlan_depth;
    }
    if (n < kVlanTag + 2) {
      key.set(FieldId::eth_type, type);
      return ParseResult::truncated_l2;
    }
    if (tags == 0) key.set(FieldId::vlan_tci, be16(p + 2) | flowtable::kVlanCfi);
    p += kVlanTag;
    n -= kVlanTag;
    type = be16(p);
  }
  p += 2;
  n -= 2;

  if (type < kEthTypeMin) {
    // 802.3: only LLC/SNAP with an Ethernet OUI carries a real EtherType.
    if (n < kLlcSnapHeader) {
      key.set(FieldId::eth_type, kEthTypeNone);
      return ParseResult::ok;
    }
    const bool snap = p[0] == 0xaa && p[1] == 0xaa && p[2] == 0x03 && (p[3] | p[4] | p[5]) == 0;
    type = snap && be16(p + 6) >= kEthTypeMin ? be16(p + 6) : kEthTypeNone;
    if (snap) {
      p += kLlcSnapHeader;
      n -= kLlcSnapHeader;
    }
  }
  key.set(FieldId::eth_type, type);

  switch (type) {
    case flowtable::kEthTypeIpv4:
      return parse_ipv4(p, n, key);
    case flowtable::kEthTypeIpv6:
      return parse_ipv6(p, n, key);
    case flowtable::kEthTypeArp:
    case flowtable::kEthTypeRarp:
      return parse_arp(p, n, key);
    default:
      return ParseResult::ok;
  }
}

std::size_t extract_burst(std::span<Packet* const> packets, std::span<FlowKey> keys,
                          std::span<ParseResult> results) noexcept {
  const std::size_t count = packets.size() < keys.size() ? packets.size() : keys.size();
  if (count != 0) __builtin_prefetch(packets[0]->data());
  for (std::size_t i = 0; i < count; ++i) {
    // Headers of the next packet load while this one is parsed.
    if (i + 1 < count) __builtin_prefetch(packets[i + 1]->data());
    const ParseResult r = extract_flow(*packets[i], keys[i]);
    if (i < results.size()) results[i] = r;
  }
  return count;
}

std::size_t extract_burst(std::span<Packet* const> packets, std::span<FlowKey> keys,
                          std::span<KeyInfo> infos) noexcept {
  const std::size_t count = packets.size() < keys.size() ? packets.size() : keys.size();
  if (count != 0) __builtin_prefetch(packets[0]->data());
  for (std::size_t i = 0; i < count; ++i) {
    if (i + 1 < count) __builtin_prefetch(packets[i + 1]->data());
    const Packet& p = *packets[i];
    FlowKey& key = keys[i];
    KeyInfo& info = infos[i];
    if (extract_plain_ipv4(p.data(), p.length(), flowtable::to_u32(p.in_port()), key)) {
      info.extent = kHotKeyWords;
      info.result = ParseResult::ok;
      info.hash = hash_key_first<kHotKeyWords>(key);  // the words are still in registers
    } else {
      info.result = extract_flow_by_walk(p.bytes(), p.in_port(), key);
      info.extent = extent_of(key);
      info.hash = hash_key_prefix(key, info.extent);
    }
  }
  return count;
}

}  // namespace sockswitch::dataplane
