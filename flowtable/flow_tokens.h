// flowtable/flow_tokens.h: flow text cut into tokens that remember their column.
//
// Every error must point at the token at fault, so the cutting keeps each
// token's column in the original line. A flow is `key[=value]` tokens
// separated by commas and/or spaces; `actions=` (or `action=`) takes the rest
// of the text, which is cut again into actions at top-level commas (commas
// inside parentheses belong to the action, as in `resubmit(,2)`).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "flowtable/flow_error.h"

namespace sockswitch::flowtable {

struct FlowToken {
  std::string_view text;  // as written: "key=value" or "key"
  std::string_view key;
  std::string_view value;  // empty when !has_value
  bool has_value = false;
  int column = 1;  // 1-based, in the original line
};

struct FlowText {
  std::vector<FlowToken> fields;  // everything before actions=
  bool has_actions = false;
  FlowToken actions_key;  // "actions=" itself, for errors about the list as a whole
  std::string_view actions;
  int actions_column = 1;  // column of actions[0]
};

// `column` is the column of text[0].
[[nodiscard]] FlowText split_flow_text(std::string_view text, int column);

struct ActionToken {
  std::string_view text;  // trimmed
  int column = 1;
};

// Empty items (",,", a trailing comma) are skipped, as ovs-ofctl does.
[[nodiscard]] std::vector<ActionToken> split_actions(std::string_view text, int column);

// Throws FlowError at `column` of `where`'s file and line.
[[noreturn]] void fail_at(const SourcePos& where, int column, std::string_view token,
                          std::string message);

[[nodiscard]] constexpr bool is_flow_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

}  // namespace sockswitch::flowtable
