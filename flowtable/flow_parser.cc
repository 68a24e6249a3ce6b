// flowtable/flow_parser.cc: one flow line to a FlowRule, and flow files.
//
// This file owns the flow's bookkeeping keys (priority, cookie, table,
// timeouts), which syntax allows which of them, and the line handling of
// flow files; the match and the actions have their own parsers.
#include "flowtable/flow_parser.h"

#include <fmt/format.h>

#include <array>
#include <optional>
#include <vector>

#include "flowtable/action_parser.h"
#include "flowtable/flow_tokens.h"
#include "flowtable/match_parser.h"
#include "flowtable/value_text.h"

namespace sockswitch::flowtable {
namespace {

enum class Key : std::uint8_t { priority, cookie, table, idle_timeout, hard_timeout, kCount };

std::optional<Key> bookkeeping_key(std::string_view k) noexcept {
  if (k == "priority") return Key::priority;
  if (k == "cookie") return Key::cookie;
  if (k == "table") return Key::table;
  if (k == "idle_timeout") return Key::idle_timeout;
  if (k == "hard_timeout") return Key::hard_timeout;
  return std::nullopt;
}

class BookkeepingReader {
 public:
  BookkeepingReader(const FlowToken& tok, FlowSyntax syntax, const SourcePos& where)
      : tok_(tok), syntax_(syntax), where_(where) {}

  void apply(Key key, FlowRule& rule) const {
    if (!tok_.has_value || tok_.value.empty()) fail(fmt::format("{} needs a value", tok_.key));
    switch (key) {
      case Key::priority:
        rule.priority = static_cast<std::uint16_t>(number(tok_.value, 65535));
        break;
      case Key::idle_timeout:
        rule.idle_timeout = static_cast<std::uint16_t>(number(tok_.value, 65535));
        break;
      case Key::hard_timeout:
        rule.hard_timeout = static_cast<std::uint16_t>(number(tok_.value, 65535));
        break;
      case Key::table:
        // In del-flows/mod-flows syntax 255 means "all tables", as absent does.
        rule.table = static_cast<std::uint8_t>(
            number(tok_.value, syntax_ == FlowSyntax::match ? kTableCount : kTableCount - 1));
        break;
      case Key::cookie: {
        const MaskedText mt = split_mask(tok_.value);
        rule.cookie = number(mt.value, ~std::uint64_t{0});
        if (mt.mask) {
          if (syntax_ != FlowSyntax::match)
            fail("a cookie mask selects flows (del-flows, mod-flows); add-flow sets the cookie");
          rule.cookie_mask = number(*mt.mask, ~std::uint64_t{0});
          rule.cookie &= rule.cookie_mask;  // bits outside the mask select nothing
        }
        break;
      }
      case Key::kCount:
        break;
    }
  }

 private:
  [[noreturn]] void fail(std::string message) const {
    fail_at(where_, tok_.column, tok_.text, std::move(message));
  }
  std::uint64_t number(std::string_view s, std::uint64_t max) const {
    try {
      return parse_number_max(s, max);
    } catch (const ValueError& e) {
      fail(e.predicate() ? fmt::format("{} {}", tok_.text, e.what())
                         : fmt::format("{}: {}", tok_.text, e.what()));
    }
  }

  const FlowToken& tok_;
  FlowSyntax syntax_;
  const SourcePos& where_;
};

// Where a `#` comment starts: at the line start or after whitespace only,
// so a `#` inside a token (a port name) stays part of it.
std::size_t comment_start(std::string_view line) noexcept {
  for (std::size_t i = 0; i < line.size(); ++i)
    if (line[i] == '#' && (i == 0 || is_flow_space(line[i - 1]))) return i;
  return line.size();
}

}  // namespace

FlowRule parse_flow(std::string_view text, PortMap& ports, FlowSyntax syntax,
                    const SourcePos& where) {
  const FlowText ft = split_flow_text(text, where.column);
  FlowRule rule;
  if (syntax == FlowSyntax::match) rule.table = kTableCount;  // absent: all tables

  std::array<const FlowToken*, static_cast<std::size_t>(Key::kCount)> seen{};
  std::vector<FlowToken> match_tokens;
  for (const FlowToken& tok : ft.fields) {
    if (tok.key == "send_flow_rem" && !tok.has_value) {
      if (syntax != FlowSyntax::add)
        fail_at(where, tok.column, tok.text, "send_flow_rem is a flag of a flow being added");
      rule.send_flow_removed = true;
      continue;
    }
    const std::optional<Key> key = bookkeeping_key(tok.key);
    if (!key) {
      match_tokens.push_back(tok);
      continue;
    }
    if (syntax == FlowSyntax::packet)
      fail_at(where, tok.column, tok.text,
              fmt::format("{} is not part of a packet description", tok.key));
    const FlowToken*& first = seen[static_cast<std::size_t>(*key)];
    if (first != nullptr)
      fail_at(where, tok.column, tok.text, fmt::format("{} is given twice", tok.key));
    first = &tok;
    BookkeepingReader(tok, syntax, where).apply(*key, rule);
  }

  parse_match(match_tokens, ports, where, rule.match);

  if (ft.has_actions) {
    if (syntax == FlowSyntax::packet)
      fail_at(where, ft.actions_key.column, ft.actions_key.text,
              "a packet description has no actions");
    rule.actions = parse_actions(ft.actions, ft.actions_column, rule, ports, where);
  } else if (syntax == FlowSyntax::add) {
    fail_at(where, where.column + static_cast<int>(text.size()), "",
            "add-flow needs actions= at the end (actions=drop to drop)");
  }
  return rule;
}

FlowFile parse_flow_file(std::string_view contents, std::string_view file_name, PortMap& ports,
                         FlowSyntax syntax) {
  FlowFile out;
  int line_no = 0;
  while (!contents.empty()) {
    const std::size_t nl = contents.find('\n');
    std::string_view line = contents.substr(0, nl);
    contents = nl == std::string_view::npos ? std::string_view{} : contents.substr(nl + 1);
    ++line_no;

    line = line.substr(0, comment_start(line));
    std::size_t start = 0;
    while (start < line.size() && is_flow_space(line[start]))
      ++start;
    std::size_t end = line.size();
    while (end > start && is_flow_space(line[end - 1]))
      --end;
    if (start == end) continue;

    const std::string_view text = line.substr(start, end - start);
    SourcePos pos{std::string(file_name), line_no, static_cast<int>(start) + 1};
    try {
      FlowRule rule = parse_flow(text, ports, syntax, pos);
      out.flows.push_back({std::move(rule), std::move(pos), std::string(text)});
    } catch (const FlowError& e) {
      out.errors.push_back(e);
    }
  }
  return out;
}

}  // namespace sockswitch::flowtable
