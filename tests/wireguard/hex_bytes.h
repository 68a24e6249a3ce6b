// tests/wireguard/hex_bytes.h: hex text <-> bytes for the published test vectors.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sockswitch::wireguard::test {

// Spaces and colons are ignored so vectors can be pasted as printed.
inline std::vector<std::uint8_t> hex_bytes(std::string_view text) {
  std::vector<std::uint8_t> out;
  int high = -1;
  for (char c : text) {
    if (c == ' ' || c == ':' || c == '\n') continue;
    int v = -1;
    if (c >= '0' && c <= '9') v = c - '0';
    if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    if (v < 0) throw std::invalid_argument("hex_bytes: bad digit");
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(high << 4 | v));
      high = -1;
    }
  }
  if (high >= 0) throw std::invalid_argument("hex_bytes: odd digit count");
  return out;
}

template <std::size_t N>
std::array<std::uint8_t, N> hex_array(std::string_view text) {
  const auto v = hex_bytes(text);
  if (v.size() != N) throw std::invalid_argument("hex_array: wrong size");
  std::array<std::uint8_t, N> a;
  for (std::size_t i = 0; i < N; ++i)
    a[i] = v[i];
  return a;
}

inline std::string to_hex_text(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (std::uint8_t b : bytes) {
    s += kDigits[b >> 4];
    s += kDigits[b & 0xf];
  }
  return s;
}

}  // namespace sockswitch::wireguard::test
