// flowtable/port_no.cc: names of the reserved OpenFlow ports.
#include "flowtable/port_no.h"

#include <array>
#include <utility>

#include "flowtable/value_text.h"

namespace sockswitch::flowtable {
namespace {

constexpr std::array<std::pair<PortNo, std::string_view>, 8> kReserved{{
    {kPortInPort, "IN_PORT"},
    {kPortTable, "TABLE"},
    {kPortNormal, "NORMAL"},
    {kPortFlood, "FLOOD"},
    {kPortAll, "ALL"},
    {kPortController, "CONTROLLER"},
    {kPortLocal, "LOCAL"},
    {kPortNone, "NONE"},
}};

}  // namespace

std::optional<std::string_view> reserved_port_name(PortNo p) noexcept {
  for (const auto& [no, name] : kReserved)
    if (no == p) return name;
  return std::nullopt;
}

std::optional<PortNo> reserved_port_by_name(std::string_view name) noexcept {
  for (const auto& [no, reserved] : kReserved)
    if (equals_ignore_case(reserved, name)) return no;
  return std::nullopt;
}

}  // namespace sockswitch::flowtable
