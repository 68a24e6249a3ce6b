// ports/wireguard/key.h: WireGuard's 32-byte keys, public values and wiped secrets.
//
// Public keys are plain values (they go on the wire and into `wg show`).
// Everything secret (static private keys, preshared keys, chaining keys,
// session keys) lives in a Secret, which wipes its bytes with
// OPENSSL_cleanse when it is destroyed, overwritten or cleared, so a key
// does not linger in freed memory. Text forms: base64 as in wg-quick files
// and `wg show`, lowercase hex as in the cross-platform UAPI.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sockswitch::wireguard {

inline constexpr std::size_t kKeySize = 32;

using KeyBytes = std::array<std::uint8_t, kKeySize>;
using PublicKey = KeyBytes;

void wipe(void* data, std::size_t size) noexcept;  // OPENSSL_cleanse

template <std::size_t N>
class Secret final {
 public:
  Secret() noexcept { bytes_.fill(0); }
  explicit Secret(std::span<const std::uint8_t, N> bytes) noexcept {
    for (std::size_t i = 0; i < N; ++i)
      bytes_[i] = bytes[i];
  }
  Secret(const Secret&) noexcept = default;
  Secret& operator=(const Secret& other) noexcept {
    if (this != &other) bytes_ = other.bytes_;
    return *this;
  }
  ~Secret() { clear(); }

  void clear() noexcept { wipe(bytes_.data(), N); }
  [[nodiscard]] bool is_zero() const noexcept {
    std::uint8_t acc = 0;
    for (std::uint8_t b : bytes_)
      acc |= b;
    return acc == 0;
  }

  [[nodiscard]] std::uint8_t* data() noexcept { return bytes_.data(); }
  [[nodiscard]] const std::uint8_t* data() const noexcept { return bytes_.data(); }
  [[nodiscard]] std::span<std::uint8_t, N> span() noexcept { return bytes_; }
  [[nodiscard]] std::span<const std::uint8_t, N> span() const noexcept { return bytes_; }
  static constexpr std::size_t size() noexcept { return N; }

 private:
  std::array<std::uint8_t, N> bytes_;
};

using SecretKey = Secret<kKeySize>;  // private, preshared, chaining and session keys

// Constant-time comparison, for anything an attacker may probe by timing.
[[nodiscard]] bool equal_constant_time(std::span<const std::uint8_t> a,
                                       std::span<const std::uint8_t> b) noexcept;

[[nodiscard]] std::string to_base64(std::span<const std::uint8_t, kKeySize> key);
[[nodiscard]] std::string to_hex(std::span<const std::uint8_t, kKeySize> key);
// nullopt unless the text is exactly one 32-byte key (44 base64 characters
// ending in one '=', or 64 hex digits).
[[nodiscard]] std::optional<KeyBytes> key_from_base64(std::string_view text);
[[nodiscard]] std::optional<KeyBytes> key_from_hex(std::string_view text);

}  // namespace sockswitch::wireguard
