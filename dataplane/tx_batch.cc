// dataplane/tx_batch.cc: super-frames cut for a port that takes none.
#include "dataplane/tx_batch.h"

#include "dataplane/gso_segmenter.h"

namespace sockswitch::dataplane {

using packet::kBurstSize;
using packet::Packet;

void TxBatch::cut_and_send(Buffer& b) noexcept {
  std::array<Packet*, kBurstSize> ready;
  std::array<Packet*, kMaxGsoSegments> segments;
  std::size_t n = 0;
  std::uint64_t cut = 0, lost = 0;
  auto send_ready = [&] {
    b.port->tx_burst(b.queue, pool_, std::span<Packet* const>(ready.data(), n));
    n = 0;
  };
  for (std::size_t i = 0; i < b.count; ++i) {
    Packet* p = b.packets[i];
    if (!p->is_gso()) {
      ready[n++] = p;
      if (n == ready.size()) send_ready();
      continue;
    }
    const std::size_t count = segment_gso(*p, pool_, segments);
    pool_.free(p);
    if (count == 0) {
      ++lost;
      continue;
    }
    cut += count;
    for (std::size_t k = 0; k < count; ++k) {
      ready[n++] = segments[k];
      if (n == ready.size()) send_ready();
    }
  }
  if (n != 0) send_ready();
  b.port->count_cut_to_send(b.queue, cut, lost);
}

}  // namespace sockswitch::dataplane
