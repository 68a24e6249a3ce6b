// ports/wireguard/device_sessions.cc: the handshake thread's session bookkeeping.
//
// Installing, rotating and retiring keypairs, giving up handshakes,
// publishing AllowedIPs, and the two messages the handshake thread makes
// for a peer on its own (initiations and keepalives).
#include <openssl/rand.h>

#include <cstring>

#include "ports/wireguard/device_state.h"
#include "ports/wireguard/x25519.h"

namespace sockswitch::wireguard {

DeviceState::DeviceState(DeviceOptions opts)
    : options(std::move(opts)),
      peer_slot_used(options.max_peers, false),
      peers(options.max_peers),
      indices(options.max_peers * 4),
      handshake_queue(options.handshake_queue_size) {
  for (auto& p : peers)
    p.store(nullptr, std::memory_order_relaxed);
  publish_lookup();
}

DeviceState::~DeviceState() {
  for (auto& slot : peers) {
    Peer* p = slot.load(std::memory_order_relaxed);
    if (p == nullptr) continue;
    delete p->current.load();
    delete p->previous.load();
    delete p->next.load();
    delete p;
  }
  delete lookup.load();
}

Keypair* sending_keypair(const Peer& peer, TimePoint now, const TimerDurations& d) noexcept {
  auto usable = [&](const Keypair* k) {
    return k != nullptr && now - k->created < d.reject_after_time &&
           k->send_counter.load(std::memory_order_relaxed) < d.reject_after_messages;
  };
  Keypair* next = peer.next.load(std::memory_order_seq_cst);
  if (usable(next) && next->received_first.load(std::memory_order_acquire)) return next;
  Keypair* current = peer.current.load(std::memory_order_seq_cst);
  return usable(current) ? current : nullptr;
}

void DeviceState::retire_keypair(std::atomic<Keypair*>& slot) {
  Keypair* k = slot.exchange(nullptr, std::memory_order_seq_cst);
  if (k == nullptr) return;
  indices.unpublish(k->local_index);
  Retired r;
  r.keypair.reset(k);
  r.ticket = grace.ticket();
  retired.push_back(std::move(r));
}

void DeviceState::abandon_handshake(Peer& peer) noexcept {
  // Only a pending initiation owns an index of its own; after the response
  // is made or consumed the index belongs to the keypair.
  if (peer.handshake.stage == HandshakeStage::initiation_created)
    indices.release(peer.handshake.local_index);
  peer.handshake.clear();
}

void DeviceState::drop_sessions(Peer& peer) {
  retire_keypair(peer.next);
  retire_keypair(peer.previous);
  retire_keypair(peer.current);
  abandon_handshake(peer);
}

void DeviceState::install_session(Peer& peer, SessionKeys& keys, TimePoint now) {
  auto k = std::make_unique<Keypair>();
  k->send = keys.send;
  k->receive = keys.receive;
  k->local_index = keys.local_index;
  k->remote_index = keys.remote_index;
  k->we_initiated = keys.we_initiated;
  k->created = now;
  k->peer = &peer;
  indices.publish(k->local_index, k.get());
  retire_keypair(peer.next);
  if (keys.we_initiated) {
    // The initiator may send at once: the responder already has the keys.
    retire_keypair(peer.previous);
    peer.previous.store(peer.current.load(), std::memory_order_seq_cst);
    peer.current.store(k.release(), std::memory_order_seq_cst);
  } else {
    peer.next.store(k.release(), std::memory_order_seq_cst);
  }
  peer.timers.on_session_derived(now);
}

void DeviceState::rotate_confirmed(Peer& peer, TimePoint now) {
  Keypair* next = peer.next.load(std::memory_order_seq_cst);
  if (next == nullptr || !next->received_first.load(std::memory_order_acquire)) return;
  retire_keypair(peer.previous);
  peer.previous.store(peer.current.load(), std::memory_order_seq_cst);
  peer.current.store(next, std::memory_order_seq_cst);
  peer.next.store(nullptr, std::memory_order_seq_cst);
  peer.timers.on_handshake_complete(now);
  peer.last_handshake = std::chrono::system_clock::now();
  ++control_counters.handshakes_completed;
}

void DeviceState::publish_lookup() {
  auto fresh = std::make_unique<const AllowedIpsLookup>(allowed.build_lookup());
  const AllowedIpsLookup* old = lookup.exchange(fresh.release(), std::memory_order_seq_cst);
  if (old == nullptr) return;
  Retired r;
  r.lookup.reset(old);
  r.ticket = grace.ticket();
  retired.push_back(std::move(r));
}

void DeviceState::remove_peer(Peer& peer) {
  drop_sessions(peer);
  peer.timers.stop();
  allowed.remove_peer(peer.id);
  peer_by_key.erase(peer.identity.remote_static);
  peers[peer.id].store(nullptr, std::memory_order_seq_cst);
  publish_lookup();
  Retired r;
  r.peer.reset(&peer);
  r.ticket = grace.ticket();
  retired.push_back(std::move(r));
}

void DeviceState::reclaim() noexcept {
  std::erase_if(retired, [&](Retired& r) {
    if (!grace.passed(r.ticket)) return false;
    if (r.keypair) indices.release(r.keypair->local_index);
    if (r.peer) peer_slot_used[r.peer->id] = false;
    return true;
  });
}

Tai64n DeviceState::next_timestamp() noexcept {
  Tai64n t = tai64n_from(std::chrono::system_clock::now());
  if (!tai64n_after(t, last_timestamp)) {
    // The wall clock did not move (or went back): stay strictly increasing,
    // or the peer would take the new initiation for a replay.
    t = last_timestamp;
    for (int i = 8; i >= 0; --i)
      if (++t[static_cast<std::size_t>(i)] != 0) break;
  }
  last_timestamp = t;
  return t;
}

bool DeviceState::make_keepalive(Peer& peer, TimePoint now, OutgoingDatagram& out) noexcept {
  Keypair* k = sending_keypair(peer, now, options.timers);
  const Endpoint to = peer.endpoint.load();
  if (k == nullptr || to.port == 0) return false;
  const std::uint64_t counter = k->send_counter.fetch_add(1, std::memory_order_relaxed);
  if (counter >= options.timers.reject_after_messages) return false;
  TransportHeader h{make_header(MessageType::transport), store_index(k->remote_index),
                    store_counter(counter)};
  std::memcpy(out.bytes.data(), &h, sizeof h);
  out.size = kTransportMinSize;
  if (!control_aead.seal(k->send.span(), counter_nonce(counter), {},
                         std::span(out.bytes).subspan(kTransportHeaderSize, kAeadTagSize)))
    return false;
  out.to = to;
  peer.control_tx_bytes += out.size;
  peer.timers.on_authenticated_packet_sent(now);
  return true;
}

void DeviceState::send_initiation(Peer& peer, TimePoint now, std::vector<OutgoingDatagram>& out) {
  const Endpoint to = peer.endpoint.load();
  if (to.port == 0 || !has_private_key || peer.identity.static_static.is_zero()) return;
  abandon_handshake(peer);
  std::uint32_t random = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&random), sizeof random) != 1) return;
  const auto index = indices.reserve(peer.id, random);
  if (!index) return;
  InitiationMessage m;
  if (!create_initiation(local, peer.identity, peer.handshake, *index, generate_private_key(),
                         next_timestamp(), m)) {
    abandon_handshake(peer);
    return;
  }
  peer.stamper.stamp(std::span(reinterpret_cast<std::uint8_t*>(&m), sizeof m), now);
  OutgoingDatagram d;
  d.to = to;
  std::memcpy(d.bytes.data(), &m, sizeof m);
  d.size = sizeof m;
  out.push_back(d);
  peer.control_tx_bytes += sizeof m;
  peer.timers.on_handshake_initiated(now);
  peer.timers.on_authenticated_packet_sent(now);
}

}  // namespace sockswitch::wireguard
