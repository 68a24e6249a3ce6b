// control/switch_reload.cc: reload, the running switch made to match a wanted Config.
//
// The plan is applied in phases. First, while the running switch is
// untouched, every port that is new or changed opens and every setting that
// can still be refused is checked: a failure there changes nothing. Then
// what changes in place changes, each bridge publishes its ports and flows
// as one snapshot, and retired ports close after the grace period.
//
// Bridges that come or go (a database's `add-br`, a file edit) stop the poll
// threads for the moment the set changes and start them again over the same
// packet pools: ports stay open and their rings hold what arrives meanwhile.
// Only a change of the poll threads themselves rebuilds everything.
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "control/switch.h"
#include "dataplane/tx_batch.h"
#include "ports/wireguard_port.h"

namespace sockswitch::control {
namespace {

bool same_thread_specs(const std::vector<PollThreadSpec>& a, const std::vector<PollThreadSpec>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].bridges != b[i].bridges) return false;
  return true;
}

// The same lines in the same order: nothing for a reload to do.
bool same_flows(const std::vector<flowtable::ParsedFlow>& a,
                const std::vector<flowtable::ParsedFlow>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const auto& x, const auto& y) { return x.text == y.text; });
}

}  // namespace

void Switch::rebuild(Config wanted) {
  Switch fresh(std::move(wanted));  // new ports open before the old go
  stop_threads();
  fresh.stop_threads();
  std::swap(config_, fresh.config_);
  std::swap(bridges_, fresh.bridges_);
  std::swap(pools_, fresh.pools_);
  std::swap(thread_bridges_, fresh.thread_bridges_);
  start_threads();
  for (const RunningBridge& b : bridges_)
    await_ready(b);
}

void Switch::reload(Config wanted, FlowReload flow_reload) {
  keep_runtime_ports(wanted);
  if (!same_thread_specs(config_.poll_threads, wanted.poll_threads)) {
    rebuild(std::move(wanted));
    return;
  }
  // With the same thread specs a bridge that stays keeps its thread, so
  // only new bridges need the new assignment (their ports open over the
  // pool of the thread that will poll them).
  std::vector<std::vector<std::string>> assigned =
      assign_threads(wanted.poll_threads, wanted.bridges);
  for (const BridgeConfig& w : wanted.bridges)
    if (std::none_of(assigned.begin(), assigned.end(), [&](const auto& names) {
          return std::find(names.begin(), names.end(), w.name) != names.end();
        }))
      throw std::invalid_argument(fmt::format(
          "bridge '{}' is not served by any poll thread (add it to a [[poll_thread]] or add one "
          "without 'bridges')",
          w.name));
  std::swap(thread_bridges_, assigned);
  struct RestoreThreads {
    std::vector<std::vector<std::string>>& now;
    std::vector<std::vector<std::string>>& before;
    bool committed = false;
    ~RestoreThreads() {
      if (!committed) std::swap(now, before);
    }
  } restore{thread_bridges_, assigned};

  // Each wanted bridge, running or new. A new one is invisible to the
  // poll threads until the bridge set is swapped below.
  std::vector<RunningBridge> added;
  added.reserve(wanted.bridges.size());
  std::vector<RunningBridge*> target;
  std::vector<bool> fresh;  // per wanted bridge: made by this reload
  std::set<std::uint8_t> indices;
  for (const RunningBridge& b : bridges_)
    if (wanted.bridge(b.config.name)) indices.insert(b.bridge->index());
  for (const BridgeConfig& w : wanted.bridges) {
    const auto it = std::find_if(bridges_.begin(), bridges_.end(),
                                 [&](const RunningBridge& b) { return b.config.name == w.name; });
    fresh.push_back(it == bridges_.end());
    if (it != bridges_.end()) {
      target.push_back(&*it);
      continue;
    }
    std::uint8_t index = 0;
    while (indices.count(index))
      ++index;
    if (index >= dataplane::TxBatch::kMaxBridges)
      throw std::invalid_argument(
          fmt::format("bridge '{}': at most {} bridges", w.name, dataplane::TxBatch::kMaxBridges));
    indices.insert(index);
    RunningBridge& rb = added.emplace_back();
    rb.bridge = std::make_unique<dataplane::Bridge>(w.name, index, mac_config(w), conntrack_.get());
    rb.config.name = w.name;
    rb.config.mac_aging_seconds = w.mac_aging_seconds;
    rb.config.mac_table_size = w.mac_table_size;
    target.push_back(&rb);
  }
  const bool bridge_set_changes = !added.empty() || target.size() - added.size() != bridges_.size();

  // Open every new or changed port first, so a failure changes nothing. A
  // wireguard port whose file changed is reconfigured in place instead (its
  // UDP port and UAPI socket cannot be held twice), after every open
  // succeeded. A port the database asked for that cannot open does not
  // refuse the rest: it stays down with its reason, and is retried.
  auto running_as = [&](std::size_t i, const PortConfig& pc) {
    const auto& old = target[i]->ports;
    return std::any_of(old.begin(), old.end(),
                       [&](const RunningPort& p) { return p.config == pc; });
  };
  // A patch pair is one ring: when one side changes, both are new.
  std::set<std::string> replace;
  for (std::size_t i = 0; i < target.size(); ++i)
    for (const PortConfig& pc : wanted.bridges[i].ports)
      if (pc.driver == "patch" && pc.peer && !running_as(i, pc)) {
        replace.insert(pc.name);
        replace.insert(*pc.peer);
      }
  std::vector<std::vector<RunningPort>> opened(target.size());
  std::vector<std::pair<RunningPort*, const PortConfig*>> retuned;
  for (std::size_t i = 0; i < target.size(); ++i) {
    for (const PortConfig& pc : wanted.bridges[i].ports) {
      auto& old = target[i]->ports;
      if (running_as(i, pc) && !replace.count(pc.name)) continue;
      if (RunningPort* same = wireguard_in_place(old, pc)) {
        retuned.emplace_back(same, &pc);
        continue;
      }
      if (pc.origin == PortOrigin::database)
        opened[i].push_back(open_at_start(pc, wanted.bridges[i].name));
      else
        opened[i].push_back(
            {pc, pc.driver == "patch" ? nullptr : open_port(pc, wanted.bridges[i].name)});
    }
  }
  // Settings that can still be refused are checked before anything changes.
  for (const BridgeConfig& w : wanted.bridges)
    (void)dataplane::MacLearningTable(mac_config(w));
  // Flows that will be set must find their meters (the file's, when they
  // change; else the ones the bridge has, `ctl add-meter` included).
  // The new meter sets are built here once and published below.
  std::vector<std::optional<dataplane::MeterSet>> new_meters(target.size());
  std::vector<bool> set_flows_of(target.size());
  for (std::size_t i = 0; i < target.size(); ++i) {
    const BridgeConfig& w = wanted.bridges[i];
    const RunningBridge& b = *target[i];
    if (fresh[i] || w.meters != b.config.meters) new_meters[i] = meter_set(w.meters);
    set_flows_of[i] = flow_reload == FlowReload::replace || fresh[i] ||
                      w.flows_basis != b.config.flows_basis || !same_flows(w.flows, b.config.flows);
    if (!set_flows_of[i]) continue;
    const dataplane::MeterSet& will = new_meters[i] ? *new_meters[i] : b.bridge->meters();
    std::vector<flowtable::FlowMod> adds;
    for (const flowtable::ParsedFlow& f : w.flows)
      adds.push_back({flowtable::FlowModCommand::add, f.rule});
    check_meters(w.name, adds, will);
  }
  for (std::size_t i = 0; i < threads_.size() && i < wanted.poll_threads.size(); ++i)
    if (wanted.poll_threads[i].cpu &&
        *wanted.poll_threads[i].cpu >= ::sysconf(_SC_NPROCESSORS_CONF))
      throw std::invalid_argument(
          fmt::format("poll thread {}: no CPU {}", i, *wanted.poll_threads[i].cpu));
  std::vector<RunningBridge> staging;  // only to pair new patch ports
  for (auto& o : opened) {
    RunningBridge rb;
    rb.ports = std::move(o);
    staging.push_back(std::move(rb));
  }
  open_patch_pairs(staging);

  // Nothing below refuses: what changes in place changes now.
  restore.committed = true;
  for (auto& [running, pc] : retuned) {
    static_cast<ports::WireGuardPort&>(*running->port).reconfigure(*pc->wg_parsed);
    running->config = *pc;  // now equal: kept below like an unchanged port
  }
  if (bridge_set_changes) stop_threads();
  for (std::size_t i = 0; i < threads_.size() && i < wanted.poll_threads.size(); ++i)
    if (wanted.poll_threads[i].cpu != config_.poll_threads[i].cpu)
      threads_[i]->pin(wanted.poll_threads[i].cpu);

  for (std::size_t i = 0; i < target.size(); ++i) {
    RunningBridge& b = *target[i];
    BridgeConfig& w = wanted.bridges[i];
    std::vector<RunningPort> next;
    std::vector<RunningPort> retired;
    for (RunningPort& p : b.ports) {
      const auto match = std::find_if(w.ports.begin(), w.ports.end(),
                                      [&](const PortConfig& pc) { return pc == p.config; });
      const bool keep = match != w.ports.end() && !replace.count(p.config.name);
      if (keep) {
        p.config.origin = match->origin;  // the file may now name a port ctl added
        p.config.vlan = match->vlan;      // published with the ports below
        p.config.proxy = match->proxy;    // published by after_publish
      }
      if (!keep) b.numbering.released(p.config.name, p.config.ofport, PortNumbering::Clock::now());
      (keep ? next : retired).push_back(std::move(p));
    }
    for (RunningPort& p : staging[i].ports) {
      b.numbering.remember(p.config.name, p.config.ofport);
      if (p.port) observe_device(p);
      next.push_back(std::move(p));
    }
    // In the file's order, as a fresh start has them (show, flood order).
    auto place = [&w](const RunningPort& p) {
      return std::find_if(w.ports.begin(), w.ports.end(),
                          [&](const PortConfig& pc) { return pc.name == p.config.name; }) -
             w.ports.begin();
    };
    std::stable_sort(next.begin(), next.end(), [&](const RunningPort& x, const RunningPort& y) {
      return place(x) < place(y);
    });
    b.ports = std::move(next);
    // Ports and flows in one snapshot; after its grace period no thread
    // touches a retired port. A database bridge's flows belong to ctl and
    // controllers too: they are set only when their source changed.
    // Meters before the flows that use them; flows of meters gone go first.
    if (new_meters[i]) set_meters(b, std::move(*new_meters[i]));
    b.bridge->update(bridge_ports(b), set_flows_of[i] ? flow_mods(b, w.flows, true)
                                                      : std::vector<flowtable::FlowMod>{});
    after_publish(b);
    retired.clear();
    if (w.mac_aging_seconds != b.config.mac_aging_seconds ||
        w.mac_table_size != b.config.mac_table_size)
      b.bridge->set_mac_config(mac_config(w));
    b.config = std::move(w);
  }

  // Wanted order; bridges no longer wanted close once no thread runs.
  std::vector<RunningBridge> ordered;
  ordered.reserve(target.size());
  for (RunningBridge* b : target)
    ordered.push_back(std::move(*b));
  std::vector<RunningBridge> gone = std::exchange(bridges_, std::move(ordered));
  gone.clear();
  wanted.bridges.clear();
  config_ = std::move(wanted);
  if (bridge_set_changes) {
    start_threads();
    for (const RunningBridge& b : bridges_)
      await_ready(b);
  }
}

}  // namespace sockswitch::control
