// ports/wireguard/messages.h: the four WireGuard message formats and their parser.
//
//   type 1 handshake initiation  148 bytes
//   type 2 handshake response     92 bytes
//   type 3 cookie reply           64 bytes
//   type 4 transport data        >= 32 bytes (16-byte header, >= 16-byte tag)
// Every message starts with a type byte and three zero reserved bytes;
// integers are little-endian. The structs below are byte arrays only, so
// their size is the wire size and copying a datagram into one cannot read
// past its end once classify() has checked the length.
//
// classify() is the first thing a hostile datagram meets: it never reads
// beyond the span, never throws, and says why it refused (ParseError) so
// the device can count each reason.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "ports/wireguard/blake2s.h"
#include "ports/wireguard/chacha20_poly1305.h"
#include "ports/wireguard/key.h"
#include "ports/wireguard/xchacha20_poly1305.h"

namespace sockswitch::wireguard {

enum class MessageType : std::uint8_t {
  initiation = 1,
  response = 2,
  cookie_reply = 3,
  transport = 4,
};

inline constexpr std::size_t kInitiationSize = 148;
inline constexpr std::size_t kResponseSize = 92;
inline constexpr std::size_t kCookieReplySize = 64;
inline constexpr std::size_t kTransportHeaderSize = 16;
inline constexpr std::size_t kTransportMinSize = kTransportHeaderSize + kAeadTagSize;
inline constexpr std::size_t kTimestampSize = 12;

using Header = std::array<std::uint8_t, 4>;  // type, 3 reserved zero bytes
using Index = std::array<std::uint8_t, 4>;   // little-endian u32 session index

struct InitiationMessage {
  Header header;
  Index sender;
  PublicKey ephemeral;
  std::array<std::uint8_t, kKeySize + kAeadTagSize> encrypted_static;
  std::array<std::uint8_t, kTimestampSize + kAeadTagSize> encrypted_timestamp;
  Mac mac1;
  Mac mac2;
};

struct ResponseMessage {
  Header header;
  Index sender;
  Index receiver;
  PublicKey ephemeral;
  std::array<std::uint8_t, kAeadTagSize> encrypted_nothing;
  Mac mac1;
  Mac mac2;
};

struct CookieReplyMessage {
  Header header;
  Index receiver;
  XNonce nonce;
  std::array<std::uint8_t, kMacSize + kAeadTagSize> encrypted_cookie;
};

struct TransportHeader {
  Header header;
  Index receiver;
  std::array<std::uint8_t, 8> counter;
};

static_assert(sizeof(InitiationMessage) == kInitiationSize);
static_assert(sizeof(ResponseMessage) == kResponseSize);
static_assert(sizeof(CookieReplyMessage) == kCookieReplySize);
static_assert(sizeof(TransportHeader) == kTransportHeaderSize);

// Why a datagram is not a WireGuard message; also names the device's drop
// counters for malformed input.
enum class ParseError : std::uint8_t {
  none,
  too_short,     // shorter than its type's size (or empty)
  unknown_type,  // type byte not 1..4
  bad_reserved,  // reserved bytes not zero
  bad_length,    // handshake message not exactly its size
  kCount,
};
[[nodiscard]] std::string_view to_string(ParseError e) noexcept;

struct Classified {
  MessageType type = MessageType::transport;
  ParseError error = ParseError::none;
};
[[nodiscard]] Classified classify(std::span<const std::uint8_t> datagram) noexcept;

[[nodiscard]] constexpr Header make_header(MessageType t) noexcept {
  return {static_cast<std::uint8_t>(t), 0, 0, 0};
}

[[nodiscard]] inline std::uint32_t load_index(const Index& i) noexcept {
  return std::uint32_t{i[0]} | std::uint32_t{i[1]} << 8 | std::uint32_t{i[2]} << 16 |
         std::uint32_t{i[3]} << 24;
}
[[nodiscard]] inline Index store_index(std::uint32_t v) noexcept {
  return {static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(v >> 8),
          static_cast<std::uint8_t>(v >> 16), static_cast<std::uint8_t>(v >> 24)};
}
[[nodiscard]] inline std::uint64_t load_counter(const std::array<std::uint8_t, 8>& c) noexcept {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = v << 8 | c[static_cast<std::size_t>(i)];
  return v;
}
[[nodiscard]] inline std::array<std::uint8_t, 8> store_counter(std::uint64_t v) noexcept {
  std::array<std::uint8_t, 8> c;
  for (std::size_t i = 0; i < 8; ++i)
    c[i] = static_cast<std::uint8_t>(v >> (8 * i));
  return c;
}

// The fixed-size messages read from / viewed as bytes. Callers check
// classify() first; read_message() requires bytes.size() == sizeof(T).
template <typename T>
[[nodiscard]] T read_message(std::span<const std::uint8_t> bytes) noexcept {
  T m;
  std::memcpy(&m, bytes.data(), sizeof(T));
  return m;
}
template <typename T>
[[nodiscard]] std::span<const std::uint8_t, sizeof(T)> message_bytes(const T& m) noexcept {
  return std::span<const std::uint8_t, sizeof(T)>(reinterpret_cast<const std::uint8_t*>(&m),
                                                  sizeof(T));
}

}  // namespace sockswitch::wireguard
