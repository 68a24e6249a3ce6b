// dataplane/conntrack_tcp.cc: the window checks, in modular sequence arithmetic.
#include "dataplane/conntrack_tcp.h"

#include <algorithm>

namespace sockswitch::dataplane {
namespace {

constexpr std::uint16_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10,
                        kUrg = 0x20;
constexpr std::uint8_t kMaxWscale = 14;
// How far an acknowledgement may lag or lead: a maximal window plus a
// segment's worth of slack.
constexpr std::int64_t kMaxAckWindow = 0xffff + 1500;

// a >= b in sequence space.
bool seq_geq(std::uint32_t a, std::uint32_t b) noexcept {
  return static_cast<std::int32_t>(a - b) >= 0;
}
bool seq_gt(std::uint32_t a, std::uint32_t b) noexcept {
  return static_cast<std::int32_t>(a - b) > 0;
}

// No stack sends these: SYN with RST or FIN, nothing of SYN/ACK/RST, or
// FIN/PSH/URG without ACK.
bool invalid_flags(std::uint16_t f) noexcept {
  if (f & kSyn) {
    if (f & (kRst | kFin)) return true;
  } else if (!(f & (kAck | kRst))) {
    return true;
  }
  return !(f & kAck) && (f & (kFin | kPsh | kUrg));
}

std::uint32_t scaled(std::uint32_t win, std::uint8_t shift) noexcept {
  return win << shift;
}

}  // namespace

const char* tcp_state_name(TcpState s) noexcept {
  static constexpr const char* kNames[] = {"CLOSED",      "LISTEN",     "SYN_SENT",   "SYN_RECV",
                                           "ESTABLISHED", "CLOSE_WAIT", "FIN_WAIT_1", "CLOSING",
                                           "LAST_ACK",    "FIN_WAIT_2", "TIME_WAIT"};
  return kNames[static_cast<std::size_t>(s)];
}

bool tcp_may_start(std::uint16_t flags) noexcept {
  return !invalid_flags(flags) && (flags & (kSyn | kAck)) != (kSyn | kAck);
}

void TcpTracker::start(const TcpSegment& s) noexcept {
  TcpPeer& src = peer[0];
  TcpPeer& dst = peer[1];
  src = {};
  dst = {};
  src.seqlo = s.seq;
  src.seqhi = s.seq + s.payload + 1;
  if (s.flags & kSyn) {
    ++src.seqhi;
    src.wscale = s.wscale;
  } else {
    src.wscale = dst.wscale = kWscaleUnknown;
  }
  src.max_win = std::max<std::uint16_t>(s.window, 1);
  if (src.wscale & kWscaleShift) {
    const std::uint8_t shift = src.wscale & kWscaleShift;
    src.max_win = static_cast<std::uint16_t>((src.max_win + (1u << shift) - 1) >> shift);
  }
  if (s.flags & kFin) ++src.seqhi;
  dst.seqhi = 1;
  dst.max_win = 1;
  src.state = TcpState::syn_sent;
  dst.state = TcpState::closed;
  timeout = TcpTimeout::first_packet;
}

TcpVerdict TcpTracker::update(const TcpSegment& s, bool reply) noexcept {
  TcpPeer& src = peer[reply ? 1 : 0];
  TcpPeer& dst = peer[reply ? 0 : 1];
  const std::uint16_t f = s.flags;
  if (invalid_flags(f)) return TcpVerdict::invalid;
  if ((f & (kSyn | kAck)) == kSyn && src.state >= TcpState::fin_wait_2 &&
      dst.state >= TcpState::fin_wait_2) {
    src.state = dst.state = TcpState::closed;
    return TcpVerdict::reopen;
  }

  std::uint8_t sws = 0, dws = 0;
  if (!(f & kSyn)) {
    if (src.wscale & kWscaleSeen && dst.wscale & kWscaleSeen) {
      sws = src.wscale & kWscaleShift;
      dws = dst.wscale & kWscaleShift;
    } else if (src.wscale & kWscaleUnknown && dst.wscale & kWscaleUnknown) {
      sws = dws = kMaxWscale;
    }
  }

  std::uint32_t win = s.window;
  std::uint32_t seq = s.seq;
  std::uint32_t end = s.seq + s.payload + ((f & kSyn) ? 1 : 0) + ((f & kFin) ? 1 : 0);
  bool check_ackskew = true;
  if (src.state < TcpState::syn_sent) {
    // The first segment from this side.
    if (f & kSyn && dst.wscale & kWscaleSeen) {
      src.wscale = s.wscale;
      if (src.wscale & kWscaleSeen) {
        sws = src.wscale & kWscaleShift;
        win = (win + (1u << sws) - 1) >> sws;
        dws = dst.wscale & kWscaleShift;
      } else {
        dst.max_win = static_cast<std::uint16_t>(dst.max_win << (dst.wscale & kWscaleShift));
        dst.wscale = 0;
      }
    }
    src.seqlo = s.seq;
    src.state = TcpState::syn_sent;
    const std::uint32_t reach = end + std::max<std::uint32_t>(1, scaled(dst.max_win, dws));
    if (src.seqhi == 1 || seq_geq(reach, src.seqhi)) {
      src.seqhi = reach;
      check_ackskew = false;  // picking the connection up: be lenient
    }
    if (win > src.max_win)
      src.max_win = static_cast<std::uint16_t>(std::min<std::uint32_t>(win, 0xffff));
  }

  std::uint32_t ack = s.ack;
  if (!(f & kAck) || (ack == 0 && (f & (kAck | kRst)) == (kAck | kRst))) ack = dst.seqlo;
  if (seq == end) {
    // Segments without data are not held to the sequence window.
    seq = src.seqlo;
    end = seq;
  }
  const std::int64_t ackskew = check_ackskew ? static_cast<std::int32_t>(dst.seqlo - ack) : 0;

  const bool in_window =
      seq_geq(src.seqhi, end) && seq_geq(seq, src.seqlo - scaled(dst.max_win, dws)) &&
      ackskew >= -kMaxAckWindow && ackskew <= (kMaxAckWindow << sws) &&
      (!(f & kRst) || s.seq == src.seqlo || s.seq == src.seqlo + 1 || s.seq + 1 == src.seqlo);
  const bool loose = (dst.state < TcpState::syn_sent || dst.state >= TcpState::fin_wait_2 ||
                      src.state >= TcpState::fin_wait_2) &&
                     seq_geq(src.seqhi + kMaxAckWindow, end) &&
                     seq_geq(seq, src.seqlo - kMaxAckWindow);
  if (!in_window && !loose) {
    // Another SYN (another ISN) from the side that opened, which the other
    // side never answered: the client gave up and tries again from the same
    // port (a container restarting under it). Linux's conntrack takes it as
    // a new attempt; holding it invalid would lock the client out until the
    // entry expires.
    if ((f & (kSyn | kAck)) == kSyn && !reply && src.state == TcpState::syn_sent &&
        dst.state < TcpState::syn_sent) {
      src.state = dst.state = TcpState::closed;
      return TcpVerdict::reopen;
    }
    return TcpVerdict::invalid;
  }

  if (win > src.max_win)
    src.max_win = static_cast<std::uint16_t>(std::min<std::uint32_t>(win, 0xffff));
  if (seq_gt(end, src.seqlo)) src.seqlo = end;
  if (seq_geq(ack + scaled(win, sws), dst.seqhi))
    dst.seqhi = ack + std::max<std::uint32_t>(scaled(win, sws), 1);
  if (f & kFin && src.state < TcpState::closing) src.state = TcpState::closing;
  if (f & kRst) src.state = dst.state = TcpState::time_wait;
  // A segment let through only loosely (shotgunned SYNs, a stream picked
  // up late, stray segments after the close) moves no state forward and
  // keeps the timeout as it is.
  if (!in_window) return TcpVerdict::valid;

  if (f & kSyn && src.state < TcpState::syn_sent) src.state = TcpState::syn_sent;
  if (f & kAck) {
    if (dst.state == TcpState::syn_sent) {
      dst.state = TcpState::established;
    } else if (dst.state == TcpState::closing) {
      dst.state = TcpState::fin_wait_2;
    }
  }
  if (src.state >= TcpState::fin_wait_2 && dst.state >= TcpState::fin_wait_2) {
    timeout = TcpTimeout::closed;
  } else if (src.state >= TcpState::closing && dst.state >= TcpState::closing) {
    timeout = TcpTimeout::fin_wait;
  } else if (src.state < TcpState::established || dst.state < TcpState::established) {
    timeout = TcpTimeout::opening;
  } else if (src.state >= TcpState::closing || dst.state >= TcpState::closing) {
    timeout = TcpTimeout::closing;
  } else {
    timeout = TcpTimeout::established;
  }
  return TcpVerdict::valid;
}

}  // namespace sockswitch::dataplane
