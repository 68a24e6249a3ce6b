// control/switch_reload.cc: reload (and start-up, a reload from nothing): the running switch
// made to match a wanted Config.
//
// diff() (reload_plan.h) says what changes; this carries it out in phases.
// First, while the running switch is untouched, every setting that can
// still be refused is checked and every port that is new, or changed on a
// device that can be held twice, opens: a failure there changes nothing.
// Then what changes in place changes, each bridge publishes its ports and
// flows as one snapshot, and retired ports close after the grace period.
// Last, the ports whose device cannot be held twice (an AF_XDP socket, a
// tun queue, a UDP port) open again on the device their old self has just
// let go: a short blip for that port only, never a silent fall-back to
// another engine. One that cannot open then stays down with its reason
// and is retried, as at start.
//
// When bridges come or go, or move between poll threads, the threads stop
// for the moment the set changes and start again over the same packet
// pools (a new thread gets a new one): ports stay open and their rings hold
// what arrives meanwhile. A bridge that moves reopens its ports over its
// new thread's pool.
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "control/reload_plan.h"
#include "control/switch.h"
#include "dataplane/tx_batch.h"

namespace sockswitch::control {
namespace {

const PortPlan* step_of(const BridgePlan& b, const std::string& port) {
  const auto it = std::find_if(b.ports.begin(), b.ports.end(),
                               [&](const PortPlan& p) { return p.name == port; });
  return it == b.ports.end() ? nullptr : &*it;
}

bool served(const std::vector<std::vector<std::string>>& threads, const std::string& bridge) {
  return std::any_of(threads.begin(), threads.end(), [&](const auto& names) {
    return std::find(names.begin(), names.end(), bridge) != names.end();
  });
}

}  // namespace

void Switch::reload(Config wanted, FlowReload flow_reload) {
  keep_runtime_ports(wanted);
  apply(std::move(wanted), flow_reload, Opening::on_reload);
}

void Switch::apply(Config wanted, FlowReload flow_reload, Opening opening) {
  const ReloadPlan plan = diff(running_config(), wanted, flow_reload);
  if (!plan.empty()) spdlog::debug("reload plan:\n{}", plan.describe());

  // --- Every setting that can still be refused, before anything changes.
  for (const BridgeConfig& w : wanted.bridges)
    if (!served(plan.threads, w.name))
      throw std::invalid_argument(fmt::format(
          "bridge '{}' is not served by any poll thread (add it to a [[poll_thread]] or add one "
          "without 'bridges')",
          w.name));
  for (std::size_t i = 0; i < wanted.poll_threads.size(); ++i)
    if (wanted.poll_threads[i].cpu &&
        *wanted.poll_threads[i].cpu >= ::sysconf(_SC_NPROCESSORS_CONF))
      throw std::invalid_argument(
          fmt::format("poll thread {}: no CPU {}", i, *wanted.poll_threads[i].cpu));
  for (const BridgeConfig& w : wanted.bridges)
    (void)dataplane::MacLearningTable(mac_config(w));

  // Each wanted bridge, running or new. A new one is invisible to the
  // poll threads until the bridge set is swapped below.
  std::vector<RunningBridge> added;
  added.reserve(wanted.bridges.size());
  std::vector<RunningBridge*> target;
  std::set<std::uint8_t> indices;
  for (const RunningBridge& b : bridges_)
    if (wanted.bridge(b.config.name)) indices.insert(b.bridge->index());
  for (std::size_t i = 0; i < wanted.bridges.size(); ++i) {
    const BridgeConfig& w = wanted.bridges[i];
    if (!plan.bridges[i].added) {
      target.push_back(&bridge(w.name));
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

  // Flows that will be set must find their meters (the file's, when they
  // change; else the ones the bridge has, `ctl add-meter` included). The
  // new meter sets are built here once and published below.
  std::vector<std::optional<dataplane::MeterSet>> new_meters(target.size());
  for (std::size_t i = 0; i < target.size(); ++i) {
    const BridgeConfig& w = wanted.bridges[i];
    const BridgePlan& bp = plan.bridges[i];
    if (bp.meters || bp.added) new_meters[i] = meter_set(w.meters);
    if (!plan.sets_flows(bp)) continue;
    const dataplane::MeterSet& will = new_meters[i] ? *new_meters[i] : target[i]->bridge->meters();
    std::vector<flowtable::FlowMod> adds;
    for (const flowtable::ParsedFlow& f : w.flows)
      adds.push_back({flowtable::FlowModCommand::add, f.rule});
    check_meters(w.name, adds, will);
  }

  // --- Open what is new over the pool of the thread that will poll it
  // (a thread that stays keeps its pool). A database port that cannot
  // open does not refuse the rest: it stays down with its reason.
  std::vector<std::shared_ptr<packet::PacketPool>> pools = pools_;
  pools.resize(plan.threads.size());
  for (auto& pool : pools)
    if (!pool) pool = std::make_shared<packet::PacketPool>(kPoolPackets);
  std::vector<std::vector<std::string>> threads = plan.threads;
  std::swap(thread_bridges_, threads);
  std::swap(pools_, pools);
  struct Restore {
    Switch& sw;
    std::vector<std::vector<std::string>>& threads;
    std::vector<std::shared_ptr<packet::PacketPool>>& pools;
    bool committed = false;
    ~Restore() {
      if (committed) return;
      std::swap(sw.thread_bridges_, threads);
      std::swap(sw.pools_, pools);
    }
  } restore{*this, threads, pools};

  std::vector<RunningBridge> staging(target.size());  // new ports, per wanted bridge
  for (std::size_t i = 0; i < target.size(); ++i) {
    const BridgeConfig& w = wanted.bridges[i];
    for (const PortConfig& pc : w.ports) {
      const PortStep step = step_of(plan.bridges[i], pc.name)->step;
      if (step != PortStep::open && step != PortStep::replace) continue;
      if (opening == Opening::at_start || pc.origin == PortOrigin::database)
        staging[i].ports.push_back(open_at_start(pc, w.name));
      else
        staging[i].ports.push_back(
            {pc, port_driver(pc).opens_itself ? nullptr : open_port(pc, w.name)});
    }
  }
  open_patch_pairs(staging);

  // --- Nothing below refuses.
  restore.committed = true;
  for (std::size_t i = 0; i < target.size(); ++i)
    for (const PortConfig& pc : wanted.bridges[i].ports)
      if (step_of(plan.bridges[i], pc.name)->step == PortStep::retune)
        for (RunningPort& p : target[i]->ports)
          if (p.config.name == pc.name) {
            if (p.port) ports::retune_port(*p.port, port_spec(pc, wanted.bridges[i].name));
            p.config = pc;  // now equal (a closed one opens so on its retry)
          }
  const bool restart = plan.bridge_set_changes() || plan.thread_count_changes ||
                       std::any_of(plan.bridges.begin(), plan.bridges.end(),
                                   [](const BridgePlan& b) { return b.moves_thread; });
  if (restart) stop_threads();
  for (const std::size_t t : plan.cpu_changes)
    if (t < threads_.size()) threads_[t]->pin(wanted.poll_threads[t].cpu);

  // Ports that reopen once their old selves are closed, per wanted bridge.
  std::vector<std::vector<std::size_t>> reopen(target.size());
  for (std::size_t i = 0; i < target.size(); ++i) {
    RunningBridge& b = *target[i];
    BridgeConfig& w = wanted.bridges[i];
    const BridgePlan& bp = plan.bridges[i];
    std::vector<RunningPort> next;
    std::vector<RunningPort> retired;
    for (RunningPort& p : b.ports) {
      const PortConfig* want = nullptr;
      for (const PortConfig& pc : w.ports)
        if (pc.name == p.config.name) want = &pc;
      const PortPlan* step = want ? step_of(bp, want->name) : nullptr;
      if (step != nullptr && (step->step == PortStep::keep || step->step == PortStep::retune)) {
        p.config.origin = want->origin;  // the file may now name a port ctl added
        p.config.vlan = want->vlan;      // published with the ports below
        p.config.proxy = want->proxy;    // published by after_publish
        next.push_back(std::move(p));
        continue;
      }
      if (step == nullptr) {  // gone from this bridge: its number rests, its MACs go
        b.numbering.released(p.config.name, p.config.ofport, PortNumbering::Clock::now());
        b.bridge->note_removed(p.config.ofport);
      }
      retired.push_back(std::move(p));
    }
    for (RunningPort& p : staging[i].ports) {
      if (p.port) observe_device(p);
      next.push_back(std::move(p));
    }
    for (const PortConfig& pc : w.ports)
      if (step_of(bp, pc.name)->step == PortStep::reopen)
        next.push_back({pc, nullptr});  // down until it opens, below
    for (const RunningPort& p : next)
      b.numbering.remember(p.config.name, p.config.ofport);
    // In the file's order, as a fresh start has them (show, flood order).
    auto place = [&w](const std::string& name) {
      return std::find_if(w.ports.begin(), w.ports.end(),
                          [&](const PortConfig& pc) { return pc.name == name; }) -
             w.ports.begin();
    };
    std::stable_sort(next.begin(), next.end(), [&](const RunningPort& x, const RunningPort& y) {
      return place(x.config.name) < place(y.config.name);
    });
    for (std::size_t k = 0; k < next.size(); ++k)
      if (step_of(bp, next[k].config.name)->step == PortStep::reopen) reopen[i].push_back(k);
    b.ports = std::move(next);
    // Ports and flows in one snapshot; after its grace period no thread
    // touches a retired port. A database bridge's flows belong to ctl and
    // controllers too: they are set only when their source changed.
    // Meters before the flows that use them; flows of meters gone go first.
    if (new_meters[i]) set_meters(b, std::move(*new_meters[i]));
    b.bridge->update(bridge_ports(b), plan.sets_flows(bp) ? flow_mods(b, w.flows, true)
                                                          : std::vector<flowtable::FlowMod>{});
    after_publish(b);
    retired.clear();
    if (bp.mac_settings) b.bridge->set_mac_config(mac_config(w));
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
  // New bridges were not yet among bridges_ when they published.
  if (plan.bridge_set_changes()) try {
      (void)refresh_neighbor_claims();
    } catch (const std::exception& e) {
      spdlog::warn("what L3 ports answer ARP for is unchanged: {}", e.what());
    }

  // The devices their old selves held are free now.
  for (std::size_t i = 0; i < bridges_.size(); ++i) {
    if (reopen[i].empty()) continue;
    RunningBridge& b = bridges_[i];
    for (const std::size_t k : reopen[i]) {
      RunningPort& p = b.ports[k];
      p = reopen_port(p.config, b.config.name);
    }
    publish_ports(b);
  }
  if (restart) {
    start_threads();
    for (const RunningBridge& b : bridges_)
      await_ready(b);
  }
}

}  // namespace sockswitch::control
