// ports/wireguard/device_data_path.cc: the poll thread's bursts.
//
// Per packet: one IP header view, one AllowedIPs lookup, one AEAD call on
// a context made at setup, a few relaxed atomic stores. Nothing allocates,
// locks (except the endpoint seqlock's writer flag when a peer roams) or
// throws. The burst is bracketed by the grace period so the handshake
// thread knows when retired sessions are no longer in use.
#include <cstring>

#include "ports/wireguard/device_state.h"
#include "ports/wireguard/ip_packet.h"

namespace sockswitch::wireguard {
namespace {

std::optional<PeerId> route(const AllowedIpsLookup& lookup, const IpPacketView& ip,
                            bool by_source) noexcept {
  const std::uint8_t* addr = by_source ? ip.source : ip.destination;
  return ip.v4 ? lookup.lookup_v4(addr) : lookup.lookup_v6(addr);
}

// Pads the packet at `ip` to a multiple of 16, writes the transport header
// in front of it and seals it; returns the datagram size.
std::uint32_t seal_transport(ChaCha20Poly1305& aead, Keypair& k, std::uint64_t counter,
                             std::uint8_t* ip, std::uint32_t size) noexcept {
  const std::uint32_t padded = (size + 15u) & ~15u;
  std::memset(ip + size, 0, padded - size);
  const TransportHeader h{make_header(MessageType::transport), store_index(k.remote_index),
                          store_counter(counter)};
  std::memcpy(ip - kTransportHeaderSize, &h, sizeof h);
  if (!aead.seal(k.send.span(), counter_nonce(counter), {}, std::span(ip, padded + kAeadTagSize)))
    return 0;
  return static_cast<std::uint32_t>(kTransportHeaderSize + padded + kAeadTagSize);
}

struct BurstGuard {
  GracePeriod& g;
  explicit BurstGuard(GracePeriod& grace) noexcept : g(grace) { g.enter(); }
  ~BurstGuard() { g.leave(); }
};

}  // namespace

void Device::encrypt_burst(std::span<const TxPacket> in, std::span<TxResult> out,
                           TimePoint now) noexcept {
  DeviceState& s = *state_;
  BurstGuard guard(s.grace);
  const AllowedIpsLookup& lookup = *s.lookup.load(std::memory_order_seq_cst);
  const std::int64_t now_ns = to_nanos(now);
  auto drop = [&](TxResult& r, TxDrop why) {
    r.verdict = TxResult::Verdict::drop;
    r.drop = why;
    bump(s.tx_drops[static_cast<std::size_t>(why)]);
  };
  for (std::size_t i = 0; i < in.size() && i < out.size(); ++i) {
    const TxPacket& p = in[i];
    TxResult& r = out[i];
    r = TxResult{};
    const IpPacketView ip = view_ip_packet(p.data, p.size);
    if (!ip.valid) {
      drop(r, TxDrop::not_ip);
      continue;
    }
    const auto id = route(lookup, ip, false);
    Peer* peer = id ? s.peers[*id].load(std::memory_order_seq_cst) : nullptr;
    if (peer == nullptr) {
      drop(r, TxDrop::no_peer);
      continue;
    }
    Keypair* k = sending_keypair(*peer, now, s.options.timers);
    const Endpoint to = peer->endpoint.load();
    std::uint64_t counter = 0;
    if (k != nullptr && to.port != 0) {
      counter = k->send_counter.fetch_add(1, std::memory_order_relaxed);
      if (counter >= s.options.timers.reject_after_messages) k = nullptr;
    }
    if (k == nullptr) {
      peer->events.handshake_wanted.store(true, std::memory_order_relaxed);
      switch (peer->staged.push({p.data, p.size})) {
        case StagedPackets::Result::staged:
          r.verdict = TxResult::Verdict::staged;
          ++s.staged_total;
          break;
        case StagedPackets::Result::full:
          drop(r, TxDrop::staged_full);
          break;
        case StagedPackets::Result::too_big:
          drop(r, TxDrop::too_big);
          break;
      }
      continue;
    }
    if (to.port == 0) {
      drop(r, TxDrop::no_endpoint);
      continue;
    }
    const std::uint32_t n = seal_transport(s.poll_aead, *k, counter, p.data, p.size);
    if (n == 0) {
      drop(r, TxDrop::not_ip);
      continue;
    }
    r.verdict = TxResult::Verdict::send;
    r.datagram = p.data - kTransportHeaderSize;
    r.datagram_size = n;
    r.endpoint = to;
    bump(peer->tx_bytes, n);
    peer->events.data_sent.store(now_ns, std::memory_order_relaxed);
    peer->events.authenticated_sent.store(now_ns, std::memory_order_relaxed);
  }
}

std::size_t Device::flush_staged(std::span<TxResult> out, TimePoint now) noexcept {
  DeviceState& s = *state_;
  if (s.staged_total == 0 || out.empty()) return 0;
  BurstGuard guard(s.grace);
  const std::int64_t now_ns = to_nanos(now);
  std::size_t n = 0;
  for (auto& slot : s.peers) {
    Peer* peer = slot.load(std::memory_order_seq_cst);
    if (peer == nullptr || peer->staged.size() == 0) continue;
    if (peer->drop_staged.exchange(false, std::memory_order_relaxed)) {
      s.staged_total -= peer->staged.size();
      peer->staged.clear();
      continue;
    }
    Keypair* k = sending_keypair(*peer, now, s.options.timers);
    const Endpoint to = peer->endpoint.load();
    if (k == nullptr || to.port == 0) continue;
    while (peer->staged.size() > 0 && n < out.size()) {
      const std::uint64_t counter = k->send_counter.fetch_add(1, std::memory_order_relaxed);
      if (counter >= s.options.timers.reject_after_messages) break;
      std::uint32_t size = 0;
      std::uint8_t* ip = peer->staged.front(size);
      peer->staged.pop();
      --s.staged_total;
      const std::uint32_t bytes = seal_transport(s.poll_aead, *k, counter, ip, size);
      if (bytes == 0) continue;
      out[n++] =
          TxResult{TxResult::Verdict::send, TxDrop::none, ip - kTransportHeaderSize, bytes, to};
      bump(peer->tx_bytes, bytes);
      peer->events.data_sent.store(now_ns, std::memory_order_relaxed);
      peer->events.authenticated_sent.store(now_ns, std::memory_order_relaxed);
    }
    if (n == out.size()) break;
  }
  return n;
}

void Device::decrypt_burst(std::span<const RxDatagram> in, std::span<RxResult> out,
                           TimePoint now) noexcept {
  DeviceState& s = *state_;
  BurstGuard guard(s.grace);
  const AllowedIpsLookup& lookup = *s.lookup.load(std::memory_order_seq_cst);
  const std::int64_t now_ns = to_nanos(now);
  const TimerDurations& d = s.options.timers;
  auto drop = [&](RxResult& r, RxDrop why) {
    r.verdict = RxResult::Verdict::drop;
    r.drop = why;
    bump(s.rx_drops[static_cast<std::size_t>(why)]);
  };
  for (std::size_t i = 0; i < in.size() && i < out.size(); ++i) {
    const RxDatagram& dg = in[i];
    RxResult& r = out[i];
    r = RxResult{};
    const std::span<std::uint8_t> bytes(dg.data, dg.size);
    const Classified c = classify(bytes);
    if (c.error != ParseError::none) {
      drop(r, RxDrop::malformed);
      continue;
    }
    if (c.type != MessageType::transport) {
      if (s.handshake_queue.push(bytes, dg.source)) {
        r.verdict = RxResult::Verdict::consumed;
      } else {
        drop(r, RxDrop::handshake_queue_full);
      }
      continue;
    }
    TransportHeader h;
    std::memcpy(&h, dg.data, sizeof h);
    Keypair* k = s.indices.find(load_index(h.receiver));
    if (k == nullptr) {
      drop(r, RxDrop::unknown_index);
      continue;
    }
    if (now - k->created >= d.reject_after_time) {
      drop(r, RxDrop::expired);
      continue;
    }
    const std::uint64_t counter = load_counter(h.counter);
    if (counter >= d.reject_after_messages) {
      drop(r, RxDrop::replayed);
      continue;
    }
    if (!s.poll_aead.open(k->receive.span(), counter_nonce(counter), {},
                          bytes.subspan(kTransportHeaderSize))) {
      drop(r, RxDrop::forged);
      continue;
    }
    // Only now, authenticated, may the counter move the window.
    if (!k->replay.accept(counter)) {
      drop(r, RxDrop::replayed);
      continue;
    }
    Peer& peer = *k->peer;
    if (!k->we_initiated && !k->received_first.load(std::memory_order_relaxed))
      k->received_first.store(true, std::memory_order_release);
    if (!(peer.endpoint.load() == dg.source)) peer.endpoint.store(dg.source);  // roaming
    bump(peer.rx_bytes, dg.size);
    peer.events.authenticated_received.store(now_ns, std::memory_order_relaxed);
    std::uint8_t* plain = dg.data + kTransportHeaderSize;
    const std::uint32_t plain_size = dg.size - static_cast<std::uint32_t>(kTransportMinSize);
    if (plain_size == 0) {
      r.verdict = RxResult::Verdict::consumed;  // keepalive
      r.peer = peer.id;
      continue;
    }
    const IpPacketView ip = view_ip_packet(plain, plain_size);
    if (!ip.valid) {
      drop(r, RxDrop::not_ip);
      continue;
    }
    const auto owner = route(lookup, ip, true);
    if (!owner || *owner != peer.id) {
      drop(r, RxDrop::source_not_allowed);
      continue;
    }
    peer.events.data_received.store(now_ns, std::memory_order_relaxed);
    r.verdict = RxResult::Verdict::deliver;
    r.packet = plain;
    r.packet_size = ip.length;
    r.peer = peer.id;
  }
}

}  // namespace sockswitch::wireguard
