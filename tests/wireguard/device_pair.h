// tests/wireguard/device_pair.h: two Devices wired back to back in memory.
//
// A at 192.0.2.1:51820 routes 10.0.0.2/32 to B; B at 192.0.2.2:51820
// routes 10.0.0.1/32 to A. pump() plays the network and both ports: it
// runs each side's handshake thread (process_handshakes, tick), delivers
// every datagram to the device whose address it names (with the sender's
// address as source unless a test overrides it), flushes staged packets,
// and repeats until nothing moves. The clock is a plain variable.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "ports/wireguard/device.h"
#include "ports/wireguard/x25519.h"

namespace sockswitch::wireguard::test {

using namespace std::chrono_literals;

inline Endpoint endpoint(const char* ip, std::uint16_t port) {
  return Endpoint{*IpAddress::parse(ip), port, 0};
}
inline IpPrefix prefix(const char* text) {
  return *IpPrefix::parse(text);
}

// An IPv4/UDP-less packet: 20-byte header + payload, in a buffer with room
// for the transport header and tag around it.
struct PacketBuffer {
  std::vector<std::uint8_t> storage;
  std::uint32_t size = 0;
  std::uint8_t* data() { return storage.data() + kTxHeadroom; }

  PacketBuffer(const char* src, const char* dst, const std::string& payload) {
    size = static_cast<std::uint32_t>(20 + payload.size());
    storage.assign(kTxHeadroom + size + kTxTailroom, 0);
    std::uint8_t* p = data();
    p[0] = 0x45;
    p[2] = static_cast<std::uint8_t>(size >> 8);
    p[3] = static_cast<std::uint8_t>(size);
    p[8] = 64;
    p[9] = 253;  // experimental protocol number
    const IpAddress source = *IpAddress::parse(src), destination = *IpAddress::parse(dst);
    const auto s = source.bytes();
    const auto d = destination.bytes();
    std::copy(s.begin(), s.end(), p + 12);
    std::copy(d.begin(), d.end(), p + 16);
    std::copy(payload.begin(), payload.end(), p + 20);
  }
};

struct Wired {
  Endpoint at;
  std::vector<std::uint8_t> bytes;
  Endpoint from;
};

struct Side {
  explicit Side(DeviceOptions o) : device(o) {}
  Device device;
  SecretKey private_key = generate_private_key();
  PublicKey public_key = *public_key_of(private_key);
  Endpoint address;
  std::vector<std::string> delivered;           // payloads of IP packets received
  std::vector<std::vector<std::uint8_t>> sent;  // every datagram it put on the wire
};

class DevicePair {
 public:
  explicit DevicePair(DeviceOptions options = {}, bool with_psk = false,
                      std::optional<DeviceOptions> b_options = std::nullopt)
      : a(options), b(b_options.value_or(options)) {
    a.address = endpoint("192.0.2.1", 51820);
    b.address = endpoint("192.0.2.2", 51820);
    SecretKey psk;
    if (with_psk) psk = generate_private_key();
    configure(a, b, "10.0.0.2/32", true, psk);
    configure(b, a, "10.0.0.1/32", false, psk);  // B learns A's address
  }

  void configure(Side& self, const Side& other, const char* allowed, bool with_endpoint,
                 const SecretKey& psk) {
    DeviceChange c;
    c.private_key = self.private_key;
    PeerChange p;
    p.public_key = other.public_key;
    p.preshared_key = psk;
    if (with_endpoint) p.endpoint = other.address;
    p.allowed_ips = {prefix(allowed)};
    c.peers.push_back(p);
    self.device.apply(c, now);
  }

  // Encrypts one packet on `from`; returns its verdict (whose pointers die
  // with the packet: the datagram is copied to the wire and `from.sent`).
  TxResult send(Side& from, const char* src, const char* dst, const std::string& payload) {
    PacketBuffer pkt(src, dst, payload);
    const TxPacket in{pkt.data(), pkt.size};
    TxResult out;
    from.device.encrypt_burst({&in, 1}, {&out, 1}, now);
    if (out.verdict == TxResult::Verdict::send) put_on_wire(from, out);
    return out;
  }

  void put_on_wire(Side& from, const TxResult& r) {
    std::vector<std::uint8_t> bytes(r.datagram, r.datagram + r.datagram_size);
    from.sent.push_back(bytes);
    wire.push_back({r.endpoint, std::move(bytes), from.address});
  }

  // Delivers one datagram to `to` as if it came from `source`.
  RxResult receive(Side& to, std::vector<std::uint8_t> bytes, const Endpoint& source) {
    const RxDatagram in{bytes.data(), static_cast<std::uint32_t>(bytes.size()), source};
    RxResult out;
    to.device.decrypt_burst({&in, 1}, {&out, 1}, now);
    if (out.verdict == RxResult::Verdict::deliver)
      to.delivered.emplace_back(reinterpret_cast<const char*>(out.packet) + 20,
                                out.packet_size - 20);
    return out;
  }

  // Runs both sides until the wire is empty (bounded).
  void pump() {
    for (int round = 0; round < 20; ++round) {
      for (Side* s : {&a, &b}) {
        std::vector<OutgoingDatagram> out;
        s->device.tick(now, out);
        s->device.process_handshakes(now, out);
        for (const auto& d : out) {
          std::vector<std::uint8_t> bytes(d.view().begin(), d.view().end());
          s->sent.push_back(bytes);
          wire.push_back({d.to, std::move(bytes), s->address});
        }
        std::array<TxResult, 32> flushed;
        const std::size_t n = s->device.flush_staged(flushed, now);
        for (std::size_t i = 0; i < n; ++i)
          put_on_wire(*s, flushed[i]);
      }
      if (wire.empty()) return;
      while (!wire.empty()) {
        Wired w = std::move(wire.front());
        wire.pop_front();
        Side& to = w.at == a.address ? a : b;
        if (w.at == a.address || w.at == b.address) (void)receive(to, w.bytes, w.from);
      }
    }
  }

  TimePoint now = TimePoint(std::chrono::hours(1));
  Side a, b;
  std::deque<Wired> wire;
};

inline std::uint64_t rx_drops(const Device& d, RxDrop why) {
  return d.counters().rx_drops[static_cast<std::size_t>(why)];
}
inline std::uint64_t tx_drops(const Device& d, TxDrop why) {
  return d.counters().tx_drops[static_cast<std::size_t>(why)];
}

}  // namespace sockswitch::wireguard::test
