// control/switch_meters.cc: ovs-ofctl's meter commands, and flows kept consistent with meters.
//
// A bridge's meters live in its snapshot (dataplane/meter_table.h). A flow
// may name only a meter the bridge has; deleting a meter deletes the flows
// that name it, as OVS does, so that no flow ever runs a meter that is gone.
#include <map>

#include <fmt/format.h>

#include "control/switch.h"

namespace sockswitch::control {
namespace {

using flowtable::ActionKind;
using flowtable::FlowMod;
using flowtable::FlowModCommand;

std::uint32_t meter_of(const flowtable::FlowRule& rule) {
  return !rule.actions.empty() && rule.actions.front().kind == ActionKind::meter
             ? static_cast<std::uint32_t>(rule.actions.front().value.lo)
             : 0;
}

flowtable::MeterConfig parse(const std::string& text) {
  return flowtable::parse_meter(text, {"<meter>", 1, 1});
}

}  // namespace

void Switch::check_meters(const std::string& bridge, std::span<const FlowMod> mods,
                          const dataplane::MeterSet& meters) {
  for (const FlowMod& m : mods) {
    if (m.command == FlowModCommand::del || m.command == FlowModCommand::del_strict) continue;
    if (const std::uint32_t id = meter_of(m.rule); id != 0 && meters.find(id) == nullptr)
      throw MeterRefused(
          MeterRefused::Why::unknown,
          fmt::format(
              "meter {} does not exist on bridge {} (add it first: add-meter {} meter={},...)", id,
              bridge, bridge, id));
  }
}

void Switch::set_meters(RunningBridge& b, dataplane::MeterSet meters) {
  std::vector<FlowMod> gone;
  const auto version = b.bridge->flows().current();
  for (unsigned t = 0; t < flowtable::kTableCount; ++t)
    for (const flowtable::ClassifierRule* r : version->table(std::uint8_t(t)).rules())
      if (const std::uint32_t id = meter_of(r->flow); id != 0 && meters.find(id) == nullptr) {
        FlowMod del{FlowModCommand::del_strict, r->flow};
        del.rule.table = static_cast<std::uint8_t>(t);
        gone.push_back(std::move(del));
      }
  // Flows first: no version ever has a flow whose meter is gone.
  if (!gone.empty()) apply_flows(b, gone);
  b.bridge->set_meters(std::move(meters));
}

void Switch::add_meter(const std::string& name, const flowtable::MeterConfig& m) {
  RunningBridge& b = bridge(name);
  if (b.bridge->meters().find(m.id) != nullptr)
    throw MeterRefused(
        MeterRefused::Why::exists,
        fmt::format("meter {} already exists on {} (mod-meter changes it)", m.id, name));
  set_meters(b, b.bridge->meters().with(std::make_shared<dataplane::MeterState>(m)));
}

void Switch::mod_meter(const std::string& name, const flowtable::MeterConfig& m) {
  RunningBridge& b = bridge(name);
  if (b.bridge->meters().find(m.id) == nullptr)
    throw MeterRefused(MeterRefused::Why::unknown,
                       fmt::format("no meter {} on {} to modify", m.id, name));
  set_meters(b, b.bridge->meters().with(std::make_shared<dataplane::MeterState>(m)));
}

std::size_t Switch::delete_meters(const std::string& name, std::uint32_t id) {
  RunningBridge& b = bridge(name);
  const std::size_t before = b.bridge->meters().meters().size();
  set_meters(b, b.bridge->meters().without(id));
  return before - b.bridge->meters().meters().size();
}

std::shared_ptr<const dataplane::MeterSet> Switch::meters(const std::string& name) const {
  return bridge(name).bridge->published_meters();
}

std::map<std::uint32_t, std::size_t> Switch::meter_flow_counts(const std::string& name) {
  std::map<std::uint32_t, std::size_t> flows;
  for (const FlowEntry& e : flow_entries(name))
    ++flows[meter_of(e.rule)];
  return flows;
}

std::string Switch::add_meter(const std::string& name, const std::string& text) {
  const flowtable::MeterConfig m = parse(text);
  add_meter(name, m);
  return fmt::format("meter {} added to {}\n", m.id, name);
}

std::string Switch::mod_meter(const std::string& name, const std::string& text) {
  const flowtable::MeterConfig m = parse(text);
  mod_meter(name, m);
  return fmt::format("meter {} modified on {}\n", m.id, name);
}

std::string Switch::del_meters(const std::string& name, const std::string& selector) {
  const std::uint32_t id = flowtable::parse_meter_selector(selector, {"<meter>", 1, 1});
  return fmt::format("{} meters deleted from {}\n", delete_meters(name, id), name);
}

std::string Switch::dump_meters(const std::string& name, const std::string& selector) {
  const RunningBridge& b = bridge(name);
  const std::uint32_t id = flowtable::parse_meter_selector(selector, {"<meter>", 1, 1});
  std::string out;
  for (const auto& m : b.bridge->meters().meters())
    if (id == 0 || m->config().id == id) out += flowtable::format_meter(m->config()) + "\n";
  return out;
}

std::string Switch::meter_stats(const std::string& name, const std::string& selector) {
  const std::uint32_t id = flowtable::parse_meter_selector(selector, {"<meter>", 1, 1});
  std::map<std::uint32_t, std::size_t> flows = meter_flow_counts(name);
  const RunningBridge& b = bridge(name);
  const std::uint64_t now = dataplane::monotonic_ns();
  std::string out;
  for (const auto& m : b.bridge->meters().meters()) {
    const std::uint32_t mid = m->config().id;
    if (id != 0 && mid != id) continue;
    out +=
        fmt::format("meter={} flow_count={} packet_in_count={} byte_in_count={} duration={:.3f}s",
                    mid, flows[mid], m->packets_in(), m->bytes_in(),
                    static_cast<double>(now - m->created_ns()) / 1e9);
    out += " bands:";
    for (std::size_t i = 0; i < m->config().bands.size(); ++i)
      out += fmt::format(" {}: packet_count={} byte_count={}", i, m->band(i).packets.get(),
                         m->band(i).bytes.get());
    out += "\n";
  }
  return out;
}

}  // namespace sockswitch::control
