// ports/wireguard/chacha20_poly1305.cc: EVP_chacha20_poly1305 with a reused context.
#include "ports/wireguard/chacha20_poly1305.h"

#include <openssl/evp.h>

#include <climits>
#include <stdexcept>

namespace sockswitch::wireguard {

ChaCha20Poly1305::ChaCha20Poly1305() : ctx_(EVP_CIPHER_CTX_new()) {
  // Bind the cipher once; later inits pass only key and nonce, which is
  // the cheap path of EVP_CipherInit_ex.
  if (ctx_ == nullptr ||
      EVP_CipherInit_ex(ctx_, EVP_chacha20_poly1305(), nullptr, nullptr, nullptr, 1) != 1) {
    EVP_CIPHER_CTX_free(ctx_);
    throw std::runtime_error("wireguard: OpenSSL has no ChaCha20-Poly1305");
  }
}

ChaCha20Poly1305::~ChaCha20Poly1305() {
  EVP_CIPHER_CTX_free(ctx_);
}

bool ChaCha20Poly1305::run(bool encrypt, std::span<const std::uint8_t, kKeySize> key,
                           const AeadNonce& nonce, std::span<const std::uint8_t> ad,
                           std::span<std::uint8_t> text_and_tag) noexcept {
  if (text_and_tag.size() < kAeadTagSize || text_and_tag.size() - kAeadTagSize > INT_MAX ||
      ad.size() > INT_MAX)
    return false;
  const int text_len = static_cast<int>(text_and_tag.size() - kAeadTagSize);
  std::uint8_t* text = text_and_tag.data();
  std::uint8_t* tag = text + text_len;
  if (EVP_CipherInit_ex(ctx_, nullptr, nullptr, key.data(), nonce.data(), encrypt ? 1 : 0) != 1)
    return false;
  int len = 0;
  if (!ad.empty() &&
      EVP_CipherUpdate(ctx_, nullptr, &len, ad.data(), static_cast<int>(ad.size())) != 1)
    return false;
  if (!encrypt && EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_SET_TAG, kAeadTagSize, tag) != 1)
    return false;
  if (text_len > 0 && EVP_CipherUpdate(ctx_, text, &len, text, text_len) != 1) return false;
  if (EVP_CipherFinal_ex(ctx_, text + text_len, &len) != 1) return false;
  if (encrypt && EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_GET_TAG, kAeadTagSize, tag) != 1)
    return false;
  return true;
}

bool ChaCha20Poly1305::seal(std::span<const std::uint8_t, kKeySize> key, const AeadNonce& nonce,
                            std::span<const std::uint8_t> ad,
                            std::span<std::uint8_t> text_and_tag) noexcept {
  return run(true, key, nonce, ad, text_and_tag);
}

bool ChaCha20Poly1305::open(std::span<const std::uint8_t, kKeySize> key, const AeadNonce& nonce,
                            std::span<const std::uint8_t> ad,
                            std::span<std::uint8_t> text_and_tag) noexcept {
  return run(false, key, nonce, ad, text_and_tag);
}

}  // namespace sockswitch::wireguard
