// ports/wireguard/device_handshakes.cc: the handshake thread's protocol work.
//
// process_handshakes() drains the queue the poll thread fills: mac1 first
// (cheap, drops junk before any DH), then under load mac2 or a cookie
// reply, then the Noise step. tick() turns the poll thread's recorded
// events and the clock into PeerTimers events and carries out what the
// timers ask for.
#include <openssl/rand.h>

#include <cstring>

#include "ports/wireguard/device_state.h"
#include "ports/wireguard/x25519.h"

namespace sockswitch::wireguard {
namespace {

// The cookie is bound to the source address and port.
struct SourceBytes {
  std::array<std::uint8_t, 18> bytes{};
  std::size_t size = 0;
  explicit SourceBytes(const Endpoint& e) noexcept {
    const auto addr = e.address.bytes();
    std::memcpy(bytes.data(), addr.data(), addr.size());
    bytes[addr.size()] = static_cast<std::uint8_t>(e.port >> 8);
    bytes[addr.size() + 1] = static_cast<std::uint8_t>(e.port);
    size = addr.size() + 2;
  }
  [[nodiscard]] std::span<const std::uint8_t> view() const noexcept { return {bytes.data(), size}; }
};

template <typename Message>
OutgoingDatagram datagram_of(const Message& m, const Endpoint& to) noexcept {
  OutgoingDatagram d;
  d.to = to;
  std::memcpy(d.bytes.data(), &m, sizeof m);
  d.size = sizeof m;
  return d;
}

void count(DeviceCounters& c, HandshakeError e) noexcept {
  ++c.handshake_errors[static_cast<std::size_t>(e)];
}

}  // namespace

void Device::process_handshakes(TimePoint now, std::vector<OutgoingDatagram>& out) {
  DeviceState& s = *state_;
  s.reclaim();
  const bool under_load = s.handshake_queue.depth() >= s.options.under_load_queue_depth;
  QueuedHandshake q;
  while (s.handshake_queue.pop(q)) {
    const auto bytes = q.view();
    const auto type = static_cast<MessageType>(bytes[0]);  // classify()ed by the poll thread

    if (type == MessageType::cookie_reply) {
      const auto reply = read_message<CookieReplyMessage>(bytes);
      const auto owner = s.indices.owner_of(load_index(reply.receiver));
      Peer* peer = owner ? s.peer_at(*owner) : nullptr;
      if (peer == nullptr || !peer->stamper.consume_reply(reply, now))
        count(s.control_counters, HandshakeError::unexpected);
      continue;
    }
    if (!s.has_private_key) continue;
    if (!s.cookies.mac1_valid(bytes)) {
      ++s.control_counters.bad_mac1;
      continue;
    }
    if (under_load && !s.cookies.mac2_valid(bytes, SourceBytes(q.source).view(), now)) {
      // Sender index sits right after the header in both message types.
      CookieReplyMessage reply;
      Index sender;
      std::memcpy(sender.data(), bytes.data() + 4, sender.size());
      if (s.cookies.make_reply(bytes, load_index(sender), SourceBytes(q.source).view(), now,
                               reply)) {
        out.push_back(datagram_of(reply, q.source));
        ++s.control_counters.cookie_replies_sent;
      }
      continue;
    }

    if (type == MessageType::initiation) {
      const auto msg = read_message<InitiationMessage>(bytes);
      OpenedInitiation opened;
      HandshakeError e = open_initiation(s.local, msg, opened);
      const auto found = s.peer_by_key.find(opened.initiator_static);
      Peer* peer = nullptr;
      if (e == HandshakeError::none) {
        peer = found == s.peer_by_key.end() ? nullptr : s.peer_at(found->second);
        if (peer == nullptr) e = HandshakeError::unknown_peer;
      }
      // A simultaneous initiation of ours loses its index when accepted.
      const bool had_pending =
          peer != nullptr && peer->handshake.stage == HandshakeStage::initiation_created;
      const std::uint32_t pending_index = had_pending ? peer->handshake.local_index : 0;
      if (e == HandshakeError::none)
        e = accept_initiation(peer->identity, peer->handshake, msg, opened, now);
      if (e != HandshakeError::none) {
        count(s.control_counters, e);
        continue;
      }
      if (had_pending) s.indices.release(pending_index);
      peer->endpoint.store(q.source);
      peer->control_rx_bytes += bytes.size();
      peer->timers.on_authenticated_packet_received(now);
      std::uint32_t random = 0;
      (void)RAND_bytes(reinterpret_cast<unsigned char*>(&random), sizeof random);
      const auto index = s.indices.reserve(peer->id, random);
      ResponseMessage resp;
      SessionKeys keys;
      if (!index ||
          !create_response(peer->identity, peer->handshake, *index, generate_private_key(), resp) ||
          !derive_session(peer->handshake, keys)) {
        if (index) s.indices.release(*index);
        peer->handshake.clear();
        count(s.control_counters, HandshakeError::crypto_failed);
        continue;
      }
      peer->stamper.stamp(std::span(reinterpret_cast<std::uint8_t*>(&resp), sizeof resp), now);
      out.push_back(datagram_of(resp, q.source));
      peer->control_tx_bytes += sizeof resp;
      s.install_session(*peer, keys, now);
      peer->timers.on_authenticated_packet_sent(now);
      continue;
    }

    // Response.
    const auto msg = read_message<ResponseMessage>(bytes);
    const auto owner = s.indices.owner_of(load_index(msg.receiver));
    Peer* peer = owner ? s.peer_at(*owner) : nullptr;
    if (peer == nullptr) {
      count(s.control_counters, HandshakeError::unexpected);
      continue;
    }
    const HandshakeError e = consume_response(s.local, peer->identity, peer->handshake, msg);
    SessionKeys keys;
    if (e != HandshakeError::none || !derive_session(peer->handshake, keys)) {
      count(s.control_counters, e == HandshakeError::none ? HandshakeError::crypto_failed : e);
      continue;
    }
    peer->endpoint.store(q.source);
    peer->control_rx_bytes += bytes.size();
    s.install_session(*peer, keys, now);
    peer->timers.on_authenticated_packet_received(now);
    peer->timers.on_handshake_complete(now);
    peer->last_handshake = std::chrono::system_clock::now();
    ++s.control_counters.handshakes_completed;
    // Confirms the session to the responder even if nothing is staged.
    OutgoingDatagram keepalive;
    if (s.make_keepalive(*peer, now, keepalive)) out.push_back(keepalive);
  }
}

void Device::tick(TimePoint now, std::vector<OutgoingDatagram>& out) {
  DeviceState& s = *state_;
  s.reclaim();
  out.insert(out.end(), s.pending_out.begin(), s.pending_out.end());
  s.pending_out.clear();
  for (auto& slot : s.peers) {
    Peer* peer = slot.load(std::memory_order_relaxed);
    if (peer == nullptr) continue;
    s.rotate_confirmed(*peer, now);

    auto age = [&]() {
      const Keypair* k = peer->current.load(std::memory_order_relaxed);
      return k == nullptr ? SessionAge{}
                          : SessionAge{k->created, k->we_initiated,
                                       k->send_counter.load(std::memory_order_relaxed)};
    };
    TimerActions actions;
    auto seen = [](std::atomic<std::int64_t>& event, std::int64_t& last) {
      const std::int64_t v = event.load(std::memory_order_relaxed);
      if (v == last) return false;
      last = v;
      return true;
    };
    PeerEvents& ev = peer->events;
    if (seen(ev.authenticated_sent, peer->seen.authenticated_sent))
      peer->timers.on_authenticated_packet_sent(from_nanos(peer->seen.authenticated_sent));
    if (seen(ev.authenticated_received, peer->seen.authenticated_received))
      peer->timers.on_authenticated_packet_received(from_nanos(peer->seen.authenticated_received));
    if (seen(ev.data_sent, peer->seen.data_sent) && peer->current.load() != nullptr)
      actions |= peer->timers.on_data_sent(from_nanos(peer->seen.data_sent), age());
    if (seen(ev.data_received, peer->seen.data_received) && peer->current.load() != nullptr)
      actions |= peer->timers.on_data_received(from_nanos(peer->seen.data_received), age());
    if (ev.handshake_wanted.exchange(false, std::memory_order_relaxed))
      actions |= peer->timers.want_handshake(now);
    actions |= peer->timers.tick(now);

    if (actions.zero_key_material) s.drop_sessions(*peer);
    if (actions.drop_staged_packets) peer->drop_staged.store(true, std::memory_order_relaxed);
    if (actions.send_handshake_initiation) s.send_initiation(*peer, now, out);
    if (actions.send_keepalive) {
      OutgoingDatagram keepalive;
      if (s.make_keepalive(*peer, now, keepalive)) out.push_back(keepalive);
    }
  }
}

std::optional<TimePoint> Device::next_deadline() const noexcept {
  std::optional<TimePoint> earliest;
  for (const auto& slot : state_->peers) {
    const Peer* peer = slot.load(std::memory_order_relaxed);
    if (peer == nullptr) continue;
    const auto d = peer->timers.next_deadline();
    if (d && (!earliest || *d < *earliest)) earliest = d;
  }
  return earliest;
}

}  // namespace sockswitch::wireguard
