// flowtable/flow_error.h: where a flow went wrong, precisely enough to fix it.
//
// Every rejection of flow text carries the file, line, 1-based column and the
// token at fault. The control path reports errors by throwing FlowError; a
// file parse collects one per bad line and installs nothing when any exists.
#pragma once

#include <stdexcept>
#include <string>

namespace sockswitch::flowtable {

struct SourcePos {
  std::string file;  // "<command line>" when not from a file
  int line = 1;
  int column = 1;
};

class FlowError : public std::runtime_error {
 public:
  FlowError(SourcePos pos, std::string token, std::string message)
      : std::runtime_error(format(pos, token, message)),
        pos_(std::move(pos)),
        token_(std::move(token)),
        message_(std::move(message)) {}

  [[nodiscard]] const SourcePos& pos() const noexcept { return pos_; }
  [[nodiscard]] const std::string& token() const noexcept { return token_; }
  [[nodiscard]] const std::string& message() const noexcept { return message_; }

 private:
  static std::string format(const SourcePos& p, const std::string& token, const std::string& msg) {
    std::string s =
        p.file + ":" + std::to_string(p.line) + ":" + std::to_string(p.column) + ": error: " + msg;
    if (!token.empty()) s += " (at '" + token + "')";
    return s;
  }

  SourcePos pos_;
  std::string token_;
  std::string message_;
};

}  // namespace sockswitch::flowtable
