// ports/xsk_queue.h: one AF_XDP socket on one rx/tx queue, with the UMEM it owns.
//
// What it holds: a page-aligned UMEM of `frames` frames, half of them lent
// to the kernel through the fill ring for rx and half kept on a free stack
// for tx; the four rings (fill, completion, rx, tx) mapped by libxdp; and
// the socket, bound in copy mode with XDP_USE_NEED_WAKEUP. The XDP program
// that steers frames to it belongs to the port (xsk_redirect_program.h).
//
// Why copies: the poll thread's PacketPool is not the UMEM, so rx copies a
// frame into a pool packet and gives the UMEM frame straight back to the
// fill ring (which therefore stays full), and tx copies a packet into a
// free UMEM frame and frees the packet at once. On veth (and tun) the kernel
// only offers copy mode anyway, so this costs one memcpy on top of the
// kernel's. Future work: make the pool's memory the UMEM (one UMEM per poll
// thread, shared by its sockets) for zero-copy NICs.
//
// Frame accounting, which keeps every ring operation from failing:
// rx frames live in the fill ring, in the kernel, or in the rx ring, and an
// rx frame is returned to the fill ring in the same call that consumes it,
// so the fill ring (sized to the rx half) always has room. tx frames live on
// the free stack, in the tx ring or in the kernel until they come back on
// the completion ring (reaped at the start of every tx burst); the tx and
// completion rings are sized to the tx half.
//
// Threads: rx/tx only from the queue's poll thread; construction,
// destruction and statistics() from the control thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "dataplane/packet.h"
#include "dataplane/packet_pool.h"
#include "ports/port.h"

struct xsk_umem;
struct xsk_socket;
struct xsk_ring_prod;
struct xsk_ring_cons;

namespace sockswitch::ports {

struct XskStatistics final {     // cumulative since the socket was bound
  std::uint64_t rx_dropped = 0;  // no fill frame, rx ring full, or invalid
  std::uint64_t tx_invalid = 0;
};

class XskQueue final {
 public:
  // Creates the UMEM and binds a socket to (`device`, `queue`) without
  // loading any XDP program. `frames` must be a power of two >= 64;
  // `frame_size` 2048 or 4096. Throws std::system_error naming the call.
  XskQueue(const std::string& device, std::uint32_t queue, std::uint32_t frames,
           std::uint32_t frame_size);
  ~XskQueue();
  XskQueue(const XskQueue&) = delete;
  XskQueue& operator=(const XskQueue&) = delete;

  [[nodiscard]] int fd() const noexcept;
  // Copies up to out.size() received frames into packets from `pool`.
  [[nodiscard]] std::size_t receive(dataplane::PacketPool& pool, std::span<dataplane::Packet*> out,
                                    PortCounterCell& counters) noexcept;
  // Copies and submits every packet it has a frame for, frees all of them.
  // Returns false when the kernel says the device is gone or down.
  [[nodiscard]] bool transmit(dataplane::PacketPool& pool,
                              std::span<dataplane::Packet* const> packets,
                              PortCounterCell& counters) noexcept;
  [[nodiscard]] XskStatistics statistics() const noexcept;

 private:
  struct Rings;
  struct AreaFree {
    void operator()(std::uint8_t* p) const noexcept;
  };

  void reap_completions() noexcept;
  [[nodiscard]] bool kick_tx() noexcept;

  std::string device_;
  std::uint32_t queue_;
  std::uint32_t frame_size_;
  std::uint32_t frames_;
  std::unique_ptr<std::uint8_t[], AreaFree> area_;
  std::unique_ptr<Rings> rings_;
  xsk_umem* umem_ = nullptr;
  xsk_socket* xsk_ = nullptr;
  std::unique_ptr<std::uint64_t[]> tx_free_;  // stack of free tx frame addresses
  std::uint32_t tx_free_top_ = 0;
};

}  // namespace sockswitch::ports
