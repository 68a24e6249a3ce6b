// ports/af_packet_port.cc: socket and ring setup, burst rx/tx, hotplug.
#include "ports/af_packet_port.h"

#include <arpa/inet.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <stdexcept>

#include "dataplane/burst.h"
#include "dataplane/checksum_completion.h"
#include "dataplane/gso_segmenter.h"
#include "dataplane/l4_segment.h"
#include "ports/netdev_query.h"
#include "ports/virtio_net_header.h"

namespace sockswitch::ports {
namespace {

using dataplane::Packet;
using dataplane::PacketPool;

constexpr std::uint32_t kMinFrameSize = 2048;
constexpr std::uint32_t kMinBlockSize = 1u << 16;
constexpr std::size_t kMaxRingBytes = std::size_t{16} << 20;
// A slot for a whole GSO frame (64 KiB, the kernel's default GSO limit,
// with the ring header, the address and the virtio-net header before it).
// The ring is kernel memory allocated at setup: at most kGsoRingBytes of it.
constexpr std::uint32_t kGsoSlotSize = 1u << 17;
constexpr std::size_t kGsoRingBytes = std::size_t{8} << 20;

bool is_l3_link(std::uint16_t type) {
  switch (type) {
    case ARPHRD_ETHER:
      return false;
    case ARPHRD_NONE:
    case ARPHRD_RAWIP:
    case ARPHRD_PPP:
    case ARPHRD_TUNNEL:
    case ARPHRD_TUNNEL6:
      return true;
    default:
      throw std::invalid_argument("af_packet: link type " + std::to_string(type) +
                                  " is neither Ethernet nor bare IP");
  }
}

template <typename T>
void set_option(const Fd& s, int level, int option, const T& value, const char* what,
                const std::string& dev) {
  if (::setsockopt(s.get(), level, option, &value, sizeof value) != 0)
    throw_errno(std::string("setsockopt(") + what + ", " + dev + ")");
}

// The 802.1Q tag the kernel moved into the ring header, as it sat in the frame.
void put_vlan_tag(std::uint8_t* at, const tpacket2_hdr& h, std::uint32_t status) noexcept {
  const std::uint16_t tpid =
      (status & TP_STATUS_VLAN_TPID_VALID) != 0 ? h.tp_vlan_tpid : ETH_P_8021Q;
  at[0] = static_cast<std::uint8_t>(tpid >> 8), at[1] = static_cast<std::uint8_t>(tpid);
  at[2] = static_cast<std::uint8_t>(h.tp_vlan_tci >> 8);
  at[3] = static_cast<std::uint8_t>(h.tp_vlan_tci);
}

bool device_gone(int err) noexcept {
  return err == ENXIO || err == ENODEV;
}

// The virtio-net header that hands super-frame `p` to the device whole:
// where its checksum starts and sits, and how to cut it. False when its
// headers are not what its segmentation says.
bool describe_gso(const Packet& p, VirtioNetHeader& h) noexcept {
  dataplane::L4Segment seg;
  if (!dataplane::locate_l4(p.bytes(), seg) ||
      seg.udp != (p.gso().kind == dataplane::GsoKind::udp_l4))
    return false;
  const std::uint8_t* l4 = p.data() + seg.begin;
  const std::size_t l4_header =
      seg.udp ? 8 : std::size_t{static_cast<std::uint8_t>(l4[12] >> 4)} * 4;
  constexpr std::uint8_t kTcpCwr = 0x80;
  h = {};
  h.flags = VirtioNetHeader::kNeedsChecksum;
  h.gso_type = seg.udp    ? VirtioNetHeader::kGsoUdpL4
               : seg.ipv6 ? VirtioNetHeader::kGsoTcpV6
                          : VirtioNetHeader::kGsoTcpV4;
  if (!seg.udp && (l4[13] & kTcpCwr) != 0) h.gso_type |= VirtioNetHeader::kGsoEcn;
  h.hdr_len = static_cast<std::uint16_t>(seg.begin + l4_header);
  h.gso_size = p.gso().segment_payload;
  h.csum_start = static_cast<std::uint16_t>(seg.begin);
  h.csum_offset = static_cast<std::uint16_t>(seg.checksum_at - seg.begin);
  return true;
}

}  // namespace

AfPacketPort::AfPacketPort(const std::string& device, AfPacketOptions options)
    : Port(device), options_(options) {
  check_netdev_name(device);
  if (options_.ring_frames == 0) throw std::invalid_argument("af_packet: ring_frames must be > 0");
  open();
}

AfPacketPort::~AfPacketPort() = default;

void AfPacketPort::open() {
  const std::optional<NetdevInfo> info = query_netdev(name());
  if (!info) return;  // not there (yet): down until refresh() finds it
  const bool l3 = is_l3_link(info->link_type);

  Fd s = Fd::socket(AF_PACKET, SOCK_RAW, 0, "AF_PACKET");  // protocol 0: silent until bound
  set_option(s, SOL_PACKET, PACKET_VERSION, int{TPACKET_V2}, "PACKET_VERSION", name());
  // Every frame with its virtio-net header: the checksum and segmentation
  // work a local sender left to offload (before the ring: the kernel
  // refuses it after).
  set_option(s, SOL_PACKET, PACKET_VNET_HDR, int{1}, "PACKET_VNET_HDR", name());

  // A slot holds the ring header, the sockaddr_ll, the virtio-net header and
  // the largest frame: a GSO frame on an Ethernet device, else what the MTU
  // allows (plus two VLAN tags), rounded to a power of two.
  const std::uint32_t mtu_frame = std::bit_ceil(static_cast<std::uint32_t>(
      info->mtu + 14 + 8 + TPACKET2_HDRLEN + 64 + sizeof(VirtioNetHeader)));
  const std::uint32_t frame_size = std::max({kMinFrameSize, mtu_frame, l3 ? 0 : kGsoSlotSize});
  const std::size_t ring_bytes = l3 ? kMaxRingBytes : kGsoRingBytes;
  const std::uint32_t block_size = std::max(kMinBlockSize, frame_size);
  const std::uint32_t per_block = block_size / frame_size;
  std::uint32_t frames = std::min<std::uint32_t>(
      options_.ring_frames, static_cast<std::uint32_t>(ring_bytes / frame_size));
  frames = std::max(per_block, frames / per_block * per_block);
  tpacket_req req{};
  req.tp_block_size = block_size;
  req.tp_block_nr = frames / per_block;
  req.tp_frame_size = frame_size;
  req.tp_frame_nr = frames;
  set_option(s, SOL_PACKET, PACKET_RX_RING, req, "PACKET_RX_RING", name());
  MappedRegion ring =
      MappedRegion::map_shared(s, std::size_t{block_size} * req.tp_block_nr, "AF_PACKET rx ring");

  set_option(s, SOL_PACKET, PACKET_QDISC_BYPASS, int{1}, "PACKET_QDISC_BYPASS", name());
  set_option(s, SOL_PACKET, PACKET_IGNORE_OUTGOING, int{1}, "PACKET_IGNORE_OUTGOING", name());

  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons(ETH_P_ALL);
  addr.sll_ifindex = info->ifindex;
  if (::bind(s.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (device_gone(errno)) return;  // vanished between the query and the bind
    throw_errno("bind(AF_PACKET, " + name() + ")");
  }
  packet_mreq promisc{};
  promisc.mr_ifindex = info->ifindex;
  promisc.mr_type = PACKET_MR_PROMISC;
  set_option(s, SOL_PACKET, PACKET_ADD_MEMBERSHIP, promisc, "PACKET_ADD_MEMBERSHIP", name());

  sock_ = std::move(s);
  ring_ = std::move(ring);
  frame_size_ = frame_size;
  frame_count_ = frames;
  rx_next_ = 0;
  ifindex_ = info->ifindex;
  gone_ = false;
  if (l3)
    l3_.emplace(options_.l3_mac.value_or(L3Ethernet::mac_for_name(name())), neighbors_);
  else
    l3_.reset();
  mtu_.store(info->mtu, std::memory_order_relaxed);
  link_.store(info->running() ? LinkState::up : LinkState::down, std::memory_order_relaxed);
}

void AfPacketPort::close() noexcept {
  (void)counters();                       // keep the kernel's drop count of the socket we close
  if (segments_held_ > segments_next_) {  // cut but never handed out: the poll thread's again
    try {
      segments_pool_->hand_back({segments_.begin() + static_cast<std::ptrdiff_t>(segments_next_),
                                 segments_.begin() + static_cast<std::ptrdiff_t>(segments_held_)});
    } catch (const std::bad_alloc&) {
      // Only the list node can fail; the packets stay out of the pool.
    }
  }
  segments_next_ = segments_held_ = 0;
  link_.store(LinkState::down, std::memory_order_relaxed);
  ring_.reset();
  sock_.reset();
  ifindex_ = 0;
  gone_ = false;
}

void AfPacketPort::refresh() {
  const std::optional<NetdevInfo> info = query_netdev(name());
  if (!info) {
    close();
    return;
  }
  bool reopen = !sock_ || gone_ || info->ifindex != ifindex_;
  if (!reopen) {
    // A socket whose device was unregistered is unbound for good, even if a
    // new device later gets the same index.
    sockaddr_ll bound{};
    socklen_t len = sizeof bound;
    reopen = ::getsockname(sock_.get(), reinterpret_cast<sockaddr*>(&bound), &len) != 0 ||
             bound.sll_ifindex != ifindex_;
  }
  if (reopen) {
    close();
    open();
    return;
  }
  mtu_.store(info->mtu, std::memory_order_relaxed);
  link_.store(info->running() ? LinkState::up : LinkState::down, std::memory_order_relaxed);
}

PortCounters AfPacketPort::counters() const noexcept {
  if (sock_) {
    tpacket_stats st{};
    socklen_t len = sizeof st;
    if (::getsockopt(sock_.get(), SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0)
      kernel_drops_.fetch_add(st.tp_drops, std::memory_order_relaxed);
  }
  PortCounters c = Port::counters();
  c.rx_dropped += kernel_drops_.load(std::memory_order_relaxed);
  return c;
}

void AfPacketPort::mark_gone() noexcept {
  gone_ = true;
  link_.store(LinkState::down, std::memory_order_relaxed);
}

std::size_t AfPacketPort::rx_burst(std::uint16_t, PacketPool& pool,
                                   std::span<Packet*> out) noexcept {
  std::size_t n = l3_ ? l3_->take_replies(pool, out) : 0;
  n += take_segments(out.subspan(n));
  if (!sock_ || n == out.size()) return n;
  // Received whatever the link state says: carrier is reported late (up to
  // a second after a veth comes up), and a frame that arrives proves it.
  const std::size_t got = receive(pool, out.subspan(n));
  if (got != 0 && link_.load(std::memory_order_relaxed) != LinkState::up && !gone_) [[unlikely]]
    link_.store(LinkState::up, std::memory_order_relaxed);
  return n + got;
}

// Segments of a GSO frame that did not fit the last burst go first.
std::size_t AfPacketPort::take_segments(std::span<Packet*> out) noexcept {
  const std::size_t n = std::min(out.size(), segments_held_ - segments_next_);
  std::copy_n(segments_.begin() + static_cast<std::ptrdiff_t>(segments_next_), n, out.begin());
  segments_next_ += n;
  if (segments_next_ == segments_held_) segments_next_ = segments_held_ = 0;
  return n;
}

std::size_t AfPacketPort::receive(PacketPool& pool, std::span<Packet*> out) noexcept {
  PortCounterCell& cnt = queue_counters(0);
  auto slot = [this](std::uint32_t i) {
    return reinterpret_cast<tpacket2_hdr*>(ring_.data() + std::size_t{i} * frame_size_);
  };
  std::size_t n = 0;
  std::uint64_t received = 0, bytes = 0, dropped = 0, errors = 0, completed = 0, segmented = 0,
                kept_whole = 0;
  while (n < out.size() && segments_held_ == 0) {
    tpacket2_hdr* h = slot(rx_next_);
    if ((__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) == 0) break;
    rx_next_ = (rx_next_ + 1) % frame_count_;
    const std::uint32_t status = h->tp_status;
    auto* frame = reinterpret_cast<std::uint8_t*>(h) + h->tp_mac;
    VirtioNetHeader vnet;
    std::memcpy(&vnet, frame - sizeof vnet, sizeof vnet);
    std::uint32_t len = h->tp_snaplen;
    const bool whole = h->tp_snaplen == h->tp_len;
    const bool vlan = (status & TP_STATUS_VLAN_VALID) != 0 && !l3_ && len >= 12;
    const auto gso = static_cast<std::uint8_t>(vnet.gso_type & ~VirtioNetHeader::kGsoEcn);
    const bool needs_csum = (vnet.flags & VirtioNetHeader::kNeedsChecksum) != 0;
    auto release = [h] { __atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE); };
    if (!whole || (l3_ && gso != VirtioNetHeader::kGsoNone)) {  // truncated; bare-IP GSO is not cut
      ++errors;
      release();
      continue;
    }
    if (vlan) {  // the tag the kernel took out goes back in place (the slot has room before)
      std::memmove(frame - 4, frame, 12);
      frame -= 4;
      len += 4;
      put_vlan_tag(frame + 12, *h, status);
    }

    if (gso != VirtioNetHeader::kGsoNone) {
      const auto kind =
          gso == VirtioNetHeader::kGsoUdpL4 ? dataplane::GsoKind::udp_l4 : dataplane::GsoKind::tcp;
      const bool known = gso == VirtioNetHeader::kGsoUdpL4 || gso == VirtioNetHeader::kGsoTcpV4 ||
                         gso == VirtioNetHeader::kGsoTcpV6;
      if (Packet* whole_frame =
              known ? keep_whole({frame, len}, {kind, vnet.gso_size}, pool) : nullptr) {
        release();
        ++received;
        ++kept_whole;
        bytes += len;
        out[n++] = whole_frame;
        continue;
      }
      const std::size_t cut =
          known ? dataplane::segment_gso({frame, len}, kind, vnet.gso_size, pool, segments_) : 0;
      release();
      if (cut == 0) {
        const bool dry = known && vnet.gso_size != 0 && pool.available() < len / vnet.gso_size + 1;
        ++(dry ? dropped : errors);
        continue;
      }
      segments_pool_ = &pool;
      segments_held_ = cut;
      received += cut;
      segmented += cut;
      completed += cut;
      for (std::size_t i = 0; i < cut; ++i)
        bytes += segments_[i]->length();
      n += take_segments(out.subspan(n));
      continue;
    }

    Packet* p = pool.alloc();
    std::uint8_t* dst = p != nullptr ? p->append(len) : nullptr;
    if (dst != nullptr) std::memcpy(dst, frame, len);
    release();
    if (p == nullptr) {
      ++dropped;
      continue;
    }
    // csum_start counts a tag the kernel took out as if it were in place.
    const bool finished =
        !needs_csum || (dst != nullptr && dataplane::complete_checksum_at(
                                              {dst, len}, vnet.csum_start, vnet.csum_offset));
    if (dst == nullptr || !finished || (l3_ && !l3_->to_bridge(*p))) {  // too long, or not IP
      ++errors;
      pool.free(p);
      continue;
    }
    completed += needs_csum;
    ++received;
    bytes += p->length();
    out[n++] = p;
  }
  PortCounterCell::add(cnt.rx_packets, received);
  PortCounterCell::add(cnt.rx_bytes, bytes);
  if (dropped) PortCounterCell::add(cnt.rx_dropped, dropped);
  if (errors) PortCounterCell::add(cnt.rx_errors, errors);
  if (completed) PortCounterCell::add(cnt.rx_checksums_completed, completed);
  if (segmented) PortCounterCell::add(cnt.rx_segments, segmented);
  if (kept_whole) PortCounterCell::add(cnt.rx_gso_whole, kept_whole);
  return n;
}

// A super-frame copied whole into a large packet, for an output that takes
// it so (another AF_PACKET port) or for the transmit side to cut; nullptr
// when no large buffer is free or the frame is not what its header says,
// and the caller cuts it now.
Packet* AfPacketPort::keep_whole(std::span<const std::uint8_t> frame, dataplane::Segmentation how,
                                 PacketPool& pool) noexcept {
  dataplane::L4Segment seg;
  if (how.segment_payload == 0 || !dataplane::locate_l4(frame, seg) ||
      seg.udp != (how.kind == dataplane::GsoKind::udp_l4))
    return nullptr;
  Packet* p = pool.alloc_large();
  if (p == nullptr) return nullptr;
  std::uint8_t* dst = p->append(static_cast<std::uint32_t>(frame.size()));
  if (dst == nullptr) {
    pool.free(p);
    return nullptr;
  }
  std::memcpy(dst, frame.data(), frame.size());
  p->set_gso(how);
  return p;
}

void AfPacketPort::tx_burst(std::uint16_t, PacketPool& pool,
                            std::span<Packet* const> packets) noexcept {
  PortCounterCell& cnt = queue_counters(0);
  if (link_.load(std::memory_order_relaxed) != LinkState::up) {
    PortCounterCell::add(cnt.tx_dropped, packets.size());
    pool.free_burst(packets);
    return;
  }
  std::array<mmsghdr, dataplane::kBurstSize> msgs;
  // The socket has PACKET_VNET_HDR: every frame goes with a header. An
  // ordinary frame is complete ("nothing to do"); a super-frame's says how
  // the device or the receiver is to cut it and finish its checksums.
  static const VirtioNetHeader kFinished{};
  std::array<VirtioNetHeader, dataplane::kBurstSize> gso_headers;
  std::array<std::array<iovec, 2>, dataplane::kBurstSize> iov;
  std::array<sockaddr_ll, dataplane::kBurstSize> to;
  std::array<Packet*, dataplane::kBurstSize> sending;
  std::uint64_t sent = 0, bytes = 0, dropped = 0, errors = 0;

  for (std::size_t base = 0; base < packets.size(); base += dataplane::kBurstSize) {
    const auto chunk =
        packets.subspan(base, std::min(dataplane::kBurstSize, packets.size() - base));
    std::size_t k = 0;
    for (Packet* p : chunk) {
      if (l3_) {
        const L3Ethernet::TxAction a = l3_->to_device(*p);
        if (a != L3Ethernet::TxAction::send) {
          if (a == L3Ethernet::TxAction::drop) ++dropped;
          pool.free(p);
          continue;
        }
      }
      const VirtioNetHeader* header = &kFinished;
      if (p->is_gso()) [[unlikely]] {
        if (l3_ || !describe_gso(*p, gso_headers[k])) {  // never sent as one oversized frame
          ++errors;
          pool.free(p);
          continue;
        }
        header = &gso_headers[k];
      }
      sending[k] = p;
      iov[k][0] = {const_cast<VirtioNetHeader*>(header), sizeof *header};
      iov[k][1] = {p->data(), p->length()};
      msgs[k] = {};
      msgs[k].msg_hdr.msg_iov = iov[k].data();
      msgs[k].msg_hdr.msg_iovlen = 2;
      if (l3_) {  // bare IP: the protocol says which, for the device (WireGuard checks it)
        to[k] = {};
        to[k].sll_family = AF_PACKET;
        to[k].sll_ifindex = ifindex_;
        to[k].sll_protocol =
            htons(p->length() > 0 && p->data()[0] >> 4 == 6 ? ETH_P_IPV6 : ETH_P_IP);
        msgs[k].msg_hdr.msg_name = &to[k];
        msgs[k].msg_hdr.msg_namelen = sizeof to[k];
      }
      ++k;
    }
    std::size_t i = 0;
    while (i < k) {
      const int r = ::sendmmsg(sock_.get(), &msgs[i], static_cast<unsigned>(k - i), MSG_DONTWAIT);
      if (r > 0) {
        for (std::size_t j = i; j < i + static_cast<std::size_t>(r); ++j)
          bytes += sending[j]->length();
        sent += static_cast<std::size_t>(r);
        i += static_cast<std::size_t>(r);
        continue;
      }
      const int err = r < 0 ? errno : EAGAIN;
      if (err == EMSGSIZE || err == EINVAL) {  // this frame is bad; the rest may be fine
        ++errors;
        ++i;
        continue;
      }
      if (device_gone(err) || err == ENETDOWN) {
        if (device_gone(err)) mark_gone();
        link_.store(LinkState::down, std::memory_order_relaxed);
      }
      if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS || device_gone(err) ||
          err == ENETDOWN)
        dropped += k - i;
      else
        errors += k - i;
      break;
    }
    pool.free_burst(std::span<Packet* const>(sending.data(), k));
  }
  PortCounterCell::add(cnt.tx_packets, sent);
  PortCounterCell::add(cnt.tx_bytes, bytes);
  if (dropped) PortCounterCell::add(cnt.tx_dropped, dropped);
  if (errors) PortCounterCell::add(cnt.tx_errors, errors);
}

}  // namespace sockswitch::ports
