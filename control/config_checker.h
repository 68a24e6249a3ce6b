// control/config_checker.h: reads TOML values and collects every problem with its position.
//
// The config loader never stops at the first problem: each reader asks the
// checker for a typed value, and a missing or mistyped one becomes a located
// ConfigIssue (file, line, column) while loading goes on, so one pass names
// every mistake in the file.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "control/config.h"

namespace sockswitch::control {

class ConfigChecker {
 public:
  explicit ConfigChecker(std::string file) : file_(std::move(file)) {}

  flowtable::SourcePos pos(const toml::node& n) const {
    const auto& b = n.source().begin;
    return {file_, static_cast<int>(b.line), static_cast<int>(b.column)};
  }
  void issue(flowtable::SourcePos p, std::string message) {
    issues_.push_back({std::move(p), std::move(message)});
  }
  void issue(const toml::node& n, std::string message) { issue(pos(n), std::move(message)); }

  void only_keys(const toml::table& t, std::initializer_list<std::string_view> allowed,
                 std::string_view where) {
    for (const auto& [key, value] : t) {
      bool ok = false;
      for (std::string_view a : allowed)
        ok |= key.str() == a;
      if (!ok) issue(value, fmt::format("unknown key '{}' in {}", key.str(), where));
    }
  }

  std::optional<std::string> string(const toml::table& t, std::string_view key) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_string()) {
      issue(*n, fmt::format("'{}' must be a string", key));
      return std::nullopt;
    }
    return n->value<std::string>();
  }
  std::optional<std::int64_t> integer(const toml::table& t, std::string_view key, std::int64_t lo,
                                      std::int64_t hi) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_integer()) {
      issue(*n, fmt::format("'{}' must be an integer", key));
      return std::nullopt;
    }
    const std::int64_t v = *n->value<std::int64_t>();
    if (v < lo || v > hi) {
      issue(*n, fmt::format("'{}' = {} is out of range {}..{}", key, v, lo, hi));
      return std::nullopt;
    }
    return v;
  }
  std::optional<bool> boolean(const toml::table& t, std::string_view key) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_boolean()) {
      issue(*n, fmt::format("'{}' must be true or false", key));
      return std::nullopt;
    }
    return n->value<bool>();
  }
  // The tables of an array of tables ([[key]]), checked for type.
  std::vector<const toml::table*> tables(const toml::table& t, std::string_view key) {
    std::vector<const toml::table*> out;
    const toml::node* n = t.get(key);
    if (n == nullptr) return out;
    const toml::array* a = n->as_array();
    if (a == nullptr) {
      issue(*n, fmt::format("'{}' must be an array of tables ([[{}]])", key, key));
      return out;
    }
    for (const toml::node& e : *a) {
      if (const toml::table* et = e.as_table())
        out.push_back(et);
      else
        issue(e, fmt::format("each '{}' must be a table", key));
    }
    return out;
  }
  // An array of integers in lo..hi.
  std::vector<std::int64_t> integers(const toml::table& t, std::string_view key, std::int64_t lo,
                                     std::int64_t hi) {
    std::vector<std::int64_t> out;
    const toml::node* n = t.get(key);
    if (n == nullptr) return out;
    const toml::array* a = n->as_array();
    if (a == nullptr) {
      issue(*n, fmt::format("'{}' must be an array of integers", key));
      return out;
    }
    for (const toml::node& e : *a) {
      const std::optional<std::int64_t> v = e.value<std::int64_t>();
      if (!e.is_integer() || !v)
        issue(e, fmt::format("each entry of '{}' must be an integer", key));
      else if (*v < lo || *v > hi)
        issue(e, fmt::format("'{}' entry {} is out of range {}..{}", key, *v, lo, hi));
      else
        out.push_back(*v);
    }
    return out;
  }
  // An array of strings, with each string's node for positions.
  std::vector<std::pair<std::string, const toml::node*>> strings(const toml::table& t,
                                                                 std::string_view key) {
    std::vector<std::pair<std::string, const toml::node*>> out;
    const toml::node* n = t.get(key);
    if (n == nullptr) return out;
    const toml::array* a = n->as_array();
    if (a == nullptr) {
      issue(*n, fmt::format("'{}' must be an array of strings", key));
      return out;
    }
    for (const toml::node& e : *a) {
      if (e.is_string())
        out.emplace_back(*e.value<std::string>(), &e);
      else
        issue(e, fmt::format("each entry of '{}' must be a string", key));
    }
    return out;
  }

  [[nodiscard]] const std::vector<ConfigIssue>& issues() const noexcept { return issues_; }
  [[nodiscard]] const std::string& file() const noexcept { return file_; }

 private:
  std::string file_;
  std::vector<ConfigIssue> issues_;
};

// `path` as written in `config_file`: relative paths are the file's neighbours.
[[nodiscard]] std::string resolve_path(const std::string& config_file, const std::string& path);

}  // namespace sockswitch::control
