// wire/checksum_completion.cc: finding the L4 checksum of a frame and finishing it.
#include "wire/checksum_completion.h"

#include "wire/checksum.h"
#include "wire/l4_segment.h"

namespace sockswitch::wire {

bool complete_checksum_at(std::span<std::uint8_t> frame, std::uint32_t start,
                          std::uint32_t offset) noexcept {
  if (start > frame.size() || std::size_t{offset} + 2 > frame.size() - start) return false;
  store_be16(&frame[start + offset], l4_checksum_field(checksum_partial(frame.subspan(start))));
  return true;
}

bool complete_if_partial(std::span<std::uint8_t> frame) noexcept {
  L4Segment seg;
  if (!locate_l4(frame, seg)) return false;
  if (load_be16(&frame[seg.checksum_at]) != checksum_fold(seg.pseudo_sum)) return false;
  store_be16(&frame[seg.checksum_at], 0);
  const std::uint32_t sum =
      checksum_partial(frame.subspan(seg.begin, seg.end - seg.begin), seg.pseudo_sum);
  store_be16(&frame[seg.checksum_at], l4_checksum_field(sum));
  return true;
}

}  // namespace sockswitch::wire
