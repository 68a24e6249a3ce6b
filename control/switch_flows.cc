// control/switch_flows.cc: the Switch's flow tables: installing, diffing, modifying, expiring,
// dumping.
#include "control/switch.h"

#include <algorithm>
#include <chrono>
#include <unordered_map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "flowtable/flow_printer.h"
#include "flowtable/value_text.h"

namespace sockswitch::control {
namespace {

using flowtable::FlowMod;
using flowtable::FlowModCommand;
using flowtable::FlowRule;

// Flows compare equal for replace-flows when a person would call them the
// same line: same place, match, actions and bookkeeping.
bool same_flow(const FlowRule& a, const FlowRule& b) {
  return a.table == b.table && a.priority == b.priority && a.match == b.match &&
         a.actions == b.actions && a.cookie == b.cookie && a.idle_timeout == b.idle_timeout &&
         a.hard_timeout == b.hard_timeout && a.send_flow_removed == b.send_flow_removed;
}

// A hash over what same_flow() compares.
std::size_t flow_hash(const FlowRule& r) {
  std::uint64_t h = 0x9e3779b97f4a7c15ull;
  auto mix = [&h](std::uint64_t v) { h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2); };
  mix(r.table);
  mix(r.priority);
  mix(r.cookie);
  mix(std::uint64_t{r.send_flow_removed} << 32 | std::uint64_t{r.idle_timeout} << 16 |
      r.hard_timeout);
  for (std::size_t i = 0; i < r.match.mask.w.size(); ++i) {
    mix(r.match.mask.w[i]);
    mix(r.match.value.w[i] & r.match.mask.w[i]);
  }
  for (const flowtable::Action& a : r.actions) {
    mix(static_cast<std::uint64_t>(a.kind) << 32 | static_cast<std::uint64_t>(a.field) << 16 |
        a.table);
    mix(flowtable::to_u32(a.port) | std::uint64_t{a.max_len} << 32);
    mix(a.value.hi);
    mix(a.value.lo);
  }
  return static_cast<std::size_t>(h);
}

std::string join_errors(const std::vector<flowtable::FlowError>& errors) {
  std::string s;
  for (const auto& e : errors)
    s += fmt::format("{}{}", s.empty() ? "" : "\n", e.what());
  return s;
}

}  // namespace

void Switch::install_flows(RunningBridge& b, const std::vector<flowtable::ParsedFlow>& flows,
                           bool replace_all) {
  const std::vector<FlowMod> mods = flow_mods(b, flows, replace_all);
  if (!mods.empty()) apply_flows(b, mods);
}

void Switch::apply_flows(RunningBridge& b, std::span<const FlowMod> mods) {
  check_meters(b.config.name, mods, b.bridge->meters());
  const std::vector<flowtable::RemovedFlow> removed = b.bridge->apply_flows(mods);
  if (flow_removed_)
    for (const flowtable::RemovedFlow& r : removed)
      flow_removed_(b.config.name, r, FlowRemoval::deleted);
}

std::vector<FlowMod> Switch::flow_mods(const RunningBridge& b,
                                       const std::vector<flowtable::ParsedFlow>& flows,
                                       bool replace_all) const {
  std::vector<FlowMod> mods;
  if (replace_all) {
    // Only the difference: flows that stay keep their counters. Linear: the
    // wanted flows by hash, each running rule looked up once (a reload of
    // 100 000 flows onto 100 000 must not stall the control thread).
    std::unordered_multimap<std::size_t, std::size_t> wanted;
    wanted.reserve(flows.size());
    for (std::size_t i = 0; i < flows.size(); ++i)
      wanted.emplace(flow_hash(flows[i].rule), i);
    std::vector<bool> kept(flows.size(), false);
    const auto version = b.bridge->flows().current();
    for (unsigned t = 0; t < flowtable::kTableCount; ++t) {
      for (const flowtable::ClassifierRule* r : version->table(std::uint8_t(t)).rules()) {
        bool keep = false;
        auto [at, end] = wanted.equal_range(flow_hash(r->flow));
        for (; at != end && !keep; ++at)
          if (!kept[at->second] && same_flow(r->flow, flows[at->second].rule))
            keep = kept[at->second] = true;
        if (!keep) mods.push_back({FlowModCommand::del_strict, r->flow});
      }
    }
    for (std::size_t i = 0; i < flows.size(); ++i)
      if (!kept[i]) mods.push_back({FlowModCommand::add, flows[i].rule});
  } else {
    for (const auto& f : flows)
      mods.push_back({FlowModCommand::add, f.rule});
  }
  return mods;
}

std::string Switch::dump_flows(const std::string& name) {
  RunningBridge& b = bridge(name);
  const auto version = b.bridge->flows().current();
  const auto now = std::chrono::steady_clock::now();
  b.bridge->note_flow_use(now);  // idle_age as of now
  std::string out;
  for (unsigned t = 0; t < flowtable::kTableCount; ++t) {
    for (const flowtable::ClassifierRule* r : version->table(std::uint8_t(t)).rules()) {
      const auto stats = b.bridge->flows().stats(r->id);
      const double age =
          stats ? std::chrono::duration<double>(now - stats->installed).count() : 0.0;
      std::string timeouts;
      if (r->flow.idle_timeout) timeouts += fmt::format("idle_timeout={}, ", r->flow.idle_timeout);
      if (r->flow.hard_timeout) timeouts += fmt::format("hard_timeout={}, ", r->flow.hard_timeout);
      if (r->flow.send_flow_removed) timeouts += "send_flow_rem ";
      // As ovs-ofctl prints it: whole seconds since the flow last matched
      // (hard_age only after a modify, which restarts no timer here).
      if (stats)
        timeouts += fmt::format(
            "idle_age={}, ",
            std::chrono::duration_cast<std::chrono::seconds>(now - stats->last_used).count());
      out += fmt::format(
          " cookie={:#x}, duration={:.3f}s, table={}, n_packets={}, n_bytes={}, {}{} actions={}\n",
          r->flow.cookie, age, t, stats ? stats->packets : 0, stats ? stats->bytes : 0, timeouts,
          flowtable::format_match(r->flow, b.config.port_map),
          flowtable::format_actions(r->flow.actions, b.config.port_map));
    }
  }
  return out;
}

std::size_t Switch::expire_flows() {
  const auto now = std::chrono::steady_clock::now();
  std::size_t expired = 0;
  for (RunningBridge& b : bridges_) {
    b.bridge->note_flow_use(now);
    const auto version = b.bridge->flows().current();
    std::vector<FlowMod> gone;
    struct Expired {
      flowtable::RemovedFlow flow;
      FlowRemoval why;
    };
    std::vector<Expired> reported;
    for (unsigned t = 0; t < flowtable::kTableCount; ++t) {
      for (const flowtable::ClassifierRule* r : version->table(std::uint8_t(t)).rules()) {
        const FlowRule& f = r->flow;
        if (f.idle_timeout == 0 && f.hard_timeout == 0) continue;
        const auto stats = b.bridge->flows().stats(r->id);
        if (!stats) continue;
        const bool hard =
            f.hard_timeout != 0 && now - stats->installed >= std::chrono::seconds(f.hard_timeout);
        const bool idle =
            f.idle_timeout != 0 && now - stats->last_used >= std::chrono::seconds(f.idle_timeout);
        if (!hard && !idle) continue;
        gone.push_back({FlowModCommand::del_strict, f});
        if (f.send_flow_removed)
          reported.push_back(
              {{f, *stats}, hard ? FlowRemoval::hard_timeout : FlowRemoval::idle_timeout});
        spdlog::info("bridge {}: flow removed ({} timeout): table={}, {} actions={}", b.config.name,
                     hard ? "hard" : "idle", f.table, flowtable::format_match(f, b.config.port_map),
                     flowtable::format_actions(f.actions, b.config.port_map));
      }
    }
    if (gone.empty()) continue;
    (void)b.bridge->apply_flows(gone);  // reported below with their timeout, not as deletes
    if (flow_removed_)
      for (const Expired& e : reported)
        flow_removed_(b.config.name, e.flow, e.why);
    expired += gone.size();
  }
  flows_expired_ += expired;
  return expired;
}

std::string Switch::add_flows(const std::string& name, const std::string& text,
                              const std::string& source) {
  RunningBridge& b = bridge(name);
  const flowtable::FlowFile f = flowtable::parse_flow_file(text, source, b.config.port_map);
  if (!f.errors.empty()) throw std::invalid_argument(join_errors(f.errors));
  install_flows(b, f.flows, false);
  return fmt::format("{} flows added to {}\n", f.flows.size(), name);
}

std::string Switch::del_flows(const std::string& name, const std::optional<std::string>& flow,
                              bool strict) {
  RunningBridge& b = bridge(name);
  FlowMod mod{strict ? FlowModCommand::del_strict : FlowModCommand::del, {}};
  if (flow)
    mod.rule = flowtable::parse_flow(*flow, b.config.port_map, flowtable::FlowSyntax::match);
  else
    mod.rule.table = flowtable::kAllTables;
  const std::size_t before = b.bridge->flows().current()->size();
  apply_flows(b, std::vector<FlowMod>{mod});
  return fmt::format("{} flows deleted from {}\n", before - b.bridge->flows().current()->size(),
                     name);
}

std::string Switch::mod_flows(const std::string& name, const std::string& flow, bool strict) {
  RunningBridge& b = bridge(name);
  if (flow.find("actions=") == std::string::npos && flow.find("actions:") == std::string::npos)
    throw std::invalid_argument("mod-flows: '" + flow + "' has no actions= to set");
  FlowMod mod{strict ? FlowModCommand::modify_strict : FlowModCommand::modify,
              flowtable::parse_flow(flow, b.config.port_map, flowtable::FlowSyntax::match)};
  const auto before = b.bridge->flows().current();
  apply_flows(b, std::vector<FlowMod>{mod});
  // A modified rule keeps its id (and counters) with new actions.
  std::unordered_map<flowtable::RuleId, const FlowRule*> was;
  for (unsigned t = 0; t < flowtable::kTableCount; ++t)
    for (const flowtable::ClassifierRule* r : before->table(std::uint8_t(t)).rules())
      was.emplace(r->id, &r->flow);
  std::size_t changed = 0;
  const auto after = b.bridge->flows().current();
  for (unsigned t = 0; t < flowtable::kTableCount; ++t)
    for (const flowtable::ClassifierRule* r : after->table(std::uint8_t(t)).rules()) {
      const auto it = was.find(r->id);
      changed += it != was.end() && it->second->actions != r->flow.actions;
    }
  return fmt::format("{} flows modified on {}\n", changed, name);
}

std::string Switch::replace_flows(const std::string& name, const std::string& text,
                                  const std::string& source) {
  RunningBridge& b = bridge(name);
  const flowtable::FlowFile f = flowtable::parse_flow_file(text, source, b.config.port_map);
  if (!f.errors.empty()) throw std::invalid_argument(join_errors(f.errors));
  install_flows(b, f.flows, true);
  return fmt::format("{} now has {} flows\n", name, b.bridge->flows().current()->size());
}

}  // namespace sockswitch::control
