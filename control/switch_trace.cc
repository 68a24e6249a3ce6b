// control/switch_trace.cc: `ctl trace` against the running bridge, and the
// live traces of `ctl trace --live`.
#include <chrono>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "control/flow_trace.h"
#include "control/switch.h"
#include "flowtable/flow_parser.h"

namespace sockswitch::control {

// The live snapshot with private copies of what a traced packet would write:
// the MAC table (filled from the poll thread's copy, so NORMAL answers as it
// would now) and the connection table (empty: a new connection).
std::string Switch::trace(const std::string& name, const std::string& packet, bool json) {
  RunningBridge& b = bridge(name);
  flowtable::PortMap ports = b.config.port_map;  // a copy: parse_flow takes it by reference
  dataplane::MacLearningTable mac(mac_config(b.config));
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::steady_clock::now().time_since_epoch());
  for (const dataplane::FdbEntry& e : mac_entries(name))
    (void)mac.learn(e.mac, e.vlan, e.port, now - e.age);
  dataplane::Conntrack conntrack(1024);
  dataplane::BridgeSnapshot snapshot = b.bridge->snapshot();
  snapshot.mac = &mac;
  snapshot.conntrack = &conntrack;
  snapshot.controller = nullptr;
  snapshot.removals.clear();
  return trace_report(snapshot, packet, ports, json);
}

std::uint64_t Switch::start_live_trace(const std::string& name, const std::string& match,
                                       std::size_t count, std::chrono::seconds timeout) {
  RunningBridge& b = bridge(name);
  for (const auto& [id, armed] : live_traces_)
    if (armed.bridge == name)
      throw std::invalid_argument(
          fmt::format("bridge {} already has a live trace (id {}); one at a time", name, id));
  flowtable::PortMap ports = b.config.port_map;
  const flowtable::FlowRule m =
      parse_flow(match, ports, flowtable::FlowSyntax::packet, {"<match>", 1, 1});
  auto trace = std::make_unique<dataplane::LiveTrace>(m.match, count);
  b.bridge->set_live_trace(trace.get());
  const std::uint64_t id = next_live_trace_++;
  live_traces_.emplace(
      id, ArmedTrace{name, std::move(trace), std::chrono::steady_clock::now() + timeout});
  spdlog::info("bridge {}: live trace {} armed for {} packets matching {}", name, id, count, match);
  return id;
}

std::string Switch::read_live_trace(std::uint64_t id, bool json, bool stop) {
  const auto it = live_traces_.find(id);
  if (it == live_traces_.end())
    throw std::invalid_argument(fmt::format("no live trace {} (finished, or expired)", id));
  const ArmedTrace& armed = it->second;
  const dataplane::LiveTrace& trace = *armed.trace;
  const bool done = stop || trace.done() == trace.wanted();
  nlohmann::json reply{{"wanted", trace.wanted()}, {"done", done}};
  if (!done) {
    reply["recorded"] = trace.done();
    return reply.dump();
  }
  // Off the bridge first: after the grace period every claimed slot is
  // written and none is being written.
  const bool bridge_lives = has_bridge(armed.bridge);
  if (bridge_lives) bridge(armed.bridge).bridge->set_live_trace(nullptr);
  const std::size_t recorded = trace.done();
  const flowtable::PortMap ports =
      bridge_lives ? bridge(armed.bridge).config.port_map : flowtable::PortMap{};
  nlohmann::json packets = nlohmann::json::array();
  std::string text;
  for (std::size_t i = 0; i < recorded; ++i) {
    const dataplane::LiveTrace::Slot& slot = trace.slot(i);
    const TraceResult result{slot.packet, slot.log.events(), slot.log.truncated(), true};
    if (json) {
      packets.push_back(trace_json(result, *slot.flows, ports));
    } else {
      text += fmt::format("--- packet {} of {}\n{}", i + 1, trace.wanted(),
                          trace_text(result, *slot.flows, ports));
    }
  }
  reply["recorded"] = recorded;
  reply["report"] = json ? nlohmann::json{{"packets", packets}}.dump() + "\n" : text;
  live_traces_.erase(it);
  return reply.dump();
}

void Switch::expire_live_traces() {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = live_traces_.begin(); it != live_traces_.end();) {
    if (now < it->second.expires) {
      ++it;
      continue;
    }
    if (has_bridge(it->second.bridge)) bridge(it->second.bridge).bridge->set_live_trace(nullptr);
    spdlog::info("bridge {}: live trace {} taken off: its client did not come back",
                 it->second.bridge, it->first);
    it = live_traces_.erase(it);
  }
}

}  // namespace sockswitch::control
