// ports/wireguard/x25519.h: Curve25519 Diffie-Hellman (RFC 7748) over OpenSSL's X25519.
//
// WireGuard's DH, DH-GENERATE and DH-PUBKEY. A private key is stored
// clamped (as `wg genkey` prints it and as OpenSSL applies it anyway), so
// the bytes a user sees equal the scalar in use. dh() refuses an all-zero
// shared secret: a peer that sends a low-order point must not make both
// sides derive keys from a value an eavesdropper also knows.
#pragma once

#include <optional>

#include "ports/wireguard/key.h"

namespace sockswitch::wireguard {

void clamp_private_key(SecretKey& key) noexcept;

// 32 bytes from OpenSSL's CSPRNG, clamped. Throws std::runtime_error when the
// CSPRNG fails (control path only).
[[nodiscard]] SecretKey generate_private_key();

// nullopt only if OpenSSL cannot build the key (it accepts any 32 bytes).
[[nodiscard]] std::optional<PublicKey> public_key_of(const SecretKey& private_key) noexcept;

// false (and `shared` cleared) when OpenSSL fails or the result is all zero.
[[nodiscard]] bool dh(const SecretKey& private_key, const PublicKey& public_key,
                      SecretKey& shared) noexcept;

}  // namespace sockswitch::wireguard
