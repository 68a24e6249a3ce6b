// control/ovsdb/datum.cc: reading and writing OVSDB's JSON value forms.
#include "control/ovsdb/datum.h"

namespace sockswitch::control::ovsdb {
namespace {

bool tagged(const Json& j, const char* tag) {
  return j.is_array() && j.size() == 2 && j[0].is_string() && j[0] == tag;
}

}  // namespace

std::vector<Json> set_atoms(const Json& datum) {
  if (tagged(datum, "set")) {
    if (!datum[1].is_array()) return {};
    return std::vector<Json>(datum[1].begin(), datum[1].end());
  }
  if (datum.is_null() || tagged(datum, "map")) return {};
  return {datum};  // a set of one is written as its atom
}

std::vector<std::string> uuid_set(const Json& datum) {
  std::vector<std::string> out;
  for (const Json& a : set_atoms(datum))
    if (tagged(a, "uuid") && a[1].is_string()) out.push_back(a[1].get<std::string>());
  return out;
}

std::map<std::string, std::string> string_map(const Json& datum) {
  std::map<std::string, std::string> out;
  if (!tagged(datum, "map") || !datum[1].is_array()) return out;
  for (const Json& pair : datum[1])
    if (pair.is_array() && pair.size() == 2 && pair[0].is_string() && pair[1].is_string())
      out[pair[0].get<std::string>()] = pair[1].get<std::string>();
  return out;
}

std::optional<std::string> optional_string(const Json& datum) {
  const std::vector<Json> atoms = set_atoms(datum);
  if (atoms.size() != 1 || !atoms[0].is_string()) return std::nullopt;
  return atoms[0].get<std::string>();
}

std::optional<std::int64_t> optional_integer(const Json& datum) {
  const std::vector<Json> atoms = set_atoms(datum);
  if (atoms.size() != 1 || !atoms[0].is_number_integer()) return std::nullopt;
  return atoms[0].get<std::int64_t>();
}

std::vector<std::int64_t> integer_set(const Json& datum) {
  std::vector<std::int64_t> out;
  for (const Json& a : set_atoms(datum))
    if (a.is_number_integer()) out.push_back(a.get<std::int64_t>());
  return out;
}

bool boolean(const Json& datum, bool otherwise) {
  const std::vector<Json> atoms = set_atoms(datum);
  if (atoms.size() != 1 || !atoms[0].is_boolean()) return otherwise;
  return atoms[0].get<bool>();
}

Json uuid_atom(const std::string& uuid) {
  return Json::array({"uuid", uuid});
}

Json empty_set() {
  return Json::array({"set", Json::array()});
}

Json string_set(const std::vector<std::string>& values) {
  return Json::array({"set", Json(values)});
}

Json map_datum(const std::map<std::string, std::string>& values) {
  Json pairs = Json::array();
  for (const auto& [k, v] : values)
    pairs.push_back(Json::array({k, v}));
  return Json::array({"map", pairs});
}

Json map_datum(const std::map<std::string, std::int64_t>& values) {
  Json pairs = Json::array();
  for (const auto& [k, v] : values)
    pairs.push_back(Json::array({k, v}));
  return Json::array({"map", pairs});
}

}  // namespace sockswitch::control::ovsdb
