// ports/wireguard/device_state.h: the Device's insides, shared by device*.cc.
//
// Split by writer as device.h describes: the handshake thread owns the
// identity, the editable AllowedIPs, the peer map by key, the retire list
// and its counters; the poll thread reads the published pointers (peer
// table, AllowedIPs lookup, index table) and owns its AEAD context and
// drop counters.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <vector>

#include "ports/wireguard/allowed_ips.h"
#include "ports/wireguard/chacha20_poly1305.h"
#include "ports/wireguard/cookie_mac.h"
#include "ports/wireguard/device.h"
#include "ports/wireguard/grace_period.h"
#include "ports/wireguard/handshake_queue.h"
#include "ports/wireguard/peer.h"
#include "ports/wireguard/session_index_table.h"

namespace sockswitch::wireguard {

// Something unpublished, to free when its grace period has passed.
struct Retired {
  std::uint64_t ticket = 0;
  std::unique_ptr<Keypair> keypair;  // its index slot is released with it
  std::unique_ptr<Peer> peer;        // its peer-table slot is freed with it
  std::unique_ptr<const AllowedIpsLookup> lookup;
};

class DeviceState final {
 public:
  explicit DeviceState(DeviceOptions options);
  ~DeviceState();

  const DeviceOptions options;

  // --- handshake thread ---
  LocalIdentity local;
  bool has_private_key = false;
  std::uint16_t listen_port = 0;
  std::uint32_t fwmark = 0;
  CookieChecker cookies;
  AllowedIps allowed;
  std::map<PublicKey, std::uint32_t> peer_by_key;
  std::vector<bool> peer_slot_used;
  std::vector<Retired> retired;
  std::vector<OutgoingDatagram> pending_out;  // made by apply(), sent by tick()
  ChaCha20Poly1305 control_aead;
  Tai64n last_timestamp{};
  DeviceCounters control_counters;

  // --- published to the poll thread ---
  GracePeriod grace;
  std::vector<std::atomic<Peer*>> peers;
  std::atomic<const AllowedIpsLookup*> lookup{nullptr};
  SessionIndexTable indices;
  HandshakeQueue handshake_queue;

  // --- poll thread ---
  ChaCha20Poly1305 poll_aead;
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(TxDrop::kCount)> tx_drops{};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(RxDrop::kCount)> rx_drops{};
  std::size_t staged_total = 0;

  // --- handshake-thread helpers (device_sessions.cc) ---
  [[nodiscard]] Peer* peer_at(std::uint32_t id) const noexcept {
    return peers[id].load(std::memory_order_relaxed);
  }
  void retire_keypair(std::atomic<Keypair*>& slot);
  void drop_sessions(Peer& peer);  // all keypairs and the handshake in flight
  void abandon_handshake(Peer& peer) noexcept;
  void install_session(Peer& peer, SessionKeys& keys, TimePoint now);
  void rotate_confirmed(Peer& peer, TimePoint now);
  void publish_lookup();
  void remove_peer(Peer& peer);
  void reclaim() noexcept;
  [[nodiscard]] Tai64n next_timestamp() noexcept;
  // Keepalive on the peer's sending session; false if it has none.
  bool make_keepalive(Peer& peer, TimePoint now, OutgoingDatagram& out) noexcept;
  void send_initiation(Peer& peer, TimePoint now, std::vector<OutgoingDatagram>& out);
};

// The session a packet to `peer` goes out on: the current one, or the
// responder's `next` once confirmed; nullptr if neither may still send.
[[nodiscard]] Keypair* sending_keypair(const Peer& peer, TimePoint now,
                                       const TimerDurations& d) noexcept;

inline void bump(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) noexcept {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

}  // namespace sockswitch::wireguard
