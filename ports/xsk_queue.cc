// ports/xsk_queue.cc: the pool as UMEM, socket setup, in-place rx and tx, completion reaping.
#include "ports/xsk_queue.h"

#include <linux/if_xdp.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#include <xdp/xsk.h>
#pragma GCC diagnostic pop

#include "ports/fd.h"
#include "wire/checksum_completion.h"

namespace sockswitch::ports {

using packet::Packet;
using packet::PacketPool;

struct XskQueue::Rings {
  xsk_ring_prod fill{};
  xsk_ring_cons comp{};
  xsk_ring_cons rx{};
  xsk_ring_prod tx{};
};

XskQueue::XskQueue(const std::string& device, std::uint32_t queue, std::shared_ptr<PacketPool> pool,
                   std::uint32_t ring_size)
    : device_(device), queue_(queue), ring_size_(ring_size), pool_(std::move(pool)) {
  if (!pool_) throw std::invalid_argument("af_xdp " + device_ + ": no packet pool");
  if (ring_size < 64 || (ring_size & (ring_size - 1)) != 0)
    throw std::invalid_argument("af_xdp " + device_ + ": ring size must be a power of two >= 64");
  if (pool_->buffer_size() < kChunkSize)
    throw std::invalid_argument("af_xdp " + device_ + ": pool buffers are smaller than " +
                                std::to_string(kChunkSize) + " bytes");
  rings_ = std::make_unique<Rings>();
  lent_ = std::make_unique<bool[]>(pool_->size());

  const std::span<std::uint8_t> area = pool_->area();
  xsk_umem_config ucfg{};
  ucfg.fill_size = ring_size;
  ucfg.comp_size = ring_size;
  ucfg.frame_size = kChunkSize;
  ucfg.frame_headroom = 0;
  ucfg.flags = XDP_UMEM_UNALIGNED_CHUNK_FLAG;  // buffers sit pool_->stride() apart

  xsk_socket_config scfg{};
  scfg.rx_size = ring_size;
  scfg.tx_size = ring_size;
  scfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;  // the port loads its own
  scfg.xdp_flags = 0;
  scfg.bind_flags = XDP_COPY | XDP_USE_NEED_WAKEUP;
  // A socket closed on this queue a moment ago (a reload reopening its
  // port, a restarted daemon) frees the queue in the kernel's deferred work
  // under the RTNL lock, so the queue can answer EBUSY for a while after
  // its holder is gone. Only a holder still open after the wait is one.
  const auto deadline = std::chrono::steady_clock::now() + kQueueReleaseWait;
  for (;;) {
    if (const int r =
            xsk_umem__create(&umem_, area.data(), area.size(), &rings_->fill, &rings_->comp, &ucfg);
        r != 0)
      throw_errno("xsk_umem__create(" + device_ + ")", -r);
    const int r =
        xsk_socket__create(&xsk_, device_.c_str(), queue_, umem_, &rings_->rx, &rings_->tx, &scfg);
    if (r == 0) break;
    xsk_umem__delete(umem_);
    umem_ = nullptr;
    xsk_ = nullptr;
    if (r != -EBUSY || std::chrono::steady_clock::now() >= deadline)
      throw_errno("xsk_socket__create(" + device_ + " queue " + std::to_string(queue_) + ")", -r);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // The fill ring starts empty: the pool is the poll thread's, and the
  // thread fills the ring at its first receive(), up to its share.
  pool_->add_lender();
}

XskQueue::~XskQueue() {
  if (xsk_ != nullptr) pool_->remove_lender();
  // The socket first: it holds a reference on the UMEM. Once both are gone
  // the kernel writes no more frames, and what it held is ours again.
  if (xsk_ != nullptr) xsk_socket__delete(xsk_);
  if (umem_ != nullptr) xsk_umem__delete(umem_);
  if (lent() == 0) return;
  std::vector<Packet*> back;
  back.reserve(lent());
  for (std::size_t i = 0; i < pool_->size(); ++i)
    if (lent_[i]) back.push_back(&pool_->packet_at_offset(i * pool_->stride()));
  try {
    pool_->hand_back(std::move(back));
  } catch (const std::bad_alloc&) {
    // Only the list node can fail; the packets stay out of the pool.
  }
}

void XskQueue::lend(Packet& p) noexcept {
  lent_[pool_->index_of(p)] = true;
}

Packet& XskQueue::take_back(std::uint64_t offset) noexcept {
  Packet& p = pool_->packet_at_offset(offset);
  lent_[pool_->index_of(p)] = false;
  return p;
}

std::uint32_t XskQueue::fill_target() const noexcept {
  return static_cast<std::uint32_t>(std::min<std::size_t>(ring_size_, pool_->lend_share()));
}

void XskQueue::refill() noexcept {
  constexpr std::uint32_t kStep = 64;
  // Fill rings never take the last eighth of the pool (a device with many
  // queues must not starve other ports' receives and the flood copies), and
  // each keeps to its share of the rest, so every queue of every port gets
  // buffers whichever is polled first.
  const std::size_t floor = pool_->lend_floor();
  const std::uint32_t target = fill_target();
  std::array<Packet*, kStep> fresh;
  while (in_fill_ < target && pool_->available() > floor) {
    // The kernel publishes how far it consumed the fill ring lazily, so
    // slots it has emptied can still read as taken: ask the ring, never
    // assume (submitting unreserved slots would hand it old buffers again).
    const std::uint32_t room = xsk_prod_nb_free(&rings_->fill, kStep);
    const std::uint32_t want = static_cast<std::uint32_t>(
        std::min<std::size_t>({kStep, room, target - in_fill_, pool_->available() - floor}));
    if (want == 0) return;
    const auto got = static_cast<std::uint32_t>(pool_->alloc_burst(std::span(fresh).first(want)));
    if (got == 0) return;  // the pool is dry: the next call tries again
    std::uint32_t idx = 0;
    if (xsk_ring_prod__reserve(&rings_->fill, got, &idx) != got) {  // room was checked: never
      pool_->free_burst(std::span(fresh).first(got));
      return;
    }
    for (std::uint32_t i = 0; i < got; ++i) {
      lend(*fresh[i]);
      // The buffer's start: the kernel writes the frame XDP_PACKET_HEADROOM in.
      *xsk_ring_prod__fill_addr(&rings_->fill, idx + i) =
          pool_->offset_of(*fresh[i]) - fresh[i]->headroom();
    }
    xsk_ring_prod__submit(&rings_->fill, got);
    in_fill_ += got;
    if (!primed_.load(std::memory_order_relaxed)) primed_.store(true, std::memory_order_release);
    if (got < want) return;
  }
}

int XskQueue::fd() const noexcept {
  return xsk_socket__fd(xsk_);
}

XskStatistics XskQueue::statistics() const noexcept {
  xdp_statistics st{};
  socklen_t len = sizeof st;
  if (::getsockopt(fd(), SOL_XDP, XDP_STATISTICS, &st, &len) != 0) return {};
  return {st.rx_dropped + st.rx_ring_full + st.rx_invalid_descs, st.tx_invalid_descs};
}

std::size_t XskQueue::receive(std::span<Packet*> out, PortCounterCell& cnt) noexcept {
  // Top up in steps of 32 (or half a small share), not per frame.
  if (const std::uint32_t target = fill_target();
      in_fill_ < target && target - in_fill_ >= std::min<std::uint32_t>(32, (target + 1) / 2))
    refill();
  std::uint32_t rx_idx = 0;
  const std::uint32_t ready =
      xsk_ring_cons__peek(&rings_->rx, static_cast<std::uint32_t>(out.size()), &rx_idx);
  if (ready == 0) {
    if (xsk_ring_prod__needs_wakeup(&rings_->fill))
      (void)::recvfrom(fd(), nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
    return 0;
  }
  std::size_t n = 0;
  std::uint64_t bytes = 0, errors = 0, completed = 0;
  for (std::uint32_t i = 0; i < ready; ++i) {
    const xdp_desc* d = xsk_ring_cons__rx_desc(&rings_->rx, rx_idx + i);
    const std::uint64_t base = xsk_umem__extract_addr(d->addr);
    Packet& p = take_back(base);
    p.reset(static_cast<std::uint32_t>(xsk_umem__add_offset_to_addr(d->addr) - base));
    if (p.append(d->len) == nullptr) {  // the kernel kept to the chunk; never expected
      ++errors;
      pool_->free(&p);
      continue;
    }
    if (complete_checksums_) completed += wire::complete_if_partial({p.data(), d->len});
    bytes += d->len;
    out[n++] = &p;
  }
  xsk_ring_cons__release(&rings_->rx, ready);
  in_fill_ -= ready;
  PortCounterCell::add(cnt.rx_packets, n);
  PortCounterCell::add(cnt.rx_bytes, bytes);
  if (errors) PortCounterCell::add(cnt.rx_errors, errors);
  if (completed) PortCounterCell::add(cnt.rx_checksums_completed, completed);
  return n;
}

void XskQueue::reap_completions() noexcept {
  std::uint32_t idx = 0;
  const std::uint32_t done = xsk_ring_cons__peek(&rings_->comp, ring_size_, &idx);
  for (std::uint32_t i = 0; i < done; ++i)
    pool_->free(&take_back(*xsk_ring_cons__comp_addr(&rings_->comp, idx + i)));
  if (done) xsk_ring_cons__release(&rings_->comp, done);
  in_flight_ -= done;
}

bool XskQueue::kick_tx() noexcept {
  // Copy mode transmits inside sendto(), a bounded batch per call: EAGAIN
  // means "more left", so a few more calls drain a burst; what is still
  // queued goes with the next burst's kick.
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (::sendto(fd(), nullptr, 0, MSG_DONTWAIT, nullptr, 0) >= 0) return true;
    switch (errno) {
      case EAGAIN:
      case EBUSY:
      case ENOBUFS:
        continue;
      case ENETDOWN:
      case ENXIO:
      case ENODEV:
        return false;
      default:
        return true;
    }
  }
  return true;
}

bool XskQueue::transmit(std::span<Packet* const> packets, PortCounterCell& cnt) noexcept {
  reap_completions();
  // The completion ring has a slot for every packet in flight; the tx ring
  // says itself how much room it has (the kernel publishes its progress
  // lazily, see refill()).
  const auto burst = static_cast<std::uint32_t>(packets.size());
  std::size_t can = std::min<std::size_t>(packets.size(), ring_size_ - in_flight_);
  can = std::min<std::size_t>(can, xsk_prod_nb_free(&rings_->tx, burst));
  auto fits = [](const Packet* p) { return p->length() != 0 && p->length() <= kChunkSize; };
  auto k = static_cast<std::uint32_t>(std::count_if(packets.begin(), packets.begin() + can, fits));
  std::uint32_t idx = 0;
  if (k != 0 && xsk_ring_prod__reserve(&rings_->tx, k, &idx) != k) can = k = 0;  // never expected

  std::uint32_t slot = 0;
  std::uint64_t bytes = 0;
  for (std::size_t i = 0; i < packets.size(); ++i) {
    Packet* p = packets[i];
    if (i >= can || !fits(p)) {
      pool_->free(p);
      continue;
    }
    xdp_desc* d = xsk_ring_prod__tx_desc(&rings_->tx, idx + slot++);
    d->addr = pool_->offset_of(*p);
    d->len = p->length();
    d->options = 0;
    bytes += p->length();
    lend(*p);
  }
  bool alive = true;
  if (k != 0) {
    in_flight_ += k;
    xsk_ring_prod__submit(&rings_->tx, k);
    if (xsk_ring_prod__needs_wakeup(&rings_->tx)) alive = kick_tx();
  }
  PortCounterCell::add(cnt.tx_packets, k);
  PortCounterCell::add(cnt.tx_bytes, bytes);
  if (can != packets.size()) PortCounterCell::add(cnt.tx_dropped, packets.size() - can);
  if (k != can) PortCounterCell::add(cnt.tx_errors, can - k);
  return alive;
}

}  // namespace sockswitch::ports
