// ports/tun_device.h: the queue descriptors of one tap or tun device from /dev/net/tun.
//
// TapPort and TunPort differ only in what a frame is (Ethernet vs bare IP);
// both create or attach to a device through /dev/net/tun and then read and
// write one frame per syscall on non-blocking queue fds. This owns those
// fds and the per-frame I/O loops so the two ports share them.
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

#include "dataplane/packet.h"
#include "dataplane/packet_pool.h"
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

  enum class IoStatus : std::uint8_t { ok, gone };
  // Reads up to out.size() frames from queue `q` into packets from `pool`.
  // Frames that do not fit a packet are counted as rx_errors.
  [[nodiscard]] IoStatus read_burst(std::uint16_t q, dataplane::PacketPool& pool,
                                    std::span<dataplane::Packet*> out, std::size_t& received,
                                    PortCounterCell& counters) const noexcept;
  // Writes one frame; false when it was not written (counted by the caller).
  enum class WriteResult : std::uint8_t { sent, full, bad, gone };
  [[nodiscard]] WriteResult write(std::uint16_t q, const dataplane::Packet& p) const noexcept;

 private:
  std::vector<Fd> fds_;
  std::uint32_t mtu_ = 1500;
};

}  // namespace sockswitch::ports
