// ports/xsk_queue.h: one AF_XDP socket on one rx/tx queue, over the poll thread's packet pool.
//
// What it holds: the four rings (fill, completion, rx, tx) mapped by libxdp
// and the socket, bound in copy mode with XDP_USE_NEED_WAKEUP. Its UMEM is
// the poll thread's PacketPool area (packet_pool.h), registered with
// unaligned chunks so the pool keeps its cache-friendly stride. The XDP
// program that steers frames to it belongs to the port
// (xsk_redirect_program.h).
//
// Why the pool is the UMEM: the kernel writes a received frame straight
// into a pool buffer, and a packet sent out of any AF_XDP port on the same
// thread is handed to the kernel where it lies. Forwarding between AF_XDP
// ports costs no copy in user space (the kernel's copy-mode copies remain:
// veth and tun offer nothing else), and a received packet is an ordinary
// pool packet for every other driver.
//
// Why one registration per socket rather than XDP_SHARED_UMEM: a shared
// UMEM lives on its first socket, and binding another socket to it fails
// once that socket's device is gone; containers restarting under the
// switch make that the normal case. Registering the same memory for each
// socket pins nothing twice over (the pages are the pool's) and keeps every
// queue independent of the others' devices.
//
// Packet accounting: a pool packet is either the dataplane's, or lent to
// this socket: in the fill ring, being written by the kernel, in the rx
// ring, or sent and waiting on the completion ring. `lent_` marks the
// latter per pool index, so that closing the socket gives every lent
// packet back to the pool (PacketPool::hand_back) instead of losing it.
// The fill ring is topped up from the pool on every receive call (never
// below an eighth of the pool left free), so a pool that ran low refills it
// as soon as packets come back. The control thread never takes from the
// pool: the ring starts empty and the first receive fills it.
//
// Threads: receive/transmit only from the pool's owning poll thread;
// construction, destruction and statistics() from the control thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "packet/packet.h"
#include "packet/packet_pool.h"
#include "ports/port.h"

struct xsk_umem;
struct xsk_socket;

namespace sockswitch::ports {

struct XskStatistics final {     // cumulative since the socket was bound
  std::uint64_t rx_dropped = 0;  // no fill frame, rx ring full, or invalid
  std::uint64_t tx_invalid = 0;
};

class XskQueue final {
 public:
  // The frame size the kernel is told: every pool buffer is at least this.
  static constexpr std::uint32_t kChunkSize = 2048;
  // How long a queue that answers EBUSY is waited for (see the constructor).
  static constexpr std::chrono::milliseconds kQueueReleaseWait{2000};

  // Registers pool->area() as a UMEM and binds a socket to (`device`,
  // `queue`) without loading any XDP program. `ring_size` (a power of two
  // >= 64) sizes all four rings and is how many pool packets the fill ring
  // keeps lent. Throws std::system_error naming the call,
  // std::invalid_argument for a pool whose buffers are smaller than a chunk.
  XskQueue(const std::string& device, std::uint32_t queue, std::shared_ptr<packet::PacketPool> pool,
           std::uint32_t ring_size);
  ~XskQueue();
  XskQueue(const XskQueue&) = delete;
  XskQueue& operator=(const XskQueue&) = delete;

  [[nodiscard]] int fd() const noexcept;
  [[nodiscard]] packet::PacketPool& pool() const noexcept { return *pool_; }
  // Hands out up to out.size() received packets (pool packets, no copy) and
  // tops the fill ring up.
  [[nodiscard]] std::size_t receive(std::span<packet::Packet*> out,
                                    PortCounterCell& counters) noexcept;
  // Submits every packet (all from pool()) the tx ring has room for, in
  // place; frees and counts the rest. Returns false when the kernel says the
  // device is gone or down.
  [[nodiscard]] bool transmit(std::span<packet::Packet* const> packets,
                              PortCounterCell& counters) noexcept;
  [[nodiscard]] XskStatistics statistics() const noexcept;
  // Control path, before the first receive: whether received frames are
  // checked for checksums their sender left to offload (a device with
  // senders on this host; see wire/checksum_completion.h).
  void complete_checksums(bool on) noexcept { complete_checksums_ = on; }
  // Any thread: the fill ring has had buffers since the first refill.
  [[nodiscard]] bool primed() const noexcept { return primed_.load(std::memory_order_acquire); }
  // Pool packets the kernel holds now (fill ring, rx ring, tx in flight).
  // The poll thread's count: read it there, or while the thread is stopped.
  [[nodiscard]] std::uint32_t lent() const noexcept { return in_fill_ + in_flight_; }

 private:
  struct Rings;

  [[nodiscard]] std::uint32_t fill_target() const noexcept;
  void refill() noexcept;
  void reap_completions() noexcept;
  [[nodiscard]] bool kick_tx() noexcept;
  void lend(packet::Packet& p) noexcept;
  packet::Packet& take_back(std::uint64_t offset) noexcept;

  std::string device_;
  std::uint32_t queue_;
  std::uint32_t ring_size_;
  std::shared_ptr<packet::PacketPool> pool_;
  std::unique_ptr<Rings> rings_;
  xsk_umem* umem_ = nullptr;
  xsk_socket* xsk_ = nullptr;
  std::unique_ptr<bool[]> lent_;  // per pool index
  std::uint32_t in_fill_ = 0;     // lent for rx: fill ring, kernel, rx ring
  std::uint32_t in_flight_ = 0;   // lent for tx until completed
  std::atomic<bool> primed_{false};
  bool complete_checksums_ = true;
};

}  // namespace sockswitch::ports
