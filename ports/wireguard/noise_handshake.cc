// ports/wireguard/noise_handshake.cc: the message computations of Noise_IKpsk2.
//
// Variable names follow the whitepaper: C chaining key, H hash, k a
// one-use AEAD key (nonce 0), E ephemeral, S static.
#include "ports/wireguard/noise_handshake.h"

#include <cstring>

#include "ports/wireguard/chacha20_poly1305.h"
#include "ports/wireguard/x25519.h"

namespace sockswitch::wireguard {
namespace {

Bytes text(std::string_view s) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// C = HASH(CONSTRUCTION), H = HASH(C || IDENTIFIER || S_pub_responder).
bool initial_state(const PublicKey& responder_static, SecretKey& c, Hash& h) noexcept {
  Hash ck;
  if (!blake2s_hash({text(kConstruction)}, ck)) return false;
  c = SecretKey(ck);
  return blake2s_hash({ck, text(kIdentifier)}, h) && blake2s_hash({h, responder_static}, h);
}

bool mix_hash(Hash& h, Bytes data) noexcept {
  return blake2s_hash({h, data}, h);
}

bool seal(const SecretKey& key, const Hash& h, std::span<std::uint8_t> text_and_tag) noexcept {
  ChaCha20Poly1305 aead;
  return aead.seal(key.span(), counter_nonce(0), h, text_and_tag);
}

bool open(const SecretKey& key, const Hash& h, std::span<std::uint8_t> text_and_tag) noexcept {
  ChaCha20Poly1305 aead;
  return aead.open(key.span(), counter_nonce(0), h, text_and_tag);
}

// C = KDF1(C, DH(priv, pub)).
bool mix_dh(SecretKey& c, const SecretKey& priv, const PublicKey& pub) noexcept {
  SecretKey shared;
  return dh(priv, pub, shared) && kdf1(c, shared.span(), c);
}

}  // namespace

void HandshakeState::clear() noexcept {
  stage = HandshakeStage::none;
  wipe(hash.data(), hash.size());
  chaining_key.clear();
  ephemeral_private.clear();
  remote_ephemeral.fill(0);
  local_index = 0;
  remote_index = 0;
}

std::string_view to_string(HandshakeError e) noexcept {
  switch (e) {
    case HandshakeError::none:
      return "none";
    case HandshakeError::crypto_failed:
      return "crypto_failed";
    case HandshakeError::bad_static:
      return "bad_static";
    case HandshakeError::unknown_peer:
      return "unknown_peer";
    case HandshakeError::bad_timestamp:
      return "bad_timestamp";
    case HandshakeError::replayed_timestamp:
      return "replayed_timestamp";
    case HandshakeError::flood:
      return "flood";
    case HandshakeError::unexpected:
      return "unexpected";
    case HandshakeError::bad_response:
      return "bad_response";
    case HandshakeError::kCount:
      break;
  }
  return "?";
}

bool precompute_static_static(const LocalIdentity& local, PeerIdentity& peer) noexcept {
  return dh(local.private_key, peer.remote_static, peer.static_static);
}

bool create_initiation(const LocalIdentity& local, const PeerIdentity& peer, HandshakeState& state,
                       std::uint32_t local_index, const SecretKey& ephemeral_private,
                       const Tai64n& timestamp, InitiationMessage& out) noexcept {
  state.clear();
  std::memset(&out, 0, sizeof out);
  SecretKey c, k;
  Hash h;
  const auto e_pub = public_key_of(ephemeral_private);
  if (peer.static_static.is_zero() || !e_pub || !initial_state(peer.remote_static, c, h))
    return false;
  out.header = make_header(MessageType::initiation);
  out.sender = store_index(local_index);
  out.ephemeral = *e_pub;
  // C = KDF1(C, E_pub); H = HASH(H || E_pub)
  if (!kdf1(c, *e_pub, c) || !mix_hash(h, *e_pub)) return false;
  // (C, k) = KDF2(C, DH(E_priv, S_pub_r)); static = AEAD(k, 0, S_pub_i, H)
  SecretKey es;
  if (!dh(ephemeral_private, peer.remote_static, es) || !kdf2(c, es.span(), c, k)) return false;
  std::memcpy(out.encrypted_static.data(), local.public_key.data(), kKeySize);
  if (!seal(k, h, out.encrypted_static) || !mix_hash(h, out.encrypted_static)) return false;
  // (C, k) = KDF2(C, DH(S_priv_i, S_pub_r)); timestamp = AEAD(k, 0, TAI64N, H)
  if (!kdf2(c, peer.static_static.span(), c, k)) return false;
  std::memcpy(out.encrypted_timestamp.data(), timestamp.data(), kTimestampSize);
  if (!seal(k, h, out.encrypted_timestamp) || !mix_hash(h, out.encrypted_timestamp)) return false;

  state.stage = HandshakeStage::initiation_created;
  state.hash = h;
  state.chaining_key = c;
  state.ephemeral_private = ephemeral_private;
  state.local_index = local_index;
  return true;
}

HandshakeError open_initiation(const LocalIdentity& local, const InitiationMessage& msg,
                               OpenedInitiation& out) noexcept {
  SecretKey c, k;
  Hash h;
  if (!initial_state(local.public_key, c, h)) return HandshakeError::crypto_failed;
  if (!kdf1(c, msg.ephemeral, c) || !mix_hash(h, msg.ephemeral))
    return HandshakeError::crypto_failed;
  SecretKey es;
  if (!dh(local.private_key, msg.ephemeral, es) || !kdf2(c, es.span(), c, k))
    return HandshakeError::crypto_failed;
  auto encrypted_static = msg.encrypted_static;
  if (!open(k, h, encrypted_static)) return HandshakeError::bad_static;
  if (!mix_hash(h, msg.encrypted_static)) return HandshakeError::crypto_failed;
  std::memcpy(out.initiator_static.data(), encrypted_static.data(), kKeySize);
  out.initiator_ephemeral = msg.ephemeral;
  out.sender_index = load_index(msg.sender);
  out.hash = h;
  out.chaining_key = c;
  return HandshakeError::none;
}

HandshakeError accept_initiation(const PeerIdentity& peer, HandshakeState& state,
                                 const InitiationMessage& msg, const OpenedInitiation& opened,
                                 TimePoint now) noexcept {
  if (peer.static_static.is_zero()) return HandshakeError::crypto_failed;
  SecretKey c = opened.chaining_key, k;
  Hash h = opened.hash;
  if (!kdf2(c, peer.static_static.span(), c, k)) return HandshakeError::crypto_failed;
  auto encrypted_timestamp = msg.encrypted_timestamp;
  if (!open(k, h, encrypted_timestamp)) return HandshakeError::bad_timestamp;
  if (!mix_hash(h, msg.encrypted_timestamp)) return HandshakeError::crypto_failed;
  Tai64n timestamp;
  std::memcpy(timestamp.data(), encrypted_timestamp.data(), kTimestampSize);
  if (!tai64n_after(timestamp, state.latest_timestamp)) return HandshakeError::replayed_timestamp;
  if (state.last_initiation_consumed &&
      now < *state.last_initiation_consumed + kHandshakeInitiationRate)
    return HandshakeError::flood;

  state.clear();
  state.stage = HandshakeStage::initiation_consumed;
  state.hash = h;
  state.chaining_key = c;
  state.remote_ephemeral = opened.initiator_ephemeral;
  state.remote_index = opened.sender_index;
  state.latest_timestamp = timestamp;
  state.last_initiation_consumed = now;
  return HandshakeError::none;
}

bool create_response(const PeerIdentity& peer, HandshakeState& state, std::uint32_t local_index,
                     const SecretKey& ephemeral_private, ResponseMessage& out) noexcept {
  std::memset(&out, 0, sizeof out);
  if (state.stage != HandshakeStage::initiation_consumed) return false;
  const auto e_pub = public_key_of(ephemeral_private);
  if (!e_pub) return false;
  SecretKey c = state.chaining_key;
  Hash h = state.hash;
  out.header = make_header(MessageType::response);
  out.sender = store_index(local_index);
  out.receiver = store_index(state.remote_index);
  out.ephemeral = *e_pub;
  if (!kdf1(c, *e_pub, c) || !mix_hash(h, *e_pub)) return false;
  // C = KDF1(C, DH(E_priv_r, E_pub_i)); C = KDF1(C, DH(E_priv_r, S_pub_i))
  if (!mix_dh(c, ephemeral_private, state.remote_ephemeral) ||
      !mix_dh(c, ephemeral_private, peer.remote_static))
    return false;
  // (C, tau, k) = KDF3(C, Q); H = HASH(H || tau); empty = AEAD(k, 0, e, H)
  SecretKey tau, k;
  if (!kdf3(c, peer.preshared_key.span(), c, tau, k) || !mix_hash(h, tau.span())) return false;
  if (!seal(k, h, out.encrypted_nothing) || !mix_hash(h, out.encrypted_nothing)) return false;

  state.stage = HandshakeStage::response_created;
  state.hash = h;
  state.chaining_key = c;
  state.local_index = local_index;
  state.ephemeral_private.clear();
  return true;
}

HandshakeError consume_response(const LocalIdentity& local, const PeerIdentity& peer,
                                HandshakeState& state, const ResponseMessage& msg) noexcept {
  if (state.stage != HandshakeStage::initiation_created ||
      load_index(msg.receiver) != state.local_index)
    return HandshakeError::unexpected;
  SecretKey c = state.chaining_key;
  Hash h = state.hash;
  if (!kdf1(c, msg.ephemeral, c) || !mix_hash(h, msg.ephemeral))
    return HandshakeError::crypto_failed;
  if (!mix_dh(c, state.ephemeral_private, msg.ephemeral) ||
      !mix_dh(c, local.private_key, msg.ephemeral))
    return HandshakeError::crypto_failed;
  SecretKey tau, k;
  if (!kdf3(c, peer.preshared_key.span(), c, tau, k) || !mix_hash(h, tau.span()))
    return HandshakeError::crypto_failed;
  auto empty = msg.encrypted_nothing;
  if (!open(k, h, empty)) return HandshakeError::bad_response;
  if (!mix_hash(h, msg.encrypted_nothing)) return HandshakeError::crypto_failed;

  state.stage = HandshakeStage::response_consumed;
  state.hash = h;
  state.chaining_key = c;
  state.remote_ephemeral = msg.ephemeral;
  state.remote_index = load_index(msg.sender);
  state.ephemeral_private.clear();
  return HandshakeError::none;
}

bool derive_session(HandshakeState& state, SessionKeys& out) noexcept {
  const bool initiator = state.stage == HandshakeStage::response_consumed;
  if (!initiator && state.stage != HandshakeStage::response_created) return false;
  SecretKey t1, t2;
  if (!kdf2(state.chaining_key, {}, t1, t2)) return false;
  out.send = initiator ? t1 : t2;
  out.receive = initiator ? t2 : t1;
  out.local_index = state.local_index;
  out.remote_index = state.remote_index;
  out.we_initiated = initiator;
  state.clear();
  return true;
}

}  // namespace sockswitch::wireguard
