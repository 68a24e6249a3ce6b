// ports/wireguard/peer_timers.h: a peer's WireGuard timers (whitepaper §6) as
// a pure state machine.
//
// What: the Device reports what happened to a peer (data sent or received,
// an authenticated packet sent or received, a handshake initiated or
// completed, a session derived, persistent keepalive configured), each with
// a timestamp from its clock; tick(now) says what is due (send a handshake
// initiation, send a keepalive, zero the key material, drop the packets
// staged for a peer that does not answer). next_deadline() says when to call
// tick() next, so the handshake thread can sleep on one timerfd for all
// peers. Nothing here reads a clock, sends or sleeps, so a test drives it
// with a fake clock and checks each timer alone.
//
// The timers, as the Linux module runs them (durations in TimerDurations):
//   retransmit_handshake  armed rekey_timeout + jitter after an initiation is
//                         sent; fires a retry, or once more than
//                         rekey_attempt_time / rekey_timeout retries have
//                         gone unanswered gives up (drop staged
//                         packets, stop keepalives, zero keys in 3 * reject).
//   send_keepalive        armed keepalive_timeout after data is received if
//                         we have sent nothing since; fires a keepalive.
//   new_handshake         armed keepalive + rekey_timeout + jitter after data
//                         is sent; cancelled by any authenticated packet
//                         received; fires a new initiation (the peer went
//                         quiet).
//   zero_key_material     armed 3 * reject_after_time after a session is
//                         derived (or when giving up); fires zero_keys.
//   persistent_keepalive  armed `interval` after any authenticated packet
//                         sent or received; fires a keepalive.
// Key freshness (checked on the data path, not by timers): the initiator of
// the current session rekeys when sending on a session older than
// rekey_after_time or past rekey_after_messages, and once when receiving on
// one older than reject - keepalive - rekey_timeout.
// Initiations are rate-limited: none within rekey_timeout of the last one.
//
// Threads: one PeerTimers per peer, owned by the thread that runs its
// handshakes; every call is noexcept and allocation-free.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace sockswitch::wireguard {

using TimerClock = std::chrono::steady_clock;
using TimePoint = TimerClock::time_point;
using Duration = std::chrono::nanoseconds;

// The whitepaper's constants; tests and interop runs shorten them.
struct TimerDurations {
  Duration rekey_after_time = std::chrono::seconds(120);
  Duration reject_after_time = std::chrono::seconds(180);
  Duration rekey_attempt_time = std::chrono::seconds(90);
  Duration rekey_timeout = std::chrono::seconds(5);
  Duration keepalive_timeout = std::chrono::seconds(10);
  Duration rekey_timeout_jitter_max = std::chrono::milliseconds(333);
  std::uint64_t rekey_after_messages = std::uint64_t{1} << 60;
  std::uint64_t reject_after_messages = ~std::uint64_t{0} - (std::uint64_t{1} << 13);

  // Retries of one handshake before giving up (18 with the defaults).
  [[nodiscard]] std::uint64_t max_handshake_attempts() const noexcept {
    return rekey_timeout.count() > 0
               ? static_cast<std::uint64_t>(rekey_attempt_time / rekey_timeout)
               : 0;
  }
};

// What the Device must do now. Several may be due at once.
struct TimerActions {
  bool send_handshake_initiation = false;
  bool send_keepalive = false;
  bool zero_key_material = false;    // forget every keypair and handshake
  bool drop_staged_packets = false;  // the peer did not answer for 90 s

  [[nodiscard]] bool any() const noexcept {
    return send_handshake_initiation || send_keepalive || zero_key_material || drop_staged_packets;
  }
  TimerActions& operator|=(const TimerActions& o) noexcept {
    send_handshake_initiation |= o.send_handshake_initiation;
    send_keepalive |= o.send_keepalive;
    zero_key_material |= o.zero_key_material;
    drop_staged_packets |= o.drop_staged_packets;
    return *this;
  }
  friend bool operator==(const TimerActions&, const TimerActions&) = default;
};

// The session (keypair) a packet was sent or received on, for key freshness.
struct SessionAge {
  TimePoint created;
  bool we_initiated = false;
  std::uint64_t messages = 0;  // the sending counter, for the send side
};

class PeerTimers final {
 public:
  // `jitter_seed` seeds the generator of the handshake jitter (not secret).
  explicit PeerTimers(TimerDurations durations = {}, std::uint64_t jitter_seed = 1) noexcept;

  // --- events: call when the thing happened --------------------------------
  // A data packet (not a keepalive) was sent on `session`; may ask for a
  // rekey (initiator, old or worn session).
  [[nodiscard]] TimerActions on_data_sent(TimePoint now, const SessionAge& session) noexcept;
  // A data packet (not a keepalive) was received on `session`; may ask for
  // the initiator's last-minute rekey.
  [[nodiscard]] TimerActions on_data_received(TimePoint now, const SessionAge& session) noexcept;
  // Any authenticated packet (data, keepalive, handshake message) sent.
  void on_authenticated_packet_sent(TimePoint now) noexcept;
  // Any authenticated packet received (after its MAC or tag checked).
  void on_authenticated_packet_received(TimePoint now) noexcept;
  // A handshake initiation was sent (a retry or a new one). Call it even
  // when the send failed, so that retries go on; call
  // on_authenticated_packet_sent as well, as for any handshake message.
  void on_handshake_initiated(TimePoint now) noexcept;
  // A handshake completed: we got a response, or the first data on the
  // session we answered.
  void on_handshake_complete(TimePoint now) noexcept;
  // New session keys were derived (either role).
  void on_session_derived(TimePoint now) noexcept;
  // Persistent keepalive set to `interval` (zero turns it off). Turning it
  // on sends one keepalive at once, as wg does when a peer is configured.
  [[nodiscard]] TimerActions on_persistent_keepalive_configured(TimePoint now,
                                                                Duration interval) noexcept;

  // The Device wants a handshake (packets are staged with no session): a
  // new attempt, subject to the rate limit.
  [[nodiscard]] TimerActions want_handshake(TimePoint now) noexcept;

  // --- time ------------------------------------------------------------------
  // Fires every timer whose deadline is at or before `now`.
  [[nodiscard]] TimerActions tick(TimePoint now) noexcept;
  // The earliest armed deadline; nullopt when nothing is armed.
  [[nodiscard]] std::optional<TimePoint> next_deadline() const noexcept;
  // The peer is removed or the device goes down: disarm everything.
  void stop() noexcept;

  // --- queries ---------------------------------------------------------------
  // Whether `session` may still carry data (younger than reject_after_time
  // and under reject_after_messages).
  [[nodiscard]] bool session_usable(TimePoint now, const SessionAge& session) const noexcept;
  [[nodiscard]] std::uint64_t handshake_attempts() const noexcept { return attempts_; }
  [[nodiscard]] const TimerDurations& durations() const noexcept { return d_; }

 private:
  struct Timer {
    TimePoint deadline{};
    bool armed = false;
  };
  [[nodiscard]] Duration jitter() noexcept;
  [[nodiscard]] TimerActions initiate(TimePoint now, bool retry) noexcept;
  void arm(Timer& t, TimePoint at) noexcept { t = {at, true}; }

  TimerDurations d_;
  std::uint64_t rng_;
  Timer retransmit_handshake_, send_keepalive_, new_handshake_, zero_key_material_,
      persistent_keepalive_;
  Duration persistent_interval_{0};
  std::optional<TimePoint> last_initiation_sent_;
  std::uint64_t attempts_ = 0;
  bool need_another_keepalive_ = false;
  bool sent_lastminute_handshake_ = false;
};

}  // namespace sockswitch::wireguard
