// Plan: drive PeerTimers with a fake clock (plain time points), one timer
// per test, checking what tick() reports just before and at each deadline.
#include "ports/wireguard/peer_timers.h"

#include <gtest/gtest.h>

#include <set>

namespace sockswitch::wireguard {
namespace {

using namespace std::chrono_literals;

TimePoint at(Duration d) {
  return TimePoint{} + 1000s + d;
}

TimerDurations no_jitter() {
  TimerDurations d;
  d.rekey_timeout_jitter_max = 0ns;
  return d;
}

TimerActions initiation() {
  TimerActions a;
  a.send_handshake_initiation = true;
  return a;
}
TimerActions keepalive() {
  TimerActions a;
  a.send_keepalive = true;
  return a;
}

TEST(PeerTimers, NothingArmedAtStart) {
  PeerTimers t;
  EXPECT_FALSE(t.next_deadline());
  EXPECT_FALSE(t.tick(at(1h)).any());
  EXPECT_EQ(t.durations().max_handshake_attempts(), 18u);
}

TEST(PeerTimers, RetransmitsInitiationAfterRekeyTimeoutPlusJitter) {
  PeerTimers t;  // default jitter up to 333 ms
  t.on_handshake_initiated(at(0s));
  const TimePoint deadline = *t.next_deadline();
  EXPECT_GE(deadline, at(5s));
  EXPECT_LT(deadline, at(5s + 333ms));
  EXPECT_FALSE(t.tick(at(5s) - 1ns).any());
  EXPECT_EQ(t.tick(deadline), initiation());
  EXPECT_EQ(t.handshake_attempts(), 1u);
  // Completion stops the retries.
  t.on_handshake_initiated(deadline);
  t.on_handshake_complete(deadline + 1s);
  EXPECT_EQ(t.handshake_attempts(), 0u);
  EXPECT_FALSE(t.tick(deadline + 1h).any());
}

TEST(PeerTimers, JitterVariesAndStaysBelowMax) {
  PeerTimers t(TimerDurations{}, 42);
  std::set<Duration> seen;
  for (int i = 0; i < 50; ++i) {
    t.on_handshake_initiated(at(0s));
    const Duration j = *t.next_deadline() - at(5s);
    EXPECT_GE(j, 0ns);
    EXPECT_LT(j, 333ms);
    seen.insert(j);
  }
  EXPECT_GT(seen.size(), 40u);
}

TEST(PeerTimers, GivesUpAfterRekeyAttemptTime) {
  PeerTimers t(no_jitter());
  Duration now = 0s;
  t.on_handshake_initiated(at(now));
  int initiations = 1;
  for (;;) {
    now += 5s;
    const TimerActions a = t.tick(at(now));
    if (a.drop_staged_packets) {
      EXPECT_FALSE(a.send_handshake_initiation);
      break;
    }
    ASSERT_EQ(a, initiation()) << "at " << now.count();
    t.on_handshake_initiated(at(now));
    ++initiations;
    ASSERT_LT(initiations, 100);
  }
  // As the Linux module: the first one and 19 retries, then give up.
  EXPECT_EQ(initiations, 20);
  EXPECT_EQ(now, 100s);
  // Giving up schedules the keys' zeroing in 3 * reject_after_time.
  EXPECT_EQ(t.next_deadline(), at(now + 540s));
  EXPECT_FALSE(t.tick(at(now + 540s) - 1ns).any());
  TimerActions zero;
  zero.zero_key_material = true;
  EXPECT_EQ(t.tick(at(now + 540s)), zero);
  // Staged packets start a new round of 20.
  EXPECT_EQ(t.want_handshake(at(now + 600s)), initiation());
  EXPECT_EQ(t.handshake_attempts(), 0u);
}

TEST(PeerTimers, RateLimitsInitiations) {
  PeerTimers t(no_jitter());
  EXPECT_EQ(t.want_handshake(at(0s)), initiation());
  t.on_handshake_initiated(at(0s));
  EXPECT_FALSE(t.want_handshake(at(4999ms)).any());
  EXPECT_EQ(t.want_handshake(at(5s)), initiation());
}

TEST(PeerTimers, KeepaliveAfterReceivingDataWithoutSending) {
  PeerTimers t(no_jitter());
  const SessionAge s{at(0s), false, 0};
  EXPECT_FALSE(t.on_data_received(at(1s), s).any());
  EXPECT_EQ(t.next_deadline(), at(11s));
  EXPECT_FALSE(t.tick(at(11s) - 1ns).any());
  EXPECT_EQ(t.tick(at(11s)), keepalive());
  EXPECT_FALSE(t.next_deadline());
}

TEST(PeerTimers, SendingCancelsTheKeepalive) {
  PeerTimers t(no_jitter());
  const SessionAge s{at(0s), false, 0};
  (void)t.on_data_received(at(1s), s);
  t.on_authenticated_packet_sent(at(2s));
  EXPECT_FALSE(t.tick(at(1h)).any());
}

TEST(PeerTimers, DataDuringAPendingKeepaliveAsksForAnotherOne) {
  PeerTimers t(no_jitter());
  const SessionAge s{at(0s), false, 0};
  (void)t.on_data_received(at(0s), s);
  (void)t.on_data_received(at(3s), s);  // timer already pending
  EXPECT_EQ(t.tick(at(10s)), keepalive());
  EXPECT_EQ(t.next_deadline(), at(20s));
  EXPECT_EQ(t.tick(at(20s)), keepalive());
  EXPECT_FALSE(t.next_deadline());
}

TEST(PeerTimers, NewHandshakeWhenSentDataGetsNoReply) {
  PeerTimers t(no_jitter());
  const SessionAge s{at(0s), false, 1};
  EXPECT_FALSE(t.on_data_sent(at(1s), s).any());
  (void)t.on_data_sent(at(2s), s);  // does not push the deadline
  EXPECT_EQ(t.next_deadline(), at(16s));
  EXPECT_FALSE(t.tick(at(16s) - 1ns).any());
  EXPECT_EQ(t.tick(at(16s)), initiation());
}

TEST(PeerTimers, AnyAuthenticatedReplyCancelsTheNewHandshake) {
  PeerTimers t(no_jitter());
  (void)t.on_data_sent(at(0s), SessionAge{at(0s), false, 1});
  t.on_authenticated_packet_received(at(3s));
  EXPECT_FALSE(t.tick(at(1h)).any());
}

TEST(PeerTimers, InitiatorRekeysOnSendAfterRekeyAfterTime) {
  PeerTimers t(no_jitter());
  const SessionAge mine{at(0s), true, 10};
  const SessionAge theirs{at(0s), false, 10};
  EXPECT_FALSE(t.on_data_sent(at(120s) - 1ns, mine).any());
  EXPECT_FALSE(t.on_data_sent(at(200s), theirs).any());  // only the initiator
  EXPECT_EQ(t.on_data_sent(at(120s), mine), initiation());
}

TEST(PeerTimers, EitherSideRekeysAfterRekeyAfterMessages) {
  TimerDurations d = no_jitter();
  d.rekey_after_messages = 100;
  PeerTimers t(d);
  EXPECT_FALSE(t.on_data_sent(at(1s), SessionAge{at(0s), false, 100}).any());
  EXPECT_EQ(t.on_data_sent(at(1s), SessionAge{at(0s), false, 101}), initiation());
}

TEST(PeerTimers, InitiatorRekeysOnceOnReceiveNearRejectAfterTime) {
  PeerTimers t(no_jitter());
  const SessionAge mine{at(0s), true, 0};
  // 180 - 10 - 5 = 165 s.
  EXPECT_FALSE(t.on_data_received(at(165s) - 1ns, mine).any());
  EXPECT_FALSE(t.on_data_received(at(200s), SessionAge{at(0s), false, 0}).any());
  EXPECT_EQ(t.on_data_received(at(165s), mine), initiation());
  t.on_handshake_initiated(at(165s));
  EXPECT_FALSE(t.on_data_received(at(171s), mine).any());  // only once
  t.on_handshake_complete(at(172s));
  EXPECT_EQ(t.on_data_received(at(178s), mine), initiation());  // re-armed
}

TEST(PeerTimers, ZeroesKeysThreeRejectTimesAfterTheLastSession) {
  PeerTimers t(no_jitter());
  t.on_session_derived(at(0s));
  t.on_session_derived(at(100s));  // a newer session moves the deadline
  EXPECT_EQ(t.next_deadline(), at(640s));
  EXPECT_FALSE(t.tick(at(640s) - 1ns).any());
  TimerActions zero;
  zero.zero_key_material = true;
  EXPECT_EQ(t.tick(at(640s)), zero);
}

TEST(PeerTimers, PersistentKeepalive) {
  PeerTimers t(no_jitter());
  EXPECT_EQ(t.on_persistent_keepalive_configured(at(0s), 25s), keepalive());  // at once
  t.on_authenticated_packet_sent(at(0s));
  EXPECT_EQ(t.next_deadline(), at(25s));
  t.on_authenticated_packet_received(at(10s));  // any traffic pushes it
  EXPECT_FALSE(t.tick(at(35s) - 1ns).any());
  EXPECT_EQ(t.tick(at(35s)), keepalive());
  // Changing the interval does not send again; turning it off disarms it.
  EXPECT_FALSE(t.on_persistent_keepalive_configured(at(36s), 30s).any());
  t.on_authenticated_packet_sent(at(36s));
  EXPECT_FALSE(t.on_persistent_keepalive_configured(at(37s), 0s).any());
  EXPECT_FALSE(t.tick(at(1h)).any());
}

TEST(PeerTimers, ShortenedDurationsForInteropTests) {
  TimerDurations d = no_jitter();
  d.rekey_after_time = 3s;
  PeerTimers t(d);
  EXPECT_EQ(t.on_data_sent(at(3s), SessionAge{at(0s), true, 0}), initiation());
}

TEST(PeerTimers, SessionUsableUntilRejectAfterTimeOrMessages) {
  PeerTimers t;
  const SessionAge s{at(0s), true, 5};
  EXPECT_TRUE(t.session_usable(at(180s) - 1ns, s));
  EXPECT_FALSE(t.session_usable(at(180s), s));
  EXPECT_FALSE(
      t.session_usable(at(1s), SessionAge{at(0s), true, t.durations().reject_after_messages}));
}

TEST(PeerTimers, StopDisarmsEverything) {
  PeerTimers t(no_jitter());
  t.on_handshake_initiated(at(0s));
  t.on_session_derived(at(0s));
  (void)t.on_data_sent(at(0s), SessionAge{});
  t.stop();
  EXPECT_FALSE(t.next_deadline());
  EXPECT_FALSE(t.tick(at(1h)).any());
}

TEST(PeerTimers, SeveralTimersDueInOneTick) {
  PeerTimers t(no_jitter());
  (void)t.on_data_received(at(0s), SessionAge{});  // keepalive at 10 s
  (void)t.on_data_sent(at(0s), SessionAge{});      // new handshake at 15 s
  TimerActions both = keepalive();
  both.send_handshake_initiation = true;
  EXPECT_EQ(t.tick(at(20s)), both);
}

}  // namespace
}  // namespace sockswitch::wireguard
