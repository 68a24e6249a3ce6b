// ports/udp_batch_socket.h: the WireGuard underlay's UDP socket, moving whole bursts.
//
// One bound, non-blocking UDP socket. The native WireGuard port receives and
// sends its encrypted datagrams through it in bursts, one system call per
// burst rather than per datagram:
//
//   recv_burst: recvmmsg into buffers the caller lends (pool packets), each
//     with the datagram's source endpoint. A datagram larger than its buffer
//     is dropped and counted (MSG_TRUNC), never delivered cut short.
//   send_burst: sendmmsg with a destination per datagram. Consecutive
//     datagrams to one endpoint and of one size (the last may be shorter)
//     become one UDP GSO message (UDP_SEGMENT): the kernel builds the
//     datagrams from an iovec per datagram, so nothing is copied here.
//
// GRO (UDP_GRO) lets the kernel hand up a run of same-flow datagrams as one
// "super-datagram" with its segment size; that needs receive buffers as large
// as 64 KiB, which pool packets (2 KiB) are not. So with GRO on, recvmmsg
// writes into the socket's own staging area and recv_burst copies each
// segment into the caller's buffers; with GRO off, recvmmsg writes straight
// into them. The copy is far cheaper than the per-datagram trip through the
// stack it saves when the sender coalesces too (wireguard-go and this
// socket send with GSO): bench/udp_batch_bench.cc moved 32-datagram bursts
// at 3.8-4.6 M datagrams/s with GSO+GRO against 1.3-1.5 M with GSO alone
// and 0.68 M with neither (bench/README.md), while GRO facing a sender that
// does not coalesce cost 4-12%. So GRO is on by default.
// Segments left over when the caller's burst is full stay staged for the next
// call: has_pending() tells a poll loop not to sleep on fd() yet.
//
// Both offloads are probed at construction and dropped for good when the
// kernel refuses them (ENOPROTOOPT on setsockopt, EIO from a device that
// cannot checksum a GSO send), the way wireguard-go falls back. A GSO message
// the route rejects (EINVAL, e.g. a segment larger than the path MTU) is
// resent as separate datagrams.
//
// Address family: one AF_INET6 socket with IPV6_V6ONLY off carries IPv4 as
// v4-mapped addresses (UdpEndpoint's only form); where the host has no IPv6
// the socket is AF_INET and endpoints are converted at this edge.
//
// No allocation after construction: message headers, iovecs, address and
// control buffers for kMaxBurst datagrams and the GRO staging area are
// members. Threads: recv_burst and send_burst from one thread each (the
// owning poll thread); send_one may be called from any thread at the same
// time (it uses only its stack), which is how the handshake thread answers.
// Counters are relaxed atomics, one writer each, readable from anywhere.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "packet/single_writer_counter.h"
#include "ports/fd.h"
#include "ports/udp_endpoint.h"

namespace sockswitch::ports {

struct UdpSocketOptions final {
  std::uint16_t port = 0;      // 0: the kernel picks one (see port())
  std::uint32_t fwmark = 0;    // SO_MARK; 0: unmarked
  bool gro = true;             // try UDP_GRO on receive (see above)
  bool gso = true;             // try UDP GSO on send
  bool ipv6 = true;            // false: an IPv4-only socket even where IPv6 exists
  int buffer_bytes = 4 << 20;  // SO_RCVBUF/SO_SNDBUF (forced when privileged)
};

// One receive slot: the caller fills data/capacity (and user, to find its
// buffer again), recv_burst the rest. recv_burst may reorder slots, moving
// each with its buffer and user value, so that the delivered ones come first.
struct RxDatagram final {
  std::uint8_t* data = nullptr;
  std::uint32_t capacity = 0;
  void* user = nullptr;  // the caller's (a pool packet); never touched here
  std::uint32_t length = 0;
  UdpEndpoint from;
};

// One datagram to send; `data` must stay valid until send_burst returns.
struct TxDatagram final {
  const std::uint8_t* data = nullptr;
  std::uint32_t length = 0;
  UdpEndpoint to;
};

struct UdpSendResult final {
  std::size_t sent = 0;
  std::size_t sent_bytes = 0;  // UDP payload of the datagrams sent
  std::size_t dropped = 0;     // socket buffer full (EAGAIN/ENOBUFS): congestion, not a fault
  std::size_t errors = 0;      // refused by the stack (no route, wrong family, too big...)
};

struct UdpSocketCounters final {
  std::uint64_t rx_truncated = 0;      // datagrams larger than the buffer lent for them
  std::uint64_t rx_gro_batches = 0;    // GRO super-datagrams split here
  std::uint64_t tx_gso_messages = 0;   // GSO messages sent (each carrying >= 2 datagrams)
  std::uint64_t tx_gso_fallbacks = 0;  // GSO messages resent one datagram at a time
};

class UdpBatchSocket final {
 public:
  static constexpr std::size_t kMaxBurst = 64;        // datagrams per system call
  static constexpr std::size_t kMaxGsoSegments = 64;  // the kernel's UDP_MAX_SEGMENTS
  static constexpr std::size_t kMaxGsoBytes = 65000;  // one GSO message's payload (< 64 KiB IP)
  static constexpr std::size_t kGroSlots = 8;         // super-datagrams staged per recvmmsg

  // Opens and binds; throws std::system_error naming the call on failure
  // (EADDRINUSE for a taken port, EPERM for SO_MARK without CAP_NET_ADMIN).
  explicit UdpBatchSocket(const UdpSocketOptions& options);
  ~UdpBatchSocket();
  UdpBatchSocket(const UdpBatchSocket&) = delete;
  UdpBatchSocket& operator=(const UdpBatchSocket&) = delete;

  // Readable when datagrams wait: the poll thread's wake-up fd.
  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] bool dual_stack() const noexcept { return family_ == AF_INET6; }
  [[nodiscard]] bool gro() const noexcept { return gro_; }
  [[nodiscard]] bool gso() const noexcept { return gso_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint32_t fwmark() const noexcept { return fwmark_; }

  // Control path (UAPI `fwmark=`): throws std::system_error.
  void set_fwmark(std::uint32_t mark);

  // Fills the first n slots of `out` (length and from; slots may have been
  // reordered, see RxDatagram) and returns n; never blocks. Hard socket errors (ICMP unreachable
  // reported by the kernel as ECONNREFUSED and the like) are swallowed: they say nothing about the
  // datagrams still queued.
  [[nodiscard]] std::size_t recv_burst(std::span<RxDatagram> out) noexcept;
  // GRO segments staged but not yet handed out (poll loops must not sleep).
  [[nodiscard]] bool has_pending() const noexcept { return pending_segments_ != 0; }

  // Sends every datagram in order; never blocks.
  [[nodiscard]] UdpSendResult send_burst(std::span<const TxDatagram> in) noexcept;
  // One datagram, from any thread; false (errno set) when not sent.
  [[nodiscard]] bool send_one(const std::uint8_t* data, std::size_t length,
                              const UdpEndpoint& to) noexcept;

  [[nodiscard]] UdpSocketCounters counters() const noexcept;

 private:
  struct GroStage;  // staging area and cursor, only with GRO

  // The destination as this socket's family wants it; false when it cannot
  // carry it (IPv6 on an AF_INET socket).
  [[nodiscard]] bool sockaddr_for(const UdpEndpoint& to, sockaddr_in6& buf,
                                  socklen_t& len) const noexcept;
  [[nodiscard]] std::size_t recv_direct(std::span<RxDatagram> out) noexcept;
  [[nodiscard]] std::size_t recv_gro(std::span<RxDatagram> out) noexcept;
  [[nodiscard]] std::size_t drain_staged(std::span<RxDatagram> out) noexcept;
  void send_chunk(std::span<const TxDatagram> in, UdpSendResult& result) noexcept;
  void send_singly(std::span<const TxDatagram> in, UdpSendResult& result) noexcept;
  static void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
    packet::single_writer_add(c, n);
  }

  Fd fd_;
  int family_ = AF_INET6;
  std::uint16_t port_ = 0;
  std::uint32_t fwmark_ = 0;
  bool gro_ = false;
  std::atomic<bool> gso_{false};  // cleared by the tx thread, read by anyone

  // recv side (one thread)
  std::array<mmsghdr, kMaxBurst> rx_msgs_{};
  std::array<iovec, kMaxBurst> rx_iov_{};
  std::array<sockaddr_in6, kMaxBurst> rx_names_{};
  std::unique_ptr<GroStage> gro_stage_;
  std::size_t pending_segments_ = 0;

  // send side (one thread)
  static constexpr std::size_t kCtrlSpace = CMSG_SPACE(sizeof(std::uint16_t));
  std::array<mmsghdr, kMaxBurst> tx_msgs_{};
  std::array<iovec, kMaxBurst> tx_iov_{};
  std::array<sockaddr_in6, kMaxBurst> tx_names_{};
  alignas(cmsghdr) std::array<std::array<std::uint8_t, kCtrlSpace>, kMaxBurst> tx_ctrl_{};
  std::array<std::uint16_t, kMaxBurst> tx_group_first_{};  // first datagram of each message

  std::atomic<std::uint64_t> rx_truncated_{0}, rx_gro_batches_{0};
  std::atomic<std::uint64_t> tx_gso_messages_{0}, tx_gso_fallbacks_{0};
};

}  // namespace sockswitch::ports
