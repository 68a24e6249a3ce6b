// control/ovsdb/json_stream.cc: cutting concatenated JSON messages apart.
#include "control/ovsdb/json_stream.h"

namespace sockswitch::control::ovsdb {

void JsonStream::feed(std::string_view bytes) {
  buffer_.append(bytes);
}

std::optional<nlohmann::json> JsonStream::next() {
  // Whitespace between messages is allowed and skipped.
  if (depth_ == 0 && scanned_ == 0) {
    const std::size_t start = buffer_.find_first_not_of(" \t\r\n");
    buffer_.erase(0, start == std::string::npos ? buffer_.size() : start);
    if (buffer_.empty()) return std::nullopt;
    if (buffer_[0] != '{') throw JsonStreamError("a message that is not a JSON object");
  }
  for (; scanned_ < buffer_.size(); ++scanned_) {
    const char c = buffer_[scanned_];
    if (in_string_) {
      if (escaped_)
        escaped_ = false;
      else if (c == '\\')
        escaped_ = true;
      else if (c == '"')
        in_string_ = false;
      continue;
    }
    if (c == '"') {
      in_string_ = true;
    } else if (c == '{' || c == '[') {
      ++depth_;
    } else if ((c == '}' || c == ']') && --depth_ == 0) {
      const std::size_t end = scanned_ + 1;
      nlohmann::json message;
      try {
        message = nlohmann::json::parse(buffer_.begin(), buffer_.begin() + std::ptrdiff_t(end));
      } catch (const nlohmann::json::exception& e) {
        throw JsonStreamError(std::string("a message that is not JSON: ") + e.what());
      }
      buffer_.erase(0, end);
      scanned_ = 0;
      return message;
    } else if (depth_ < 0) {
      throw JsonStreamError("a message that closes more than it opened");
    }
  }
  if (buffer_.size() > kMaxMessage)
    throw JsonStreamError("a message larger than " + std::to_string(kMaxMessage >> 20) + " MiB");
  return std::nullopt;
}

}  // namespace sockswitch::control::ovsdb
