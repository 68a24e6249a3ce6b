// control/ovsdb/json_stream.h: JSON-RPC messages cut out of an OVSDB byte stream.
//
// OVSDB (RFC 7047) sends JSON-RPC messages back to back on a stream, with
// no length or delimiter: a message ends where its outermost object closes.
// JsonStream finds those ends by scanning brackets outside strings, so each
// complete message is parsed once, whole, by nlohmann-json. A peer that
// sends something other than an object, or a message above the size limit,
// is a protocol error (the connection is dropped and made again).
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace sockswitch::control::ovsdb {

class JsonStreamError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class JsonStream final {
 public:
  // A full database of a thousand ports is a few megabytes.
  static constexpr std::size_t kMaxMessage = 64u << 20;

  void feed(std::string_view bytes);
  // The next complete message, or nullopt until more bytes come. Throws
  // JsonStreamError for a stream that is not JSON objects.
  [[nodiscard]] std::optional<nlohmann::json> next();

 private:
  std::string buffer_;
  std::size_t scanned_ = 0;  // bytes of buffer_ already scanned for the current message
  int depth_ = 0;
  bool in_string_ = false;
  bool escaped_ = false;
};

}  // namespace sockswitch::control::ovsdb
