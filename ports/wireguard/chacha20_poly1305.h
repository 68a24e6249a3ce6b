// ports/wireguard/chacha20_poly1305.h: the AEAD of WireGuard (RFC 8439), in place.
//
// One ChaCha20Poly1305 object owns one EVP_CIPHER_CTX and is reused for
// every packet a thread seals or opens, so the per-packet path only
// re-keys the context and never allocates. Not thread-safe: one per thread.
//
// Buffers are "text followed by a 16-byte tag": seal() encrypts the first
// size-16 bytes in place and writes the tag behind them; open() checks the
// tag and decrypts in place. WireGuard's nonce is 32 zero bits followed by
// a 64-bit little-endian counter (counter_nonce()).
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "ports/wireguard/key.h"

struct evp_cipher_ctx_st;

namespace sockswitch::wireguard {

inline constexpr std::size_t kAeadTagSize = 16;
inline constexpr std::size_t kAeadNonceSize = 12;
using AeadNonce = std::array<std::uint8_t, kAeadNonceSize>;

[[nodiscard]] constexpr AeadNonce counter_nonce(std::uint64_t counter) noexcept {
  AeadNonce n{};
  for (std::size_t i = 0; i < 8; ++i)
    n[4 + i] = static_cast<std::uint8_t>(counter >> (8 * i));
  return n;
}

class ChaCha20Poly1305 final {
 public:
  ChaCha20Poly1305();  // throws std::runtime_error if OpenSSL lacks the cipher
  ~ChaCha20Poly1305();
  ChaCha20Poly1305(const ChaCha20Poly1305&) = delete;
  ChaCha20Poly1305& operator=(const ChaCha20Poly1305&) = delete;

  // text_and_tag.size() >= 16. false only if OpenSSL fails.
  [[nodiscard]] bool seal(std::span<const std::uint8_t, kKeySize> key, const AeadNonce& nonce,
                          std::span<const std::uint8_t> ad,
                          std::span<std::uint8_t> text_and_tag) noexcept;
  // false when the buffer is shorter than a tag or the tag does not verify;
  // the text is then not to be used.
  [[nodiscard]] bool open(std::span<const std::uint8_t, kKeySize> key, const AeadNonce& nonce,
                          std::span<const std::uint8_t> ad,
                          std::span<std::uint8_t> text_and_tag) noexcept;

 private:
  [[nodiscard]] bool run(bool encrypt, std::span<const std::uint8_t, kKeySize> key,
                         const AeadNonce& nonce, std::span<const std::uint8_t> ad,
                         std::span<std::uint8_t> text_and_tag) noexcept;
  evp_cipher_ctx_st* ctx_;
};

}  // namespace sockswitch::wireguard
