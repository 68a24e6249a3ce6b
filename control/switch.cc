// control/switch.cc: building, reconfiguring and inspecting the running switch.
#include "control/switch.h"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "control/flow_trace.h"
#include "flowtable/flow_printer.h"
#include "flowtable/value_text.h"
#include "ports/netdev_query.h"
#include "ports/pcap_port.h"
#include "ports/port_factory.h"
#include "ports/ring_port.h"
#include "ports/tap_port.h"
#include "ports/wireguard_port.h"

namespace sockswitch::control {
namespace {

using flowtable::FlowMod;
using flowtable::FlowModCommand;
using flowtable::FlowRule;

bool netdev_backed(const PortConfig& p) {
  return p.driver == "auto" || p.driver == "af_packet" || p.driver == "af_xdp" ||
         p.driver == "tap" || p.driver == "tun";
}

// The device state a port was opened against, so that the hotplug check
// acts on changes only (a fresh port must not be reopened a second later).
struct DeviceState {
  std::optional<int> ifindex;
  bool running = false;
};

DeviceState device_state(const std::string& name) {
  try {
    if (const auto dev = ports::query_netdev(name)) return {dev->ifindex, dev->running()};
  } catch (const std::exception&) {
  }
  return {};
}

dataplane::MacLearningConfig mac_config(const BridgeConfig& b) {
  dataplane::MacLearningConfig m;
  m.max_entries = b.mac_table_size;
  m.aging = std::chrono::seconds(b.mac_aging_seconds);
  return m;
}

// Flows compare equal for replace-flows when a person would call them the
// same line: same place, match, actions and bookkeeping.
bool same_flow(const FlowRule& a, const FlowRule& b) {
  return a.table == b.table && a.priority == b.priority && a.match == b.match &&
         a.actions == b.actions && a.cookie == b.cookie && a.idle_timeout == b.idle_timeout &&
         a.hard_timeout == b.hard_timeout;
}

std::string join_errors(const std::vector<flowtable::FlowError>& errors) {
  std::string s;
  for (const auto& e : errors)
    s += (s.empty() ? "" : "\n") + std::string(e.what());
  return s;
}

}  // namespace

Switch::Switch(Config config) : config_(std::move(config)) {
  plan_threads();
  std::uint8_t index = 0;
  for (BridgeConfig& bc : config_.bridges) {
    RunningBridge rb;
    rb.bridge = std::make_unique<dataplane::Bridge>(bc.name, index++, mac_config(bc));
    for (const PortConfig& pc : bc.ports)
      rb.ports.push_back({pc, pc.driver == "patch" ? nullptr : open_port(pc, bc.name)});
    rb.config = std::move(bc);
    bridges_.push_back(std::move(rb));
  }
  config_.bridges.clear();  // RunningBridge::config is the truth from here on
  open_patch_pairs(bridges_);
  for (RunningBridge& b : bridges_) {
    for (RunningPort& p : b.ports)
      observe_device(p);
    publish_ports(b);
    install_flows(b, b.config.flows, true);
  }
  start_threads();
  for (const RunningBridge& b : bridges_)
    await_ready(b);
}

Switch::~Switch() {
  stop_threads();
}

void Switch::observe_device(RunningPort& p) {
  if (!netdev_backed(p.config)) return;
  const DeviceState now = device_state(p.config.name);
  p.seen_ifindex = now.ifindex;
  p.seen_running = now.running;
}

std::unique_ptr<ports::Port> Switch::open_port(const PortConfig& p, const std::string& bridge) {
  if (p.driver == "internal")
    return std::make_unique<ports::TapPort>(p.name, ports::TapOptions{p.queues, p.create});
  if (p.driver == "pcap")
    return std::make_unique<ports::PcapPort>(p.name,
                                             ports::PcapPortOptions{p.rx_pcap, p.tx_pcap, false});
  ports::PortSpec spec;
  if (p.driver == "wireguard") {
    // Parsed by the config loader; a port added by `ctl add-port` reads its file here.
    spec.wg_config = p.wg_parsed;
    if (!spec.wg_config && p.wg_config) try {
        spec.wg_config =
            std::make_shared<const wireguard::WgConfig>(wireguard::load_wg_config(*p.wg_config));
      } catch (const wireguard::WgConfigError& e) {
        throw std::invalid_argument(e.what());
      }
  }
  spec.name = p.name;
  spec.driver = p.driver;  // "auto": AF_XDP, falling back to AF_PACKET
  spec.pool = pool_of(bridge);
  spec.queues = p.queues;
  spec.create = p.create;
  if (p.dpdk_devargs) spec.devargs = *p.dpdk_devargs;
  if (p.mac) spec.mac = dataplane::MacAddr::from_u64(flowtable::parse_mac(*p.mac));
  return ports::make_port(spec);
}

void Switch::open_patch_pairs(std::vector<RunningBridge>& bridges) {
  std::map<std::string, RunningPort*> waiting;
  for (RunningBridge& b : bridges)
    for (RunningPort& p : b.ports) {
      if (p.config.driver != "patch" || p.port) continue;
      auto peer = waiting.find(*p.config.peer);
      if (peer == waiting.end()) {
        waiting[p.config.name] = &p;
        continue;
      }
      auto [mine, theirs] = ports::RingPort::make_patch_pair(p.config.name, peer->first);
      p.port = std::move(mine);
      peer->second->port = std::move(theirs);
      waiting.erase(peer);
    }
  if (!waiting.empty())
    throw std::invalid_argument("patch port '" + waiting.begin()->first + "' has no peer");
}

void Switch::publish_ports(RunningBridge& b) {
  std::vector<dataplane::BridgePort> ports;
  for (const RunningPort& p : b.ports)
    if (p.port)
      ports.push_back(
          {p.config.ofport, p.port.get(), 0, 0, p.config.no_flood, p.port->queue_count()});
  b.bridge->set_ports(std::move(ports));
  for (auto& t : threads_)
    t->kick();  // they rebuild their wake-up sets
  if (!threads_.empty()) await_ready(b);
}

// A published AF_XDP port drops what arrives until its poll thread has
// filled its fill rings: wait for that (bounded), so that a port is
// receiving when adding it is acknowledged.
void Switch::await_ready(const RunningBridge& b) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  auto ready = [&] {
    return std::all_of(b.ports.begin(), b.ports.end(),
                       [](const RunningPort& p) { return !p.port || p.port->ready(); });
  };
  while (!ready() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (!ready())
    spdlog::warn("bridge {}: a port is not receiving yet (its poll thread is late)", b.config.name);
}

void Switch::install_flows(RunningBridge& b, const std::vector<flowtable::ParsedFlow>& flows,
                           bool replace_all) {
  std::vector<FlowMod> mods;
  if (replace_all) {
    // Only the difference: flows that stay keep their counters.
    const auto version = b.bridge->flows().current();
    std::vector<bool> kept(flows.size(), false);
    for (unsigned t = 0; t < flowtable::kTableCount; ++t) {
      for (const flowtable::ClassifierRule* r : version->table(std::uint8_t(t)).rules()) {
        bool keep = false;
        for (std::size_t i = 0; i < flows.size() && !keep; ++i)
          if (!kept[i] && same_flow(r->flow, flows[i].rule)) keep = kept[i] = true;
        if (!keep) mods.push_back({FlowModCommand::del_strict, r->flow});
      }
    }
    for (std::size_t i = 0; i < flows.size(); ++i)
      if (!kept[i]) mods.push_back({FlowModCommand::add, flows[i].rule});
  } else {
    for (const auto& f : flows)
      mods.push_back({FlowModCommand::add, f.rule});
  }
  if (!mods.empty()) b.bridge->apply_flows(mods);
}

// Which thread serves which bridge, decided before any port opens: an
// AF_XDP port is built over the packet pool of the thread that will poll it.
void Switch::plan_threads() {
  std::vector<PollThreadSpec> specs = config_.poll_threads;
  if (specs.empty()) specs.push_back({});
  std::set<std::string> named;
  for (const auto& s : specs)
    named.insert(s.bridges.begin(), s.bridges.end());
  thread_bridges_.assign(specs.size(), {});
  pools_.clear();
  for (std::size_t i = 0; i < specs.size(); ++i) {
    for (const BridgeConfig& b : config_.bridges) {
      const auto& mine = specs[i].bridges;
      const bool take = mine.empty() ? !named.count(b.name)
                                     : std::find(mine.begin(), mine.end(), b.name) != mine.end();
      if (take) thread_bridges_[i].push_back(b.name);
    }
    pools_.push_back(std::make_shared<dataplane::PacketPool>(kPoolPackets));
    // A catch-all thread takes every unnamed bridge once.
    if (specs[i].bridges.empty())
      for (const BridgeConfig& b : config_.bridges)
        named.insert(b.name);
  }
}

std::shared_ptr<dataplane::PacketPool> Switch::pool_of(const std::string& bridge) const {
  for (std::size_t i = 0; i < thread_bridges_.size(); ++i)
    for (const std::string& b : thread_bridges_[i])
      if (b == bridge) return pools_[i];
  return nullptr;  // no thread serves it: nothing polls its ports
}

void Switch::start_threads() {
  for (std::size_t i = 0; i < thread_bridges_.size(); ++i) {
    std::vector<const dataplane::Bridge*> served;
    for (const RunningBridge& b : bridges_)
      if (std::find(thread_bridges_[i].begin(), thread_bridges_[i].end(), b.config.name) !=
          thread_bridges_[i].end())
        served.push_back(b.bridge.get());
    dataplane::PollThreadConfig tc;
    tc.index = i;
    if (i < config_.poll_threads.size()) tc.cpu = config_.poll_threads[i].cpu;
    tc.pool = pools_[i];
    threads_.push_back(std::make_unique<dataplane::PollThread>(tc, std::move(served)));
    threads_.back()->start();
  }
}

void Switch::stop_threads() noexcept {
  for (auto& t : threads_)
    t->stop();
  threads_.clear();
}

Switch::RunningBridge& Switch::bridge(const std::string& name) {
  for (RunningBridge& b : bridges_)
    if (b.config.name == name) return b;
  throw std::invalid_argument("no bridge named '" + name + "'");
}
const Switch::RunningBridge& Switch::bridge(const std::string& name) const {
  return const_cast<Switch*>(this)->bridge(name);
}

// The running wireguard port that `want` (a changed config of the same
// name) can be applied to without reopening, or nullptr. Anything beyond
// the file's peers and keys (OpenFlow number, MAC, flooding, listen port)
// needs a new port.
Switch::RunningPort* Switch::wireguard_in_place(std::vector<RunningPort>& running,
                                                const PortConfig& want) {
  if (want.driver != "wireguard" || !want.wg_parsed) return nullptr;
  for (RunningPort& p : running) {
    if (p.config.name != want.name || p.config.driver != "wireguard" || !p.port) continue;
    if (p.config.ofport != want.ofport || p.config.mac != want.mac ||
        p.config.no_flood != want.no_flood)
      return nullptr;
    auto& wg = static_cast<ports::WireGuardPort&>(*p.port);
    const std::uint16_t listen = want.wg_parsed->interface.listen_port.value_or(0);
    if (listen != 0 && listen != wg.listen_port())
      throw std::invalid_argument(fmt::format(
          "wireguard port '{}': ListenPort {} differs from the bound {}; remove and re-add the "
          "port (ctl del-port / add-port) to move it",
          want.name, listen, wg.listen_port()));
    return &p;
  }
  return nullptr;
}

std::string Switch::wg_show(const std::string& port) const {
  for (const RunningBridge& b : bridges_)
    for (const RunningPort& p : b.ports) {
      if (p.config.name != port) continue;
      if (p.config.driver != "wireguard" || !p.port)
        throw std::invalid_argument("port '" + port + "' is not a native wireguard port");
      return static_cast<ports::WireGuardPort&>(*p.port).show();
    }
  throw std::invalid_argument("no port named '" + port + "'");
}

void Switch::reload(Config wanted) {
  std::vector<std::string> have, want;
  for (const RunningBridge& b : bridges_)
    have.push_back(b.config.name);
  for (const BridgeConfig& b : wanted.bridges)
    want.push_back(b.name);
  const bool same_layout =
      have == want && wanted.poll_threads.size() == config_.poll_threads.size();
  if (!same_layout) {
    // Bridges or threads changed: rebuild (new ports open before the old go).
    Switch fresh(std::move(wanted));
    stop_threads();
    fresh.stop_threads();
    std::swap(config_, fresh.config_);
    std::swap(bridges_, fresh.bridges_);
    std::swap(pools_, fresh.pools_);
    std::swap(thread_bridges_, fresh.thread_bridges_);
    start_threads();
    for (const RunningBridge& b : bridges_)
      await_ready(b);
    return;
  }
  // Same bridges: open every new or changed port first, so a failure
  // changes nothing. A wireguard port whose file changed is reconfigured in
  // place instead (its UDP port and UAPI socket cannot be held twice), after
  // every open succeeded.
  std::vector<std::vector<RunningPort>> opened(bridges_.size());
  std::vector<std::pair<RunningPort*, const PortConfig*>> retuned;
  for (std::size_t i = 0; i < bridges_.size(); ++i) {
    for (const PortConfig& pc : wanted.bridges[i].ports) {
      auto& old = bridges_[i].ports;
      const bool unchanged =
          std::any_of(old.begin(), old.end(), [&](const RunningPort& p) { return p.config == pc; });
      if (unchanged) continue;
      if (RunningPort* same = wireguard_in_place(old, pc)) {
        retuned.emplace_back(same, &pc);
        continue;
      }
      opened[i].push_back(
          {pc, pc.driver == "patch" ? nullptr : open_port(pc, bridges_[i].config.name)});
    }
  }
  for (auto& [running, pc] : retuned) {
    static_cast<ports::WireGuardPort&>(*running->port).reconfigure(*pc->wg_parsed);
    running->config = *pc;  // now equal: kept below like an unchanged port
  }
  std::vector<RunningBridge> staging;  // only to pair new patch ports
  for (auto& o : opened) {
    RunningBridge rb;
    rb.ports = std::move(o);
    staging.push_back(std::move(rb));
  }
  open_patch_pairs(staging);

  for (std::size_t i = 0; i < bridges_.size(); ++i) {
    RunningBridge& b = bridges_[i];
    BridgeConfig& w = wanted.bridges[i];
    std::vector<RunningPort> next;
    std::vector<RunningPort> retired;
    for (RunningPort& p : b.ports) {
      const bool keep = std::any_of(w.ports.begin(), w.ports.end(),
                                    [&](const PortConfig& pc) { return pc == p.config; });
      (keep ? next : retired).push_back(std::move(p));
    }
    for (RunningPort& p : staging[i].ports)
      next.push_back(std::move(p));
    b.ports = std::move(next);
    publish_ports(b);  // after this grace period no thread touches a retired port
    retired.clear();
    install_flows(b, w.flows, true);
    b.config = std::move(w);
  }
  wanted.bridges.clear();
  config_ = std::move(wanted);
}

std::string Switch::show() const {
  std::string out;
  for (const RunningBridge& b : bridges_) {
    out += fmt::format("bridge {}: {} flows\n", b.config.name, b.bridge->flows().current()->size());
    for (const RunningPort& p : b.ports) {
      const char* link = !p.port                                        ? "missing"
                         : p.port->link_state() == ports::LinkState::up ? "up"
                                                                        : "down";
      out += fmt::format("    port {} ({}): {} {}\n", flowtable::to_u32(p.config.ofport),
                         p.config.driver, p.config.name, link);
      if (const std::string how = p.port ? p.port->offload_handling() : ""; !how.empty()) {
        const ports::PortCounters c = p.port->counters();
        out += fmt::format("      offloads: {} ({} checksums finished, {} segments cut)\n", how,
                           c.rx_checksums_completed, c.rx_segments);
      }
    }
  }
  out += fmt::format("control: {} requests refused\n", rejected_requests_);
  for (const auto& t : threads_) {
    const dataplane::ThreadStats& s = t->stats();
    const double packets = static_cast<double>(s.packets.get());
    out += fmt::format(
        "poll thread {}: packets={} bursts={} emc_hits={} megaflow_hits={} "
        "classifier_lookups={} cycles/packet={:.0f} sleeps={}\n",
        t->index(), s.packets.get(), s.bursts.get(), s.emc_hits.get(), s.megaflow_hits.get(),
        s.classifier_lookups.get(),
        packets > 0 ? static_cast<double>(s.cycles.get()) / packets : 0.0, s.sleeps.get());
    for (std::size_t d = 0; d < s.drops.size(); ++d)
      if (s.drops[d].get())
        out += fmt::format("    {}: {} ({})\n", dataplane::kDrops[d].name, s.drops[d].get(),
                           dataplane::kDrops[d].help);
  }
  return out;
}

std::uint64_t Switch::dropped(dataplane::Drop d) const {
  std::uint64_t n = 0;
  for (const auto& t : threads_)
    n += t->stats().dropped(d);
  return n;
}

std::string Switch::dump_flows(const std::string& name) const {
  const RunningBridge& b = bridge(name);
  const auto version = b.bridge->flows().current();
  const auto now = std::chrono::steady_clock::now();
  std::string out;
  for (unsigned t = 0; t < flowtable::kTableCount; ++t) {
    for (const flowtable::ClassifierRule* r : version->table(std::uint8_t(t)).rules()) {
      const auto stats = b.bridge->flows().stats(r->id);
      const double age =
          stats ? std::chrono::duration<double>(now - stats->installed).count() : 0.0;
      std::string timeouts;
      if (r->flow.idle_timeout) timeouts += fmt::format("idle_timeout={}, ", r->flow.idle_timeout);
      if (r->flow.hard_timeout) timeouts += fmt::format("hard_timeout={}, ", r->flow.hard_timeout);
      out += fmt::format(
          " cookie={:#x}, duration={:.3f}s, table={}, n_packets={}, n_bytes={}, {}{} actions={}\n",
          r->flow.cookie, age, t, stats ? stats->packets : 0, stats ? stats->bytes : 0, timeouts,
          flowtable::format_match(r->flow, b.config.port_map),
          flowtable::format_actions(r->flow.actions, b.config.port_map));
    }
  }
  return out;
}

std::string Switch::dump_ports(const std::string& name) const {
  const RunningBridge& b = bridge(name);
  std::string out;
  for (const RunningPort& p : b.ports) {
    if (!p.port) continue;
    const ports::PortCounters c = p.port->counters();
    const std::uint16_t queues = p.port->queue_count();
    out += fmt::format(
        "  port {:>3}: {} ({}, link {}{})\n"
        "           rx pkts={}, bytes={}, drop={}, errs={}\n"
        "           tx pkts={}, bytes={}, drop={}, errs={}\n",
        flowtable::to_u32(p.config.ofport), p.config.name, p.config.driver,
        p.port->link_state() == ports::LinkState::up ? "up" : "down",
        queues > 1 ? fmt::format(", {} queues", queues) : "", c.rx_packets, c.rx_bytes,
        c.rx_dropped, c.rx_errors, c.tx_packets, c.tx_bytes, c.tx_dropped, c.tx_errors);
  }
  return out;
}

std::uint16_t Switch::rx_queues(const std::string& bridge_name, const std::string& port) const {
  for (const dataplane::BridgePort& bp : bridge(bridge_name).bridge->ports())
    if (bp.port->name() == port) return bp.rx_queues;
  throw std::invalid_argument("no port named '" + port + "' on " + bridge_name);
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
  b.bridge->apply_flows(std::vector<FlowMod>{mod});
  return fmt::format("{} flows deleted from {}\n", before - b.bridge->flows().current()->size(),
                     name);
}

std::string Switch::replace_flows(const std::string& name, const std::string& text,
                                  const std::string& source) {
  RunningBridge& b = bridge(name);
  const flowtable::FlowFile f = flowtable::parse_flow_file(text, source, b.config.port_map);
  if (!f.errors.empty()) throw std::invalid_argument(join_errors(f.errors));
  install_flows(b, f.flows, true);
  return fmt::format("{} now has {} flows\n", name, b.bridge->flows().current()->size());
}

std::string Switch::add_port(const std::string& name, PortConfig port) {
  RunningBridge& b = bridge(name);
  for (const RunningBridge& other : bridges_)
    for (const RunningPort& p : other.ports)
      if (p.config.name == port.name)
        throw std::invalid_argument("port '" + port.name + "' is already on bridge " +
                                    other.config.name);
  if (port.driver == "patch") throw std::invalid_argument("patch ports come from the config file");
  if (flowtable::to_u32(port.ofport) == 0) {
    std::uint32_t n = 1;
    while (b.config.port_map.name_of(flowtable::PortNo{n}))
      ++n;
    port.ofport = flowtable::PortNo{n};
  }
  if (port.driver == "internal") port.ofport = flowtable::kPortLocal;
  if (port.ofport != flowtable::kPortLocal) b.config.port_map.add(port.name, port.ofport);
  try {
    b.ports.push_back({port, open_port(port, name)});
    observe_device(b.ports.back());
  } catch (...) {
    b.config.port_map.remove(port.name);
    throw;
  }
  b.config.ports.push_back(port);
  publish_ports(b);
  return fmt::format("port {} added to {} as {}\n", port.name, name,
                     flowtable::to_u32(port.ofport));
}

std::string Switch::del_port(const std::string& name, const std::string& port) {
  RunningBridge& b = bridge(name);
  auto it = std::find_if(b.ports.begin(), b.ports.end(),
                         [&](const RunningPort& p) { return p.config.name == port; });
  if (it == b.ports.end()) throw std::invalid_argument("no port '" + port + "' on " + name);
  if (it->config.driver == "patch")
    throw std::invalid_argument("patch ports come from the config file");
  RunningPort gone = std::move(*it);
  b.ports.erase(it);
  publish_ports(b);  // the grace period passes before `gone` is destroyed
  b.config.port_map.remove(port);
  std::erase_if(b.config.ports, [&](const PortConfig& p) { return p.name == port; });
  return fmt::format("port {} removed from {}\n", port, name);
}

std::string Switch::trace(const std::string& name, const std::string& packet, bool json) const {
  const RunningBridge& b = bridge(name);
  flowtable::PortMap ports = b.config.port_map;  // a copy: parse_flow takes it by reference
  return trace_report(*b.bridge->flows().current(), packet, ports, json);
}

std::size_t Switch::refresh_ports() {
  std::size_t changed = 0;
  std::string failures;
  for (RunningBridge& b : bridges_) {
    std::vector<RunningPort*> stale;
    for (RunningPort& p : b.ports) {
      if (!p.port || !netdev_backed(p.config)) continue;
      const DeviceState dev = device_state(p.config.name);
      if (dev.ifindex == p.seen_ifindex && dev.running == p.seen_running) continue;
      p.seen_ifindex = dev.ifindex;
      p.seen_running = dev.running;
      stale.push_back(&p);
    }
    if (stale.empty()) continue;
    // Take the bridge's ports out of the snapshot while drivers reopen: after
    // the grace period no poll thread is inside them. A driver that cannot
    // take its new device stays down (until the device changes again); the
    // others must be published whatever it threw.
    b.bridge->set_ports({});
    for (RunningPort* p : stale) {
      try {
        p->port->refresh();
      } catch (const std::exception& e) {
        failures +=
            (failures.empty() ? "" : "; ") + fmt::format("port {}: {}", p->config.name, e.what());
      }
    }
    publish_ports(b);
    changed += stale.size();
  }
  if (!failures.empty()) throw std::runtime_error(failures);
  return changed;
}

}  // namespace sockswitch::control
