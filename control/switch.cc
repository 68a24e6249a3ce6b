// control/switch.cc: building, reconfiguring and inspecting the running switch.
#include "control/switch.h"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <system_error>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "control/flow_trace.h"
#include "flowtable/flow_printer.h"
#include "flowtable/value_text.h"
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

dataplane::MacLearningConfig mac_config(const BridgeConfig& b) {
  dataplane::MacLearningConfig m;
  m.max_entries = b.mac_table_size;
  m.aging = std::chrono::seconds(b.mac_aging_seconds);
  return m;
}

}  // namespace

Switch::Switch(Config config) : config_(std::move(config)) {
  plan_threads();
  std::uint8_t index = 0;
  for (BridgeConfig& bc : config_.bridges) {
    RunningBridge rb;
    rb.bridge = std::make_unique<dataplane::Bridge>(bc.name, index++, mac_config(bc));
    for (const PortConfig& pc : bc.ports) {
      rb.ports.push_back(open_at_start(pc, bc.name));
      rb.numbering.remember(pc.name, pc.ofport);
    }
    rb.config = std::move(bc);
    bridges_.push_back(std::move(rb));
  }
  config_.bridges.clear();  // RunningBridge::config is the truth from here on
  open_patch_pairs(bridges_);
  for (RunningBridge& b : bridges_) {
    for (RunningPort& p : b.ports)
      observe_device(p);
    b.bridge->update(bridge_ports(b), flow_mods(b, b.config.flows, true));
    after_publish(b);
  }
  start_threads();
  for (const RunningBridge& b : bridges_)
    await_ready(b);
}

Switch::~Switch() {
  stop_threads();
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

std::vector<dataplane::BridgePort> Switch::bridge_ports(
    const RunningBridge& b, const std::set<const ports::Port*>& except) const {
  std::vector<dataplane::BridgePort> ports;
  for (const RunningPort& p : b.ports)
    if (p.port && !except.count(p.port.get()))
      ports.push_back(
          {p.config.ofport, p.port.get(), 0, 0, p.config.no_flood, p.port->queue_count()});
  return ports;
}

void Switch::publish_ports(RunningBridge& b, const std::set<const ports::Port*>& except) {
  b.bridge->set_ports(bridge_ports(b, except));
  after_publish(b);
}

void Switch::after_publish(const RunningBridge& b) {
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
  keep_runtime_ports(wanted);
  std::vector<std::string> have, want;
  for (const RunningBridge& b : bridges_)
    have.push_back(b.config.name);
  for (const BridgeConfig& b : wanted.bridges)
    want.push_back(b.name);
  bool same_threads = wanted.poll_threads.size() == config_.poll_threads.size();
  for (std::size_t i = 0; same_threads && i < wanted.poll_threads.size(); ++i)
    same_threads = wanted.poll_threads[i].bridges == config_.poll_threads[i].bridges;
  const bool same_layout = have == want && same_threads;
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
  auto running_as = [&](std::size_t i, const PortConfig& pc) {
    const auto& old = bridges_[i].ports;
    return std::any_of(old.begin(), old.end(),
                       [&](const RunningPort& p) { return p.config == pc; });
  };
  // A patch pair is one ring: when one side changes, both are new.
  std::set<std::string> replace;
  for (std::size_t i = 0; i < bridges_.size(); ++i)
    for (const PortConfig& pc : wanted.bridges[i].ports)
      if (pc.driver == "patch" && pc.peer && !running_as(i, pc)) {
        replace.insert(pc.name);
        replace.insert(*pc.peer);
      }
  std::vector<std::vector<RunningPort>> opened(bridges_.size());
  std::vector<std::pair<RunningPort*, const PortConfig*>> retuned;
  for (std::size_t i = 0; i < bridges_.size(); ++i) {
    for (const PortConfig& pc : wanted.bridges[i].ports) {
      auto& old = bridges_[i].ports;
      if (running_as(i, pc) && !replace.count(pc.name)) continue;
      if (RunningPort* same = wireguard_in_place(old, pc)) {
        retuned.emplace_back(same, &pc);
        continue;
      }
      opened[i].push_back(
          {pc, pc.driver == "patch" ? nullptr : open_port(pc, bridges_[i].config.name)});
    }
  }
  // Settings that can still be refused are checked before anything changes.
  for (std::size_t i = 0; i < bridges_.size(); ++i)
    (void)dataplane::MacLearningTable(mac_config(wanted.bridges[i]));
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
  for (auto& [running, pc] : retuned) {
    static_cast<ports::WireGuardPort&>(*running->port).reconfigure(*pc->wg_parsed);
    running->config = *pc;  // now equal: kept below like an unchanged port
  }
  for (std::size_t i = 0; i < threads_.size() && i < wanted.poll_threads.size(); ++i)
    if (wanted.poll_threads[i].cpu != config_.poll_threads[i].cpu)
      threads_[i]->pin(wanted.poll_threads[i].cpu);

  for (std::size_t i = 0; i < bridges_.size(); ++i) {
    RunningBridge& b = bridges_[i];
    BridgeConfig& w = wanted.bridges[i];
    std::vector<RunningPort> next;
    std::vector<RunningPort> retired;
    for (RunningPort& p : b.ports) {
      const auto match = std::find_if(w.ports.begin(), w.ports.end(),
                                      [&](const PortConfig& pc) { return pc == p.config; });
      const bool keep = match != w.ports.end() && !replace.count(p.config.name);
      if (keep) p.config.origin = match->origin;  // the file may now name a port ctl added
      if (!keep) b.numbering.released(p.config.name, p.config.ofport, PortNumbering::Clock::now());
      (keep ? next : retired).push_back(std::move(p));
    }
    for (RunningPort& p : staging[i].ports) {
      b.numbering.remember(p.config.name, p.config.ofport);
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
    // touches a retired port.
    b.bridge->update(bridge_ports(b), flow_mods(b, w.flows, true));
    after_publish(b);
    retired.clear();
    if (w.mac_aging_seconds != b.config.mac_aging_seconds ||
        w.mac_table_size != b.config.mac_table_size)
      b.bridge->set_mac_config(mac_config(w));
    b.config = std::move(w);
  }
  wanted.bridges.clear();
  config_ = std::move(wanted);
}

std::string Switch::show() const {
  std::string out;
  for (const RunningBridge& b : bridges_) {
    out += fmt::format("bridge {}: {} flows; MAC table of {} entries, aging {} s\n", b.config.name,
                       b.bridge->flows().current()->size(), b.bridge->mac_table().capacity(),
                       b.bridge->mac_table().aging().count());
    for (const RunningPort& p : b.ports) {
      const char* link = !p.port ? (p.open_error.empty() ? "missing" : "down")
                         : p.port->link_state() == ports::LinkState::up ? "up"
                                                                        : "down";
      out += fmt::format(
          "    port {} ({}): {} {}{}{}\n", flowtable::to_u32(p.config.ofport), p.config.driver,
          p.config.name, link, p.config.origin == PortOrigin::ctl ? " (added by ctl)" : "",
          p.open_error.empty() ? "" : fmt::format(" (cannot open: {}; retrying)", p.open_error));
      if (p.port && p.config.driver == "wireguard")
        if (const std::size_t n =
                static_cast<const ports::WireGuardPort&>(*p.port).pending_endpoints())
          out += fmt::format("      {} peer endpoints do not resolve yet; retrying\n", n);
      if (const std::string how = p.port ? p.port->offload_handling() : ""; !how.empty()) {
        const ports::PortCounters c = p.port->counters();
        out += fmt::format("      offloads: {} ({} checksums finished, {} segments cut)\n", how,
                           c.rx_checksums_completed, c.rx_segments);
      }
    }
  }
  out += fmt::format("control: {} requests refused, {} flows expired\n", rejected_requests_,
                     flows_expired_);
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

std::string Switch::trace(const std::string& name, const std::string& packet, bool json) const {
  const RunningBridge& b = bridge(name);
  flowtable::PortMap ports = b.config.port_map;  // a copy: parse_flow takes it by reference
  return trace_report(*b.bridge->flows().current(), packet, ports, json);
}

}  // namespace sockswitch::control
