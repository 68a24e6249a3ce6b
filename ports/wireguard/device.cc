// ports/wireguard/device.cc: construction and the control side (apply, snapshot, counters).
#include "ports/wireguard/device.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include "ports/wireguard/device_state.h"
#include "ports/wireguard/x25519.h"

namespace sockswitch::wireguard {

std::string_view to_string(TxDrop d) noexcept {
  switch (d) {
    case TxDrop::none:
      return "none";
    case TxDrop::not_ip:
      return "tx.not_ip";
    case TxDrop::no_peer:
      return "tx.no_peer";
    case TxDrop::no_endpoint:
      return "tx.no_endpoint";
    case TxDrop::staged_full:
      return "tx.staged_full";
    case TxDrop::too_big:
      return "tx.too_big";
    case TxDrop::kCount:
      break;
  }
  return "?";
}

std::string_view to_string(RxDrop d) noexcept {
  switch (d) {
    case RxDrop::none:
      return "none";
    case RxDrop::malformed:
      return "rx.malformed";
    case RxDrop::handshake_queue_full:
      return "rx.handshake_queue_full";
    case RxDrop::unknown_index:
      return "rx.unknown_index";
    case RxDrop::expired:
      return "rx.expired";
    case RxDrop::forged:
      return "rx.forged";
    case RxDrop::replayed:
      return "rx.replayed";
    case RxDrop::not_ip:
      return "rx.not_ip";
    case RxDrop::source_not_allowed:
      return "rx.source_not_allowed";
    case RxDrop::kCount:
      break;
  }
  return "?";
}

Device::Device(DeviceOptions options) : state_(std::make_unique<DeviceState>(std::move(options))) {
  if (state_->options.max_peers == 0 || state_->options.staged_per_peer == 0)
    throw std::invalid_argument("wireguard device: max_peers and staged_per_peer must be > 0");
}

Device::~Device() = default;

void Device::apply(const DeviceChange& change, TimePoint now) {
  DeviceState& s = *state_;
  s.reclaim();  // slots of peers removed earlier may be free by now
  // Check what can fail before changing anything.
  // Peers that stay through a replace (keep_listed_peers), with sessions.
  std::set<PublicKey> kept;
  if (change.replace_peers && change.keep_listed_peers)
    for (const PeerChange& pc : change.peers)
      if (!pc.remove && s.peer_by_key.count(pc.public_key)) kept.insert(pc.public_key);
  std::size_t live = change.replace_peers ? kept.size() : s.peer_by_key.size();
  std::size_t free_slots = 0;
  for (bool used : s.peer_slot_used)
    free_slots += used ? 0 : 1;
  std::map<PublicKey, bool> exists;
  for (const auto& [key, id] : s.peer_by_key)
    exists[key] = !change.replace_peers || kept.count(key) > 0;
  std::size_t created = 0;
  for (const PeerChange& pc : change.peers) {
    bool& e = exists[pc.public_key];
    if (pc.remove) {
      e = false;
    } else if (!e && !pc.update_only) {
      e = true;
      ++created;
    }
  }
  if (created > free_slots + (change.replace_peers ? s.peer_by_key.size() - kept.size() : 0) ||
      live + created > s.options.max_peers)
    throw std::invalid_argument("wireguard device: more peers than max_peers (" +
                                std::to_string(s.options.max_peers) + ")");

  if (change.listen_port) s.listen_port = *change.listen_port;
  if (change.fwmark) s.fwmark = *change.fwmark;
  const bool same_key =
      change.private_key && s.has_private_key &&
      CRYPTO_memcmp(change.private_key->data(), s.local.private_key.data(), SecretKey::size()) == 0;
  if (change.private_key && !same_key) {
    // New identity: every session and handshake was made with the old one.
    s.has_private_key = !change.private_key->is_zero();
    s.local.private_key = *change.private_key;
    s.local.public_key = s.has_private_key ? *public_key_of(s.local.private_key) : PublicKey{};
    s.cookies = CookieChecker(s.local.public_key);
    for (auto& slot : s.peers) {
      Peer* p = slot.load(std::memory_order_relaxed);
      if (p == nullptr) continue;
      s.drop_sessions(*p);
      p->identity.static_static.clear();
      if (s.has_private_key) (void)precompute_static_static(s.local, p->identity);
    }
  }
  if (change.replace_peers) {
    for (auto& slot : s.peers)
      if (Peer* p = slot.load(std::memory_order_relaxed);
          p != nullptr && !kept.count(p->identity.remote_static))
        s.remove_peer(*p);
    s.reclaim();
  }
  bool routes_changed = false;
  for (const PeerChange& pc : change.peers) {
    const auto found = s.peer_by_key.find(pc.public_key);
    Peer* peer = found == s.peer_by_key.end() ? nullptr : s.peer_at(found->second);
    if (pc.remove) {
      if (peer != nullptr) s.remove_peer(*peer);
      continue;
    }
    if (peer == nullptr) {
      if (pc.update_only) continue;
      s.reclaim();
      std::uint32_t id = 0;
      while (id < s.peer_slot_used.size() && s.peer_slot_used[id])
        ++id;
      if (id == s.peer_slot_used.size())
        throw std::invalid_argument(
            "wireguard device: no free peer slot yet (removed peers "
            "are freed after the poll thread's next burst)");
      std::uint64_t seed = 0;
      if (RAND_bytes(reinterpret_cast<unsigned char*>(&seed), sizeof seed) != 1) seed = id + 1;
      peer = new Peer(id, s.options.timers, seed, s.options.staged_per_peer,
                      s.options.staged_packet_size);
      peer->identity.remote_static = pc.public_key;
      peer->stamper = MacStamper(pc.public_key);
      if (s.has_private_key) (void)precompute_static_static(s.local, peer->identity);
      s.peer_slot_used[id] = true;
      s.peer_by_key[pc.public_key] = id;
      s.peers[id].store(peer, std::memory_order_seq_cst);
    }
    if (pc.preshared_key) peer->identity.preshared_key = *pc.preshared_key;
    if (pc.endpoint) peer->endpoint.store(*pc.endpoint);
    if (pc.replace_allowed_ips) {
      s.allowed.replace_peer(peer->id, pc.allowed_ips);
      routes_changed = true;
    } else if (!pc.allowed_ips.empty()) {
      for (const IpPrefix& prefix : pc.allowed_ips)
        s.allowed.insert(prefix, peer->id);
      routes_changed = true;
    }
    if (pc.persistent_keepalive_interval) {
      peer->persistent_keepalive = *pc.persistent_keepalive_interval;
      const TimerActions a = peer->timers.on_persistent_keepalive_configured(
          now, std::chrono::seconds(peer->persistent_keepalive));
      if (a.send_keepalive) {
        OutgoingDatagram keepalive;
        if (s.make_keepalive(*peer, now, keepalive)) {
          s.pending_out.push_back(keepalive);
        } else {
          // No session yet: a handshake is the keepalive.
          peer->events.handshake_wanted.store(true, std::memory_order_relaxed);
        }
      }
    }
  }
  if (routes_changed || change.replace_peers ||
      std::any_of(change.peers.begin(), change.peers.end(),
                  [](const PeerChange& pc) { return pc.remove; }))
    s.publish_lookup();
}

DeviceSnapshot Device::snapshot() const {
  const DeviceState& s = *state_;
  DeviceSnapshot snap;
  if (s.has_private_key) snap.private_key = s.local.private_key;
  snap.listen_port = s.listen_port;
  snap.fwmark = s.fwmark;
  for (const auto& [key, id] : s.peer_by_key) {
    const Peer* p = s.peer_at(id);
    if (p == nullptr) continue;
    PeerSnapshot ps;
    ps.public_key = key;
    ps.preshared_key = p->identity.preshared_key;
    const Endpoint e = p->endpoint.load();
    if (e.port != 0) ps.endpoint = e;
    if (p->last_handshake) {
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          p->last_handshake->time_since_epoch())
                          .count();
      ps.last_handshake_sec = ns / 1'000'000'000;
      ps.last_handshake_nsec = ns % 1'000'000'000;
    }
    ps.tx_bytes = p->tx_bytes.load(std::memory_order_relaxed) + p->control_tx_bytes;
    ps.rx_bytes = p->rx_bytes.load(std::memory_order_relaxed) + p->control_rx_bytes;
    ps.persistent_keepalive_interval = p->persistent_keepalive;
    ps.allowed_ips = s.allowed.prefixes_of(id);
    snap.peers.push_back(std::move(ps));
  }
  return snap;
}

DeviceCounters Device::counters() const noexcept {
  const DeviceState& s = *state_;
  DeviceCounters c = s.control_counters;
  for (std::size_t i = 0; i < c.tx_drops.size(); ++i)
    c.tx_drops[i] = s.tx_drops[i].load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < c.rx_drops.size(); ++i)
    c.rx_drops[i] = s.rx_drops[i].load(std::memory_order_relaxed);
  return c;
}

}  // namespace sockswitch::wireguard
