// dataplane/conntrack_tcp.h: TCP state and sequence-window tracking for one connection.
//
// The tracker OVS's userspace conntrack uses (pf's, after Guido van Rooij's
// "Real Stateful TCP Packet Filtering"): each side remembers the highest
// sequence number it sent and how far the other side's acknowledgements and
// window let it go; a segment outside those windows is invalid, as is a
// flag combination no stack sends. Connections are picked up liberally: a
// mid-stream segment may start tracking (the windows open on the first
// segments seen from each side), but a SYN+ACK may not.
//
// Threads: the caller holds the connection's shard lock.
#pragma once

#include <cstdint>

namespace sockswitch::dataplane {

// OVS's (ct_dpif) TCP states, in its order: later is further along.
enum class TcpState : std::uint8_t {
  closed,
  listen,
  syn_sent,
  syn_received,
  established,
  close_wait,
  fin_wait_1,
  closing,
  last_ack,
  fin_wait_2,
  time_wait,
};

[[nodiscard]] const char* tcp_state_name(TcpState s) noexcept;

// The facts of one segment the tracker needs.
struct TcpSegment {
  std::uint16_t flags = 0;  // fin 0x01, syn 0x02, rst 0x04, psh 0x08, ack 0x10, urg 0x20
  std::uint32_t seq = 0, ack = 0;
  std::uint16_t window = 0;
  std::uint32_t payload = 0;  // bytes after the TCP header
  std::uint8_t wscale = 0;    // the window-scale option of a SYN: kWscaleSeen | shift
};

inline constexpr std::uint8_t kWscaleSeen = 0x80;
inline constexpr std::uint8_t kWscaleUnknown = 0x40;  // picked up mid-stream: scale unknown
inline constexpr std::uint8_t kWscaleShift = 0x0f;

struct TcpPeer {
  std::uint32_t seqlo = 0;    // highest sequence number sent
  std::uint32_t seqhi = 0;    // highest the other side's ack and window allow
  std::uint16_t max_win = 0;  // largest window announced (unscaled)
  std::uint8_t wscale = 0;
  TcpState state = TcpState::closed;
};

// Which timeout a connection now lives by.
enum class TcpTimeout : std::uint8_t {
  first_packet,
  opening,
  established,
  closing,
  fin_wait,
  closed
};

enum class TcpVerdict : std::uint8_t {
  valid,
  invalid,
  reopen,  // a fresh SYN on a connection both sides have closed: start over
};

// Whether a segment with these flags may start tracking a connection.
[[nodiscard]] bool tcp_may_start(std::uint16_t flags) noexcept;

// The tracker's two sides, [0] the originator.
struct TcpTracker {
  TcpPeer peer[2];
  TcpTimeout timeout = TcpTimeout::first_packet;

  void start(const TcpSegment& s) noexcept;
  // `reply`: the segment goes from the responder to the originator.
  [[nodiscard]] TcpVerdict update(const TcpSegment& s, bool reply) noexcept;
};

}  // namespace sockswitch::dataplane
