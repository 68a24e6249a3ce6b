// control/switch.cc: building, reconfiguring and inspecting the running switch.
#include "control/switch.h"

#include <unistd.h>
#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "control/flow_trace.h"
#include "dataplane/tx_batch.h"
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
         p.driver == "tap" || p.driver == "tun" || p.driver == "internal";
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

// The settings named in `given` on which `want` differs from `have`, as
// "key=have (asked: key=want)" pairs; empty when they agree.
std::string port_differences(const PortConfig& have, const PortConfig& want,
                             const std::set<std::string>& given) {
  std::string out;
  auto check = [&](const char* key, const std::string& h, const std::string& w) {
    if (given.count(key) && h != w)
      out += fmt::format("{}{}={} (asked: {}={})", out.empty() ? "" : ", ", key, h, key, w);
  };
  auto yes = [](bool b) { return std::string(b ? "1" : "0"); };
  check("driver", have.driver, want.driver);
  check("ofport", std::to_string(flowtable::to_u32(have.ofport)),
        std::to_string(flowtable::to_u32(want.ofport)));
  check("mac", have.mac.value_or(""), want.mac.value_or(""));
  check("queues", std::to_string(have.queues), std::to_string(want.queues));
  check("no_flood", yes(have.no_flood), yes(want.no_flood));
  check("create", yes(have.create), yes(want.create));
  check("wg_config", have.wg_config.value_or(""), want.wg_config.value_or(""));
  return out;
}

// A hash over what same_flow() compares.
std::size_t flow_hash(const FlowRule& r) {
  std::uint64_t h = 0x9e3779b97f4a7c15ull;
  auto mix = [&h](std::uint64_t v) { h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2); };
  mix(r.table);
  mix(r.priority);
  mix(r.cookie);
  mix(std::uint64_t{r.idle_timeout} << 16 | r.hard_timeout);
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

Switch::RunningPort Switch::open_at_start(const PortConfig& pc, const std::string& bridge) {
  RunningPort rp{pc, nullptr};
  if (pc.driver == "patch") return rp;  // paired with its peer afterwards
  try {
    rp.port = open_port(pc, bridge);
  } catch (const std::system_error& e) {
    rp.open_error = e.what();
    rp.retry_at = std::chrono::steady_clock::now() + rp.backoff;
    spdlog::warn("port {}: cannot open ({}); the bridge starts without it and retries", pc.name,
                 e.what());
  }
  return rp;
}

// True when the port opened now.
bool Switch::retry_open(RunningPort& p, const std::string& bridge) {
  const auto now = std::chrono::steady_clock::now();
  if (p.port || p.open_error.empty() || now < p.retry_at) return false;
  try {
    p.port = open_port(p.config, bridge);
  } catch (const std::exception& e) {
    p.open_error = e.what();
    p.backoff = std::min(p.backoff * 2, std::chrono::seconds(60));
    p.retry_at = now + p.backoff;
    return false;
  }
  spdlog::info("port {}: opened on retry", p.config.name);
  p.open_error.clear();
  observe_device(p);
  return true;
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

void Switch::install_flows(RunningBridge& b, const std::vector<flowtable::ParsedFlow>& flows,
                           bool replace_all) {
  const std::vector<FlowMod> mods = flow_mods(b, flows, replace_all);
  if (!mods.empty()) b.bridge->apply_flows(mods);
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
        spdlog::info("bridge {}: flow removed ({} timeout): table={}, {} actions={}", b.config.name,
                     hard ? "hard" : "idle", f.table, flowtable::format_match(f, b.config.port_map),
                     flowtable::format_actions(f.actions, b.config.port_map));
      }
    }
    if (gone.empty()) continue;
    b.bridge->apply_flows(gone);
    expired += gone.size();
  }
  flows_expired_ += expired;
  return expired;
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

std::string Switch::mod_flows(const std::string& name, const std::string& flow, bool strict) {
  RunningBridge& b = bridge(name);
  if (flow.find("actions=") == std::string::npos && flow.find("actions:") == std::string::npos)
    throw std::invalid_argument("mod-flows: '" + flow + "' has no actions= to set");
  FlowMod mod{strict ? FlowModCommand::modify_strict : FlowModCommand::modify,
              flowtable::parse_flow(flow, b.config.port_map, flowtable::FlowSyntax::match)};
  const auto before = b.bridge->flows().current();
  b.bridge->apply_flows(std::vector<FlowMod>{mod});
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

std::string Switch::add_port(const std::string& name, PortConfig port,
                             const std::set<std::string>& given) {
  RunningBridge& b = bridge(name);
  port.origin = PortOrigin::ctl;
  for (const RunningBridge& other : bridges_)
    for (const RunningPort& p : other.ports) {
      if (p.config.name != port.name) continue;
      if (&other != &b)
        throw std::invalid_argument("port '" + port.name + "' is already on bridge " +
                                    other.config.name);
      const std::string differs = port_differences(p.config, port, given);
      if (!differs.empty())
        throw std::invalid_argument(fmt::format(
            "port '{}' is already on {} with other settings: {}", port.name, name, differs));
      return fmt::format("port {} is already on {} as {}; unchanged\n", port.name, name,
                         flowtable::to_u32(p.config.ofport));
    }
  if (port.driver == "patch") throw std::invalid_argument("patch ports come from the config file");
  if (port.mac && !driver_takes_mac(port.driver))
    throw std::invalid_argument(fmt::format(
        "mac is for tun, wireguard and auto/af_packet on a bare-IP device; a {} port uses its "
        "device's own address",
        port.driver));
  if (b.ports.size() >= dataplane::TxBatch::kMaxPortsPerBridge)
    throw std::invalid_argument(
        fmt::format("bridge {} has {} ports, the most one bridge holds", name, b.ports.size()));
  auto in_use = [&b](flowtable::PortNo n) {
    return std::any_of(b.ports.begin(), b.ports.end(),
                       [n](const RunningPort& p) { return p.config.ofport == n; });
  };
  if (port.driver == "internal") port.ofport = flowtable::kPortLocal;
  if (flowtable::to_u32(port.ofport) == 0)
    port.ofport = b.numbering.assign(port.name, in_use, PortNumbering::Clock::now());
  if (port.ofport != flowtable::kPortLocal &&
      flowtable::to_u32(port.ofport) > flowtable::to_u32(flowtable::kPortMax))
    throw std::invalid_argument(fmt::format("ofport {} is out of range (1 to {}, or LOCAL)",
                                            flowtable::to_u32(port.ofport),
                                            flowtable::to_u32(flowtable::kPortMax)));
  if (in_use(port.ofport))
    throw std::invalid_argument(
        fmt::format("port number {} is already used on {}", flowtable::to_u32(port.ofport), name));

  // Nothing below may leave a trace when it throws: the port is opened,
  // then published with the others; a refusal takes it out again.
  if (port.ofport != flowtable::kPortLocal) b.config.port_map.add(port.name, port.ofport);
  try {
    b.ports.push_back({port, open_port(port, name)});
    observe_device(b.ports.back());
    publish_ports(b);
  } catch (...) {
    if (!b.ports.empty() && b.ports.back().config.name == port.name) b.ports.pop_back();
    b.config.port_map.remove(port.name);
    throw;
  }
  b.numbering.remember(port.name, port.ofport);
  b.config.ports.push_back(port);
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
  b.numbering.released(port, gone.config.ofport, PortNumbering::Clock::now());
  b.config.port_map.remove(port);
  std::erase_if(b.config.ports, [&](const PortConfig& p) { return p.name == port; });
  return fmt::format("port {} removed from {}\n", port, name);
}

// Ports added with `ctl add-port` are not in the file; a reload keeps them
// (on the bridges that stay) unless the file now names them, and refuses
// when the file gives their number to another port.
void Switch::keep_runtime_ports(Config& wanted) const {
  for (const RunningBridge& b : bridges_)
    for (const RunningPort& p : b.ports) {
      if (p.config.origin != PortOrigin::ctl) continue;
      auto w = std::find_if(wanted.bridges.begin(), wanted.bridges.end(),
                            [&](const BridgeConfig& c) { return c.name == b.config.name; });
      if (w == wanted.bridges.end()) continue;
      const bool named = std::any_of(w->ports.begin(), w->ports.end(),
                                     [&](const PortConfig& c) { return c.name == p.config.name; });
      if (named) continue;
      for (const PortConfig& c : w->ports)
        if (c.ofport == p.config.ofport)
          throw std::invalid_argument(
              fmt::format("port {} of the file would take number {} from {} (added at run time); "
                          "`ctl del-port {} {}` first, or give {} another ofport",
                          c.name, flowtable::to_u32(c.ofport), p.config.name, b.config.name,
                          p.config.name, c.name));
      if (p.config.ofport != flowtable::kPortLocal) w->port_map.add(p.config.name, p.config.ofport);
      w->ports.push_back(p.config);
    }
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
    std::size_t opened = 0;
    for (RunningPort& p : b.ports) {
      opened += retry_open(p, b.config.name);
      if (p.port && p.config.driver == "wireguard")
        changed += static_cast<ports::WireGuardPort&>(*p.port).resolve_pending_endpoints();
    }
    if (opened != 0) {
      publish_ports(b);
      changed += opened;
    }
    std::set<const ports::Port*> stale;
    std::vector<RunningPort*> reopen;
    for (RunningPort& p : b.ports) {
      if (!p.port || !netdev_backed(p.config)) continue;
      const DeviceState dev = device_state(p.config.name);
      // A flap inside one sample leaves the device as it was seen, but the
      // port may have marked itself down meanwhile (a failed transmit).
      const bool port_up = p.port->link_state() == ports::LinkState::up;
      if (dev.ifindex == p.seen_ifindex && dev.running == p.seen_running &&
          (port_up || !dev.running))
        continue;
      p.seen_ifindex = dev.ifindex;
      p.seen_running = dev.running;
      stale.insert(p.port.get());
      reopen.push_back(&p);
    }
    if (reopen.empty()) continue;
    // Only the ports that changed leave the snapshot while their drivers
    // reopen (after the grace period no poll thread is inside them): the
    // rest of the bridge goes on forwarding. A driver that cannot take its
    // new device stays down (until the device changes again).
    publish_ports(b, stale);
    for (RunningPort* p : reopen) {
      try {
        p->port->refresh();
      } catch (const std::exception& e) {
        failures +=
            (failures.empty() ? "" : "; ") + fmt::format("port {}: {}", p->config.name, e.what());
      }
    }
    publish_ports(b);
    changed += reopen.size();
  }
  if (!failures.empty()) throw std::runtime_error(failures);
  return changed;
}

}  // namespace sockswitch::control
