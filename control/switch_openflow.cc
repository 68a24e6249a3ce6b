// control/switch_openflow.cc: the Switch as the OpenFlow channel sees it:
// flows with their counters, flow mods applied as batches, bridges by name.
#include <algorithm>

#include "control/switch.h"

namespace sockswitch::control {

std::vector<Switch::FlowEntry> Switch::flow_entries(const std::string& name) {
  RunningBridge& b = bridge(name);
  const auto version = b.bridge->flows().current();
  const auto now = std::chrono::steady_clock::now();
  b.bridge->note_flow_use(now);
  std::vector<FlowEntry> out;
  out.reserve(version->size());
  for (unsigned t = 0; t < flowtable::kTableCount; ++t) {
    for (const flowtable::ClassifierRule* r : version->table(std::uint8_t(t)).rules()) {
      FlowEntry e;
      e.rule = r->flow;
      e.rule.table = static_cast<std::uint8_t>(t);
      if (const auto stats = b.bridge->flows().stats(r->id)) {
        e.packets = stats->packets;
        e.bytes = stats->bytes;
        e.age = now - stats->installed;
        e.idle = std::chrono::duration_cast<std::chrono::seconds>(now - stats->last_used);
      }
      out.push_back(std::move(e));
    }
  }
  return out;
}

void Switch::apply_flow_mods(const std::string& name, std::span<const flowtable::FlowMod> mods) {
  if (!mods.empty()) apply_flows(bridge(name), mods);
}

std::vector<std::string> Switch::bridge_names() const {
  std::vector<std::string> names;
  for (const RunningBridge& b : bridges_)
    names.push_back(b.config.name);
  return names;
}

bool Switch::has_bridge(const std::string& name) const noexcept {
  return std::any_of(bridges_.begin(), bridges_.end(),
                     [&](const RunningBridge& b) { return b.config.name == name; });
}

const flowtable::PortMap& Switch::port_map(const std::string& name) const {
  return bridge(name).config.port_map;
}

std::vector<std::string> Switch::controllers(const std::string& name) const {
  return bridge(name).config.controllers;
}

}  // namespace sockswitch::control
