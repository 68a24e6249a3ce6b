// ports/wireguard/cookie_mac.h: mac1/mac2 and cookie replies, WireGuard's DoS defence (§5.4.4,
// §5.4.7).
//
// Every handshake message ends with mac1 and mac2:
//   mac1 = MAC(HASH("mac1----" || S_pub of the receiver), msg up to mac1)
//   mac2 = MAC(cookie, msg up to mac2), or zeros without a fresh cookie
// mac1 proves the sender knows whom it talks to, so a responder can drop
// junk before any DH. When the responder is under load it also demands a
// valid mac2, and answers a message without one by a cookie reply instead:
//   cookie = MAC(R, source IP and port), R random, replaced every 120 s
//   reply  = XAEAD(HASH("cookie--" || S_pub of the responder), random
//            24-byte nonce, cookie, ad = mac1 of the message it answers)
// The initiator keeps the cookie 120 s and stamps mac2 with it, proving it
// owns its source address: that is what makes rate limits per address
// meaningful.
//
// MacStamper is the sending side for one peer; CookieChecker the receiving
// side of the device. Both live on the handshake thread.
#pragma once

#include <optional>
#include <span>

#include "ports/wireguard/blake2s.h"
#include "ports/wireguard/chacha20_poly1305.h"
#include "ports/wireguard/key.h"
#include "ports/wireguard/messages.h"
#include "ports/wireguard/peer_clock.h"

namespace sockswitch::wireguard {

inline constexpr Duration kCookieRefreshTime = std::chrono::seconds(120);

// HASH(label || public key): the mac1 key ("mac1----") and cookie key ("cookie--").
[[nodiscard]] SecretKey mac1_key_for(const PublicKey& receiver) noexcept;
[[nodiscard]] SecretKey cookie_key_for(const PublicKey& receiver) noexcept;

// `message` is a whole initiation or response; mac1 and mac2 are its last
// 32 bytes.
class MacStamper final {
 public:
  MacStamper() = default;
  explicit MacStamper(const PublicKey& remote_static) noexcept;

  // Writes mac1, and mac2 when a cookie younger than 120 s is held.
  void stamp(std::span<std::uint8_t> message, TimePoint now) noexcept;
  // Takes the cookie out of a reply to the last stamped message; false if
  // it does not authenticate (or nothing was sent that it could answer).
  [[nodiscard]] bool consume_reply(const CookieReplyMessage& reply, TimePoint now) noexcept;
  [[nodiscard]] bool has_fresh_cookie(TimePoint now) const noexcept;

 private:
  SecretKey mac1_key_;
  SecretKey cookie_key_;
  Mac last_mac1_{};
  bool sent_mac1_ = false;
  Secret<kMacSize> cookie_;
  std::optional<TimePoint> cookie_received_;
};

class CookieChecker final {
 public:
  CookieChecker() = default;
  explicit CookieChecker(const PublicKey& local_static) noexcept;

  [[nodiscard]] bool mac1_valid(std::span<const std::uint8_t> message) const noexcept;
  // mac2 matches the cookie of `source` (IP bytes then port) under the
  // current secret.
  [[nodiscard]] bool mac2_valid(std::span<const std::uint8_t> message,
                                std::span<const std::uint8_t> source, TimePoint now) noexcept;
  // A cookie reply to `message` (an initiation or response whose sender
  // index is `receiver_index`). false only if OpenSSL fails.
  [[nodiscard]] bool make_reply(std::span<const std::uint8_t> message, std::uint32_t receiver_index,
                                std::span<const std::uint8_t> source, TimePoint now,
                                CookieReplyMessage& out) noexcept;

 private:
  [[nodiscard]] bool cookie_for(std::span<const std::uint8_t> source, TimePoint now,
                                Mac& cookie) noexcept;
  SecretKey mac1_key_;
  SecretKey cookie_key_;
  SecretKey secret_;  // R, rotated every kCookieRefreshTime
  std::optional<TimePoint> secret_created_;
};

}  // namespace sockswitch::wireguard
