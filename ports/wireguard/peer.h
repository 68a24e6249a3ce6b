// ports/wireguard/peer.h: everything the Device knows about one peer, split by the thread that
// writes it.
//
// A Peer is created and destroyed by the handshake thread; the poll thread
// reaches it through the Device's peer table (an atomic pointer per slot)
// or a keypair, and a removed Peer is freed only after a grace period.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>

#include "ports/wireguard/cookie_mac.h"
#include "ports/wireguard/endpoint_cell.h"
#include "ports/wireguard/keypair.h"
#include "ports/wireguard/noise_handshake.h"
#include "ports/wireguard/peer_timers.h"
#include "ports/wireguard/staged_packets.h"

namespace sockswitch::wireguard {

// Steady-clock nanoseconds of an event, as the poll thread records it.
inline constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::min();
[[nodiscard]] inline std::int64_t to_nanos(TimePoint t) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
[[nodiscard]] inline TimePoint from_nanos(std::int64_t ns) noexcept {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::nanoseconds(ns)));
}

// Events the poll thread records for tick() (one writer each).
struct PeerEvents {
  std::atomic<std::int64_t> data_sent{kNever};
  std::atomic<std::int64_t> data_received{kNever};
  std::atomic<std::int64_t> authenticated_sent{kNever};
  std::atomic<std::int64_t> authenticated_received{kNever};
  std::atomic<bool> handshake_wanted{false};
};

struct Peer {
  Peer(std::uint32_t id, const TimerDurations& durations, std::size_t staged_slots,
       std::size_t staged_packet_size)
      : id(id), timers(durations, id + 1), staged(staged_slots, staged_packet_size) {}

  const std::uint32_t id;  // slot in the Device's peer table, AllowedIPs value

  // --- handshake thread ---
  PeerIdentity identity;
  HandshakeState handshake;
  MacStamper stamper;
  PeerTimers timers;
  std::uint16_t persistent_keepalive = 0;  // seconds
  std::optional<std::chrono::system_clock::time_point> last_handshake;
  std::uint64_t control_tx_bytes = 0;  // keepalives and handshakes it sent
  std::uint64_t control_rx_bytes = 0;  // handshake messages it consumed
  struct {
    std::int64_t data_sent = kNever, data_received = kNever;
    std::int64_t authenticated_sent = kNever, authenticated_received = kNever;
  } seen;  // the PeerEvents values already given to the timers

  // --- published to the poll thread (handshake thread stores) ---
  std::atomic<Keypair*> current{nullptr};
  std::atomic<Keypair*> previous{nullptr};
  std::atomic<Keypair*> next{nullptr};
  EndpointCell endpoint;  // written by both, see endpoint_cell.h
  // Set by tick() when the peer gave up on its handshake; the poll thread
  // then empties `staged`.
  std::atomic<bool> drop_staged{false};

  // --- poll thread writes ---
  PeerEvents events;
  std::atomic<std::uint64_t> rx_bytes{0};
  std::atomic<std::uint64_t> tx_bytes{0};
  StagedPackets staged;
};

}  // namespace sockswitch::wireguard
