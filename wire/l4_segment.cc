// wire/l4_segment.cc: the header walk to a frame's TCP or UDP segment.
#include "wire/l4_segment.h"

#include "wire/checksum.h"
#include "wire/ethernet.h"

namespace sockswitch::wire {

bool locate_l4(std::span<const std::uint8_t> f, L4Segment& seg) noexcept {
  if (f.size() < kEthHeader) return false;
  std::size_t l3 = kEthHeader;
  std::uint16_t type = load_be16(&f[12]);
  for (int tags = 0; (type == kEthVlan || type == kEthQinQ) && tags < 2; ++tags) {
    if (f.size() < l3 + kVlanTag) return false;
    type = load_be16(&f[l3 + 2]);
    l3 += kVlanTag;
  }
  std::uint8_t proto = 0;
  std::size_t l4 = 0, l4_len = 0;
  if (type == kEthIpv4) {
    if (f.size() < l3 + 20 || (f[l3] >> 4) != 4) return false;
    const std::size_t ihl = std::size_t{f[l3] & 0x0fu} * 4;
    const std::size_t total = load_be16(&f[l3 + 2]);
    if (ihl < 20 || total < ihl || l3 + total > f.size()) return false;
    if ((load_be16(&f[l3 + 6]) & 0x3fff) != 0) return false;  // a fragment: no whole segment
    proto = f[l3 + 9];
    l4 = l3 + ihl;
    l4_len = total - ihl;
    seg.pseudo_sum = checksum_partial(f.subspan(l3 + 12, 8));
  } else if (type == kEthIpv6) {
    if (f.size() < l3 + kIpv6Header || (f[l3] >> 4) != 6) return false;
    l4_len = load_be16(&f[l3 + 4]);
    proto = f[l3 + 6];  // extension headers are left alone
    l4 = l3 + kIpv6Header;
    if (l4 + l4_len > f.size()) return false;
    seg.pseudo_sum = checksum_partial(f.subspan(l3 + 8, 32));
    seg.ipv6 = true;
  } else {
    return false;
  }
  if (proto == kProtoTcp) {
    if (l4_len < 20) return false;
    seg.checksum_at = l4 + 16;
  } else if (proto == kProtoUdp) {
    if (l4_len < 8) return false;
    seg.checksum_at = l4 + 6;
    seg.udp = true;
  } else {
    return false;
  }
  seg.pseudo_sum += proto + static_cast<std::uint32_t>(l4_len);
  seg.l3 = l3;
  seg.begin = l4;
  seg.end = l4 + l4_len;
  return true;
}

bool locate_gso_l4(std::span<const std::uint8_t> frame, Segmentation how, L4Segment& seg) noexcept {
  return how.kind != GsoKind::none && how.segment_payload != 0 && locate_l4(frame, seg) &&
         seg.udp == (how.kind == GsoKind::udp_l4);
}

}  // namespace sockswitch::wire
