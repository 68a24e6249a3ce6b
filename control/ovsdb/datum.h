// control/ovsdb/datum.h: OVSDB values (RFC 7047 section 5.1) read and written.
//
// A column holds an atom (string, integer, real, boolean, ["uuid", U]), a
// set (["set", [atoms]], or a lone atom for a set of one) or a map (["map",
// [[key, value], ...]]). The readers are lenient about what a column may
// hold and strict about shape: a value of the wrong shape reads as absent,
// never as a crash, since the rows come from another program.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sockswitch::control::ovsdb {

using Json = nlohmann::json;

// The atoms of a set column (an empty set is []).
[[nodiscard]] std::vector<Json> set_atoms(const Json& datum);
// The UUIDs a set-of-references column holds.
[[nodiscard]] std::vector<std::string> uuid_set(const Json& datum);
// A map column with string keys and values (other values are skipped).
[[nodiscard]] std::map<std::string, std::string> string_map(const Json& datum);
// An optional column (a set of at most one) holding a string or integer.
[[nodiscard]] std::optional<std::string> optional_string(const Json& datum);
[[nodiscard]] std::optional<std::int64_t> optional_integer(const Json& datum);
[[nodiscard]] std::vector<std::int64_t> integer_set(const Json& datum);
[[nodiscard]] bool boolean(const Json& datum, bool otherwise = false);

// Writers, in the forms ovsdb-server accepts.
[[nodiscard]] Json uuid_atom(const std::string& uuid);
[[nodiscard]] Json empty_set();
[[nodiscard]] Json string_set(const std::vector<std::string>& values);
[[nodiscard]] Json map_datum(const std::map<std::string, std::string>& values);
[[nodiscard]] Json map_datum(const std::map<std::string, std::int64_t>& values);

}  // namespace sockswitch::control::ovsdb
