// ports/wireguard/key.cc: wiping, constant-time comparison, key text forms.
#include "ports/wireguard/key.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace sockswitch::wireguard {

void wipe(void* data, std::size_t size) noexcept {
  OPENSSL_cleanse(data, size);
}

bool equal_constant_time(std::span<const std::uint8_t> a,
                         std::span<const std::uint8_t> b) noexcept {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string to_base64(std::span<const std::uint8_t, kKeySize> key) {
  std::array<unsigned char, 45> out{};  // 4 * ceil(32 / 3) + NUL
  const int n = EVP_EncodeBlock(out.data(), key.data(), static_cast<int>(key.size()));
  return {reinterpret_cast<const char*>(out.data()), static_cast<std::size_t>(n)};
}

std::string to_hex(std::span<const std::uint8_t, kKeySize> key) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(2 * key.size(), '0');
  for (std::size_t i = 0; i < key.size(); ++i) {
    s[2 * i] = kDigits[key[i] >> 4];
    s[2 * i + 1] = kDigits[key[i] & 0xf];
  }
  return s;
}

std::optional<KeyBytes> key_from_base64(std::string_view text) {
  // EVP_DecodeBlock decodes padding as zero bytes (33 out for 44 in) and
  // accepts surrounding blanks, so the shape is checked here first.
  if (text.size() != 44 || text[43] != '=' || text[42] == '=') return std::nullopt;
  for (std::size_t i = 0; i < 43; ++i) {
    const char c = text[i];
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/';
    if (!ok) return std::nullopt;
  }
  std::array<unsigned char, 33> out{};
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n != 33) return std::nullopt;
  // The last character carries 2 spare bits that a canonical key leaves zero.
  KeyBytes key;
  for (std::size_t i = 0; i < kKeySize; ++i)
    key[i] = out[i];
  if (to_base64(key) != text) return std::nullopt;
  return key;
}

std::optional<KeyBytes> key_from_hex(std::string_view text) {
  if (text.size() != 2 * kKeySize) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  KeyBytes key;
  for (std::size_t i = 0; i < kKeySize; ++i) {
    const int hi = nibble(text[2 * i]), lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    key[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return key;
}

}  // namespace sockswitch::wireguard
