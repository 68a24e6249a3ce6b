// ports/wireguard/noise_handshake.h: Noise_IKpsk2 as the WireGuard whitepaper (§5.4) specifies it.
//
// Four steps, one function each, over a per-peer HandshakeState:
//   initiator  create_initiation()  -> InitiationMessage (mac1/mac2 left zero)
//   responder  open_initiation()    -> who sent it (static key), then the
//              caller finds that peer and calls accept_initiation(), which
//              checks the TAI64N timestamp (must grow) and the flood limit
//              (one initiation per peer per 1/50 s) before touching state
//   responder  create_response()    -> ResponseMessage
//   initiator  consume_response()
// then derive_session() gives both sides their transport keys (initiator
// sends with T1, responder with T2) and wipes the handshake secrets.
// Splitting the responder's part in two keeps peer lookup out of this file:
// the identity is only known after the static key has been decrypted.
//
// Nothing here sends, times out or adds MACs: cookie_mac.h stamps and checks
// mac1/mac2; the device owns indices, timers and retries. Ephemeral keys
// and timestamps are parameters, so tests can replay recorded exchanges.
// Handshake thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "ports/wireguard/blake2s.h"
#include "ports/wireguard/key.h"
#include "ports/wireguard/messages.h"
#include "ports/wireguard/peer_clock.h"
#include "ports/wireguard/tai64n.h"

namespace sockswitch::wireguard {

inline constexpr std::string_view kConstruction = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
inline constexpr std::string_view kIdentifier = "WireGuard v1 zx2c4 Jason@zx2c4.com";
// An initiation from a peer less than this after its previous one is dropped.
inline constexpr Duration kHandshakeInitiationRate = std::chrono::milliseconds(20);

struct LocalIdentity {
  SecretKey private_key;
  PublicKey public_key{};
};

// What a handshake needs to know of the other side; set by the control path.
struct PeerIdentity {
  PublicKey remote_static{};
  SecretKey preshared_key;  // all zero when none is configured
  SecretKey static_static;  // DH(local private, remote static); zero if unusable
};
// Fills static_static; false if the DH gives the all-zero secret.
[[nodiscard]] bool precompute_static_static(const LocalIdentity& local,
                                            PeerIdentity& peer) noexcept;

enum class HandshakeStage : std::uint8_t {
  none,
  initiation_created,   // initiator, waiting for the response
  initiation_consumed,  // responder, about to answer
  response_created,     // responder, keys derivable (confirmed by first data)
  response_consumed,    // initiator, keys derivable
};

struct HandshakeState {
  HandshakeStage stage = HandshakeStage::none;
  Hash hash{};
  SecretKey chaining_key;
  SecretKey ephemeral_private;
  PublicKey remote_ephemeral{};
  std::uint32_t local_index = 0;
  std::uint32_t remote_index = 0;
  // Replay and flood state of the responder side: survives clear().
  Tai64n latest_timestamp{};
  std::optional<TimePoint> last_initiation_consumed;

  void clear() noexcept;  // forget the handshake in progress, wipe its secrets
};

enum class HandshakeError : std::uint8_t {
  none,
  crypto_failed,       // a DH gave zero or OpenSSL failed
  bad_static,          // encrypted static did not authenticate (not for us)
  unknown_peer,        // static key decrypted but no such peer (set by the caller)
  bad_timestamp,       // encrypted timestamp did not authenticate
  replayed_timestamp,  // timestamp not newer than the last from this peer
  flood,               // initiations faster than kHandshakeInitiationRate
  unexpected,          // response without a matching initiation in flight
  bad_response,        // the empty payload did not authenticate
  kCount,
};
[[nodiscard]] std::string_view to_string(HandshakeError e) noexcept;

[[nodiscard]] bool create_initiation(const LocalIdentity& local, const PeerIdentity& peer,
                                     HandshakeState& state, std::uint32_t local_index,
                                     const SecretKey& ephemeral_private, const Tai64n& timestamp,
                                     InitiationMessage& out) noexcept;

// The responder's half-way state: who the initiator claims to be, and the
// Noise state reached after decrypting that claim.
struct OpenedInitiation {
  PublicKey initiator_static{};
  PublicKey initiator_ephemeral{};
  std::uint32_t sender_index = 0;
  Hash hash{};
  SecretKey chaining_key;
};
[[nodiscard]] HandshakeError open_initiation(const LocalIdentity& local,
                                             const InitiationMessage& msg,
                                             OpenedInitiation& out) noexcept;
[[nodiscard]] HandshakeError accept_initiation(const PeerIdentity& peer, HandshakeState& state,
                                               const InitiationMessage& msg,
                                               const OpenedInitiation& opened,
                                               TimePoint now) noexcept;

[[nodiscard]] bool create_response(const PeerIdentity& peer, HandshakeState& state,
                                   std::uint32_t local_index, const SecretKey& ephemeral_private,
                                   ResponseMessage& out) noexcept;
// The caller found `state` by msg.receiver (== state.local_index).
[[nodiscard]] HandshakeError consume_response(const LocalIdentity& local, const PeerIdentity& peer,
                                              HandshakeState& state,
                                              const ResponseMessage& msg) noexcept;

struct SessionKeys {
  SecretKey send;
  SecretKey receive;
  std::uint32_t local_index = 0;
  std::uint32_t remote_index = 0;
  bool we_initiated = false;
};
// Valid in stages response_created / response_consumed; clears the state.
[[nodiscard]] bool derive_session(HandshakeState& state, SessionKeys& out) noexcept;

}  // namespace sockswitch::wireguard
