// ports/wireguard/messages.cc: classify() and the parse-error names.
#include "ports/wireguard/messages.h"

namespace sockswitch::wireguard {

std::string_view to_string(ParseError e) noexcept {
  switch (e) {
    case ParseError::none:
      return "none";
    case ParseError::too_short:
      return "too_short";
    case ParseError::unknown_type:
      return "unknown_type";
    case ParseError::bad_reserved:
      return "bad_reserved";
    case ParseError::bad_length:
      return "bad_length";
    case ParseError::kCount:
      break;
  }
  return "?";
}

Classified classify(std::span<const std::uint8_t> d) noexcept {
  if (d.size() < 4) return {MessageType::transport, ParseError::too_short};
  if (d[0] < 1 || d[0] > 4) return {MessageType::transport, ParseError::unknown_type};
  const auto type = static_cast<MessageType>(d[0]);
  if (d[1] != 0 || d[2] != 0 || d[3] != 0) return {type, ParseError::bad_reserved};
  std::size_t exact = 0;
  switch (type) {
    case MessageType::initiation:
      exact = kInitiationSize;
      break;
    case MessageType::response:
      exact = kResponseSize;
      break;
    case MessageType::cookie_reply:
      exact = kCookieReplySize;
      break;
    case MessageType::transport:
      return {type, d.size() < kTransportMinSize ? ParseError::too_short : ParseError::none};
  }
  if (d.size() < exact) return {type, ParseError::too_short};
  if (d.size() != exact) return {type, ParseError::bad_length};
  return {type, ParseError::none};
}

}  // namespace sockswitch::wireguard
