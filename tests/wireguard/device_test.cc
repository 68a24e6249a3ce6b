// Device: two devices back to back in memory (tests/wireguard/device_pair.h).
// Plan of each test: configure both, pump handshakes through their queues,
// send data, then check deliveries, endpoints and drop counters, including
// the negatives (nothing delivered after a drop).
#include "ports/wireguard/device.h"

#include <gtest/gtest.h>

#include "ports/wireguard/uapi_protocol.h"
#include "ports/wireguard/wg_config.h"
#include "tests/wireguard/device_pair.h"

namespace sockswitch::wireguard {
namespace {

using test::DevicePair;
using test::endpoint;
using test::rx_drops;
using test::tx_drops;
using namespace std::chrono_literals;

void handshake_then_data_both_ways(bool with_psk) {
  DevicePair p({}, with_psk);
  // No session yet: the packet is staged and a handshake requested.
  EXPECT_EQ(p.send(p.a, "10.0.0.1", "10.0.0.2", "first").verdict, TxResult::Verdict::staged);
  p.pump();
  ASSERT_EQ(p.b.delivered, std::vector<std::string>{"first"});
  EXPECT_EQ(p.a.device.counters().handshakes_completed, 1u);
  EXPECT_EQ(p.b.device.counters().handshakes_completed, 1u);  // confirmed by data

  EXPECT_EQ(p.send(p.b, "10.0.0.2", "10.0.0.1", "reply").verdict, TxResult::Verdict::send);
  EXPECT_EQ(p.send(p.a, "10.0.0.1", "10.0.0.2", "second").verdict, TxResult::Verdict::send);
  p.pump();
  EXPECT_EQ(p.a.delivered, std::vector<std::string>{"reply"});
  EXPECT_EQ(p.b.delivered, (std::vector<std::string>{"first", "second"}));
  // B learnt A's address from the handshake.
  const DeviceSnapshot snap = p.b.device.snapshot();
  ASSERT_EQ(snap.peers.size(), 1u);
  EXPECT_EQ(snap.peers[0].endpoint, p.a.address);
  EXPECT_GT(snap.peers[0].rx_bytes, 0u);
  EXPECT_GT(snap.peers[0].tx_bytes, 0u);
  EXPECT_GT(snap.peers[0].last_handshake_sec, 0);
}

TEST(Device, HandshakeThroughQueuesThenDataBothWays) {
  handshake_then_data_both_ways(false);
}
TEST(Device, WithPresharedKey) {
  handshake_then_data_both_ways(true);
}

TEST(Device, PaddingAndSizes) {
  DevicePair p;
  (void)p.send(p.a, "10.0.0.1", "10.0.0.2", "x");
  p.pump();
  const TxResult r = p.send(p.a, "10.0.0.1", "10.0.0.2", "abc");  // 23-byte packet
  ASSERT_EQ(r.verdict, TxResult::Verdict::send);
  EXPECT_EQ(r.datagram_size, 16u + 32u + 16u);  // header, padded to 32, tag
  EXPECT_EQ(r.endpoint, p.b.address);
  p.pump();
  EXPECT_EQ(p.b.delivered.back(), "abc");  // padding stripped by the IP length
}

TEST(Device, NoPeerForDestinationIsDropped) {
  DevicePair p;
  EXPECT_EQ(p.send(p.a, "10.0.0.1", "10.9.9.9", "x").drop, TxDrop::no_peer);
  EXPECT_EQ(tx_drops(p.a.device, TxDrop::no_peer), 1u);
  std::vector<std::uint8_t> junk(40, 0x99);
  const TxPacket in{junk.data() + 16, 8};
  TxResult out;
  p.a.device.encrypt_burst({&in, 1}, {&out, 1}, p.now);
  EXPECT_EQ(out.drop, TxDrop::not_ip);
}

TEST(Device, SourceOutsideAllowedIpsIsDroppedAndCounted) {
  DevicePair p;
  (void)p.send(p.a, "10.0.0.1", "10.0.0.2", "x");
  p.pump();
  // B may only send from 10.0.0.2 as far as A is concerned.
  ASSERT_EQ(p.send(p.b, "10.0.0.99", "10.0.0.1", "spoofed").verdict, TxResult::Verdict::send);
  p.pump();
  EXPECT_TRUE(p.a.delivered.empty());
  EXPECT_EQ(rx_drops(p.a.device, RxDrop::source_not_allowed), 1u);
}

TEST(Device, RoamingFollowsTheLastAuthenticatedPacket) {
  DevicePair p;
  (void)p.send(p.a, "10.0.0.1", "10.0.0.2", "x");
  p.pump();
  ASSERT_EQ(p.send(p.b, "10.0.0.2", "10.0.0.1", "from a new address").verdict,
            TxResult::Verdict::send);
  const std::vector<std::uint8_t> datagram = p.b.sent.back();
  p.wire.clear();
  const Endpoint roamed = endpoint("198.51.100.7", 40000);
  EXPECT_EQ(p.receive(p.a, datagram, roamed).verdict, RxResult::Verdict::deliver);
  EXPECT_EQ(p.a.device.snapshot().peers[0].endpoint, roamed);
  EXPECT_EQ(p.send(p.a, "10.0.0.1", "10.0.0.2", "y").endpoint, roamed);
  // A forged packet from elsewhere does not move it.
  std::vector<std::uint8_t> forged = datagram;
  forged.back() ^= 1;
  (void)p.receive(p.a, forged, endpoint("203.0.113.1", 1));
  EXPECT_EQ(p.a.device.snapshot().peers[0].endpoint, roamed);
}

TEST(Device, ReplayedForgedTruncatedAndUnknownIndexAreDroppedAndCounted) {
  DevicePair p;
  (void)p.send(p.a, "10.0.0.1", "10.0.0.2", "x");
  p.pump();
  ASSERT_EQ(p.send(p.a, "10.0.0.1", "10.0.0.2", "once").verdict, TxResult::Verdict::send);
  p.wire.clear();
  const std::vector<std::uint8_t> good = p.a.sent.back();
  EXPECT_EQ(p.receive(p.b, good, p.a.address).verdict, RxResult::Verdict::deliver);
  EXPECT_EQ(p.receive(p.b, good, p.a.address).drop, RxDrop::replayed);
  auto forged = good;
  forged[20] ^= 0x40;
  EXPECT_EQ(p.receive(p.b, forged, p.a.address).drop, RxDrop::forged);
  EXPECT_EQ(p.receive(p.b, {good.begin(), good.begin() + 31}, p.a.address).drop, RxDrop::malformed);
  auto wrong_index = good;
  wrong_index[4] ^= 0xff;
  wrong_index[7] ^= 0x5a;
  EXPECT_EQ(p.receive(p.b, wrong_index, p.a.address).drop, RxDrop::unknown_index);
  EXPECT_EQ(p.b.delivered, (std::vector<std::string>{"x", "once"}));
  EXPECT_EQ(rx_drops(p.b.device, RxDrop::replayed), 1u);
  EXPECT_EQ(rx_drops(p.b.device, RxDrop::forged), 1u);
  EXPECT_EQ(rx_drops(p.b.device, RxDrop::malformed), 1u);
  EXPECT_EQ(rx_drops(p.b.device, RxDrop::unknown_index), 1u);
}

TEST(Device, ReplayedInitiationIsRefused) {
  DevicePair p;
  (void)p.send(p.a, "10.0.0.1", "10.0.0.2", "x");
  p.pump();
  const auto& initiation = p.a.sent.front();
  ASSERT_EQ(initiation.size(), kInitiationSize);
  EXPECT_EQ(p.receive(p.b, initiation, p.a.address).verdict, RxResult::Verdict::consumed);
  std::vector<OutgoingDatagram> out;
  p.b.device.process_handshakes(p.now + 1s, out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(p.b.device.counters()
                .handshake_errors[static_cast<std::size_t>(HandshakeError::replayed_timestamp)],
            1u);
}

TEST(Device, RekeysWithShortenedTimers) {
  DeviceOptions o;
  o.timers.rekey_after_time = 4s;
  o.timers.reject_after_time = 6s;
  o.timers.keepalive_timeout = 1s;
  o.timers.rekey_timeout = 1s;
  DevicePair p(o);
  (void)p.send(p.a, "10.0.0.1", "10.0.0.2", "x");
  p.pump();
  ASSERT_EQ(p.a.device.counters().handshakes_completed, 1u);
  for (int i = 0; i < 12; ++i) {
    p.now += 500ms;
    EXPECT_EQ(p.send(p.a, "10.0.0.1", "10.0.0.2", "tick").verdict, TxResult::Verdict::send) << i;
    p.pump();
  }
  // The initiator's session aged past rekey_after_time while it sent, so
  // it made a new one; traffic never stopped.
  EXPECT_GE(p.a.device.counters().handshakes_completed, 2u);
  EXPECT_EQ(p.b.delivered.size(), 13u);
}

TEST(Device, KeysExpireAndAreZeroedOnAFakeClock) {
  DeviceOptions o;
  o.timers.rekey_after_time = 4s;
  o.timers.reject_after_time = 6s;
  DevicePair p(o);
  (void)p.send(p.a, "10.0.0.1", "10.0.0.2", "x");
  p.pump();
  ASSERT_EQ(p.send(p.a, "10.0.0.1", "10.0.0.2", "late").verdict, TxResult::Verdict::send);
  const std::vector<std::uint8_t> late = p.a.sent.back();
  p.wire.clear();
  // Past reject_after_time the session may neither send nor receive.
  p.now += 7s;
  EXPECT_EQ(p.receive(p.b, late, p.a.address).drop, RxDrop::expired);
  // After 3 * reject_after_time the keys are gone altogether.
  p.now += 12s;
  std::vector<OutgoingDatagram> out;
  p.b.device.tick(p.now, out);
  p.b.device.process_handshakes(p.now, out);  // reclaims retired keypairs
  EXPECT_EQ(p.receive(p.b, late, p.a.address).drop, RxDrop::unknown_index);
  // Sending again needs a new handshake, which works.
  EXPECT_EQ(p.send(p.b, "10.0.0.2", "10.0.0.1", "again").verdict, TxResult::Verdict::staged);
  // A's own timers also start a handshake now (it sent "late" and heard
  // nothing), so the two initiations may cross; the retries' jitter
  // (up to 1/3 s) separates them, so step the clock finer than that.
  for (int i = 0; i < 600 && p.a.delivered.empty(); ++i) {
    p.pump();
    p.now += 50ms;
  }
  EXPECT_EQ(p.a.delivered, std::vector<std::string>{"again"});
}

TEST(Device, UnderLoadTheResponderDemandsACookie) {
  DeviceOptions loaded;
  loaded.under_load_queue_depth = 0;  // B is always under load
  DevicePair p({}, false, loaded);
  (void)p.send(p.a, "10.0.0.1", "10.0.0.2", "x");
  p.pump();
  // First initiation answered by a cookie reply; A retries (rekey_timeout)
  // with mac2 and then gets through.
  EXPECT_GE(p.b.device.counters().cookie_replies_sent, 1u);
  EXPECT_TRUE(p.b.delivered.empty());
  p.now += 6s;
  p.pump();
  EXPECT_EQ(p.b.delivered, std::vector<std::string>{"x"});
}

TEST(Device, HandshakeQueueOverflowIsCountedNotBlocking) {
  DeviceOptions o;
  o.handshake_queue_size = 4;
  DevicePair p(o);
  std::vector<std::uint8_t> junk(kInitiationSize, 0);
  junk[0] = 1;
  for (int i = 0; i < 10; ++i)
    (void)p.receive(p.b, junk, p.a.address);
  EXPECT_EQ(rx_drops(p.b.device, RxDrop::handshake_queue_full), 6u);
  std::vector<OutgoingDatagram> out;
  p.b.device.process_handshakes(p.now, out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(p.b.device.counters().bad_mac1, 4u);
}

TEST(Device, RemovedPeerStopsRouting) {
  DevicePair p;
  (void)p.send(p.a, "10.0.0.1", "10.0.0.2", "x");
  p.pump();
  DeviceChange c;
  PeerChange remove;
  remove.public_key = p.b.public_key;
  remove.remove = true;
  c.peers.push_back(remove);
  p.a.device.apply(c, p.now);
  EXPECT_EQ(p.send(p.a, "10.0.0.1", "10.0.0.2", "y").drop, TxDrop::no_peer);
  EXPECT_TRUE(p.a.device.snapshot().peers.empty());
}

// A reload applies the wg file as `wg syncconf` does (to_device_sync): the
// peer it keeps keeps its session, and a peer it adds does not disturb it.
// `wg setconf`'s form (to_device_change) replaces every peer, sessions and
// all: the next packet waits for a new handshake.
TEST(Device, AReloadThatKeepsAPeerKeepsItsSession) {
  DevicePair p;
  (void)p.send(p.a, "10.0.0.1", "10.0.0.2", "x");
  p.pump();
  ASSERT_EQ(p.a.device.counters().handshakes_completed, 1u);
  WgConfig file;
  file.interface.private_key = p.a.private_key;
  file.interface.listen_port = 51820;
  PeerConfig b;
  b.public_key = p.b.public_key;
  b.endpoint = p.b.address;
  b.allowed_ips = {*IpPrefix::parse("10.0.0.2/32")};
  PeerConfig other;
  other.public_key = *public_key_of(generate_private_key());
  other.allowed_ips = {*IpPrefix::parse("10.9.0.0/16")};
  other.persistent_keepalive = 25;
  file.peers = {b, other};

  p.a.device.apply(to_device_sync(file), p.now);
  EXPECT_EQ(p.send(p.a, "10.0.0.1", "10.0.0.2", "y").verdict, TxResult::Verdict::send);
  EXPECT_EQ(p.a.device.snapshot().peers.size(), 2u);
  file.peers = {b};  // and a peer the file drops is removed
  p.a.device.apply(to_device_sync(file), p.now);
  EXPECT_EQ(p.send(p.a, "10.0.0.1", "10.9.0.1", "z").drop, TxDrop::no_peer);
  EXPECT_EQ(p.send(p.a, "10.0.0.1", "10.0.0.2", "w").verdict, TxResult::Verdict::send);
  p.pump();
  EXPECT_EQ(p.b.delivered, (std::vector<std::string>{"x", "y", "w"}));
  EXPECT_EQ(p.a.device.counters().handshakes_completed, 1u);

  p.a.device.apply(to_device_change(file), p.now);
  EXPECT_EQ(p.send(p.a, "10.0.0.1", "10.0.0.2", "v").verdict, TxResult::Verdict::staged);
}

}  // namespace
}  // namespace sockswitch::wireguard
