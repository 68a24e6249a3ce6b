// Noise_IKpsk2: in-process handshakes (with and without a preshared key)
// whose transport keys work both ways, the responder's replay and flood
// checks, and a handshake initiation recorded from Debian's wireguard-go.
#include "ports/wireguard/noise_handshake.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "ports/wireguard/chacha20_poly1305.h"
#include "ports/wireguard/cookie_mac.h"
#include "ports/wireguard/x25519.h"
#include "tests/wireguard/hex_bytes.h"

namespace sockswitch::wireguard {
namespace {

using namespace std::chrono_literals;

LocalIdentity identity(const SecretKey& priv) {
  LocalIdentity id;
  id.private_key = priv;
  id.public_key = *public_key_of(priv);
  return id;
}

LocalIdentity identity_from_base64(const char* text) {
  return identity(SecretKey(*key_from_base64(text)));
}

PeerIdentity peer_of(const LocalIdentity& local, const PublicKey& remote, const SecretKey& psk) {
  PeerIdentity p;
  p.remote_static = remote;
  p.preshared_key = psk;
  EXPECT_TRUE(precompute_static_static(local, p));
  return p;
}

const Tai64n kT0 = tai64n_from(std::chrono::system_clock::time_point(1'700'000'000s));
const TimePoint kNow = TimePoint(1000s);

struct Pair {
  LocalIdentity a = identity(generate_private_key());  // initiator
  LocalIdentity b = identity(generate_private_key());  // responder
  SecretKey psk;
  PeerIdentity a_sees_b, b_sees_a;
  HandshakeState a_state, b_state;

  explicit Pair(bool with_psk) {
    if (with_psk) psk = generate_private_key();
    a_sees_b = peer_of(a, b.public_key, psk);
    b_sees_a = peer_of(b, a.public_key, psk);
  }
};

void expect_keys_work(const SessionKeys& sender, const SessionKeys& receiver) {
  ChaCha20Poly1305 aead;
  std::vector<std::uint8_t> buf = {'h', 'i'};
  buf.resize(buf.size() + kAeadTagSize);
  ASSERT_TRUE(aead.seal(sender.send.span(), counter_nonce(3), {}, buf));
  EXPECT_TRUE(aead.open(receiver.receive.span(), counter_nonce(3), {}, buf));
  EXPECT_EQ(buf[0], 'h');
}

void run_handshake(bool with_psk) {
  Pair p(with_psk);
  InitiationMessage init;
  ASSERT_TRUE(
      create_initiation(p.a, p.a_sees_b, p.a_state, 0x11111111, generate_private_key(), kT0, init));
  OpenedInitiation opened;
  ASSERT_EQ(open_initiation(p.b, init, opened), HandshakeError::none);
  EXPECT_EQ(opened.initiator_static, p.a.public_key);
  EXPECT_EQ(opened.sender_index, 0x11111111u);
  ASSERT_EQ(accept_initiation(p.b_sees_a, p.b_state, init, opened, kNow), HandshakeError::none);
  ResponseMessage resp;
  ASSERT_TRUE(create_response(p.b_sees_a, p.b_state, 0x22222222, generate_private_key(), resp));
  EXPECT_EQ(load_index(resp.receiver), 0x11111111u);
  ASSERT_EQ(consume_response(p.a, p.a_sees_b, p.a_state, resp), HandshakeError::none);
  SessionKeys ka, kb;
  ASSERT_TRUE(derive_session(p.a_state, ka));
  ASSERT_TRUE(derive_session(p.b_state, kb));
  EXPECT_TRUE(ka.we_initiated);
  EXPECT_FALSE(kb.we_initiated);
  EXPECT_EQ(ka.local_index, 0x11111111u);
  EXPECT_EQ(ka.remote_index, 0x22222222u);
  EXPECT_EQ(kb.local_index, 0x22222222u);
  EXPECT_EQ(kb.remote_index, 0x11111111u);
  EXPECT_TRUE(equal_constant_time(ka.send.span(), kb.receive.span()));
  EXPECT_TRUE(equal_constant_time(ka.receive.span(), kb.send.span()));
  EXPECT_FALSE(equal_constant_time(ka.send.span(), ka.receive.span()));
  expect_keys_work(ka, kb);
  expect_keys_work(kb, ka);
  // Derivation wipes the handshake.
  EXPECT_TRUE(p.a_state.chaining_key.is_zero());
  EXPECT_EQ(p.a_state.stage, HandshakeStage::none);
}

TEST(NoiseHandshake, WithoutPresharedKey) {
  run_handshake(false);
}
TEST(NoiseHandshake, WithPresharedKey) {
  run_handshake(true);
}

TEST(NoiseHandshake, MismatchedPresharedKeyFailsAtTheResponse) {
  Pair p(true);
  p.a_sees_b.preshared_key = generate_private_key();
  InitiationMessage init;
  ASSERT_TRUE(create_initiation(p.a, p.a_sees_b, p.a_state, 1, generate_private_key(), kT0, init));
  OpenedInitiation opened;
  ASSERT_EQ(open_initiation(p.b, init, opened), HandshakeError::none);
  ASSERT_EQ(accept_initiation(p.b_sees_a, p.b_state, init, opened, kNow), HandshakeError::none);
  ResponseMessage resp;
  ASSERT_TRUE(create_response(p.b_sees_a, p.b_state, 2, generate_private_key(), resp));
  EXPECT_EQ(consume_response(p.a, p.a_sees_b, p.a_state, resp), HandshakeError::bad_response);
}

TEST(NoiseHandshake, InitiationForSomeoneElseIsRejected) {
  Pair p(false);
  const LocalIdentity stranger = identity(generate_private_key());
  InitiationMessage init;
  ASSERT_TRUE(create_initiation(p.a, p.a_sees_b, p.a_state, 1, generate_private_key(), kT0, init));
  OpenedInitiation opened;
  EXPECT_EQ(open_initiation(stranger, init, opened), HandshakeError::bad_static);
  init.encrypted_static[5] ^= 1;
  EXPECT_EQ(open_initiation(p.b, init, opened), HandshakeError::bad_static);
}

TEST(NoiseHandshake, ReplayedAndFloodingInitiationsRejected) {
  Pair p(false);
  InitiationMessage first, second;
  ASSERT_TRUE(create_initiation(p.a, p.a_sees_b, p.a_state, 1, generate_private_key(), kT0, first));
  const Tai64n later = tai64n_from(std::chrono::system_clock::time_point(1'700'000'001s));
  ASSERT_TRUE(
      create_initiation(p.a, p.a_sees_b, p.a_state, 2, generate_private_key(), later, second));
  OpenedInitiation o1, o2;
  ASSERT_EQ(open_initiation(p.b, first, o1), HandshakeError::none);
  ASSERT_EQ(open_initiation(p.b, second, o2), HandshakeError::none);
  ASSERT_EQ(accept_initiation(p.b_sees_a, p.b_state, first, o1, kNow), HandshakeError::none);
  // The same initiation again: its timestamp is not newer.
  EXPECT_EQ(accept_initiation(p.b_sees_a, p.b_state, first, o1, kNow + 1s),
            HandshakeError::replayed_timestamp);
  // A newer one within 1/50 s of the last accepted: flood.
  EXPECT_EQ(accept_initiation(p.b_sees_a, p.b_state, second, o2, kNow + 10ms),
            HandshakeError::flood);
  EXPECT_EQ(accept_initiation(p.b_sees_a, p.b_state, second, o2, kNow + 30ms),
            HandshakeError::none);
  InitiationMessage forged = second;
  forged.encrypted_timestamp[0] ^= 1;
  OpenedInitiation of;
  ASSERT_EQ(open_initiation(p.b, forged, of), HandshakeError::none);
  EXPECT_EQ(accept_initiation(p.b_sees_a, p.b_state, forged, of, kNow + 1s),
            HandshakeError::bad_timestamp);
}

TEST(NoiseHandshake, ResponseWithoutInitiationOrWrongIndexIsUnexpected) {
  Pair p(false);
  ResponseMessage resp{};
  EXPECT_EQ(consume_response(p.a, p.a_sees_b, p.a_state, resp), HandshakeError::unexpected);
  InitiationMessage init;
  ASSERT_TRUE(create_initiation(p.a, p.a_sees_b, p.a_state, 7, generate_private_key(), kT0, init));
  resp.receiver = store_index(8);
  EXPECT_EQ(consume_response(p.a, p.a_sees_b, p.a_state, resp), HandshakeError::unexpected);
}

// Recorded from wireguard-go 0.0.20230223 (Debian) as initiator, in a
// network namespace made for it (tests/wireguard has no socket code, so the
// recording is done once, by hand, and its bytes live here):
//   ip netns add rec; ip netns exec rec ip link set lo up
//   python3 UDP listener in rec on 127.0.0.1:51999 writing the first datagram
//   WG_PROCESS_FOREGROUND=1 ip netns exec rec wireguard-go wgrec0 &
//   ip netns exec rec wg set wgrec0 private-key <kInitiatorPrivate>
//       peer <kResponderPublic> endpoint 127.0.0.1:51999 allowed-ips 10.99.0.2/32
//   ip netns exec rec ip addr add 10.99.0.1/24 dev wgrec0; ... ip link set wgrec0 up
//   ip netns exec rec ping -c1 10.99.0.2   # triggers the initiation
//   ip netns del rec
// The keys were made with `wg genkey` for this vector and protect nothing.
constexpr const char* kInitiatorPrivate = "OKkEVdWkQmikeSIcqHH+5DRkgrSI6XKKRFnNc9IspE0=";
constexpr const char* kInitiatorPublic = "GRJ7z0NxDCkV4hBFgDOJYC8PW8itGHq+gC6xv63ksxg=";
constexpr const char* kResponderPrivate = "oLPyI4Si0goEGvbL3k8CDeSUPIJhGlUwFiJpRZE7X1Q=";
constexpr const char* kRecordedInitiation =
    "0100000007f175836721b0f1bf88fe3f04b4bdfd9546d0a1cbd8aa45481e88ac"
    "74544c48ec2f127f4d1da21e8cf48c0d438fb2d5d95c2b665db507d92174b368"
    "1900dffe911a68ae6f7e869500811e6d8e978b365b04ae3ab40f2974d375d0d0"
    "6d91bae22d48c2abd3282d3826c5fbb7fab4082fe381cc8d5d6651ad92bda3eb"
    "887aed7000000000000000000000000000000000";

TEST(NoiseHandshake, AcceptsInitiationRecordedFromWireguardGo) {
  const auto bytes = test::hex_bytes(kRecordedInitiation);
  ASSERT_EQ(classify(bytes).error, ParseError::none);
  ASSERT_EQ(classify(bytes).type, MessageType::initiation);
  const auto init = read_message<InitiationMessage>(bytes);
  const LocalIdentity responder = identity_from_base64(kResponderPrivate);
  EXPECT_TRUE(CookieChecker(responder.public_key).mac1_valid(bytes));
  EXPECT_FALSE(CookieChecker(*key_from_base64(kInitiatorPublic)).mac1_valid(bytes));

  OpenedInitiation opened;
  ASSERT_EQ(open_initiation(responder, init, opened), HandshakeError::none);
  EXPECT_EQ(to_base64(opened.initiator_static), kInitiatorPublic);
  EXPECT_EQ(opened.sender_index, 0x8375f107u);

  PeerIdentity initiator = peer_of(responder, opened.initiator_static, SecretKey{});
  HandshakeState state;
  ASSERT_EQ(accept_initiation(initiator, state, init, opened, kNow), HandshakeError::none);
  // TAI64N label of late 2026: 2^62 + 10 + ~1.79e9 seconds.
  EXPECT_EQ(state.latest_timestamp[0], 0x40);
  ResponseMessage resp;
  ASSERT_TRUE(create_response(initiator, state, 0xabcdef01, generate_private_key(), resp));
  EXPECT_EQ(load_index(resp.receiver), 0x8375f107u);
  // Replaying the recording is refused.
  EXPECT_EQ(accept_initiation(initiator, state, init, opened, kNow + 1s),
            HandshakeError::replayed_timestamp);

  // The vector's keys are consistent (the initiator private key we gave
  // wireguard-go has the public key the message carries).
  const LocalIdentity init_id = identity_from_base64(kInitiatorPrivate);
  EXPECT_EQ(to_base64(init_id.public_key), kInitiatorPublic);
}

TEST(CookieMac, StampedMessagesCarryMac1AndMac2OnlyWithACookie) {
  const LocalIdentity responder = identity(generate_private_key());
  MacStamper stamper(responder.public_key);
  CookieChecker checker(responder.public_key);
  std::vector<std::uint8_t> msg(kInitiationSize, 0x5a);
  const std::vector<std::uint8_t> source = {192, 0, 2, 1, 0x1f, 0x90};
  stamper.stamp(msg, kNow);
  EXPECT_TRUE(checker.mac1_valid(msg));
  EXPECT_FALSE(checker.mac2_valid(msg, source, kNow));
  // Under load the responder answers with a cookie reply.
  CookieReplyMessage reply;
  ASSERT_TRUE(checker.make_reply(msg, 42, source, kNow, reply));
  EXPECT_EQ(classify(message_bytes(reply)).error, ParseError::none);
  EXPECT_EQ(load_index(reply.receiver), 42u);
  CookieReplyMessage forged = reply;
  forged.encrypted_cookie[0] ^= 1;
  EXPECT_FALSE(stamper.consume_reply(forged, kNow));
  ASSERT_TRUE(stamper.consume_reply(reply, kNow));
  EXPECT_FALSE(stamper.consume_reply(reply, kNow));  // one reply per message
  stamper.stamp(msg, kNow + 1s);
  EXPECT_TRUE(checker.mac1_valid(msg));
  EXPECT_TRUE(checker.mac2_valid(msg, source, kNow + 1s));
  // The cookie is bound to the source address.
  EXPECT_FALSE(
      checker.mac2_valid(msg, std::vector<std::uint8_t>{192, 0, 2, 2, 0x1f, 0x90}, kNow + 1s));
  msg[10] ^= 1;
  EXPECT_FALSE(checker.mac1_valid(msg));
}

TEST(CookieMac, CookiesExpireAndTheSecretRotates) {
  const LocalIdentity responder = identity(generate_private_key());
  MacStamper stamper(responder.public_key);
  CookieChecker checker(responder.public_key);
  std::vector<std::uint8_t> msg(kResponseSize, 0x11);
  const std::vector<std::uint8_t> source = {10, 0, 0, 1, 0, 80};
  stamper.stamp(msg, kNow);
  CookieReplyMessage reply;
  ASSERT_TRUE(checker.make_reply(msg, 1, source, kNow, reply));
  ASSERT_TRUE(stamper.consume_reply(reply, kNow));
  EXPECT_TRUE(stamper.has_fresh_cookie(kNow + 119s));
  EXPECT_FALSE(stamper.has_fresh_cookie(kNow + 120s));
  stamper.stamp(msg, kNow + 121s);
  EXPECT_TRUE(std::all_of(msg.end() - kMacSize, msg.end(), [](std::uint8_t b) { return b == 0; }));
  // After 120 s the responder's secret changes, so an old cookie stops working.
  msg.assign(kResponseSize, 0x11);
  MacStamper fresh(responder.public_key);
  fresh.stamp(msg, kNow);
  ASSERT_TRUE(checker.make_reply(msg, 1, source, kNow + 1s, reply));
  ASSERT_TRUE(fresh.consume_reply(reply, kNow + 1s));
  fresh.stamp(msg, kNow + 2s);
  EXPECT_TRUE(checker.mac2_valid(msg, source, kNow + 2s));
  EXPECT_FALSE(checker.mac2_valid(msg, source, kNow + 121s));
}

}  // namespace
}  // namespace sockswitch::wireguard
