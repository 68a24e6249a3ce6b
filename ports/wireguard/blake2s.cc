// ports/wireguard/blake2s.cc: BLAKE2s via EVP_MD and EVP_MAC.
#include "ports/wireguard/blake2s.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <memory>

namespace sockswitch::wireguard {
namespace {

// Fetched once: immutable OpenSSL algorithm handles, shared read-only.
const EVP_MD* blake2s_md() noexcept {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "BLAKE2S-256", nullptr);
  return md;
}
EVP_MAC* fetched_mac(const char* name) noexcept {
  return EVP_MAC_fetch(nullptr, name, nullptr);
}
EVP_MAC* blake2s_mac_alg() noexcept {
  static EVP_MAC* mac = fetched_mac("BLAKE2SMAC");
  return mac;
}
EVP_MAC* hmac_alg() noexcept {
  static EVP_MAC* mac = fetched_mac("HMAC");
  return mac;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const noexcept { EVP_MAC_CTX_free(c); }
};

bool run_mac(EVP_MAC* alg, const OSSL_PARAM* params, Bytes key, std::initializer_list<Bytes> parts,
             std::span<std::uint8_t> out) noexcept {
  if (alg == nullptr) return false;
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(EVP_MAC_CTX_new(alg));
  if (!ctx || EVP_MAC_init(ctx.get(), key.data(), key.size(), params) != 1) return false;
  for (Bytes p : parts)
    if (!p.empty() && EVP_MAC_update(ctx.get(), p.data(), p.size()) != 1) return false;
  std::size_t len = 0;
  return EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) == 1 && len == out.size();
}

}  // namespace

bool blake2s_hash(std::initializer_list<Bytes> parts, Hash& out) noexcept {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  bool ok =
      ctx && blake2s_md() != nullptr && EVP_DigestInit_ex(ctx.get(), blake2s_md(), nullptr) == 1;
  for (Bytes p : parts)
    ok = ok && EVP_DigestUpdate(ctx.get(), p.data(), p.size()) == 1;
  unsigned int len = 0;
  ok = ok && EVP_DigestFinal_ex(ctx.get(), out.data(), &len) == 1 && len == out.size();
  if (!ok) out.fill(0);
  return ok;
}

bool blake2s_mac_sized(Bytes key, Bytes message, std::span<std::uint8_t> out) noexcept {
  std::size_t size = out.size();
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
                               OSSL_PARAM_construct_end()};
  const bool ok = run_mac(blake2s_mac_alg(), params, key, {message}, out);
  if (!ok) wipe(out.data(), out.size());
  return ok;
}

bool blake2s_mac(Bytes key, std::initializer_list<Bytes> parts, Mac& out) noexcept {
  std::size_t size = out.size();
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
                               OSSL_PARAM_construct_end()};
  const bool ok = run_mac(blake2s_mac_alg(), params, key, parts, out);
  if (!ok) out.fill(0);
  return ok;
}

bool hmac_blake2s(Bytes key, std::initializer_list<Bytes> parts,
                  std::span<std::uint8_t, kHashSize> out) noexcept {
  char digest[] = "BLAKE2S-256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  const bool ok = run_mac(hmac_alg(), params, key, parts, out);
  if (!ok) wipe(out.data(), out.size());
  return ok;
}

namespace {

bool kdf(const SecretKey& key, Bytes input, std::span<SecretKey* const> outputs) noexcept {
  SecretKey prk;
  if (!hmac_blake2s(key.span(), {input}, prk.span())) return false;
  SecretKey previous;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const std::uint8_t counter = static_cast<std::uint8_t>(i + 1);
    const Bytes prev = i == 0 ? Bytes{} : Bytes(previous.span());
    if (!hmac_blake2s(prk.span(), {prev, Bytes(&counter, 1)}, outputs[i]->span())) {
      for (SecretKey* o : outputs)
        o->clear();
      return false;
    }
    previous = *outputs[i];
  }
  return true;
}

}  // namespace

bool kdf1(const SecretKey& key, Bytes input, SecretKey& t1) noexcept {
  SecretKey* const out[] = {&t1};
  return kdf(key, input, out);
}
bool kdf2(const SecretKey& key, Bytes input, SecretKey& t1, SecretKey& t2) noexcept {
  SecretKey* const out[] = {&t1, &t2};
  return kdf(key, input, out);
}
bool kdf3(const SecretKey& key, Bytes input, SecretKey& t1, SecretKey& t2, SecretKey& t3) noexcept {
  SecretKey* const out[] = {&t1, &t2, &t3};
  return kdf(key, input, out);
}

}  // namespace sockswitch::wireguard
