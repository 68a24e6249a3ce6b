// ports/wireguard/device.h: a WireGuard interface's protocol engine, without sockets.
//
// What: the Device holds the interface's private key and its peers, runs
// their handshakes, timers and cryptokey routing, and turns bursts of IP
// packets into WireGuard datagrams and back, in place in the caller's
// buffers. The WireGuardPort (ports/) owns the UDP socket and the threads
// and drives this class; tests drive two Devices back to back in memory.
//
// Threads (who may call what):
//   poll thread       encrypt_burst(), decrypt_burst(), flush_staged().
//                     One poll thread per Device. No allocation, lock,
//                     exception or virtual call per packet.
//   handshake thread  apply(), snapshot(), process_handshakes(), tick(),
//                     and the counters() reads. Handshake messages (types
//                     1-3) received by the poll thread are copied into a
//                     bounded queue that this thread drains, so a flood of
//                     initiations costs the poll thread one copy each and
//                     can never stall forwarding; past the queue's size
//                     they are dropped and counted.
//
// Publication to the poll thread, without a mutex on its path:
//   * keypairs: each peer has current/previous/next pointers and the
//     receive index table maps local indices to keypairs; only the
//     handshake thread stores them (atomic release stores). A replaced
//     keypair is retired and freed only after the poll thread has been seen
//     outside a burst (a grace period, see grace_period.h), so a burst
//     never touches freed memory.
//   * AllowedIPs: an immutable AllowedIpsLookup published the same way.
//   * endpoint: a seqlock per peer; the poll thread writes it when a peer
//     roams, the handshake thread when configured or when a handshake
//     arrives from a new address.
//   * events the timers need (data sent/received, handshake wanted, first
//     packet on a new session) are stored by the poll thread as relaxed
//     atomics per peer and turned into PeerTimers events by tick(), so the
//     timers see them with at most one tick of delay.
// Counters on the data path are written by the poll thread only (relaxed
// atomics, one writer) and read by anyone.
//
// Sessions: the initiator uses its new keypair as soon as the response is
// consumed (and sends a keepalive so the responder learns it). The
// responder's keypair waits as `next` until the first packet arrives on it;
// from then on the poll thread sends with it, and tick() rotates it into
// `current`.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "ports/wireguard/endpoint.h"
#include "ports/wireguard/key.h"
#include "ports/wireguard/messages.h"
#include "ports/wireguard/noise_handshake.h"
#include "ports/wireguard/peer_clock.h"
#include "ports/wireguard/peer_timers.h"
#include "ports/wireguard/uapi_protocol.h"

namespace sockswitch::wireguard {

// Room the caller leaves around each IP packet for encrypt_burst(): the
// 16-byte transport header goes before it, padding (up to 15) and the
// 16-byte tag after it.
inline constexpr std::size_t kTxHeadroom = kTransportHeaderSize;
inline constexpr std::size_t kTxTailroom = 32;
// Largest handshake message (an initiation); the outbox's slot size.
inline constexpr std::size_t kMaxHandshakeDatagram = kInitiationSize;

struct DeviceOptions {
  std::size_t max_peers = 256;
  std::size_t handshake_queue_size = 1024;  // pending type 1-3 datagrams
  std::size_t staged_per_peer = 128;        // packets held while a handshake runs
  std::size_t staged_packet_size = 2048;    // largest IP packet that can be staged
  TimerDurations timers;                    // shortened for rekey tests
  // Cookie replies instead of handshakes once the queue is this full.
  std::size_t under_load_queue_depth = 128;
};

enum class TxDrop : std::uint8_t {
  none,
  not_ip,       // neither IPv4 nor IPv6, or shorter than its header
  no_peer,      // no AllowedIPs entry covers the destination
  no_endpoint,  // the peer has no known address yet
  staged_full,  // no session and the peer's staging queue is full
  too_big,      // larger than a staging slot (when it had to be staged)
  kCount,
};
enum class RxDrop : std::uint8_t {
  none,
  malformed,  // classify() refused it
  handshake_queue_full,
  unknown_index,       // no session with that receiver index
  expired,             // session older than reject_after_time
  forged,              // tag did not verify
  replayed,            // counter seen or too old
  not_ip,              // plaintext is not an IP packet
  source_not_allowed,  // inner source outside the peer's AllowedIPs
  kCount,
};
[[nodiscard]] std::string_view to_string(TxDrop d) noexcept;
[[nodiscard]] std::string_view to_string(RxDrop d) noexcept;

// One IP packet in a caller buffer, with kTxHeadroom writable bytes before
// `data` and kTxTailroom writable bytes after data + size.
struct TxPacket {
  std::uint8_t* data = nullptr;
  std::uint32_t size = 0;
};
struct TxResult {
  enum class Verdict : std::uint8_t { send, staged, drop } verdict = Verdict::drop;
  TxDrop drop = TxDrop::none;
  std::uint8_t* datagram = nullptr;  // send: the message, starting kTxHeadroom before data
  std::uint32_t datagram_size = 0;
  Endpoint endpoint;  // send: where to
};

struct RxDatagram {
  std::uint8_t* data = nullptr;
  std::uint32_t size = 0;
  Endpoint source;
};
struct RxResult {
  enum class Verdict : std::uint8_t {
    deliver,   // an IP packet at packet/packet_size, from `peer`
    consumed,  // a keepalive, or a handshake message queued
    drop,
  } verdict = Verdict::drop;
  RxDrop drop = RxDrop::none;
  std::uint8_t* packet = nullptr;
  std::uint32_t packet_size = 0;
  std::uint32_t peer = 0;
};

// A datagram the handshake thread wants sent (handshake message, cookie
// reply, keepalive, or a staged packet is never here: see flush_staged()).
struct OutgoingDatagram {
  Endpoint to;
  std::array<std::uint8_t, kMaxHandshakeDatagram> bytes{};
  std::uint32_t size = 0;
  [[nodiscard]] std::span<const std::uint8_t> view() const noexcept { return {bytes.data(), size}; }
};

struct DeviceCounters {
  std::array<std::uint64_t, static_cast<std::size_t>(TxDrop::kCount)> tx_drops{};
  std::array<std::uint64_t, static_cast<std::size_t>(RxDrop::kCount)> rx_drops{};
  std::array<std::uint64_t, static_cast<std::size_t>(HandshakeError::kCount)> handshake_errors{};
  std::uint64_t bad_mac1 = 0;
  std::uint64_t cookie_replies_sent = 0;
  std::uint64_t handshakes_completed = 0;
};

class DeviceState;  // device_state.h: peers, sessions, queues

class Device final {
 public:
  explicit Device(DeviceOptions options = {});
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  // --- handshake thread: control ---------------------------------------
  // Applies a UAPI `set` / a wg-quick file (to_device_change()); throws
  // std::invalid_argument naming the problem (too many peers, ...) and
  // then changes nothing.
  void apply(const DeviceChange& change, TimePoint now);
  [[nodiscard]] DeviceSnapshot snapshot() const;
  [[nodiscard]] DeviceCounters counters() const noexcept;

  // --- handshake thread: protocol ----------------------------------------
  // Handles every queued handshake message; appends what must be sent.
  void process_handshakes(TimePoint now, std::vector<OutgoingDatagram>& out);
  // Runs the timers (call every ~100 ms): retries, rekeys, keepalives,
  // key zeroing, session rotation.
  void tick(TimePoint now, std::vector<OutgoingDatagram>& out);
  // When tick() next has something to do (for a timerfd); nullopt = idle.
  [[nodiscard]] std::optional<TimePoint> next_deadline() const noexcept;

  // --- poll thread: data path ----------------------------------------------
  // out.size() >= in.size(). Packets to a peer without a session are copied
  // into its staging queue and a handshake is requested.
  void encrypt_burst(std::span<const TxPacket> in, std::span<TxResult> out, TimePoint now) noexcept;
  // out.size() >= in.size(). Decrypts transport messages in place.
  void decrypt_burst(std::span<const RxDatagram> in, std::span<RxResult> out,
                     TimePoint now) noexcept;
  // Encrypts staged packets of peers whose session is now ready, into the
  // Device's own staging buffers (valid until the next flush_staged()).
  // Returns how many results were written (<= out.size()).
  [[nodiscard]] std::size_t flush_staged(std::span<TxResult> out, TimePoint now) noexcept;

 private:
  std::unique_ptr<DeviceState> state_;
};

}  // namespace sockswitch::wireguard
