// dataplane/header_layout.cc: the header walk after the lookup.
#include "dataplane/header_layout.h"

#include "wire/checksum.h"

namespace sockswitch::dataplane {

using packet::Packet;
using wire::load_be16;

namespace {

using flowtable::FieldId;

constexpr std::size_t kMaxTags = 2;
constexpr int kMaxIpv6ExtensionHeaders = 8;

// Walks IPv6 extension headers to the transport header, or 0.
std::uint32_t ipv6_l4(const std::uint8_t* f, std::uint32_t len, std::uint32_t l3,
                      std::uint8_t proto) noexcept {
  std::uint8_t next = f[l3 + 6];
  std::uint32_t off = l3 + 40;
  for (int i = 0; i < kMaxIpv6ExtensionHeaders && next != proto; ++i) {
    if (off + 8 > len) return 0;
    switch (next) {
      case 0:   // hop-by-hop
      case 43:  // routing
      case 60:  // destination options
        next = f[off];
        off += (std::uint32_t{f[off + 1]} + 1) * 8;
        break;
      case 44:  // fragment: only the first carries a transport header
        if (load_be16(f + off + 2) & 0xfff8) return 0;
        next = f[off];
        off += 8;
        break;
      case 51:  // authentication header
        next = f[off];
        off += (std::uint32_t{f[off + 1]} + 2) * 4;
        break;
      default:
        return 0;
    }
  }
  return next == proto && off < len ? off : 0;
}

}  // namespace

HeaderLayout locate(const Packet& p, const flowtable::FlowKey& key) noexcept {
  HeaderLayout l;
  const std::uint8_t* f = p.data();
  const std::uint32_t len = p.length();
  std::uint32_t off = 12;
  while (off + 2 <= len && l.tags < kMaxTags && is_vlan_tpid(load_be16(f + off))) {
    off += 4;
    ++l.tags;
  }
  l.l3 = off + 2;
  const auto eth_type = static_cast<std::uint16_t>(key.get(FieldId::eth_type));
  const auto proto = static_cast<std::uint8_t>(key.get(FieldId::ip_proto));
  const bool later_fragment = key.get(FieldId::ip_frag) & 2;
  if (later_fragment) return l;
  if (eth_type == flowtable::kEthTypeIpv4 && l.l3 + 20 <= len) {
    const std::uint32_t ihl = (f[l.l3] & 0x0f) * 4u;
    if (ihl >= 20 && l.l3 + ihl < len) l.l4 = l.l3 + ihl;
  } else if (eth_type == flowtable::kEthTypeIpv6 && l.l3 + 40 <= len) {
    l.l4 = ipv6_l4(f, len, l.l3, proto);
  }
  return l;
}

}  // namespace sockswitch::dataplane
