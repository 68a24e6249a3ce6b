// ports/tun_device.h: the queue descriptors of one tap or tun device from /dev/net/tun.
//
// TapPort and TunPort differ only in what a frame is (Ethernet vs bare IP);
// both create or attach to a device through /dev/net/tun and then read and
// write one frame per syscall on non-blocking queue fds. This owns those
// fds and the per-frame I/O loops so the two ports share them.
//
// It also remembers how it was opened, so that reopen_if_gone() is the
// whole of both ports' refresh(); the ports keep only their link state.
//
// create: a new device owned by the switch (IFF_TUN_EXCL: fails if the name
//   is taken). It is not persistent: it disappears when the port closes.
// attach: an existing (persistent, e.g. `ip tuntap add`) device; a missing
//   one leaves the port down until refresh() finds it.
// Multi-queue (IFF_MULTI_QUEUE) gives one fd per queue; the kernel spreads
// the device's transmit (our rx) across them by flow hash.
//
// The fds keep working when the device moves to another network namespace,
// so liveness is asked of the fd (TUNGETIFF fails once the device is
// deleted), not looked up by name.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "packet/packet.h"
#include "packet/packet_pool.h"
#include "ports/fd.h"
#include "ports/port.h"

namespace sockswitch::ports {

enum class TunKind : std::uint8_t { tap, tun };

struct TunDeviceOptions final {
  TunKind kind = TunKind::tap;
  std::uint16_t queues = 1;
  bool create = true;
};

class TunDevice final {
 public:
  TunDevice() = default;
  // Opens every queue. Returns an empty (closed) device when attaching to a
  // name that does not exist; throws std::system_error naming the ioctl
  // otherwise, std::invalid_argument for a bad name or queue count.
  [[nodiscard]] static TunDevice open(const std::string& name, const TunDeviceOptions& options);

  [[nodiscard]] bool is_open() const noexcept { return !fds_.empty(); }
  [[nodiscard]] int fd(std::uint16_t queue) const noexcept {
    return queue < fds_.size() ? fds_[queue].get() : -1;
  }
  // True while the device still exists (asked of the fd, namespace-proof).
  [[nodiscard]] bool attached() const noexcept;
  [[nodiscard]] std::uint32_t mtu() const noexcept { return mtu_; }
  [[nodiscard]] std::uint16_t queue_count() const noexcept { return options_.queues; }

  // Control path (a port's refresh()): keeps the queues while the device
  // exists; otherwise closes them and opens the device again as open() did,
  // so a device the switch created is re-created, and an attached one comes
  // back only once someone else has re-created it. Returns is_open(); throws
  // as open() does, leaving the device closed.
  [[nodiscard]] bool reopen_if_gone();

  enum class IoStatus : std::uint8_t { ok, gone };
  // Reads up to out.size() frames from queue `q` into packets from `pool`.
  // Frames that do not fit a packet are counted as rx_errors.
  [[nodiscard]] IoStatus read_burst(std::uint16_t q, packet::PacketPool& pool,
                                    std::span<packet::Packet*> out, std::size_t& received,
                                    PortCounterCell& counters) const noexcept;

  // What one tx burst did, added to the queue's counters once at its end.
  struct TxTally final {
    std::uint64_t sent = 0, bytes = 0, dropped = 0, errors = 0;
    bool gone = false;  // the device is gone: later frames are dropped unsent
    void add_to(PortCounterCell& counters) const noexcept;
  };
  // Writes one frame unless tally.gone and counts what became of it: a full
  // queue is a drop, a frame the device refuses is an error, and a deleted
  // device is a drop that sets tally.gone. The caller still owns `p`.
  void write(std::uint16_t q, const packet::Packet& p, TxTally& tally) const noexcept;

 private:
  std::string name_;
  TunDeviceOptions options_;
  std::vector<Fd> fds_;
  std::uint32_t mtu_ = 1500;
};

}  // namespace sockswitch::ports
