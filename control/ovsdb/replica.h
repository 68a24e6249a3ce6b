// control/ovsdb/replica.h: our copy of the rows we monitor.
//
// Filled by the `monitor` reply and kept current by its `update`
// notifications (RFC 7047 section 4.1.6: per table, per row UUID, the
// row's "new" columns, or no "new" when it was deleted). A row is the
// JSON object of its monitored columns.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace sockswitch::control::ovsdb {

class Replica final {
 public:
  using Row = nlohmann::json;
  using Table = std::map<std::string, Row>;  // by row UUID

  // Applies a <table-updates> object. Throws std::invalid_argument (and
  // changes nothing) when it is not of that shape.
  void apply(const nlohmann::json& table_updates);
  void clear() noexcept { tables_.clear(); }

  [[nodiscard]] const Table& table(const std::string& name) const;
  [[nodiscard]] const Row* row(const std::string& table, const std::string& uuid) const;

 private:
  std::map<std::string, Table> tables_;
};

}  // namespace sockswitch::control::ovsdb
