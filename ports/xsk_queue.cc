// ports/xsk_queue.cc: UMEM and socket setup, copy-in rx, copy-out tx, completion reaping.
#include "ports/xsk_queue.h"

#include <linux/if_xdp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#include <xdp/xsk.h>
#pragma GCC diagnostic pop

#include "ports/fd.h"

namespace sockswitch::ports {

using dataplane::Packet;
using dataplane::PacketPool;

struct XskQueue::Rings {
  xsk_ring_prod fill{};
  xsk_ring_cons comp{};
  xsk_ring_cons rx{};
  xsk_ring_prod tx{};
};

void XskQueue::AreaFree::operator()(std::uint8_t* p) const noexcept {
  std::free(p);
}

XskQueue::XskQueue(const std::string& device, std::uint32_t queue, std::uint32_t frames,
                   std::uint32_t frame_size)
    : device_(device), queue_(queue), frame_size_(frame_size), frames_(frames) {
  if (frames < 64 || (frames & (frames - 1)) != 0)
    throw std::invalid_argument("af_xdp " + device_ + ": frames must be a power of two >= 64");
  if (frame_size != 2048 && frame_size != 4096)
    throw std::invalid_argument("af_xdp " + device_ + ": frame size must be 2048 or 4096");
  const std::size_t bytes = std::size_t{frames} * frame_size;
  area_.reset(static_cast<std::uint8_t*>(std::aligned_alloc(4096, bytes)));
  if (!area_) throw std::bad_alloc();
  rings_ = std::make_unique<Rings>();

  const std::uint32_t half = frames / 2;
  xsk_umem_config ucfg{};
  ucfg.fill_size = half;
  ucfg.comp_size = half;
  ucfg.frame_size = frame_size;
  ucfg.frame_headroom = 0;
  ucfg.flags = 0;
  if (const int r =
          xsk_umem__create(&umem_, area_.get(), bytes, &rings_->fill, &rings_->comp, &ucfg);
      r != 0)
    throw_errno("xsk_umem__create(" + device_ + ")", -r);

  xsk_socket_config scfg{};
  scfg.rx_size = half;
  scfg.tx_size = half;
  scfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;  // the port loads its own
  scfg.xdp_flags = 0;
  scfg.bind_flags = XDP_COPY | XDP_USE_NEED_WAKEUP;
  if (const int r = xsk_socket__create(&xsk_, device_.c_str(), queue_, umem_, &rings_->rx,
                                       &rings_->tx, &scfg);
      r != 0) {
    xsk_umem__delete(umem_);
    umem_ = nullptr;
    throw_errno("xsk_socket__create(" + device_ + " queue " + std::to_string(queue_) + ")", -r);
  }

  // First half: lent to the kernel for rx. Second half: ours, for tx.
  std::uint32_t idx = 0;
  (void)xsk_ring_prod__reserve(&rings_->fill, half, &idx);  // an empty ring of `half` slots
  for (std::uint32_t i = 0; i < half; ++i)
    *xsk_ring_prod__fill_addr(&rings_->fill, idx + i) = std::uint64_t{i} * frame_size_;
  xsk_ring_prod__submit(&rings_->fill, half);
  tx_free_ = std::make_unique<std::uint64_t[]>(half);
  for (std::uint32_t i = 0; i < half; ++i)
    tx_free_[tx_free_top_++] = std::uint64_t{half + i} * frame_size_;
}

XskQueue::~XskQueue() {
  // The socket first: it holds a reference on the UMEM.
  if (xsk_ != nullptr) xsk_socket__delete(xsk_);
  if (umem_ != nullptr) xsk_umem__delete(umem_);
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

std::size_t XskQueue::receive(PacketPool& pool, std::span<Packet*> out,
                              PortCounterCell& cnt) noexcept {
  // Never take more than the fill ring can take back in this call.
  const auto want = static_cast<std::uint32_t>(out.size());
  const std::uint32_t room = std::min(want, xsk_prod_nb_free(&rings_->fill, want));
  std::uint32_t rx_idx = 0;
  const std::uint32_t ready = xsk_ring_cons__peek(&rings_->rx, room, &rx_idx);
  if (ready == 0) {
    if (xsk_ring_prod__needs_wakeup(&rings_->fill))
      (void)::recvfrom(fd(), nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
    return 0;
  }
  std::uint32_t fill_idx = 0;
  (void)xsk_ring_prod__reserve(&rings_->fill, ready, &fill_idx);  // room checked above
  const std::size_t got = pool.alloc_burst(out.first(ready));

  std::size_t n = 0;
  std::uint64_t bytes = 0, dropped = 0, errors = 0;
  for (std::uint32_t i = 0; i < ready; ++i) {
    const xdp_desc* d = xsk_ring_cons__rx_desc(&rings_->rx, rx_idx + i);
    const std::uint64_t addr = xsk_umem__extract_addr(d->addr);
    *xsk_ring_prod__fill_addr(&rings_->fill, fill_idx + i) = addr - addr % frame_size_;
    if (i >= got) {  // pool empty
      ++dropped;
      continue;
    }
    Packet* p = out[i];
    std::uint8_t* dst = p->append(d->len);
    if (dst == nullptr) {  // larger than a pool buffer
      ++errors;
      pool.free(p);
      continue;
    }
    std::memcpy(dst, area_.get() + xsk_umem__add_offset_to_addr(d->addr), d->len);
    bytes += d->len;
    out[n++] = p;
  }
  xsk_ring_prod__submit(&rings_->fill, ready);
  xsk_ring_cons__release(&rings_->rx, ready);
  PortCounterCell::add(cnt.rx_packets, n);
  PortCounterCell::add(cnt.rx_bytes, bytes);
  if (dropped) PortCounterCell::add(cnt.rx_dropped, dropped);
  if (errors) PortCounterCell::add(cnt.rx_errors, errors);
  return n;
}

void XskQueue::reap_completions() noexcept {
  std::uint32_t idx = 0;
  const std::uint32_t done = xsk_ring_cons__peek(&rings_->comp, frames_ / 2, &idx);
  for (std::uint32_t i = 0; i < done; ++i)
    tx_free_[tx_free_top_++] = *xsk_ring_cons__comp_addr(&rings_->comp, idx + i);
  if (done) xsk_ring_cons__release(&rings_->comp, done);
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

bool XskQueue::transmit(PacketPool& pool, std::span<Packet* const> packets,
                        PortCounterCell& cnt) noexcept {
  reap_completions();
  const std::size_t can = std::min<std::size_t>(packets.size(), tx_free_top_);
  auto fits = [this](const Packet* p) { return p->length() != 0 && p->length() <= frame_size_; };
  const auto k =
      static_cast<std::uint32_t>(std::count_if(packets.begin(), packets.begin() + can, fits));
  std::uint32_t idx = 0;
  (void)xsk_ring_prod__reserve(&rings_->tx, k, &idx);  // the tx ring holds every tx frame

  std::uint32_t slot = 0;
  std::uint64_t bytes = 0;
  for (std::size_t i = 0; i < can; ++i) {
    const Packet* p = packets[i];
    if (!fits(p)) continue;
    const std::uint64_t addr = tx_free_[--tx_free_top_];
    std::memcpy(area_.get() + addr, p->data(), p->length());
    xdp_desc* d = xsk_ring_prod__tx_desc(&rings_->tx, idx + slot++);
    d->addr = addr;
    d->len = p->length();
    d->options = 0;
    bytes += p->length();
  }
  bool alive = true;
  if (k != 0) {
    xsk_ring_prod__submit(&rings_->tx, k);
    if (xsk_ring_prod__needs_wakeup(&rings_->tx)) alive = kick_tx();
  }
  pool.free_burst(packets);
  PortCounterCell::add(cnt.tx_packets, k);
  PortCounterCell::add(cnt.tx_bytes, bytes);
  if (can != packets.size()) PortCounterCell::add(cnt.tx_dropped, packets.size() - can);
  if (k != can) PortCounterCell::add(cnt.tx_errors, can - k);
  return alive;
}

}  // namespace sockswitch::ports
