// ports/udp_batch_socket.cc: recvmmsg/sendmmsg bursts with UDP GRO/GSO where the kernel has them.
#include "ports/udp_batch_socket.h"

#include <netinet/udp.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace sockswitch::ports {

// GRO receive needs buffers the size of the largest super-datagram; they
// live here, with a cursor over what recvmmsg staged and recv_burst has not
// yet handed out.
struct UdpBatchSocket::GroStage final {
  static constexpr std::size_t kSlotBytes = 65536;
  static constexpr std::size_t kCtrlBytes = CMSG_SPACE(sizeof(int));

  struct Staged {
    std::uint32_t offset = 0, end = 0, segment = 0;
    UdpEndpoint from;
  };

  std::vector<std::uint8_t> bytes = std::vector<std::uint8_t>(kGroSlots * kSlotBytes);
  alignas(cmsghdr) std::array<std::array<std::uint8_t, kCtrlBytes>, kGroSlots> ctrl{};
  std::array<Staged, kGroSlots> staged{};
  std::size_t head = 0, count = 0;
};

namespace {

void setsockopt_int(int fd, int level, int name, int value, const char* what) {
  if (::setsockopt(fd, level, name, &value, sizeof value) != 0) throw_errno(what);
}

// Large buffers absorb a burst from a fast peer while the poll thread is
// busy; FORCE lifts the sysctl cap where we are privileged.
void size_buffers(int fd, int bytes) {
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0)
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes) != 0)
    (void)::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
}

// Binds an AF_INET6 dual-stack socket, or returns an empty Fd when the host
// has no IPv6 (the caller then falls back to AF_INET).
Fd bind_dual_stack(std::uint16_t port) {
  const int fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    if (errno == EAFNOSUPPORT) return Fd();
    throw_errno("socket(AF_INET6, SOCK_DGRAM)");
  }
  Fd s(fd);
  setsockopt_int(s.get(), IPPROTO_IPV6, IPV6_V6ONLY, 0, "setsockopt(IPV6_V6ONLY)");
  sockaddr_in6 any{};
  any.sin6_family = AF_INET6;
  any.sin6_addr = in6addr_any;
  any.sin6_port = htons(port);
  if (::bind(s.get(), reinterpret_cast<const sockaddr*>(&any), sizeof any) != 0) {
    if (errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT) return Fd();  // IPv6 disabled
    throw_errno("bind([::]:" + std::to_string(port) + ")");
  }
  return s;
}

Fd bind_v4(std::uint16_t port) {
  Fd s = Fd::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0, "AF_INET, SOCK_DGRAM");
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_addr.s_addr = htonl(INADDR_ANY);
  any.sin_port = htons(port);
  if (::bind(s.get(), reinterpret_cast<const sockaddr*>(&any), sizeof any) != 0)
    throw_errno("bind(0.0.0.0:" + std::to_string(port) + ")");
  return s;
}

bool congested(int err) noexcept {
  return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS;
}

}  // namespace

UdpBatchSocket::UdpBatchSocket(const UdpSocketOptions& options) {
  if (options.ipv6) fd_ = bind_dual_stack(options.port);
  if (!fd_) {
    fd_ = bind_v4(options.port);
    family_ = AF_INET;
  }
  sockaddr_in6 bound{};
  socklen_t len = sizeof bound;
  if (::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&bound), &len) != 0)
    throw_errno("getsockname(udp)");
  // sin_port and sin6_port sit at the same offset.
  port_ = ntohs(bound.sin6_port);
  size_buffers(fd_.get(), options.buffer_bytes);
  if (options.fwmark != 0) set_fwmark(options.fwmark);

  if (options.gro) {
    const int on = 1;
    gro_ = ::setsockopt(fd_.get(), IPPROTO_UDP, UDP_GRO, &on, sizeof on) == 0;
    if (gro_) gro_stage_ = std::make_unique<GroStage>();
  }
  if (options.gso) {
    int segment = 0;
    socklen_t slen = sizeof segment;
    gso_.store(::getsockopt(fd_.get(), IPPROTO_UDP, UDP_SEGMENT, &segment, &slen) == 0,
               std::memory_order_relaxed);
  }
}

UdpBatchSocket::~UdpBatchSocket() = default;

void UdpBatchSocket::set_fwmark(std::uint32_t mark) {
  if (::setsockopt(fd_.get(), SOL_SOCKET, SO_MARK, &mark, sizeof mark) != 0)
    throw_errno("setsockopt(SO_MARK, " + std::to_string(mark) + ")");
  fwmark_ = mark;
}

bool UdpBatchSocket::sockaddr_for(const UdpEndpoint& to, sockaddr_in6& buf,
                                  socklen_t& len) const noexcept {
  if (!to.is_set()) return false;
  if (family_ == AF_INET6) {
    buf = to.sockaddr6();
    len = sizeof(sockaddr_in6);
    return true;
  }
  if (!to.is_v4()) return false;
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_port = htons(to.port());
  v4.sin_addr.s_addr = to.v4_addr_be();
  std::memcpy(&buf, &v4, sizeof v4);
  len = sizeof v4;
  return true;
}

// --- receive -----------------------------------------------------------------

std::size_t UdpBatchSocket::recv_burst(std::span<RxDatagram> out) noexcept {
  if (out.empty()) return 0;
  return gro_ ? recv_gro(out) : recv_direct(out);
}

std::size_t UdpBatchSocket::recv_direct(std::span<RxDatagram> out) noexcept {
  const std::size_t want = std::min(out.size(), kMaxBurst);
  for (std::size_t i = 0; i < want; ++i) {
    rx_iov_[i] = {out[i].data, out[i].capacity};
    msghdr& h = rx_msgs_[i].msg_hdr;
    h.msg_name = &rx_names_[i];
    h.msg_namelen = sizeof(sockaddr_in6);
    h.msg_iov = &rx_iov_[i];
    h.msg_iovlen = 1;
    h.msg_control = nullptr;
    h.msg_controllen = 0;
    h.msg_flags = 0;
  }
  int r;
  do {
    r = ::recvmmsg(fd_.get(), rx_msgs_.data(), static_cast<unsigned>(want), MSG_DONTWAIT, nullptr);
  } while (r < 0 && errno == EINTR);
  if (r <= 0) return 0;
  // Keep the delivered slots at the front; a dropped slot swaps to the back
  // with its buffer, so every buffer stays in exactly one slot.
  std::size_t n = 0;
  for (std::size_t i = 0; i < static_cast<std::size_t>(r); ++i) {
    const msghdr& h = rx_msgs_[i].msg_hdr;
    auto from =
        UdpEndpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&rx_names_[i]), h.msg_namelen);
    if ((h.msg_flags & MSG_TRUNC) != 0 || !from) {
      bump(rx_truncated_);
      continue;
    }
    out[i].length = rx_msgs_[i].msg_len;
    out[i].from = *from;
    if (i != n) std::swap(out[i], out[n]);
    ++n;
  }
  return n;
}

std::size_t UdpBatchSocket::recv_gro(std::span<RxDatagram> out) noexcept {
  std::size_t n = drain_staged(out);
  if (n == out.size()) return n;
  GroStage& g = *gro_stage_;
  for (std::size_t i = 0; i < kGroSlots; ++i) {
    rx_iov_[i] = {g.bytes.data() + i * GroStage::kSlotBytes, GroStage::kSlotBytes};
    msghdr& h = rx_msgs_[i].msg_hdr;
    h.msg_name = &rx_names_[i];
    h.msg_namelen = sizeof(sockaddr_in6);
    h.msg_iov = &rx_iov_[i];
    h.msg_iovlen = 1;
    h.msg_control = g.ctrl[i].data();
    h.msg_controllen = g.ctrl[i].size();
    h.msg_flags = 0;
  }
  int r;
  do {
    r = ::recvmmsg(fd_.get(), rx_msgs_.data(), kGroSlots, MSG_DONTWAIT, nullptr);
  } while (r < 0 && errno == EINTR);
  if (r <= 0) return n;
  g.head = 0;
  g.count = 0;
  for (std::size_t i = 0; i < static_cast<std::size_t>(r); ++i) {
    msghdr& h = rx_msgs_[i].msg_hdr;
    auto from =
        UdpEndpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&rx_names_[i]), h.msg_namelen);
    if ((h.msg_flags & MSG_TRUNC) != 0 || !from) {
      bump(rx_truncated_);
      continue;
    }
    const std::uint32_t len = rx_msgs_[i].msg_len;
    std::uint32_t segment = len;
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
      if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO) {
        int s;
        std::memcpy(&s, CMSG_DATA(c), sizeof s);
        if (s > 0) segment = static_cast<std::uint32_t>(s);
      }
    }
    if (len > segment) bump(rx_gro_batches_);
    GroStage::Staged& st = g.staged[g.count++];
    st.offset = static_cast<std::uint32_t>(i * GroStage::kSlotBytes);
    st.end = st.offset + len;
    st.segment = segment;  // 0 only for an empty datagram, delivered as one
    st.from = *from;
  }
  pending_segments_ = g.count;
  return n + drain_staged(out.subspan(n));
}

std::size_t UdpBatchSocket::drain_staged(std::span<RxDatagram> out) noexcept {
  if (pending_segments_ == 0) return 0;
  GroStage& g = *gro_stage_;
  std::size_t n = 0;
  while (g.head < g.count && n < out.size()) {
    GroStage::Staged& st = g.staged[g.head];
    const std::uint32_t seg = std::min(st.segment, st.end - st.offset);
    if (seg > out[n].capacity) {
      bump(rx_truncated_);
    } else {
      std::memcpy(out[n].data, g.bytes.data() + st.offset, seg);
      out[n].length = seg;
      out[n].from = st.from;
      ++n;
    }
    st.offset += seg;
    if (st.segment == 0 || st.offset >= st.end) ++g.head;
  }
  pending_segments_ = g.count - g.head;
  return n;
}

// --- send --------------------------------------------------------------------

UdpSendResult UdpBatchSocket::send_burst(std::span<const TxDatagram> in) noexcept {
  UdpSendResult result;
  while (!in.empty()) {
    const std::size_t chunk = std::min(in.size(), kMaxBurst);
    send_chunk(in.first(chunk), result);
    in = in.subspan(chunk);
  }
  return result;
}

void UdpBatchSocket::send_chunk(std::span<const TxDatagram> in, UdpSendResult& result) noexcept {
  const bool gso = gso_.load(std::memory_order_relaxed);
  std::size_t messages = 0;
  for (std::size_t i = 0; i < in.size();) {
    const TxDatagram& d = in[i];
    std::size_t j = i + 1;
    if (gso && d.length > 0) {
      std::size_t bytes = d.length;
      while (j < in.size() && j - i < kMaxGsoSegments && in[j - 1].length == d.length &&
             in[j].length <= d.length && in[j].length > 0 && in[j].to == d.to &&
             bytes + in[j].length <= kMaxGsoBytes) {
        bytes += in[j].length;
        ++j;
      }
    }
    msghdr& h = tx_msgs_[messages].msg_hdr;
    socklen_t name_len = 0;
    if (!sockaddr_for(d.to, tx_names_[messages], name_len)) {
      result.errors += j - i;
      i = j;
      continue;
    }
    for (std::size_t k = i; k < j; ++k)
      tx_iov_[k] = {const_cast<std::uint8_t*>(in[k].data), in[k].length};
    h.msg_name = &tx_names_[messages];
    h.msg_namelen = name_len;
    h.msg_iov = &tx_iov_[i];
    h.msg_iovlen = j - i;
    h.msg_flags = 0;
    if (j - i > 1) {
      h.msg_control = tx_ctrl_[messages].data();
      h.msg_controllen = kCtrlSpace;
      cmsghdr* c = CMSG_FIRSTHDR(&h);
      c->cmsg_level = IPPROTO_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
      const auto segment = static_cast<std::uint16_t>(d.length);
      std::memcpy(CMSG_DATA(c), &segment, sizeof segment);
    } else {
      h.msg_control = nullptr;
      h.msg_controllen = 0;
    }
    tx_group_first_[messages++] = static_cast<std::uint16_t>(i);
    i = j;
  }
  auto first_of = [&](std::size_t m) { return std::size_t{tx_group_first_[m]}; };
  auto size_of = [&](std::size_t m) { return std::size_t{tx_msgs_[m].msg_hdr.msg_iovlen}; };
  std::size_t m = 0;
  while (m < messages) {
    const int r =
        ::sendmmsg(fd_.get(), &tx_msgs_[m], static_cast<unsigned>(messages - m), MSG_DONTWAIT);
    if (r > 0) {
      for (std::size_t k = m; k < m + static_cast<std::size_t>(r); ++k) {
        result.sent += size_of(k);
        for (std::size_t d = first_of(k); d < first_of(k) + size_of(k); ++d)
          result.sent_bytes += in[d].length;
        if (size_of(k) > 1) bump(tx_gso_messages_);
      }
      m += static_cast<std::size_t>(r);
      continue;
    }
    const int err = errno;
    if (err == EINTR) continue;
    if (congested(err)) {
      for (; m < messages; ++m)
        result.dropped += size_of(m);
      break;
    }
    if (size_of(m) > 1 && (err == EIO || err == EINVAL || err == EMSGSIZE)) {
      // EIO: the device cannot checksum a GSO send, which will not change.
      if (err == EIO) gso_.store(false, std::memory_order_relaxed);
      bump(tx_gso_fallbacks_);
      send_singly(in.subspan(first_of(m), size_of(m)), result);
    } else {
      result.errors += size_of(m);
    }
    ++m;
  }
}

void UdpBatchSocket::send_singly(std::span<const TxDatagram> in, UdpSendResult& result) noexcept {
  for (const TxDatagram& d : in) {
    if (send_one(d.data, d.length, d.to)) {
      ++result.sent;
      result.sent_bytes += d.length;
    } else if (congested(errno)) {
      ++result.dropped;
    } else {
      ++result.errors;
    }
  }
}

bool UdpBatchSocket::send_one(const std::uint8_t* data, std::size_t length,
                              const UdpEndpoint& to) noexcept {
  sockaddr_in6 name;
  socklen_t len = 0;
  if (!sockaddr_for(to, name, len)) {
    errno = EAFNOSUPPORT;
    return false;
  }
  ssize_t r;
  do {
    r = ::sendto(fd_.get(), data, length, MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&name),
                 len);
  } while (r < 0 && errno == EINTR);
  return r >= 0;
}

UdpSocketCounters UdpBatchSocket::counters() const noexcept {
  auto r = [](const std::atomic<std::uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  return {r(rx_truncated_), r(rx_gro_batches_), r(tx_gso_messages_), r(tx_gso_fallbacks_)};
}

}  // namespace sockswitch::ports
