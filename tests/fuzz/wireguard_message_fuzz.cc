// tests/fuzz/wireguard_message_fuzz.cc: arbitrary datagrams into a responder Device.
//
// Input: one mode byte, then the payload.
//   mode 0  the payload is a datagram from the peer's address: the parser,
//           the handshake queue, mac1, Noise and the transport path see it
//           as it is.
//   mode 1  the payload is XORed over a valid initiation from the
//           configured peer (made here), so mutations reach past mac1 into
//           the Noise state machine and the timestamp/flood checks.
//   mode 2  a handshake completes first, then the payload is XORed over a
//           valid transport message on that session (replay window, AEAD,
//           inner IP header, AllowedIPs).
// The keys are those of the wireguard-go recording in
// tests/wireguard/noise_handshake_test.cc, so that recording is a seed.
// A fresh Device per input keeps runs independent. Must never crash.
#include <cstdint>
#include <cstring>
#include <vector>

#include "ports/wireguard/cookie_mac.h"
#include "ports/wireguard/device.h"
#include "ports/wireguard/noise_handshake.h"
#include "ports/wireguard/x25519.h"

using namespace sockswitch::wireguard;

namespace {

constexpr const char* kInitiatorPrivate = "OKkEVdWkQmikeSIcqHH+5DRkgrSI6XKKRFnNc9IspE0=";
constexpr const char* kResponderPrivate = "oLPyI4Si0goEGvbL3k8CDeSUPIJhGlUwFiJpRZE7X1Q=";

LocalIdentity identity(const char* base64) {
  LocalIdentity id;
  id.private_key = SecretKey(*key_from_base64(base64));
  id.public_key = *public_key_of(id.private_key);
  return id;
}

const TimePoint kNow = TimePoint(std::chrono::hours(1));

struct Responder {
  Device device;
  LocalIdentity me = identity(kResponderPrivate);
  LocalIdentity initiator = identity(kInitiatorPrivate);
  Endpoint initiator_address{*IpAddress::parse("192.0.2.1"), 51820, 0};

  static DeviceOptions options() {
    DeviceOptions o;
    o.max_peers = 2;
    o.handshake_queue_size = 8;
    o.staged_per_peer = 2;
    o.staged_packet_size = 256;
    return o;
  }
  Responder() : device(options()) {
    DeviceChange c;
    c.private_key = me.private_key;
    PeerChange p;
    p.public_key = initiator.public_key;
    p.allowed_ips = {*IpPrefix::parse("10.0.0.1/32")};
    c.peers.push_back(p);
    device.apply(c, kNow);
  }

  std::vector<OutgoingDatagram> feed(std::vector<std::uint8_t> bytes) {
    const RxDatagram in{bytes.data(), static_cast<std::uint32_t>(bytes.size()), initiator_address};
    RxResult r;
    device.decrypt_burst({&in, 1}, {&r, 1}, kNow);
    std::vector<OutgoingDatagram> out;
    device.process_handshakes(kNow, out);
    device.tick(kNow, out);
    return out;
  }
};

void xor_into(std::vector<std::uint8_t>& msg, const std::uint8_t* data, std::size_t size) {
  // Longer payloads also change the length, as a truncating or padding
  // attacker would.
  if (size > msg.size()) msg.resize(size, 0);
  for (std::size_t i = 0; i < size; ++i)
    msg[i] ^= data[i];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 2048) return 0;
  const std::uint8_t mode = data[0] % 3;
  ++data;
  --size;
  Responder r;
  if (mode == 0) {
    (void)r.feed({data, data + size});
    return 0;
  }

  PeerIdentity responder_seen;
  responder_seen.remote_static = r.me.public_key;
  if (!precompute_static_static(r.initiator, responder_seen)) return 0;
  HandshakeState state;
  InitiationMessage init;
  const Tai64n ts = tai64n_from(std::chrono::system_clock::time_point(std::chrono::hours(500000)));
  if (!create_initiation(r.initiator, responder_seen, state, 7, generate_private_key(), ts, init))
    return 0;
  MacStamper stamper(r.me.public_key);
  stamper.stamp(std::span(reinterpret_cast<std::uint8_t*>(&init), sizeof init), kNow);
  std::vector<std::uint8_t> msg(sizeof init);
  std::memcpy(msg.data(), &init, sizeof init);
  if (mode == 1) {
    xor_into(msg, data, size);
    (void)r.feed(msg);
    return 0;
  }

  const auto out = r.feed(msg);
  if (out.empty() || out[0].size != kResponseSize) return 0;
  const auto resp = read_message<ResponseMessage>(out[0].view());
  SessionKeys keys;
  if (consume_response(r.initiator, responder_seen, state, resp) != HandshakeError::none ||
      !derive_session(state, keys))
    return 0;
  // A 20-byte IPv4 header from 10.0.0.1, sealed as transport counter 0.
  std::vector<std::uint8_t> transport(kTransportHeaderSize + 32 + kAeadTagSize, 0);
  const TransportHeader h{make_header(MessageType::transport), store_index(keys.remote_index),
                          store_counter(0)};
  std::memcpy(transport.data(), &h, sizeof h);
  std::uint8_t* ip = transport.data() + kTransportHeaderSize;
  ip[0] = 0x45;
  ip[3] = 20;
  ip[12] = 10;
  ip[15] = 1;
  ChaCha20Poly1305 aead;
  if (!aead.seal(keys.send.span(), counter_nonce(0), {},
                 std::span(ip, transport.size() - kTransportHeaderSize)))
    return 0;
  xor_into(transport, data, size);
  (void)r.feed(transport);
  return 0;
}
