// dataplane/gso_segmenter.cc: headers copied, lengths and sequence numbers fixed, sums finished.
#include "dataplane/gso_segmenter.h"

#include <algorithm>
#include <cstring>

#include "wire/checksum.h"
#include "wire/l4_segment.h"

namespace sockswitch::dataplane {

using packet::Packet;
using packet::PacketPool;
using wire::checksum_finish;
using wire::checksum_partial;
using wire::l4_checksum_field;
using wire::L4Segment;
using wire::load_be16;
using wire::load_be32;
using wire::locate_gso_l4;
using wire::Segmentation;
using wire::store_be16;
using wire::store_be32;

namespace {

constexpr std::uint8_t kTcpFin = 0x01, kTcpPsh = 0x08, kTcpCwr = 0x80;

}  // namespace

std::size_t segment_gso(std::span<const std::uint8_t> frame, Segmentation how, PacketPool& pool,
                        std::span<Packet*> out) noexcept {
  L4Segment seg;
  if (!locate_gso_l4(frame, how, seg)) return 0;
  const std::size_t segment_payload = how.segment_payload;
  const std::size_t l4_header =
      seg.udp ? 8 : std::size_t{static_cast<std::uint8_t>(frame[seg.begin + 12] >> 4)} * 4;
  if (l4_header < 8 || seg.begin + l4_header > seg.end) return 0;
  const std::size_t headers = seg.begin + l4_header;
  const std::size_t payload = seg.end - headers;
  const std::size_t count = payload == 0 ? 1 : (payload + segment_payload - 1) / segment_payload;
  if (count > out.size() || pool.available() < count ||
      headers + std::min<std::size_t>(payload, segment_payload) >
          pool.buffer_size() - pool.headroom())
    return 0;

  // The pseudo-header sum less the length, which differs per segment.
  const std::uint32_t addresses = seg.pseudo_sum - static_cast<std::uint32_t>(seg.end - seg.begin);
  const std::uint32_t first_seq = seg.udp ? 0 : load_be32(&frame[seg.begin + 4]);
  const std::uint16_t first_id = seg.ipv6 ? 0 : load_be16(&frame[seg.l3 + 4]);
  const std::uint8_t flags = seg.udp ? 0 : frame[seg.begin + 13];
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t offset = i * segment_payload;
    const std::size_t chunk = std::min<std::size_t>(segment_payload, payload - offset);
    Packet* p = pool.alloc();  // availability was checked
    std::uint8_t* f = p->append(static_cast<std::uint32_t>(headers + chunk));
    std::memcpy(f, frame.data(), headers);
    std::memcpy(f + headers, frame.data() + headers + offset, chunk);

    const auto l4_len = static_cast<std::uint16_t>(l4_header + chunk);
    std::uint8_t* ip = f + seg.l3;
    if (seg.ipv6) {
      store_be16(ip + 4, l4_len);
    } else {
      const std::size_t ihl = seg.begin - seg.l3;
      store_be16(ip + 2, static_cast<std::uint16_t>(ihl + l4_len));
      store_be16(ip + 4, static_cast<std::uint16_t>(first_id + i));
      store_be16(ip + 10, 0);
      store_be16(ip + 10, checksum_finish(checksum_partial({ip, ihl})));
    }
    std::uint8_t* l4 = f + seg.begin;
    std::size_t checksum_at = 6;
    if (seg.udp) {
      store_be16(l4 + 4, l4_len);
    } else {
      checksum_at = 16;
      store_be32(l4 + 4, first_seq + static_cast<std::uint32_t>(offset));
      std::uint8_t fl = flags;
      if (i + 1 < count) fl &= static_cast<std::uint8_t>(~(kTcpFin | kTcpPsh));
      if (i > 0) fl &= static_cast<std::uint8_t>(~kTcpCwr);
      l4[13] = fl;
    }
    store_be16(l4 + checksum_at, 0);
    store_be16(l4 + checksum_at,
               l4_checksum_field(checksum_partial({l4, l4_len}, addresses + l4_len)));
    out[i] = p;
  }
  return count;
}

}  // namespace sockswitch::dataplane
