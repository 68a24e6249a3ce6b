// control/switch_ports.cc: the Switch's ports at run time: ctl add/del, hotplug, retries after a
// failed start.
#include "control/switch.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "control/port_checks.h"
#include "dataplane/tx_batch.h"
#include "flowtable/value_text.h"
#include "ports/netdev_query.h"

namespace sockswitch::control {
namespace {

using flowtable::FlowMod;
using flowtable::FlowModCommand;
using flowtable::FlowRule;

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
  auto prefixes = [](const std::optional<std::vector<ports::ClaimPrefix>>& list) {
    std::string s;
    for (const ports::ClaimPrefix& p : list.value_or(std::vector<ports::ClaimPrefix>{}))
      s += fmt::format("{}{}", s.empty() ? "" : ",", p.to_string());
    return s;
  };
  check("proxy", prefixes(have.proxy), prefixes(want.proxy));
  check("no_flood", yes(have.no_flood), yes(want.no_flood));
  check("create", yes(have.create), yes(want.create));
  check("wg_config", have.wg_config.value_or(""), want.wg_config.value_or(""));
  check("tag", have.vlan.tag ? std::to_string(*have.vlan.tag) : "",
        want.vlan.tag ? std::to_string(*want.vlan.tag) : "");
  check("trunks", fmt::format("{}", fmt::join(have.vlan.trunks, ",")),
        fmt::format("{}", fmt::join(want.vlan.trunks, ",")));
  check("vlan_mode", have.vlan.mode ? std::string(dataplane::vlan_mode_name(*have.vlan.mode)) : "",
        want.vlan.mode ? std::string(dataplane::vlan_mode_name(*want.vlan.mode)) : "");
  return out;
}

}  // namespace

Switch::RunningPort Switch::open_at_start(const PortConfig& pc, const std::string& bridge) {
  RunningPort rp{pc, nullptr};
  if (port_driver(pc).opens_itself) return rp;  // a patch port: paired with its peer afterwards
  try {
    rp.port = open_port(pc, bridge);
  } catch (const std::exception& e) {
    // A device that fails leaves the port down with its reason. A file's
    // settings that no device can take are the file's error; the
    // database's are its port's error, shown in Interface.error.
    if (!dynamic_cast<const std::system_error*>(&e) && pc.origin != PortOrigin::database) throw;
    rp.open_error = e.what();
    rp.retry_at = std::chrono::steady_clock::now() + rp.backoff;
    spdlog::warn("port {}: cannot open ({}); the bridge starts without it and retries", pc.name,
                 e.what());
  }
  return rp;
}

Switch::RunningPort Switch::reopen_port(const PortConfig& pc, const std::string& bridge) {
  RunningPort rp{pc, nullptr};
  try {
    rp.port = open_port(pc, bridge);
    observe_device(rp);
  } catch (const std::exception& e) {
    rp.open_error = e.what();
    rp.retry_at = std::chrono::steady_clock::now() + rp.backoff;
    spdlog::error("port {}: closed for its new settings and cannot open again ({}); retrying",
                  pc.name, e.what());
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
  if (!driver_has_netdev(p.config.driver)) return;
  const DeviceState now = device_state(p.config.name);
  p.seen_ifindex = now.ifindex;
  p.seen_running = now.running;
}

std::string Switch::add_port(const std::string& name, PortConfig port,
                             const std::set<std::string>& given) {
  RunningBridge& b = bridge(name);
  if (b.config.from_database)
    throw std::invalid_argument(fmt::format(
        "bridge {} takes its ports from the Open vSwitch database: ovs-vsctl add-port {} {}", name,
        name, port.name));
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
  if (const ports::PortDriver* d = ports::find_port_driver(port.driver); d && d->config_only)
    throw std::invalid_argument(port.driver + " ports come from the config file");
  // The same check as the config file's (ports/port_driver.h).
  std::string refused;
  for (const PortIssue& i : check_port(port, given))
    refused += (refused.empty() ? "" : "; ") + i.message;
  if (!refused.empty()) throw std::invalid_argument(refused);
  if (b.ports.size() >= dataplane::TxBatch::kMaxPortsPerBridge)
    throw std::invalid_argument(
        fmt::format("bridge {} has {} ports, the most one bridge holds", name, b.ports.size()));
  auto in_use = [&b](flowtable::PortNo n) {
    return std::any_of(b.ports.begin(), b.ports.end(),
                       [n](const RunningPort& p) { return p.config.ofport == n; });
  };
  if (port_driver(port).bridge_local) port.ofport = flowtable::kPortLocal;
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
  if (port_driver(it->config).config_only)
    throw std::invalid_argument(it->config.driver + " ports come from the config file");
  if (it->config.origin == PortOrigin::database)
    throw std::invalid_argument(fmt::format(
        "port {} is the Open vSwitch database's: ovs-vsctl del-port {} {}", port, name, port));
  RunningPort gone = std::move(*it);
  b.ports.erase(it);
  b.bridge->note_removed(gone.config.ofport);  // its MACs go with it (OVS flushes them too)
  publish_ports(b);                            // the grace period passes before `gone` is destroyed
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

std::size_t Switch::refresh_ports() {
  std::size_t changed = 0;
  std::string failures;
  for (RunningBridge& b : bridges_) {
    std::size_t opened = 0;
    for (RunningPort& p : b.ports) {
      opened += retry_open(p, b.config.name);
      if (p.port) changed += ports::resolve_port_names(*p.port);
    }
    if (opened != 0) {
      publish_ports(b);
      changed += opened;
    }
    std::set<const ports::Port*> stale;
    std::vector<RunningPort*> reopen;
    for (RunningPort& p : b.ports) {
      if (!p.port || !driver_has_netdev(p.config.driver)) continue;
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
