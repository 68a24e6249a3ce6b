// ports/wireguard/xchacha20_poly1305.cc: HChaCha20 from one EVP_chacha20 block.
#include "ports/wireguard/xchacha20_poly1305.h"

#include <openssl/evp.h>

#include <memory>

namespace sockswitch::wireguard {
namespace {

std::uint32_t load32(const std::uint8_t* p) noexcept {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
         std::uint32_t{p[3]} << 24;
}
void store32(std::uint8_t* p, std::uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i)
    p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};

// "expand 32-byte k", the ChaCha20 constant words 0-3.
constexpr std::uint32_t kSigma[4] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};

AeadNonce inner_nonce(const XNonce& nonce) noexcept {
  AeadNonce n{};
  for (std::size_t i = 0; i < 8; ++i)
    n[4 + i] = nonce[16 + i];
  return n;
}

}  // namespace

bool hchacha20(std::span<const std::uint8_t, kKeySize> key, std::span<const std::uint8_t, 16> nonce,
               SecretKey& subkey) noexcept {
  subkey.clear();
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  // EVP_chacha20's IV is the state's words 12-15: block counter then nonce.
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_chacha20(), nullptr, key.data(), nonce.data()) != 1)
    return false;
  Secret<64> block;  // zeros in, keystream out
  int len = 0;
  if (EVP_EncryptUpdate(ctx.get(), block.data(), &len, block.data(), 64) != 1 || len != 64)
    return false;
  for (int i = 0; i < 4; ++i) {
    store32(subkey.data() + 4 * i, load32(block.data() + 4 * i) - kSigma[i]);
    store32(subkey.data() + 16 + 4 * i,
            load32(block.data() + 48 + 4 * i) - load32(nonce.data() + 4 * i));
  }
  return true;
}

bool xchacha20_poly1305_seal(ChaCha20Poly1305& aead, std::span<const std::uint8_t, kKeySize> key,
                             const XNonce& nonce, std::span<const std::uint8_t> ad,
                             std::span<std::uint8_t> text_and_tag) noexcept {
  SecretKey subkey;
  return hchacha20(key, std::span<const std::uint8_t, 16>(nonce.data(), 16), subkey) &&
         aead.seal(subkey.span(), inner_nonce(nonce), ad, text_and_tag);
}

bool xchacha20_poly1305_open(ChaCha20Poly1305& aead, std::span<const std::uint8_t, kKeySize> key,
                             const XNonce& nonce, std::span<const std::uint8_t> ad,
                             std::span<std::uint8_t> text_and_tag) noexcept {
  SecretKey subkey;
  return hchacha20(key, std::span<const std::uint8_t, 16>(nonce.data(), 16), subkey) &&
         aead.open(subkey.span(), inner_nonce(nonce), ad, text_and_tag);
}

}  // namespace sockswitch::wireguard
