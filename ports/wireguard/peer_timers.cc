// ports/wireguard/peer_timers.cc: the whitepaper's per-peer timers.
#include "ports/wireguard/peer_timers.h"

#include <algorithm>

namespace sockswitch::wireguard {

PeerTimers::PeerTimers(TimerDurations durations, std::uint64_t jitter_seed) noexcept
    : d_(durations), rng_(jitter_seed) {}

Duration PeerTimers::jitter() noexcept {
  // splitmix64: the jitter only spreads retries of many peers apart, so it
  // needs no cryptographic generator.
  rng_ += 0x9e3779b97f4a7c15ull;
  std::uint64_t z = rng_;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  const auto max =
      static_cast<std::uint64_t>(std::max<Duration::rep>(d_.rekey_timeout_jitter_max.count(), 0));
  return max == 0 ? Duration{0} : Duration{static_cast<Duration::rep>(z % max)};
}

TimerActions PeerTimers::initiate(TimePoint now, bool retry) noexcept {
  if (!retry) attempts_ = 0;
  // At most one initiation per rekey_timeout; the one in flight has its own
  // retransmission.
  if (last_initiation_sent_ && now - *last_initiation_sent_ < d_.rekey_timeout) return {};
  TimerActions a;
  a.send_handshake_initiation = true;
  return a;
}

TimerActions PeerTimers::on_data_sent(TimePoint now, const SessionAge& session) noexcept {
  if (!new_handshake_.armed)
    arm(new_handshake_, now + d_.keepalive_timeout + d_.rekey_timeout + jitter());
  const bool worn = session.messages > d_.rekey_after_messages;
  const bool old = session.we_initiated && now - session.created >= d_.rekey_after_time;
  return worn || old ? initiate(now, false) : TimerActions{};
}

TimerActions PeerTimers::on_data_received(TimePoint now, const SessionAge& session) noexcept {
  if (!send_keepalive_.armed)
    arm(send_keepalive_, now + d_.keepalive_timeout);
  else
    need_another_keepalive_ = true;
  // The initiator renews a session shortly before the responder would have
  // to reject it, once per session.
  const Duration lastminute = d_.reject_after_time - d_.keepalive_timeout - d_.rekey_timeout;
  if (session.we_initiated && !sent_lastminute_handshake_ && now - session.created >= lastminute) {
    sent_lastminute_handshake_ = true;
    return initiate(now, false);
  }
  return {};
}

void PeerTimers::on_authenticated_packet_sent(TimePoint now) noexcept {
  send_keepalive_.armed = false;  // what we sent already tells the peer we are alive
  if (persistent_interval_.count() > 0) arm(persistent_keepalive_, now + persistent_interval_);
}

void PeerTimers::on_authenticated_packet_received(TimePoint now) noexcept {
  new_handshake_.armed = false;  // the peer answered
  if (persistent_interval_.count() > 0) arm(persistent_keepalive_, now + persistent_interval_);
}

void PeerTimers::on_handshake_initiated(TimePoint now) noexcept {
  last_initiation_sent_ = now;
  arm(retransmit_handshake_, now + d_.rekey_timeout + jitter());
}

void PeerTimers::on_handshake_complete(TimePoint) noexcept {
  retransmit_handshake_.armed = false;
  attempts_ = 0;
  sent_lastminute_handshake_ = false;
}

void PeerTimers::on_session_derived(TimePoint now) noexcept {
  arm(zero_key_material_, now + 3 * d_.reject_after_time);
}

TimerActions PeerTimers::on_persistent_keepalive_configured(TimePoint, Duration interval) noexcept {
  const bool was_off = persistent_interval_.count() == 0;
  persistent_interval_ = std::max(interval, Duration{0});
  TimerActions a;
  if (persistent_interval_.count() == 0)
    persistent_keepalive_.armed = false;
  else if (was_off)
    a.send_keepalive = true;  // its send arms the timer
  return a;
}

TimerActions PeerTimers::want_handshake(TimePoint now) noexcept {
  return initiate(now, false);
}

TimerActions PeerTimers::tick(TimePoint now) noexcept {
  auto due = [now](Timer& t) {
    if (!t.armed || t.deadline > now) return false;
    t.armed = false;
    return true;
  };
  TimerActions a;
  if (due(retransmit_handshake_)) {
    if (attempts_ > d_.max_handshake_attempts()) {
      // Give up on this peer until something wants a handshake again.
      send_keepalive_.armed = false;
      a.drop_staged_packets = true;
      if (!zero_key_material_.armed) arm(zero_key_material_, now + 3 * d_.reject_after_time);
    } else {
      ++attempts_;
      a |= initiate(now, true);
    }
  }
  if (due(send_keepalive_)) {
    a.send_keepalive = true;
    if (need_another_keepalive_) {
      need_another_keepalive_ = false;
      arm(send_keepalive_, now + d_.keepalive_timeout);
    }
  }
  if (due(new_handshake_)) a |= initiate(now, false);
  if (due(zero_key_material_)) a.zero_key_material = true;
  if (due(persistent_keepalive_) && persistent_interval_.count() > 0) a.send_keepalive = true;
  return a;
}

std::optional<TimePoint> PeerTimers::next_deadline() const noexcept {
  std::optional<TimePoint> next;
  for (const Timer* t : {&retransmit_handshake_, &send_keepalive_, &new_handshake_,
                         &zero_key_material_, &persistent_keepalive_})
    if (t->armed && (!next || t->deadline < *next)) next = t->deadline;
  return next;
}

void PeerTimers::stop() noexcept {
  for (Timer* t : {&retransmit_handshake_, &send_keepalive_, &new_handshake_, &zero_key_material_,
                   &persistent_keepalive_})
    t->armed = false;
  need_another_keepalive_ = false;
}

bool PeerTimers::session_usable(TimePoint now, const SessionAge& session) const noexcept {
  return now - session.created < d_.reject_after_time &&
         session.messages < d_.reject_after_messages;
}

}  // namespace sockswitch::wireguard
