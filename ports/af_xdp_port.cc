// ports/af_xdp_port.cc: attach (program + one socket per queue), burst dispatch, hotplug.
#include "ports/af_xdp_port.h"

#include <net/if.h>  // before the linux/ headers, which would define struct ifreq again
//
#include <linux/ethtool.h>
#include <linux/if_arp.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "ports/fd.h"
#include "ports/memlock_limit.h"
#include "ports/netdev_query.h"

namespace sockswitch::ports {
namespace {

using packet::Packet;
using packet::PacketPool;

constexpr std::uint32_t kXdpHeadroom = 256;    // XDP_PACKET_HEADROOM, in front of every rx frame
constexpr std::uint32_t kL2Overhead = 14 + 8;  // Ethernet header and two VLAN tags

// Rx channels as the driver reports them; 1 when it has no channel API.
std::uint16_t rx_channels(const std::string& device) {
  ethtool_channels ch{};
  ch.cmd = ETHTOOL_GCHANNELS;
  if (!ethtool_get(device, &ch)) return 1;
  const std::uint32_t n = ch.combined_count + ch.rx_count;
  return static_cast<std::uint16_t>(std::clamp<std::uint32_t>(n, 1, 0xffff));
}

}  // namespace

AfXdpPort::AfXdpPort(const std::string& device, AfXdpOptions options)
    : Port(device), options_(options) {
  check_netdev_name(device);
  if (options_.queues > kMaxQueues)
    throw std::invalid_argument("af_xdp " + device + ": at most " + std::to_string(kMaxQueues) +
                                " queues");
  if (!options_.pool)
    throw std::invalid_argument("af_xdp " + device + ": no packet pool (the poll thread's)");
  if (options_.queues != 0) queue_count_ = options_.queues;
  raise_memlock_limit();  // rather than size UMEMs to a default of a few MiB
  open();
}

AfXdpPort::~AfXdpPort() {
  close();
}

void AfXdpPort::open() {
  const std::optional<NetdevInfo> info = query_netdev(name());
  if (!info) return;  // not there (yet): down until refresh() finds it
  if (info->link_type != ARPHRD_ETHER)
    throw std::invalid_argument("af_xdp " + name() + ": not an Ethernet device");
  // Frames land XDP_PACKET_HEADROOM into a chunk of the pool's buffers.
  const std::uint32_t needed = info->mtu + kL2Overhead + kXdpHeadroom;
  if (needed > XskQueue::kChunkSize)
    throw std::system_error(EMSGSIZE, std::generic_category(),
                            "af_xdp " + name() + ": MTU " + std::to_string(info->mtu) +
                                " does not fit a " + std::to_string(XskQueue::kChunkSize) +
                                "-byte frame");

  // Every rx queue must have a socket: the program passes frames of a
  // queue without one to the host stack, around the switch.
  const std::uint16_t channels = rx_channels(name());
  const std::uint16_t count = options_.queues != 0 ? options_.queues : channels;
  if (count > channels)
    throw std::system_error(EINVAL, std::generic_category(),
                            "af_xdp " + name() + ": asked for " + std::to_string(count) +
                                " queues, the device has " + std::to_string(channels));
  if (count < channels || channels > kMaxQueues)
    throw std::system_error(
        EOPNOTSUPP, std::generic_category(),
        "af_xdp " + name() + ": the device has " + std::to_string(channels) + " rx queues" +
            (channels > kMaxQueues
                 ? ", more than the " + std::to_string(kMaxQueues) + " one port covers"
                 : ", " + std::to_string(count) + " asked for") +
            "; frames on the others would bypass the switch (`ethtool -L " + name() +
            " combined N` to change them)");

  const bool local_senders = has_local_senders(name());
  auto program = std::make_unique<XskRedirectProgram>(name(), info->ifindex, kMaxQueues,
                                                      options_.generic_only);
  std::vector<std::unique_ptr<XskQueue>> queues;
  for (std::uint16_t q = 0; q < count; ++q) {
    queues.push_back(std::make_unique<XskQueue>(name(), q, options_.pool, options_.ring_size));
    queues.back()->complete_checksums(local_senders);
    program->insert(q, queues.back()->fd());
  }

  program_ = std::move(program);
  queues_ = std::move(queues);
  queue_count_ = count;
  ifindex_ = info->ifindex;
  gone_ = false;
  mtu_.store(info->mtu, std::memory_order_relaxed);
  link_.store(info->running() ? LinkState::up : LinkState::down, std::memory_order_relaxed);
}

void AfXdpPort::close() noexcept {
  link_.store(LinkState::down, std::memory_order_relaxed);
  for (const auto& q : queues_) {
    const XskStatistics s = q->statistics();
    retired_.rx_dropped += s.rx_dropped;
    retired_.tx_invalid += s.tx_invalid;
  }
  queues_.clear();
  program_.reset();
  ifindex_ = 0;
  gone_ = false;
}

void AfXdpPort::refresh() {
  const std::optional<NetdevInfo> info = query_netdev(name());
  if (!info) {
    close();
    return;
  }
  if (queues_.empty() || gone_ || info->ifindex != ifindex_) {
    close();
    open();
    return;
  }
  mtu_.store(info->mtu, std::memory_order_relaxed);
  link_.store(info->running() ? LinkState::up : LinkState::down, std::memory_order_relaxed);
}

std::optional<XdpMode> AfXdpPort::xdp_mode() const noexcept {
  if (!program_) return std::nullopt;
  return program_->mode();
}

int AfXdpPort::wakeup_fd(std::uint16_t queue) const noexcept {
  return queue < queues_.size() ? queues_[queue]->fd() : -1;
}

std::uint16_t AfXdpPort::queue_count() const noexcept {
  return queue_count_;
}

PortCounters AfXdpPort::counters() const noexcept {
  PortCounters c = Port::counters();
  c.rx_dropped += retired_.rx_dropped;
  c.tx_errors += retired_.tx_invalid;
  for (const auto& q : queues_) {
    const XskStatistics s = q->statistics();
    c.rx_dropped += s.rx_dropped;
    c.tx_errors += s.tx_invalid;
  }
  return c;
}

bool AfXdpPort::ready() const noexcept {
  return std::all_of(queues_.begin(), queues_.end(), [](const auto& q) { return q->primed(); });
}

std::uint32_t AfXdpPort::lent_packets() const noexcept {
  std::uint32_t n = 0;
  for (const auto& q : queues_)
    n += q->lent();
  return n;
}

void AfXdpPort::mark_gone() noexcept {
  gone_ = true;
  link_.store(LinkState::down, std::memory_order_relaxed);
}

std::size_t AfXdpPort::rx_burst(std::uint16_t queue, PacketPool& pool,
                                std::span<Packet*> out) noexcept {
  if (queue >= queues_.size()) return 0;
  if (&pool != options_.pool.get()) [[unlikely]] {
    PortCounterCell::add(queue_counters(queue).rx_errors, 1);  // a wiring bug: say so
    return 0;
  }
  // Received whatever the link state says: the kernel reports carrier with
  // a delay (up to a second after a veth comes up), and a frame that
  // arrives proves the link is up.
  const std::size_t n = queues_[queue]->receive(out, queue_counters(queue));
  if (n != 0 && link_.load(std::memory_order_relaxed) != LinkState::up && !gone_) [[unlikely]]
    link_.store(LinkState::up, std::memory_order_relaxed);
  return n;
}

void AfXdpPort::tx_burst(std::uint16_t queue, PacketPool& pool,
                         std::span<Packet* const> packets) noexcept {
  const bool foreign = &pool != options_.pool.get();  // a wiring bug, as in rx_burst
  if (foreign || link_.load(std::memory_order_relaxed) != LinkState::up || queues_.empty()) {
    auto& c = queue_counters(queue);
    PortCounterCell::add(foreign ? c.tx_errors : c.tx_dropped, packets.size());
    pool.free_burst(packets);
    return;
  }
  // Any socket can transmit on the device; a poll thread uses its own.
  const auto q = static_cast<std::uint16_t>(queue % queues_.size());
  if (!queues_[q]->transmit(packets, queue_counters(q))) mark_gone();
}

}  // namespace sockswitch::ports
