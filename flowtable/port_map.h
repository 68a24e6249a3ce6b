// flowtable/port_map.h: a bridge's port names and their OpenFlow numbers.
//
// Flow text names ports (`in_port=veth102`, `output:warp0`); the table stores
// numbers. A PortMap is fixed for a parse, except in auto-numbering mode
// (`flows check` without `--port`), where a new name gets the next number.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "flowtable/port_no.h"

namespace sockswitch::flowtable {

class PortMap {
 public:
  PortMap() = default;

  // When set, resolve() numbers unknown names 1, 2, ... in order of use.
  void set_auto_number(bool on) noexcept { auto_number_ = on; }
  [[nodiscard]] bool auto_number() const noexcept { return auto_number_; }

  // Throws std::invalid_argument on a duplicate name or number, or a number
  // outside 1..kPortMax.
  void add(std::string name, PortNo no);

  // A name (case-sensitive) or a decimal number; reserved names are not
  // resolved here (the parser decides where they are allowed).
  [[nodiscard]] std::optional<PortNo> resolve(std::string_view name_or_number);
  // Forgets a name (a port deleted from its bridge); false when unknown.
  bool remove(std::string_view name);
  [[nodiscard]] std::optional<PortNo> find(std::string_view name) const;
  [[nodiscard]] std::optional<std::string_view> name_of(PortNo no) const;

  [[nodiscard]] const std::map<std::string, PortNo, std::less<>>& by_name() const noexcept {
    return by_name_;
  }

 private:
  std::map<std::string, PortNo, std::less<>> by_name_;
  std::map<std::uint32_t, std::string> by_number_;
  bool auto_number_ = false;
};

}  // namespace sockswitch::flowtable
