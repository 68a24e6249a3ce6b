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

#include "flowtable/flow_printer.h"
#include "flowtable/value_text.h"
#include "ports/port_factory.h"
#include "ports/ring_port.h"

namespace sockswitch::control {

dataplane::MacLearningConfig Switch::mac_config(const BridgeConfig& b) {
  dataplane::MacLearningConfig m;
  m.max_entries = b.mac_table_size;
  m.aging = std::chrono::seconds(b.mac_aging_seconds);
  return m;
}

dataplane::MeterSet Switch::meter_set(const std::vector<flowtable::MeterConfig>& meters) {
  dataplane::MeterSet set;
  for (const flowtable::MeterConfig& m : meters)
    set = set.with(std::make_shared<dataplane::MeterState>(m));
  return set;
}

// Start-up is a reload from nothing: the same plan and phases, but a port
// whose device cannot open yet is down with its reason and retried
// instead of refusing the start (its settings were checked with the file).
Switch::Switch(Config config)
    : config_(config), conntrack_(std::make_unique<dataplane::Conntrack>(config.ct_max)) {
  config_.bridges.clear();  // RunningBridge::config is the truth from here on
  apply(std::move(config), FlowReload::replace, Opening::at_start);
}

Switch::~Switch() {
  stop_threads();
}

ports::PortSpec Switch::port_spec(const PortConfig& p, const std::string& bridge) const {
  ports::PortSpec spec;
  spec.name = p.name;
  spec.driver = p.driver;  // "auto": AF_XDP, falling back to AF_PACKET
  spec.pool = pool_of(bridge);
  spec.queues = p.queues;
  spec.create = p.create;
  if (p.dpdk_devargs) spec.devargs = *p.dpdk_devargs;
  if (p.mac) spec.mac = packet::MacAddr::from_u64(flowtable::parse_mac(*p.mac));
  spec.l3_only = p.proxy.has_value();
  // Parsed by the config loader; a port added by `ctl add-port` has its file read when it opens.
  spec.wg_config = p.wg_parsed;
  spec.wg_config_file = p.wg_config.value_or("");
  spec.wg_run_dir = config_.wireguard_run_dir;
  spec.rx_pcap = p.rx_pcap;
  spec.tx_pcap = p.tx_pcap;
  spec.rx_pcap_repeat = p.rx_pcap_repeat;
  return spec;
}

std::unique_ptr<ports::Port> Switch::open_port(const PortConfig& p, const std::string& bridge) {
  return ports::make_port(port_spec(p, bridge));
}

void Switch::open_patch_pairs(std::vector<RunningBridge>& bridges) {
  std::map<std::string, RunningPort*> waiting;
  for (RunningBridge& b : bridges)
    for (RunningPort& p : b.ports) {
      if (!port_driver(p.config).opens_itself || p.port) continue;
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
      ports.push_back({p.config.ofport, p.port.get(), 0, 0, p.config.no_flood,
                       p.port->queue_count(), dataplane::PortVlan(p.config.vlan)});
  return ports;
}

void Switch::publish_ports(RunningBridge& b, const std::set<const ports::Port*>& except) {
  b.bridge->set_ports(bridge_ports(b, except));
  after_publish(b);
}

void Switch::after_publish(RunningBridge& b) {
  for (auto& t : threads_)
    t->kick();  // they rebuild their wake-up sets
  if (!threads_.empty()) await_ready(b);
  try {
    (void)refresh_neighbor_claims();
  } catch (const std::exception& e) {  // the routes could not be read: claims stay as they were
    spdlog::warn("bridge {}: what L3 ports answer ARP for is unchanged: {}", b.config.name,
                 e.what());
  }
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

std::shared_ptr<packet::PacketPool> Switch::pool_of(const std::string& bridge) const {
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

std::string Switch::wg_show(const std::string& port) const {
  for (const RunningBridge& b : bridges_)
    for (const RunningPort& p : b.ports) {
      if (p.config.name != port) continue;
      auto status = p.port ? ports::wireguard_status(*p.port) : std::nullopt;
      if (!status)
        throw std::invalid_argument("port '" + port + "' is not a native wireguard port");
      return *status;
    }
  throw std::invalid_argument("no port named '" + port + "'");
}

std::vector<Switch::WireGuardPeer> Switch::wireguard_peers() const {
  std::vector<WireGuardPeer> out;
  for (const RunningBridge& b : bridges_)
    for (const RunningPort& p : b.ports)
      if (p.port)
        for (ports::WireGuardPeerStatus& peer : ports::wireguard_peers(*p.port))
          out.push_back({b.config.name, p.config.name, std::move(peer)});
  return out;
}

std::vector<std::pair<std::size_t, const dataplane::ThreadStats*>> Switch::thread_stats() const {
  std::vector<std::pair<std::size_t, const dataplane::ThreadStats*>> out;
  for (const auto& t : threads_)
    out.emplace_back(t->index(), &t->stats());
  return out;
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
      const std::string engine = p.port ? p.port->engine() : "";
      out += fmt::format(
          "    port {} ({}{}): {} {}{}{}\n", flowtable::to_u32(p.config.ofport), p.config.driver,
          engine.empty() || engine == p.config.driver ? "" : ", " + engine, p.config.name, link,
          p.config.origin == PortOrigin::ctl ? " (added by ctl)" : "",
          p.open_error.empty() ? "" : fmt::format(" (cannot open: {}; retrying)", p.open_error));
      if (const std::size_t n = p.port ? ports::unresolved_port_names(*p.port) : 0)
        out += fmt::format("      {} peer endpoints do not resolve yet; retrying\n", n);
      out += neighbor_claims_line(p);
      if (p.port) out += named_drops_line(*p.port, "      ");
      const ports::PortCounters c = p.port ? p.port->counters() : ports::PortCounters{};
      const std::string how = p.port ? p.port->offload_handling() : "";
      if (!how.empty() || c.tx_segments != 0)
        out += fmt::format(
            "      offloads: {} ({} checksums finished, {} GSO frames kept whole, {} segments cut "
            "to send)\n",
            how.empty() ? "other ports' GSO frames cut to send" : how, c.rx_checksums_completed,
            c.rx_gso_whole, c.tx_segments);
    }
  }
  out += fmt::format("control: {} requests refused, {} flows expired\n", rejected_requests_,
                     flows_expired_);
  const dataplane::ConntrackCounters ct = conntrack_->counters();
  out += fmt::format(
      "conntrack: {} connections (ct_max {}), {} committed, {} refused at ct_max, {} invalid, "
      "{} expired\n",
      ct.connections, conntrack_->max_connections(), ct.committed, ct.full, ct.invalid, ct.expired);
  for (const auto& t : threads_) {
    const dataplane::ThreadStats& s = t->stats();
    const double packets = static_cast<double>(s.packets.get());
    out += fmt::format(
        "poll thread {}: packets={} forwarded={} bursts={} emc_hits={} megaflow_hits={} "
        "classifier_lookups={} cycles/packet={:.0f} sleeps={}\n",
        t->index(), s.packets.get(), s.forwarded.get(), s.bursts.get(), s.emc_hits.get(),
        s.megaflow_hits.get(), s.classifier_lookups.get(),
        packets > 0 ? static_cast<double>(s.cycles.get()) / packets : 0.0, s.sleeps.get());
    for (std::size_t d = 0; d < s.drops.size(); ++d)
      if (s.drops[d].get())
        out += fmt::format("    {}: {} ({})\n", dataplane::kDrops[d].name, s.drops[d].get(),
                           dataplane::kDrops[d].help);
  }
  return out;
}

Config Switch::running_config() const {
  Config c = config_;
  for (const RunningBridge& b : bridges_)
    c.bridges.push_back(b.config);
  return c;
}

std::vector<std::pair<std::string, std::vector<ports::PortDrop>>> Switch::port_drops(
    const std::string& name) const {
  std::vector<std::pair<std::string, std::vector<ports::PortDrop>>> out;
  for (const RunningPort& p : bridge(name).ports)
    if (p.port) out.emplace_back(p.config.name, p.port->named_drops());
  return out;
}

std::vector<Switch::PortStatus> Switch::port_statuses(const std::string& name) const {
  std::vector<PortStatus> out;
  for (const RunningPort& p : bridge(name).ports) {
    PortStatus s;
    s.name = p.config.name;
    s.driver = p.config.driver;
    s.ofport = p.config.ofport;
    s.open = p.port != nullptr;
    s.open_error = p.open_error;
    if (p.port) {
      s.link_up = p.port->link_state() == ports::LinkState::up;
      s.counters = p.port->counters();
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::uint64_t Switch::dropped(dataplane::Drop d) const {
  std::uint64_t n = 0;
  for (const auto& t : threads_)
    n += t->stats().dropped(d);
  return n;
}

std::size_t Switch::learned_macs(const std::string& name, flowtable::PortNo port) {
  return bridge(name).bridge->mac_table().port_entries(port);
}

// "drops: l3.non_ip=3, wg.rx.forged=1" for the port's named drops that
// are not zero; nothing when all are.
std::string Switch::named_drops_line(ports::Port& port, std::string_view indent) {
  std::string list;
  for (const ports::PortDrop& d : port.named_drops())
    if (d.count != 0) list += fmt::format("{}{}={}", list.empty() ? "" : ", ", d.name, d.count);
  return list.empty() ? "" : fmt::format("{}drops: {}\n", indent, list);
}

Switch::MacTableCounts Switch::mac_table_counts(const std::string& name) const {
  const dataplane::MacLearningTable& mac = bridge(name).bridge->mac_table();
  return {mac.published_size(), mac.capacity(), mac.published_evictions()};
}

std::string Switch::dump_ports(const std::string& name) const {
  const RunningBridge& b = bridge(name);
  std::string out;
  for (const RunningPort& p : b.ports) {
    if (!p.port) continue;
    const ports::PortCounters c = p.port->counters();
    const std::uint16_t queues = p.port->queue_count();
    out += fmt::format(
        "  port {:>3}: {} ({}, link {}{}{})\n"
        "           rx pkts={}, bytes={}, drop={}, errs={}\n"
        "           tx pkts={}, bytes={}, drop={}, errs={}\n",
        flowtable::to_u32(p.config.ofport), p.config.name, p.config.driver,
        p.port->link_state() == ports::LinkState::up ? "up" : "down",
        queues > 1 ? fmt::format(", {} queues", queues) : "",
        p.config.vlan.empty() ? "" : ", " + dataplane::describe_vlan_config(p.config.vlan),
        c.rx_packets, c.rx_bytes, c.rx_dropped, c.rx_errors, c.tx_packets, c.tx_bytes, c.tx_dropped,
        c.tx_errors);
    out += named_drops_line(*p.port, "           ");
  }
  return out;
}

std::uint16_t Switch::rx_queues(const std::string& bridge_name, const std::string& port) const {
  for (const dataplane::BridgePort& bp : bridge(bridge_name).bridge->ports())
    if (bp.port->name() == port) return bp.rx_queues;
  throw std::invalid_argument("no port named '" + port + "' on " + bridge_name);
}

}  // namespace sockswitch::control
