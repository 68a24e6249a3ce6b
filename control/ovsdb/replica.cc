// control/ovsdb/replica.cc: applying monitor updates.
#include "control/ovsdb/replica.h"

#include <stdexcept>

namespace sockswitch::control::ovsdb {

void Replica::apply(const nlohmann::json& table_updates) {
  if (!table_updates.is_object()) throw std::invalid_argument("table updates are not an object");
  for (const auto& [table, rows] : table_updates.items()) {
    if (!rows.is_object())
      throw std::invalid_argument("updates of " + table + " are not an object");
    for (const auto& [uuid, update] : rows.items())
      if (!update.is_object() || (update.contains("new") && !update["new"].is_object()))
        throw std::invalid_argument("an update of " + table + " row " + uuid + " is malformed");
  }
  for (const auto& [table, rows] : table_updates.items()) {
    Table& t = tables_[table];
    for (const auto& [uuid, update] : rows.items()) {
      if (update.contains("new"))
        t[uuid] = update["new"];
      else
        t.erase(uuid);
    }
  }
}

const Replica::Table& Replica::table(const std::string& name) const {
  static const Table kEmpty;
  const auto it = tables_.find(name);
  return it == tables_.end() ? kEmpty : it->second;
}

const Replica::Row* Replica::row(const std::string& table, const std::string& uuid) const {
  const Table& t = this->table(table);
  const auto it = t.find(uuid);
  return it == t.end() ? nullptr : &it->second;
}

}  // namespace sockswitch::control::ovsdb
