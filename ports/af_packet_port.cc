// ports/af_packet_port.cc: socket and ring setup, burst rx/tx, hotplug.
#include "ports/af_packet_port.h"

#include <arpa/inet.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "packet/burst.h"
#include "ports/netdev_query.h"
#include "ports/virtio_net_header.h"
#include "wire/checksum.h"
#include "wire/checksum_completion.h"
#include "wire/l4_segment.h"

namespace sockswitch::ports {
namespace {

using packet::Packet;
using packet::PacketPool;

// The socket's receive queue: what a burst may bring while the poll thread
// is busy or asleep (small frames and 64 KiB GSO frames alike), charged
// only while queued.
constexpr int kReceiveQueueBytes = 8 << 20;

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

// Puts back in front of the EtherType the 802.1Q tag the kernel moved into
// the frame's metadata. False when there is no headroom for it.
bool put_vlan_tag(Packet& p, const tpacket_auxdata& aux) noexcept {
  if (p.length() < 12) return false;
  std::uint8_t* at = p.push_front(4);
  if (at == nullptr) return false;
  std::memmove(at, at + 4, 12);
  const std::uint16_t tpid =
      (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) != 0 ? aux.tp_vlan_tpid : ETH_P_8021Q;
  at[12] = static_cast<std::uint8_t>(tpid >> 8), at[13] = static_cast<std::uint8_t>(tpid);
  at[14] = static_cast<std::uint8_t>(aux.tp_vlan_tci >> 8);
  at[15] = static_cast<std::uint8_t>(aux.tp_vlan_tci);
  return true;
}

// The packet metadata that came with a received message, if any.
const tpacket_auxdata* auxdata_of(const msghdr& m) noexcept {
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(const_cast<msghdr*>(&m), c))
    if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA &&
        c->cmsg_len >= CMSG_LEN(sizeof(tpacket_auxdata)))
      return reinterpret_cast<const tpacket_auxdata*>(CMSG_DATA(c));
  return nullptr;
}

bool device_gone(int err) noexcept {
  return err == ENXIO || err == ENODEV;
}

// The virtio-net header that hands super-frame `p` to the device whole:
// where its checksum starts and sits, and how to cut it. False when its
// headers are not what its segmentation says.
bool describe_gso(const Packet& p, VirtioNetHeader& h) noexcept {
  wire::L4Segment seg;
  if (!wire::locate_gso_l4(p.bytes(), p.gso(), seg)) return false;
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
  open();
}

AfPacketPort::~AfPacketPort() = default;

void AfPacketPort::open() {
  const std::optional<NetdevInfo> info = query_netdev(name());
  if (!info) return;  // not there (yet): down until refresh() finds it
  const bool l3 = is_l3_link(info->link_type);

  Fd s = Fd::socket(AF_PACKET, SOCK_RAW, 0, "AF_PACKET");  // protocol 0: silent until bound
  // Every frame with its virtio-net header: the checksum and segmentation
  // work a local sender left to offload.
  set_option(s, SOL_PACKET, PACKET_VNET_HDR, int{1}, "PACKET_VNET_HDR", name());
  set_option(s, SOL_PACKET, PACKET_AUXDATA, int{1}, "PACKET_AUXDATA", name());
  // FORCE goes past net.core.rmem_max (CAP_NET_ADMIN); without it the
  // kernel caps the plain option there.
  if (::setsockopt(s.get(), SOL_SOCKET, SO_RCVBUFFORCE, &kReceiveQueueBytes,
                   sizeof kReceiveQueueBytes) != 0)
    set_option(s, SOL_SOCKET, SO_RCVBUF, kReceiveQueueBytes, "SO_RCVBUF", name());
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

  try {
    fence_.emplace(name(), info->ifindex);
    fence_error_.clear();
  } catch (const std::system_error& e) {
    fence_.reset();
    fence_error_ = e.what();
    spdlog::warn("port {}: the host's stack also sees its frames (no tcx fence: {})", name(),
                 fence_error_);
  }

  sock_ = std::move(s);
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
  (void)counters();  // keep the kernel's drop count of the socket we close
  link_.store(LinkState::down, std::memory_order_relaxed);
  fence_.reset();
  sock_.reset();
  ifindex_ = 0;
  gone_ = false;
}

std::string AfPacketPort::engine() const {
  std::string e = is_l3() ? "af_packet L3" : "af_packet";
  if (sock_ && !fence_) e += ", host stack also sees its frames";
  return e;
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
  if (!sock_ || n == out.size()) return n;
  // Received whatever the link state says: carrier is reported late (up to
  // a second after a veth comes up), and a frame that arrives proves it.
  const std::size_t got = receive(pool, out.subspan(n));
  if (got != 0 && link_.load(std::memory_order_relaxed) != LinkState::up && !gone_) [[unlikely]]
    link_.store(LinkState::up, std::memory_order_relaxed);
  return n + got;
}

// Each message gets an ordinary packet's buffer and, behind it, the rest of
// a large one: a frame that fits stays in the ordinary packet; a longer one
// (a GSO frame) runs on into the large packet, which then takes the head
// from the ordinary one. So a burst asks for no more messages than there
// are large buffers free (the previous burst's are back: outputs free them
// before the next receive), and frames wait in the socket meanwhile.
std::size_t AfPacketPort::receive(PacketPool& pool, std::span<Packet*> out) noexcept {
  using packet::kBurstSize;
  const std::size_t want = std::min({out.size(), kBurstSize, pool.large_available()});
  std::array<Packet*, kBurstSize> small{}, large{};
  const std::size_t k = pool.alloc_burst({small.data(), want});
  if (k == 0) return 0;
  std::array<VirtioNetHeader, kBurstSize> vnet;
  std::array<std::array<iovec, 3>, kBurstSize> iov;
  std::array<mmsghdr, kBurstSize> msgs;
  struct alignas(cmsghdr) Control {
    std::array<char, CMSG_SPACE(sizeof(tpacket_auxdata))> bytes;
  };
  std::array<Control, kBurstSize> control;
  for (std::size_t i = 0; i < k; ++i) {
    large[i] = pool.alloc_large();  // want <= large_available()
    const std::uint32_t room = small[i]->tailroom();
    iov[i] = {{{&vnet[i], sizeof vnet[i]},
               {small[i]->data(), room},
               {large[i]->data() + room, large[i]->tailroom() - room}}};
    msgs[i] = {};
    msgs[i].msg_hdr.msg_iov = iov[i].data();
    msgs[i].msg_hdr.msg_iovlen = iov[i].size();
    msgs[i].msg_hdr.msg_control = control[i].bytes.data();
    msgs[i].msg_hdr.msg_controllen = control[i].bytes.size();
  }
  const int got =
      ::recvmmsg(sock_.get(), msgs.data(), static_cast<unsigned>(k), MSG_DONTWAIT, nullptr);
  if (got < 0 && device_gone(errno)) mark_gone();

  PortCounterCell& cnt = queue_counters(0);
  std::size_t n = 0;
  std::uint64_t received = 0, bytes = 0, errors = 0, completed = 0, kept_whole = 0;
  for (std::size_t j = 0; j < static_cast<std::size_t>(std::max(got, 0)); ++j) {
    const msghdr& m = msgs[j].msg_hdr;
    if (msgs[j].msg_len < sizeof(VirtioNetHeader) || (m.msg_flags & MSG_TRUNC) != 0) {
      ++errors;  // longer than 64 KiB: nothing sends that
      continue;
    }
    const auto len = static_cast<std::uint32_t>(msgs[j].msg_len - sizeof(VirtioNetHeader));
    Packet* p = std::exchange(small[j], nullptr);
    if (len > p->tailroom()) {  // it ran on: the large packet takes the head
      std::memcpy(large[j]->data(), p->data(), p->tailroom());
      small[j] = std::exchange(p, std::exchange(large[j], nullptr));
    }
    (void)p->append(len);  // the buffer it was received into holds it
    if (!l3_) {
      const tpacket_auxdata* aux = auxdata_of(m);
      if (aux != nullptr && (aux->tp_status & TP_STATUS_VLAN_VALID) != 0 &&
          !put_vlan_tag(*p, *aux)) {
        ++errors;
        pool.free(p);
        continue;
      }
    }
    if (!accept(*p, vnet[j], small[j] != nullptr, completed, kept_whole)) {
      ++errors;
      pool.free(p);
      continue;
    }
    ++received;
    bytes += p->length();
    out[n++] = p;
  }
  for (std::size_t i = 0; i < k; ++i) {  // what no frame came into
    if (small[i] != nullptr) pool.free(small[i]);
    if (large[i] != nullptr) pool.free(large[i]);
  }
  PortCounterCell::add(cnt.rx_packets, received);
  PortCounterCell::add(cnt.rx_bytes, bytes);
  if (errors) PortCounterCell::add(cnt.rx_errors, errors);
  if (completed) PortCounterCell::add(cnt.rx_checksums_completed, completed);
  if (kept_whole) PortCounterCell::add(cnt.rx_gso_whole, kept_whole);
  return n;
}

// What the virtio-net header says is left to do: a partial checksum is
// finished where it says (csum_start counts a tag the kernel took out as if
// it were in place), a GSO frame is marked to be cut at its output or sent
// on whole. False for a frame the bridge cannot take: a GSO frame whose
// headers are not what its header says; a longer frame that is not GSO (a
// pool buffer holds what an MTU of 1 500 needs); on an L3 device, anything
// but IP.
bool AfPacketPort::accept(Packet& p, const VirtioNetHeader& vnet, bool ran_on,
                          std::uint64_t& completed, std::uint64_t& kept_whole) noexcept {
  const auto gso = static_cast<std::uint8_t>(vnet.gso_type & ~VirtioNetHeader::kGsoEcn);
  if (gso == VirtioNetHeader::kGsoNone) {
    if (ran_on) return false;
    if ((vnet.flags & VirtioNetHeader::kNeedsChecksum) != 0) {
      if (!wire::complete_checksum_at(p.bytes(), vnet.csum_start, vnet.csum_offset)) return false;
      ++completed;
    }
    return !l3_ || l3_->to_bridge(p);
  }
  if (gso != VirtioNetHeader::kGsoUdpL4 && gso != VirtioNetHeader::kGsoTcpV4 &&
      gso != VirtioNetHeader::kGsoTcpV6)
    return false;
  const wire::Segmentation how{
      gso == VirtioNetHeader::kGsoUdpL4 ? wire::GsoKind::udp_l4 : wire::GsoKind::tcp,
      vnet.gso_size};
  // An L3 device's super-frames (the kernel's WireGuard merges what it
  // decrypts) come as bare IP like its other frames.
  wire::L4Segment seg;
  if ((l3_ && !l3_->to_bridge(p)) || !wire::locate_gso_l4(p.bytes(), how, seg)) return false;
  // Whole, the frame leaves with "checksum needed" and its field must hold
  // the pseudo-header sum; one the kernel had already verified may not.
  if ((vnet.flags & VirtioNetHeader::kNeedsChecksum) == 0)
    wire::store_be16(p.data() + seg.checksum_at, wire::checksum_fold(seg.pseudo_sum));
  p.set_gso(how);
  ++kept_whole;
  return true;
}

void AfPacketPort::tx_burst(std::uint16_t, PacketPool& pool,
                            std::span<Packet* const> packets) noexcept {
  PortCounterCell& cnt = queue_counters(0);
  if (link_.load(std::memory_order_relaxed) != LinkState::up) {
    PortCounterCell::add(cnt.tx_dropped, packets.size());
    pool.free_burst(packets);
    return;
  }
  std::array<mmsghdr, packet::kBurstSize> msgs;
  // The socket has PACKET_VNET_HDR: every frame goes with a header. An
  // ordinary frame is complete ("nothing to do"); a super-frame's says how
  // the device or the receiver is to cut it and finish its checksums.
  static const VirtioNetHeader kFinished{};
  std::array<VirtioNetHeader, packet::kBurstSize> gso_headers;
  std::array<std::array<iovec, 2>, packet::kBurstSize> iov;
  std::array<sockaddr_ll, packet::kBurstSize> to;
  std::array<Packet*, packet::kBurstSize> sending;
  std::uint64_t sent = 0, bytes = 0, dropped = 0, errors = 0;

  for (std::size_t base = 0; base < packets.size(); base += packet::kBurstSize) {
    const auto chunk = packets.subspan(base, std::min(packet::kBurstSize, packets.size() - base));
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
