// ports/dpdk_port.cc: probe/configure/start an ethdev, copy bursts between mbufs and packets.
#include "ports/dpdk_port.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>
#include <system_error>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wvolatile"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#pragma GCC diagnostic pop

#include "packet/burst.h"

namespace sockswitch::ports {
namespace {

using packet::kBurstSize;
using packet::Packet;
using packet::PacketPool;

// DPDK calls return -errno (or set rte_errno); the message names the call,
// the device and DPDK's own wording.
[[noreturn]] void throw_dpdk(int err, const std::string& what) {
  if (err < 0) err = -err;
  throw std::system_error(err, std::generic_category(), what + ": " + rte_strerror(err));
}

void check(int ret, const std::string& what) {
  if (ret < 0) throw_dpdk(ret, what);
}

}  // namespace

DpdkPort::DpdkPort(const std::string& name, DpdkOptions options)
    : Port(name), options_(std::move(options)) {
  if (options_.devargs.empty())
    throw std::invalid_argument("dpdk port " + name + ": devargs (vdev or PCI address) required");
  if (options_.queues == 0 || options_.queues > kMaxQueues)
    throw std::invalid_argument("dpdk port " + name + ": queues must be 1.." +
                                std::to_string(kMaxQueues));
  device_name_ = options_.devargs.substr(0, options_.devargs.find(','));
  DpdkEal::ensure_started(options_.eal);
  try {
    configure();
  } catch (...) {
    teardown();
    throw;
  }
}

DpdkPort::~DpdkPort() {
  teardown();
}

void DpdkPort::configure() {
  const std::string dev = device_name_ + " (port " + name() + ")";
  // A PCI device the EAL already probed at start needs no second probe.
  if (rte_eth_dev_get_port_by_name(device_name_.c_str(), &port_id_) != 0) {
    check(rte_dev_probe(options_.devargs.c_str()), "rte_dev_probe(" + options_.devargs + ")");
    probed_ = true;
    check(rte_eth_dev_get_port_by_name(device_name_.c_str(), &port_id_),
          "rte_eth_dev_get_port_by_name(" + dev + ")");
  }

  rte_eth_dev_info info{};
  check(rte_eth_dev_info_get(port_id_, &info), "rte_eth_dev_info_get(" + dev + ")");
  if (options_.queues > info.max_rx_queues || options_.queues > info.max_tx_queues)
    throw std::invalid_argument("dpdk " + dev + ": " + std::to_string(options_.queues) +
                                " queues asked, the device has " +
                                std::to_string(std::min(info.max_rx_queues, info.max_tx_queues)));

  const std::string pool_name = "ssw_mp_" + std::to_string(port_id_);
  mempool_ = rte_pktmbuf_pool_create(pool_name.c_str(), options_.mbufs, 256, 0,
                                     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  if (mempool_ == nullptr) throw_dpdk(rte_errno, "rte_pktmbuf_pool_create(" + dev + ")");

  rte_eth_conf conf{};
  check(rte_eth_dev_configure(port_id_, options_.queues, options_.queues, &conf),
        "rte_eth_dev_configure(" + dev + ")");
  std::uint16_t rx_desc = options_.ring_size, tx_desc = options_.ring_size;
  check(rte_eth_dev_adjust_nb_rx_tx_desc(port_id_, &rx_desc, &tx_desc),
        "rte_eth_dev_adjust_nb_rx_tx_desc(" + dev + ")");
  const int socket = rte_eth_dev_socket_id(port_id_);
  const unsigned socket_id = socket < 0 ? static_cast<unsigned>(SOCKET_ID_ANY) : socket;
  for (std::uint16_t q = 0; q < options_.queues; ++q) {
    check(rte_eth_rx_queue_setup(port_id_, q, rx_desc, socket_id, nullptr, mempool_),
          "rte_eth_rx_queue_setup(" + dev + ", " + std::to_string(q) + ")");
    check(rte_eth_tx_queue_setup(port_id_, q, tx_desc, socket_id, nullptr),
          "rte_eth_tx_queue_setup(" + dev + ", " + std::to_string(q) + ")");
  }
  check(rte_eth_dev_start(port_id_), "rte_eth_dev_start(" + dev + ")");
  started_ = true;
  // Not every PMD has a promiscuous switch (it may already see everything).
  if (const int r = rte_eth_promiscuous_enable(port_id_); r != 0 && r != -ENOTSUP)
    throw_dpdk(r, "rte_eth_promiscuous_enable(" + dev + ")");
  refresh();
}

void DpdkPort::teardown() noexcept {
  link_.store(LinkState::down, std::memory_order_relaxed);
  if (started_) (void)rte_eth_dev_stop(port_id_);
  started_ = false;
  if (probed_) {
    rte_eth_dev_info info{};
    const bool have_device = rte_eth_dev_info_get(port_id_, &info) == 0;
    (void)rte_eth_dev_close(port_id_);
    if (have_device && info.device != nullptr) (void)rte_dev_remove(info.device);
  }
  probed_ = false;
  if (mempool_ != nullptr) rte_mempool_free(mempool_);
  mempool_ = nullptr;
}

void DpdkPort::refresh() {
  if (!started_) return;
  rte_eth_link link{};
  const bool up = rte_eth_link_get_nowait(port_id_, &link) == 0 && link.link_status != 0;
  link_.store(up ? LinkState::up : LinkState::down, std::memory_order_relaxed);
  std::uint16_t mtu = 0;
  if (rte_eth_dev_get_mtu(port_id_, &mtu) == 0) mtu_.store(mtu, std::memory_order_relaxed);
}

PortCounters DpdkPort::counters() const noexcept {
  PortCounters c = Port::counters();
  rte_eth_stats st{};
  if (started_ && rte_eth_stats_get(port_id_, &st) == 0) {
    c.rx_dropped += st.imissed + st.rx_nombuf;
    c.rx_errors += st.ierrors;
    c.tx_errors += st.oerrors;
  }
  return c;
}

std::size_t DpdkPort::rx_burst(std::uint16_t queue, PacketPool& pool,
                               std::span<Packet*> out) noexcept {
  if (!started_ || queue >= options_.queues) return 0;
  std::array<rte_mbuf*, kBurstSize> mbufs;
  const auto want = static_cast<std::uint16_t>(std::min(out.size(), kBurstSize));
  const std::uint16_t nb = rte_eth_rx_burst(port_id_, queue, mbufs.data(), want);
  if (nb == 0) return 0;
  const std::size_t got = pool.alloc_burst(out.first(nb));

  std::size_t n = 0;
  std::uint64_t bytes = 0, errors = 0;
  for (std::size_t i = 0; i < got; ++i) {
    Packet* p = out[i];
    const rte_mbuf* m = mbufs[i];
    std::uint8_t* dst = p->append(rte_pktmbuf_pkt_len(m));
    if (dst == nullptr) {  // larger than a pool buffer
      ++errors;
      pool.free(p);
      continue;
    }
    for (const rte_mbuf* seg = m; seg != nullptr; seg = seg->next) {
      std::memcpy(dst, rte_pktmbuf_mtod(seg, const std::uint8_t*), seg->data_len);
      dst += seg->data_len;
    }
    bytes += p->length();
    out[n++] = p;
  }
  rte_pktmbuf_free_bulk(mbufs.data(), nb);
  PortCounterCell& cnt = queue_counters(queue);
  PortCounterCell::add(cnt.rx_packets, n);
  PortCounterCell::add(cnt.rx_bytes, bytes);
  if (got < nb) PortCounterCell::add(cnt.rx_dropped, nb - got);  // pool empty
  if (errors) PortCounterCell::add(cnt.rx_errors, errors);
  return n;
}

void DpdkPort::tx_burst(std::uint16_t queue, PacketPool& pool,
                        std::span<Packet* const> packets) noexcept {
  const auto q = static_cast<std::uint16_t>(queue % options_.queues);
  PortCounterCell& cnt = queue_counters(q);
  if (!started_ || link_.load(std::memory_order_relaxed) != LinkState::up) {
    PortCounterCell::add(cnt.tx_dropped, packets.size());
    pool.free_burst(packets);
    return;
  }
  std::uint64_t sent = 0, bytes = 0, dropped = 0, errors = 0;
  std::array<rte_mbuf*, kBurstSize> mbufs;
  for (std::size_t base = 0; base < packets.size(); base += kBurstSize) {
    const auto chunk = packets.subspan(base, std::min(kBurstSize, packets.size() - base));
    if (rte_pktmbuf_alloc_bulk(mempool_, mbufs.data(), static_cast<unsigned>(chunk.size())) != 0) {
      dropped += chunk.size();  // mempool exhausted: the device is behind
      continue;
    }
    std::uint16_t k = 0;
    std::uint64_t chunk_bytes = 0;
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      const Packet* p = chunk[i];
      char* dst = p->length() > UINT16_MAX
                      ? nullptr
                      : rte_pktmbuf_append(mbufs[k], static_cast<std::uint16_t>(p->length()));
      if (dst == nullptr) {
        ++errors;
        rte_pktmbuf_reset(mbufs[k]);
        continue;
      }
      std::memcpy(dst, p->data(), p->length());
      chunk_bytes += p->length();
      ++k;
    }
    // Slots k.. hold reset mbufs nobody will send.
    if (k < chunk.size()) rte_pktmbuf_free_bulk(mbufs.data() + k, chunk.size() - k);
    const std::uint16_t out = rte_eth_tx_burst(port_id_, q, mbufs.data(), k);
    if (out < k) {
      for (std::uint16_t i = out; i < k; ++i)
        chunk_bytes -= rte_pktmbuf_pkt_len(mbufs[i]);
      rte_pktmbuf_free_bulk(mbufs.data() + out, k - out);
      dropped += k - out;
    }
    sent += out;
    bytes += chunk_bytes;
  }
  pool.free_burst(packets);
  PortCounterCell::add(cnt.tx_packets, sent);
  PortCounterCell::add(cnt.tx_bytes, bytes);
  if (dropped) PortCounterCell::add(cnt.tx_dropped, dropped);
  if (errors) PortCounterCell::add(cnt.tx_errors, errors);
}

}  // namespace sockswitch::ports
