// ports/wireguard/x25519.cc: X25519 through EVP_PKEY raw keys.
#include "ports/wireguard/x25519.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>
#include <stdexcept>

namespace sockswitch::wireguard {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const noexcept { EVP_PKEY_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

}  // namespace

void clamp_private_key(SecretKey& key) noexcept {
  key.data()[0] &= 248;
  key.data()[31] &= 127;
  key.data()[31] |= 64;
}

SecretKey generate_private_key() {
  SecretKey key;
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1)
    throw std::runtime_error("wireguard: RAND_bytes failed to make a private key");
  clamp_private_key(key);
  return key;
}

std::optional<PublicKey> public_key_of(const SecretKey& private_key) noexcept {
  Pkey pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_key.data(),
                                         private_key.size()));
  if (!pkey) return std::nullopt;
  PublicKey pub;
  std::size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), pub.data(), &len) != 1 || len != pub.size())
    return std::nullopt;
  return pub;
}

bool dh(const SecretKey& private_key, const PublicKey& public_key, SecretKey& shared) noexcept {
  shared.clear();
  Pkey priv(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_key.data(),
                                         private_key.size()));
  Pkey peer(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, public_key.data(), public_key.size()));
  if (!priv || !peer) return false;
  PkeyCtx ctx(EVP_PKEY_CTX_new(priv.get(), nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1)
    return false;
  std::size_t len = shared.size();
  // OpenSSL already fails on an all-zero result; is_zero() keeps that promise
  // here whatever the provider does.
  if (EVP_PKEY_derive(ctx.get(), shared.data(), &len) != 1 || len != shared.size() ||
      shared.is_zero()) {
    shared.clear();
    return false;
  }
  return true;
}

}  // namespace sockswitch::wireguard
