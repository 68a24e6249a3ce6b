// ports/wireguard/blake2s.h: BLAKE2s-256 HASH, keyed MAC, HMAC and the KDFs.
//
// The whitepaper's symmetric toolkit, all from OpenSSL 3:
//   HASH(x)      BLAKE2s-256 (EVP_MD "BLAKE2S-256")
//   MAC(k, x)    keyed BLAKE2s with 16-byte output (EVP_MAC "BLAKE2SMAC")
//   HMAC(k, x)   HMAC over BLAKE2s-256 (EVP_MAC "HMAC")
//   KDFn(k, x)   HKDF-like chain: t0 = HMAC(k, x), t1 = HMAC(t0, 0x1),
//                ti = HMAC(t0, t(i-1) || i); returns t1..tn.
// These run on the handshake thread only (a few per handshake), so they
// fetch algorithms from OpenSSL's cache rather than keep contexts around.
// Inputs are lists of spans so callers hash a concatenation without
// building it.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>

#include "ports/wireguard/key.h"

namespace sockswitch::wireguard {

inline constexpr std::size_t kHashSize = 32;
inline constexpr std::size_t kMacSize = 16;

using Hash = std::array<std::uint8_t, kHashSize>;
using Mac = std::array<std::uint8_t, kMacSize>;
using Bytes = std::span<const std::uint8_t>;

// All return false only when OpenSSL fails (it does not for valid sizes);
// outputs are then zeroed.
[[nodiscard]] bool blake2s_hash(std::initializer_list<Bytes> parts, Hash& out) noexcept;
// Keyed BLAKE2s, key of 1..32 bytes, 16-byte tag (WireGuard's MAC).
[[nodiscard]] bool blake2s_mac(Bytes key, std::initializer_list<Bytes> parts, Mac& out) noexcept;
// Keyed BLAKE2s with a chosen output size (1..32): the reference vectors use 32.
[[nodiscard]] bool blake2s_mac_sized(Bytes key, Bytes message,
                                     std::span<std::uint8_t> out) noexcept;
[[nodiscard]] bool hmac_blake2s(Bytes key, std::initializer_list<Bytes> parts,
                                std::span<std::uint8_t, kHashSize> out) noexcept;

// KDF1/2/3 of the whitepaper; outputs are secrets (wiped on destruction).
[[nodiscard]] bool kdf1(const SecretKey& key, Bytes input, SecretKey& t1) noexcept;
[[nodiscard]] bool kdf2(const SecretKey& key, Bytes input, SecretKey& t1, SecretKey& t2) noexcept;
[[nodiscard]] bool kdf3(const SecretKey& key, Bytes input, SecretKey& t1, SecretKey& t2,
                        SecretKey& t3) noexcept;

}  // namespace sockswitch::wireguard
