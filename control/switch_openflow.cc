// control/switch_openflow.cc: the Switch as the OpenFlow channel sees it:
// flows with their counters, flow mods applied as batches, bridges by name.
#include <algorithm>

#include <spdlog/spdlog.h>

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

bool Switch::packet_out(const std::string& name, const dataplane::InjectedPacket& packet) {
  RunningBridge& b = bridge(name);
  dataplane::InjectedPacket* slot = b.bridge->controller().injected.slot();
  if (slot == nullptr) return false;
  *slot = packet;
  b.bridge->controller().injected.push();
  for (std::size_t t = 0; t < thread_bridges_.size() && t < threads_.size(); ++t)
    if (std::find(thread_bridges_[t].begin(), thread_bridges_[t].end(), name) !=
        thread_bridges_[t].end())
      threads_[t]->kick();
  return true;
}

std::vector<dataplane::PuntedPacket> Switch::take_punts(const std::string& name, std::size_t max) {
  dataplane::ControllerQueues& q = bridge(name).bridge->controller();
  std::vector<dataplane::PuntedPacket> out;
  while (out.size() < max) {
    const dataplane::PuntedPacket* p = q.punts.front();
    if (p == nullptr) break;
    out.push_back(*p);
    q.punts.pop();
  }
  return out;
}

int Switch::punt_fd(const std::string& name) {
  return bridge(name).bridge->controller().punt_fd;
}

void Switch::set_fail_open(const std::string& name, bool on) {
  RunningBridge& b = bridge(name);
  if (b.bridge->published() != nullptr && b.bridge->published()->fail_open != on)
    spdlog::warn("bridge {}: {}", name,
                 on ? "no controller connected: fail-open, switching as NORMAL (standalone)"
                    : "a controller connected: the flow table switches again");
  b.bridge->set_fail_open(on);
}

void Switch::set_miss_to_controller(const std::string& name, bool on) {
  bridge(name).bridge->set_miss_to_controller(on);
}

std::string Switch::fail_mode(const std::string& name) const {
  return bridge(name).config.fail_mode;
}

}  // namespace sockswitch::control
