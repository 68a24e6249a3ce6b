// dataplane/port_vlan.cc: reading and resolving a port's VLAN settings.
#include "dataplane/port_vlan.h"

#include <array>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace sockswitch::dataplane {
namespace {

constexpr std::array<std::pair<VlanMode, std::string_view>, 4> kModeNames{{
    {VlanMode::trunk, "trunk"},
    {VlanMode::access, "access"},
    {VlanMode::native_tagged, "native-tagged"},
    {VlanMode::native_untagged, "native-untagged"},
}};

// OVS: an explicit mode wins; otherwise a tag makes an access port.
VlanMode effective_mode(const VlanConfig& c) {
  if (c.mode) return *c.mode;
  return c.tag ? VlanMode::access : VlanMode::trunk;
}

bool is_native(VlanMode m) {
  return m == VlanMode::native_tagged || m == VlanMode::native_untagged;
}

}  // namespace

std::optional<VlanMode> parse_vlan_mode(std::string_view text) noexcept {
  for (const auto& [mode, name] : kModeNames)
    if (name == text) return mode;
  return std::nullopt;
}

std::string_view vlan_mode_name(VlanMode mode) noexcept {
  for (const auto& [m, name] : kModeNames)
    if (m == mode) return name;
  return "?";
}

std::string vlan_config_error(const VlanConfig& c) {
  if (c.tag && *c.tag > 4095) return fmt::format("tag {} is not a VLAN ID (0 to 4095)", *c.tag);
  for (const std::uint16_t t : c.trunks)
    if (t > 4095) return fmt::format("trunk {} is not a VLAN ID (0 to 4095)", t);
  const VlanMode mode = effective_mode(c);
  if (mode == VlanMode::access && !c.trunks.empty())
    return c.mode ? "an access port carries only its tag's VLAN: 'trunks' would be ignored"
                  : "a port with a 'tag' and 'trunks' needs a 'vlan_mode' (native-tagged or "
                    "native-untagged); without one it is an access port and 'trunks' would be "
                    "ignored";
  if (mode == VlanMode::trunk && c.tag)
    return "a trunk port has no VLAN of its own: 'tag' would be ignored (use native-tagged or "
           "native-untagged for untagged frames in that VLAN)";
  if (is_native(mode) && !c.tag)
    return fmt::format("a {} port needs a 'tag' (the VLAN of its untagged frames)",
                       vlan_mode_name(mode));
  return "";
}

std::string describe_vlan_config(const VlanConfig& c) {
  std::string out;
  if (c.tag) out += fmt::format("tag={}", *c.tag);
  if (!c.trunks.empty())
    out += fmt::format("{}trunks={}", out.empty() ? "" : " ", fmt::join(c.trunks, ","));
  if (c.mode) out += fmt::format("{}vlan_mode={}", out.empty() ? "" : " ", vlan_mode_name(*c.mode));
  return out;
}

PortVlan::PortVlan(const VlanConfig& c)
    : mode_(effective_mode(c)),
      tag_(mode_ == VlanMode::trunk ? 0 : static_cast<std::uint16_t>(c.tag.value_or(0) & 0x0fff)) {
  if (mode_ == VlanMode::access) return;
  if (c.trunks.empty() && !(is_native(mode_) && tag_ != 0)) return;
  auto set = std::make_shared<VlanSet>();
  if (c.trunks.empty()) set->set();
  for (const std::uint16_t t : c.trunks)
    if (t <= 4095) set->set(t);
  if (is_native(mode_) && tag_ != 0) {
    set->set(tag_);  // a native port always carries its own VLAN
    set->reset(0);   // and never VLAN 0: its untagged frames are in `tag`
  }
  trunks_ = std::move(set);
}

}  // namespace sockswitch::dataplane
