// ports/wireguard/xchacha20_poly1305.h: HChaCha20 and XChaCha20-Poly1305 for cookie replies.
//
// OpenSSL 3 has no XChaCha20, so this is the one piece of glue written
// here (draft-irtf-cfrg-xchacha): HChaCha20 is derived from one block of
// OpenSSL's ChaCha20 keystream. A ChaCha20 block is rounds(state) + state,
// and with EVP_chacha20's 16-byte IV equal to the 16-byte HChaCha20 nonce
// the state is exactly HChaCha20's input; subtracting the known constant
// words (0-3) and nonce words (12-15) from the keystream leaves the rounds
// output HChaCha20 returns. XChaCha20-Poly1305 is then ChaCha20-Poly1305
// under the subkey HChaCha20(key, nonce[0..16]) with the 12-byte nonce
// 0^4 || nonce[16..24]. Only the handshake thread uses it (cookies).
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "ports/wireguard/chacha20_poly1305.h"
#include "ports/wireguard/key.h"

namespace sockswitch::wireguard {

inline constexpr std::size_t kXNonceSize = 24;
using XNonce = std::array<std::uint8_t, kXNonceSize>;

[[nodiscard]] bool hchacha20(std::span<const std::uint8_t, kKeySize> key,
                             std::span<const std::uint8_t, 16> nonce, SecretKey& subkey) noexcept;

[[nodiscard]] bool xchacha20_poly1305_seal(ChaCha20Poly1305& aead,
                                           std::span<const std::uint8_t, kKeySize> key,
                                           const XNonce& nonce, std::span<const std::uint8_t> ad,
                                           std::span<std::uint8_t> text_and_tag) noexcept;
[[nodiscard]] bool xchacha20_poly1305_open(ChaCha20Poly1305& aead,
                                           std::span<const std::uint8_t, kKeySize> key,
                                           const XNonce& nonce, std::span<const std::uint8_t> ad,
                                           std::span<std::uint8_t> text_and_tag) noexcept;

}  // namespace sockswitch::wireguard
