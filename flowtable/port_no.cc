// flowtable/port_no.cc: names of the reserved OpenFlow ports.
#include "flowtable/port_no.h"

#include <array>
#include <utility>

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

bool equals_ignore_case(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

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
