// ports/wireguard/cookie_mac.cc: mac1/mac2 computation, cookie secret rotation, cookie replies.
#include "ports/wireguard/cookie_mac.h"

#include <openssl/rand.h>

#include <cstring>
#include <string_view>

#include "ports/wireguard/xchacha20_poly1305.h"

namespace sockswitch::wireguard {
namespace {

SecretKey labelled_key(std::string_view label, const PublicKey& key) noexcept {
  Hash h;
  const Bytes l(reinterpret_cast<const std::uint8_t*>(label.data()), label.size());
  if (!blake2s_hash({l, key}, h)) return SecretKey{};
  SecretKey out(h);
  wipe(h.data(), h.size());
  return out;
}

// The bytes mac1 covers, and those mac2 covers.
Bytes before_mac1(std::span<const std::uint8_t> m) noexcept {
  return m.first(m.size() - 2 * kMacSize);
}
Bytes before_mac2(std::span<const std::uint8_t> m) noexcept {
  return m.first(m.size() - kMacSize);
}

bool long_enough(std::span<const std::uint8_t> m) noexcept {
  return m.size() > 2 * kMacSize;
}

}  // namespace

SecretKey mac1_key_for(const PublicKey& receiver) noexcept {
  return labelled_key("mac1----", receiver);
}
SecretKey cookie_key_for(const PublicKey& receiver) noexcept {
  return labelled_key("cookie--", receiver);
}

MacStamper::MacStamper(const PublicKey& remote_static) noexcept
    : mac1_key_(mac1_key_for(remote_static)), cookie_key_(cookie_key_for(remote_static)) {}

bool MacStamper::has_fresh_cookie(TimePoint now) const noexcept {
  return cookie_received_ && now < *cookie_received_ + kCookieRefreshTime;
}

void MacStamper::stamp(std::span<std::uint8_t> message, TimePoint now) noexcept {
  if (!long_enough(message)) return;
  std::uint8_t* mac1 = message.data() + message.size() - 2 * kMacSize;
  std::uint8_t* mac2 = mac1 + kMacSize;
  Mac m;
  (void)blake2s_mac(mac1_key_.span(), {before_mac1(message)}, m);
  std::memcpy(mac1, m.data(), kMacSize);
  last_mac1_ = m;
  sent_mac1_ = true;
  if (has_fresh_cookie(now)) {
    (void)blake2s_mac(cookie_.span(), {before_mac2(message)}, m);
  } else {
    m.fill(0);
  }
  std::memcpy(mac2, m.data(), kMacSize);
}

bool MacStamper::consume_reply(const CookieReplyMessage& reply, TimePoint now) noexcept {
  if (!sent_mac1_) return false;
  auto box = reply.encrypted_cookie;
  ChaCha20Poly1305 aead;
  if (!xchacha20_poly1305_open(aead, cookie_key_.span(), reply.nonce, last_mac1_, box))
    return false;
  cookie_ = Secret<kMacSize>(std::span<const std::uint8_t, kMacSize>(box.data(), kMacSize));
  wipe(box.data(), box.size());
  cookie_received_ = now;
  sent_mac1_ = false;  // one reply per message sent
  return true;
}

CookieChecker::CookieChecker(const PublicKey& local_static) noexcept
    : mac1_key_(mac1_key_for(local_static)), cookie_key_(cookie_key_for(local_static)) {}

bool CookieChecker::mac1_valid(std::span<const std::uint8_t> message) const noexcept {
  if (!long_enough(message)) return false;
  Mac m;
  if (!blake2s_mac(mac1_key_.span(), {before_mac1(message)}, m)) return false;
  return equal_constant_time(m, message.subspan(message.size() - 2 * kMacSize, kMacSize));
}

bool CookieChecker::cookie_for(std::span<const std::uint8_t> source, TimePoint now,
                               Mac& cookie) noexcept {
  if (!secret_created_ || now >= *secret_created_ + kCookieRefreshTime) {
    if (RAND_bytes(secret_.data(), static_cast<int>(secret_.size())) != 1) return false;
    secret_created_ = now;
  }
  return blake2s_mac(secret_.span(), {source}, cookie);
}

bool CookieChecker::mac2_valid(std::span<const std::uint8_t> message,
                               std::span<const std::uint8_t> source, TimePoint now) noexcept {
  if (!long_enough(message)) return false;
  Mac cookie, m;
  if (!cookie_for(source, now, cookie) || !blake2s_mac(cookie, {before_mac2(message)}, m))
    return false;
  return equal_constant_time(m, message.last(kMacSize));
}

bool CookieChecker::make_reply(std::span<const std::uint8_t> message, std::uint32_t receiver_index,
                               std::span<const std::uint8_t> source, TimePoint now,
                               CookieReplyMessage& out) noexcept {
  if (!long_enough(message)) return false;
  Mac cookie;
  if (!cookie_for(source, now, cookie)) return false;
  out.header = make_header(MessageType::cookie_reply);
  out.receiver = store_index(receiver_index);
  if (RAND_bytes(out.nonce.data(), static_cast<int>(out.nonce.size())) != 1) return false;
  std::memcpy(out.encrypted_cookie.data(), cookie.data(), kMacSize);
  ChaCha20Poly1305 aead;
  return xchacha20_poly1305_seal(aead, cookie_key_.span(), out.nonce,
                                 message.subspan(message.size() - 2 * kMacSize, kMacSize),
                                 out.encrypted_cookie);
}

}  // namespace sockswitch::wireguard
