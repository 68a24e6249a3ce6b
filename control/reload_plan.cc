// control/reload_plan.cc: the difference between the running and the wanted Config.
#include "control/reload_plan.h"

#include <algorithm>
#include <optional>
#include <set>

#include <fmt/format.h>

namespace sockswitch::control {
namespace {

std::optional<std::size_t> thread_of(const std::vector<std::vector<std::string>>& threads,
                                     const std::string& bridge) {
  for (std::size_t i = 0; i < threads.size(); ++i)
    if (std::find(threads[i].begin(), threads[i].end(), bridge) != threads[i].end()) return i;
  return std::nullopt;
}

const PortConfig* port_named(const BridgeConfig& b, const std::string& name) {
  const auto it = std::find_if(b.ports.begin(), b.ports.end(),
                               [&](const PortConfig& p) { return p.name == name; });
  return it == b.ports.end() ? nullptr : &*it;
}

// The same lines in the same order: nothing for a reload to do.
bool same_flows(const std::vector<flowtable::ParsedFlow>& a,
                const std::vector<flowtable::ParsedFlow>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const auto& x, const auto& y) { return x.text == y.text; });
}

// A wireguard port whose file changed but nothing else: new peers and keys
// apply to the running port. A new ListenPort needs a new socket.
bool retunable(const PortConfig& have, const PortConfig& want) {
  if (have.driver != want.driver || !port_driver(want).retunes || !have.wg_parsed ||
      !want.wg_parsed)
    return false;
  PortConfig same_file = want;
  same_file.wg_config = have.wg_config;
  same_file.wg_config_digest = have.wg_config_digest;
  if (!(same_file == have)) return false;
  const std::uint16_t listen = want.wg_parsed->interface.listen_port.value_or(0);
  return listen == 0 || listen == have.wg_parsed->interface.listen_port.value_or(0);
}

}  // namespace

std::string_view port_step_name(PortStep s) noexcept {
  switch (s) {
    case PortStep::keep:
      return "keep";
    case PortStep::open:
      return "open";
    case PortStep::replace:
      return "replace";
    case PortStep::reopen:
      return "reopen";
    case PortStep::retune:
      return "retune";
  }
  return "?";
}

bool BridgePlan::changes() const noexcept {
  return added || !removed.empty() || mac_settings || meters || flows || moves_thread ||
         std::any_of(ports.begin(), ports.end(),
                     [](const PortPlan& p) { return p.step != PortStep::keep; });
}

bool ReloadPlan::bridge_set_changes() const noexcept {
  return !bridges_removed.empty() ||
         std::any_of(bridges.begin(), bridges.end(), [](const BridgePlan& b) { return b.added; });
}

bool ReloadPlan::empty() const noexcept {
  return !bridge_set_changes() && !thread_count_changes && cpu_changes.empty() && !log_level &&
         std::none_of(bridges.begin(), bridges.end(),
                      [](const BridgePlan& b) { return b.changes(); });
}

std::string ReloadPlan::describe() const {
  std::string out;
  for (const std::string& b : bridges_removed)
    out += fmt::format("{}: removed\n", b);
  for (const BridgePlan& b : bridges) {
    if (b.added) out += fmt::format("{}: added\n", b.name);
    if (b.moves_thread) out += fmt::format("{}: moves to another poll thread\n", b.name);
    for (const std::string& p : b.removed)
      out += fmt::format("{}: {} removed\n", b.name, p);
    for (const PortPlan& p : b.ports)
      if (p.step != PortStep::keep)
        out += fmt::format("{}: {} {}\n", b.name, p.name, port_step_name(p.step));
    if (b.mac_settings) out += fmt::format("{}: MAC table settings\n", b.name);
    if (b.meters) out += fmt::format("{}: meters\n", b.name);
    if (b.flows) out += fmt::format("{}: flows\n", b.name);
  }
  if (thread_count_changes) out += fmt::format("poll threads: {}\n", threads.size());
  for (const std::size_t t : cpu_changes)
    out += fmt::format("poll thread {}: CPU\n", t);
  if (log_level) out += "log_level\n";
  return out;
}

std::vector<std::vector<std::string>> assign_threads(const std::vector<PollThreadSpec>& threads,
                                                     const std::vector<BridgeConfig>& bridges) {
  std::vector<PollThreadSpec> specs = threads;
  if (specs.empty()) specs.push_back({});
  std::set<std::string> named;
  for (const auto& s : specs)
    named.insert(s.bridges.begin(), s.bridges.end());
  std::vector<std::vector<std::string>> assigned(specs.size());
  for (std::size_t i = 0; i < specs.size(); ++i) {
    for (const BridgeConfig& b : bridges) {
      const auto& mine = specs[i].bridges;
      const bool take = mine.empty() ? !named.count(b.name)
                                     : std::find(mine.begin(), mine.end(), b.name) != mine.end();
      if (take) assigned[i].push_back(b.name);
    }
    // A catch-all thread takes every unnamed bridge once.
    if (specs[i].bridges.empty())
      for (const BridgeConfig& b : bridges)
        named.insert(b.name);
  }
  return assigned;
}

bool driver_can_share_device(const PortConfig& p) noexcept {
  // A pcap port that writes a capture would share the file.
  const ports::PortDriver* d = ports::find_port_driver(p.driver);
  return d != nullptr && d->shares_device && !p.tx_pcap;
}

ReloadPlan diff(const Config& running, const Config& wanted, FlowReload flows) {
  ReloadPlan plan;
  plan.threads = assign_threads(wanted.poll_threads, wanted.bridges);
  const auto before = assign_threads(running.poll_threads, running.bridges);
  plan.thread_count_changes = plan.threads.size() != before.size();
  for (std::size_t i = 0; i < std::min(wanted.poll_threads.size(), running.poll_threads.size());
       ++i)
    if (wanted.poll_threads[i].cpu != running.poll_threads[i].cpu) plan.cpu_changes.push_back(i);
  plan.log_level = wanted.log_level != running.log_level;

  auto moves = [&](const std::string& bridge) {
    return running.bridge(bridge) && thread_of(before, bridge) != thread_of(plan.threads, bridge);
  };
  // Where a port of this name runs now, on any bridge.
  auto running_port =
      [&](const std::string& name) -> std::pair<const BridgeConfig*, const PortConfig*> {
    for (const BridgeConfig& b : running.bridges)
      if (const PortConfig* p = port_named(b, name)) return {&b, p};
    return {nullptr, nullptr};
  };
  // A patch pair is one ring: when one side changes (or its bridge moves
  // to another thread), both are new.
  std::set<std::string> new_pairs;
  for (const BridgeConfig& w : wanted.bridges)
    for (const PortConfig& pc : w.ports) {
      if (!port_driver(pc).opens_itself || !pc.peer) continue;
      const auto [rb, rp] = running_port(pc.name);
      if (rb == nullptr || rb->name != w.name || !(*rp == pc) || moves(w.name)) {
        new_pairs.insert(pc.name);
        new_pairs.insert(*pc.peer);
      }
    }

  for (const BridgeConfig& w : wanted.bridges) {
    BridgePlan& bp = plan.bridges.emplace_back();
    bp.name = w.name;
    const BridgeConfig* r = running.bridge(w.name);
    bp.added = r == nullptr;
    if (r != nullptr) {
      bp.moves_thread = moves(w.name);
      bp.mac_settings =
          w.mac_aging_seconds != r->mac_aging_seconds || w.mac_table_size != r->mac_table_size;
      bp.meters = w.meters != r->meters;
      bp.flows = w.flows_basis != r->flows_basis || !same_flows(w.flows, r->flows);
      for (const PortConfig& rp : r->ports)
        if (port_named(w, rp.name) == nullptr) bp.removed.push_back(rp.name);
    } else {
      bp.meters = !w.meters.empty();
      bp.flows = true;
    }
    for (const PortConfig& pc : w.ports) {
      PortPlan& pp = bp.ports.emplace_back();
      pp.name = pc.name;
      const auto [rb, rp] = running_port(pc.name);
      if (port_driver(pc).opens_itself) {  // a patch port: one side of a ring
        pp.step = rb == nullptr              ? PortStep::open
                  : new_pairs.count(pc.name) ? PortStep::replace
                                             : PortStep::keep;
      } else if (rb == nullptr) {
        pp.step = PortStep::open;
      } else if (rb != r) {  // moves from another bridge: its device is held there
        pp.step = driver_can_share_device(*rp) && driver_can_share_device(pc) ? PortStep::open
                                                                              : PortStep::reopen;
      } else if (*rp == pc && !bp.moves_thread) {
        pp.step = PortStep::keep;
      } else if (!bp.moves_thread && retunable(*rp, pc)) {
        pp.step = PortStep::retune;
      } else {
        pp.step = driver_can_share_device(*rp) && driver_can_share_device(pc) ? PortStep::replace
                                                                              : PortStep::reopen;
      }
    }
  }
  for (const BridgeConfig& r : running.bridges)
    if (wanted.bridge(r.name) == nullptr) plan.bridges_removed.push_back(r.name);
  plan.flow_reload = flows;
  return plan;
}

}  // namespace sockswitch::control
