// ports/wireguard/wg_config_error.h: where a WireGuard configuration file went
// wrong, precisely enough to fix it.
//
// In the style of flowtable/flow_error.h (this library does not depend on
// flowtable/): file, 1-based line and column, and the token at fault, as
//   warp0.conf:7:14: error: invalid key (at 'abc')
// Parsing a file throws the first error it meets; nothing is applied from a
// file that throws, because the parse returns a whole WgConfig or nothing.
#pragma once

#include <stdexcept>
#include <string>

namespace sockswitch::wireguard {

struct ConfigPos {
  std::string file;  // as given to the parser, e.g. "warp0.conf"
  int line = 1;
  int column = 1;
};

class WgConfigError : public std::runtime_error {
 public:
  WgConfigError(ConfigPos pos, std::string token, std::string message)
      : std::runtime_error(format(pos, token, message)),
        pos_(std::move(pos)),
        token_(std::move(token)),
        message_(std::move(message)) {}

  [[nodiscard]] const ConfigPos& pos() const noexcept { return pos_; }
  [[nodiscard]] const std::string& token() const noexcept { return token_; }
  [[nodiscard]] const std::string& message() const noexcept { return message_; }

 private:
  static std::string format(const ConfigPos& p, const std::string& token, const std::string& msg) {
    std::string s =
        p.file + ":" + std::to_string(p.line) + ":" + std::to_string(p.column) + ": error: " + msg;
    if (!token.empty()) s += " (at '" + token + "')";
    return s;
  }

  ConfigPos pos_;
  std::string token_;
  std::string message_;
};

}  // namespace sockswitch::wireguard
