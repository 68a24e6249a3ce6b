// flowtable/flow_tokens.cc: cutting flow text into positioned tokens.
#include "flowtable/flow_tokens.h"

namespace sockswitch::flowtable {
namespace {

bool is_separator(char c) noexcept {
  return c == ',' || is_flow_space(c);
}

}  // namespace

FlowText split_flow_text(std::string_view text, int column) {
  FlowText out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (is_separator(text[i])) {
      ++i;
      continue;
    }
    const std::size_t start = i;
    while (i < text.size() && !is_separator(text[i]) && text[i] != '=')
      ++i;
    FlowToken tok;
    tok.key = text.substr(start, i - start);
    tok.column = column + static_cast<int>(start);
    if (i < text.size() && text[i] == '=') {
      tok.has_value = true;
      ++i;
      if (tok.key == "actions" || tok.key == "action") {
        tok.text = text.substr(start, i - start);
        out.has_actions = true;
        out.actions_key = tok;
        out.actions = text.substr(i);
        out.actions_column = column + static_cast<int>(i);
        return out;
      }
      const std::size_t vstart = i;
      while (i < text.size() && !is_separator(text[i]))
        ++i;
      tok.value = text.substr(vstart, i - vstart);
    }
    tok.text = text.substr(start, i - start);
    out.fields.push_back(tok);
  }
  return out;
}

std::vector<ActionToken> split_actions(std::string_view text, int column) {
  std::vector<ActionToken> out;
  auto push = [&](std::size_t start, std::size_t end) {
    while (start < end && is_flow_space(text[start]))
      ++start;
    while (end > start && is_flow_space(text[end - 1]))
      --end;
    if (end > start) out.push_back({text.substr(start, end - start), column + int(start)});
  };
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '(') ++depth;
    if (text[i] == ')' && depth > 0) --depth;
    if (text[i] == ',' && depth == 0) {
      push(start, i);
      start = i + 1;
    }
  }
  push(start, text.size());
  return out;
}

void fail_at(const SourcePos& where, int column, std::string_view token, std::string message) {
  SourcePos pos = where;
  pos.column = column;
  throw FlowError(std::move(pos), std::string(token), std::move(message));
}

}  // namespace sockswitch::flowtable
