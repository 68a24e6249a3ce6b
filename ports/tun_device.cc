// ports/tun_device.cc: TUNSETIFF per queue, and the per-frame read/write loops.
#include "ports/tun_device.h"

#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>

#include <cstring>
#include <stdexcept>

#include "ports/netdev_query.h"

namespace sockswitch::ports {
namespace {

// Errors after which the device is gone for this fd: the netdev was deleted
// (EBADFD), or the queue was detached from it (EIO on read/write).
bool device_gone(int err) noexcept {
  return err == EBADFD || err == EIO || err == ENXIO;
}

}  // namespace

TunDevice TunDevice::open(const std::string& name, const TunDeviceOptions& options) {
  check_netdev_name(name);
  if (options.queues == 0 || options.queues > Port::kMaxQueues)
    throw std::invalid_argument("tun/tap " + name + ": queues must be 1.." +
                                std::to_string(Port::kMaxQueues));
  const std::optional<NetdevInfo> existing = query_netdev(name);
  TunDevice dev;
  dev.name_ = name;
  dev.options_ = options;
  if (!options.create && !existing) return dev;

  dev.mtu_ = existing ? existing->mtu : 1500;
  for (std::uint16_t q = 0; q < options.queues; ++q) {
    Fd fd = Fd::open("/dev/net/tun", O_RDWR | O_NONBLOCK);
    ifreq req{};
    std::memcpy(req.ifr_name, name.data(), name.size());
    short flags = options.kind == TunKind::tap ? IFF_TAP : IFF_TUN;
    flags |= IFF_NO_PI;
    if (options.queues > 1) flags |= IFF_MULTI_QUEUE;
    // The first queue of a created device must be new; the others join it.
    if (options.create && q == 0) flags |= IFF_TUN_EXCL;
    req.ifr_flags = flags;
    if (::ioctl(fd.get(), TUNSETIFF, &req) != 0)
      throw_errno("ioctl(TUNSETIFF, " + name + ", queue " + std::to_string(q) + ")");
    dev.fds_.push_back(std::move(fd));
  }
  return dev;
}

bool TunDevice::attached() const noexcept {
  if (fds_.empty()) return false;
  ifreq req{};
  return ::ioctl(fds_[0].get(), TUNGETIFF, &req) == 0;
}

bool TunDevice::reopen_if_gone() {
  if (attached()) return true;
  // The old queues go first: a device we created disappears with its last
  // queue, and only then can its name be created again (IFF_TUN_EXCL).
  fds_.clear();
  *this = open(name_, options_);
  return is_open();
}

TunDevice::IoStatus TunDevice::read_burst(std::uint16_t q, packet::PacketPool& pool,
                                          std::span<packet::Packet*> out, std::size_t& received,
                                          PortCounterCell& counters) const noexcept {
  received = 0;
  const int fd = this->fd(q);
  const std::size_t got = pool.alloc_burst(out);
  IoStatus status = IoStatus::ok;
  std::uint64_t bytes = 0, errors = 0;
  std::size_t i = 0;
  for (std::size_t attempts = 0; i < got && attempts < 2 * out.size(); ++attempts) {
    packet::Packet* p = out[i];
    // read() cuts a frame longer than the buffer; a read that fills the
    // buffer exactly may have been cut, so it counts as an error, never a frame.
    const ssize_t r = ::read(fd, p->data(), p->tailroom());
    if (r < 0) {
      if (device_gone(errno)) status = IoStatus::gone;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && !device_gone(errno)) ++errors;
      break;
    }
    if (r == 0 || static_cast<std::size_t>(r) >= p->tailroom()) {  // empty, or maybe cut short
      ++errors;
      continue;
    }
    (void)p->append(static_cast<std::uint32_t>(r));
    bytes += static_cast<std::size_t>(r);
    ++i;
  }
  pool.free_burst(out.subspan(i, got - i));
  received = i;
  PortCounterCell::add(counters.rx_packets, i);
  PortCounterCell::add(counters.rx_bytes, bytes);
  if (errors) PortCounterCell::add(counters.rx_errors, errors);
  // When the pool ran dry, frames still queued in the device wait for the
  // next burst; the kernel drops (and counts) them if its queue fills first.
  return status;
}

void TunDevice::write(std::uint16_t q, const packet::Packet& p, TxTally& tally) const noexcept {
  if (tally.gone) {
    ++tally.dropped;
    return;
  }
  for (;;) {
    const ssize_t r = ::write(fd(q), p.data(), p.length());
    if (r >= 0) {
      ++tally.sent;
      tally.bytes += p.length();
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      ++tally.dropped;  // the device's queue is full
    } else if (device_gone(errno)) {
      ++tally.dropped;
      tally.gone = true;
    } else {
      ++tally.errors;
    }
    return;
  }
}

void TunDevice::TxTally::add_to(PortCounterCell& counters) const noexcept {
  PortCounterCell::add(counters.tx_packets, sent);
  PortCounterCell::add(counters.tx_bytes, bytes);
  if (dropped) PortCounterCell::add(counters.tx_dropped, dropped);
  if (errors) PortCounterCell::add(counters.tx_errors, errors);
}

}  // namespace sockswitch::ports
