// control/config.cc: TOML to Config, with every problem located.
#include "control/config.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "control/config_checker.h"
#include "control/config_ports.h"
#include "control/openflow/controller_target.h"
#include "control/port_arguments.h"
#include "flowtable/flow_counters.h"
#include "flowtable/value_text.h"

namespace sockswitch::control {
namespace {

using flowtable::PortNo;
using flowtable::SourcePos;

constexpr std::size_t kMaxBridges = 8;           // TxBatch::kMaxBridges
constexpr std::size_t kMaxPortsPerBridge = 256;  // TxBatch::kMaxPortsPerBridge

// meters = ["meter=1,pktps,bands=type=drop,rate=100", ...], in ovs-ofctl
// add-meter's syntax; every meter:N of the bridge's flows must be one.
void read_meters(ConfigChecker& c, const toml::table& t, BridgeConfig& b) {
  std::set<std::uint32_t> ids;
  for (const auto& [text, node] : c.strings(t, "meters")) {
    flowtable::SourcePos pos = c.pos(*node);
    ++pos.column;  // past the opening quote
    try {
      const flowtable::MeterConfig m = flowtable::parse_meter(text, pos);
      if (!ids.insert(m.id).second)
        c.issue(*node, fmt::format("meter {} is defined twice", m.id));
      else
        b.meters.push_back(m);
    } catch (const flowtable::FlowError& e) {
      c.issue(e.pos(), e.message() + (e.token().empty() ? "" : " (at '" + e.token() + "')"));
    }
  }
  for (const flowtable::ParsedFlow& f : b.flows)
    if (!f.rule.actions.empty() && f.rule.actions.front().kind == flowtable::ActionKind::meter &&
        !ids.count(static_cast<std::uint32_t>(f.rule.actions.front().value.lo)))
      c.issue(f.pos, fmt::format("meter {} is not defined: add it to the bridge's 'meters'",
                                 f.rule.actions.front().value.lo));
}

void number_ports(ConfigChecker& c, BridgeConfig& b) {
  std::set<std::uint32_t> used;
  for (PortConfig& p : b.ports) {
    if (flowtable::to_u32(p.ofport) == 0) continue;
    if (!used.insert(flowtable::to_u32(p.ofport)).second)
      c.issue(p.pos, fmt::format("ofport {} used twice on bridge '{}'", flowtable::to_u32(p.ofport),
                                 b.name));
  }
  std::uint32_t next = 1;
  for (PortConfig& p : b.ports) {
    if (flowtable::to_u32(p.ofport) != 0) continue;
    while (used.count(next))
      ++next;
    p.ofport = PortNo{next};
    used.insert(next);
  }
  for (const PortConfig& p : b.ports) {
    if (p.ofport == flowtable::kPortLocal) continue;  // named LOCAL in flows, as in OVS
    try {
      b.port_map.add(p.name, p.ofport);
    } catch (const std::invalid_argument& e) {
      c.issue(p.pos, e.what());
    }
  }
}

// A [[bridge]]'s flows as written: its flow file's text and inline lines.
BridgeFlowText read_flow_text(ConfigChecker& c, const toml::table& t, const BridgeConfig& b) {
  BridgeFlowText f;
  f.bridge = b.name;
  f.pos = b.pos;
  if (auto file = c.string(t, "flows")) {
    f.flows_file = resolve_path(c.file(), *file);
    try {
      f.flows_file_text = read_text_file(*f.flows_file);
    } catch (const std::exception& e) {
      c.issue(*t.get("flows"), e.what());
    }
  }
  for (const auto& [line, node] : c.strings(t, "flow")) {
    SourcePos where = c.pos(*node);
    where.column += 1;  // past the opening quote
    f.lines.emplace_back(line, where);
  }
  return f;
}

void read_flows(ConfigChecker& c, const toml::table& t, BridgeConfig& b) {
  const BridgeFlowText text = read_flow_text(c, t, b);
  b.flows_file = text.flows_file;
  flowtable::FlowFile parsed = parse_flows(text, b.port_map);
  for (const flowtable::FlowError& e : parsed.errors)
    c.issue(e.pos(), e.message() + (e.token().empty() ? "" : " (at '" + e.token() + "')"));
  b.flows = std::move(parsed.flows);
}

void check_patches(ConfigChecker& c, const Config& cfg) {
  std::map<std::string, std::pair<const PortConfig*, const BridgeConfig*>> patches;
  for (const BridgeConfig& b : cfg.bridges)
    for (const PortConfig& p : b.ports)
      if (const ports::PortDriver* d = ports::find_port_driver(p.driver); d && d->opens_itself)
        patches[p.name] = {&p, &b};
  for (const auto& [name, where] : patches) {
    const auto& [port, bridge] = where;
    // A patch port without a peer is reported by read_port; here it has
    // nothing to check, and nothing to check against when it is the peer.
    if (!port->peer) continue;
    const auto peer = patches.find(*port->peer);
    if (peer != patches.end() && !peer->second.first->peer) continue;
    if (peer == patches.end()) {
      c.issue(port->pos,
              fmt::format("patch port '{}': its peer '{}' is not a patch port", name, *port->peer));
    } else if (peer->second.first->peer != name) {
      c.issue(port->pos, fmt::format("patch port '{}': its peer '{}' names '{}' as its peer", name,
                                     *port->peer, *peer->second.first->peer));
    } else if (peer->second.second == bridge) {
      c.issue(port->pos, fmt::format("patch port '{}' and its peer are on the same bridge", name));
    }
  }
}

// Two tunnels cannot share a UDP port: the second would fail to bind at start.
void check_wireguard_ports(ConfigChecker& c, const Config& cfg) {
  std::map<std::uint16_t, std::string> listening;
  for (const BridgeConfig& b : cfg.bridges)
    for (const PortConfig& p : b.ports) {
      if (!p.wg_parsed) continue;
      const std::uint16_t port = p.wg_parsed->interface.listen_port.value_or(0);
      if (port == 0) continue;
      const auto [it, fresh] = listening.emplace(port, p.name);
      if (!fresh)
        c.issue(p.pos, fmt::format("wireguard ports '{}' and '{}' both have ListenPort {}",
                                   it->second, p.name, port));
    }
}

void read_threads(ConfigChecker& c, const toml::table& root, Config& cfg) {
  const auto threads = c.tables(root, "poll_thread");
  if (threads.size() > flowtable::kMaxPollThreads)
    c.issue(*threads[flowtable::kMaxPollThreads],
            fmt::format("at most {} poll threads", flowtable::kMaxPollThreads));
  std::map<std::string, int> served;
  for (const toml::table* t : threads) {
    c.only_keys(*t, {"cpu", "bridges"}, "[[poll_thread]]");
    PollThreadSpec spec;
    if (auto cpu = c.integer(*t, "cpu", 0, 1023)) spec.cpu = static_cast<int>(*cpu);
    for (const auto& [name, node] : c.strings(*t, "bridges")) {
      if (!cfg.bridge(name)) c.issue(*node, fmt::format("no bridge named '{}'", name));
      if (served[name]++)
        c.issue(*node, fmt::format("bridge '{}' is given to two poll threads", name));
      spec.bridges.push_back(name);
    }
    cfg.poll_threads.push_back(std::move(spec));
  }
  const bool catch_all = cfg.poll_threads.empty() ||
                         std::any_of(cfg.poll_threads.begin(), cfg.poll_threads.end(),
                                     [](const PollThreadSpec& s) { return s.bridges.empty(); });
  if (!catch_all)
    for (const BridgeConfig& b : cfg.bridges)
      if (!served.count(b.name))
        c.issue(b.pos, fmt::format("bridge '{}' is not served by any poll thread", b.name));
}

}  // namespace

const BridgeConfig* Config::bridge(std::string_view name) const {
  for (const BridgeConfig& b : bridges)
    if (b.name == name) return &b;
  return nullptr;
}

ConfigError::ConfigError(std::vector<ConfigIssue> issues)
    : std::runtime_error([&] {
        std::string s;
        for (const ConfigIssue& i : issues)
          s += fmt::format("{}{}:{}:{}: error: {}", s.empty() ? "" : "\n", i.pos.file, i.pos.line,
                           i.pos.column, i.message);
        return s;
      }()),
      issues_(std::move(issues)) {}

Config parse_config(std::string_view text, const std::string& file_name) {
  ConfigChecker c(file_name);
  toml::table root;
  try {
    root = toml::parse(text, file_name);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    throw ConfigError({{{file_name, static_cast<int>(b.line), static_cast<int>(b.column)},
                        std::string(e.description())}});
  }
  Config cfg;
  cfg.file = file_name;
  c.only_keys(
      root,
      {"control_socket", "log_level", "poll_thread", "bridge", "ovsdb", "ovs_rundir", "openflow",
       "metrics", "metrics_address", "metrics_flow_series", "ct_max", "wireguard_run_dir"},
      "the top level");
  if (auto s = c.string(root, "ovs_rundir")) {
    if (!s->empty() && s->front() == '/')
      cfg.ovs_rundir = *s;
    else
      c.issue(*root.get("ovs_rundir"), fmt::format("ovs_rundir '{}': give an absolute path", *s));
  }
  if (auto b = c.boolean(root, "metrics")) cfg.metrics = *b;
  if (auto a = c.string(root, "metrics_address")) cfg.metrics_address = *a;
  if (auto n = c.integer(root, "metrics_flow_series", 0, 1'000'000))
    cfg.metrics_flow_series = static_cast<std::size_t>(*n);
  if (auto n = c.integer(root, "ct_max", 1, 100'000'000))
    cfg.ct_max = static_cast<std::uint32_t>(*n);
  if (auto s = c.string(root, "wireguard_run_dir")) {
    if (s->empty() || s->front() == '/')
      cfg.wireguard_run_dir = *s;
    else
      c.issue(*root.get("wireguard_run_dir"),
              fmt::format("wireguard_run_dir '{}': give an absolute path (or \"\" for none)", *s));
  }
  if (const auto* n = root.get("openflow")) {
    if (const auto b = n->value_exact<bool>())
      cfg.openflow = *b;
    else
      c.issue(*n, "openflow: give true or false");
  }
  if (auto s = c.string(root, "control_socket")) cfg.control_socket = *s;
  if (auto s = c.string(root, "ovsdb")) {
    if (s->starts_with("unix:") || s->starts_with("tcp:"))
      cfg.ovsdb = *s;
    else
      c.issue(*root.get("ovsdb"),
              fmt::format("ovsdb '{}': give unix:PATH or tcp:ADDRESS:PORT", *s));
  }
  if (auto l = c.string(root, "log_level")) {
    static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "off"};
    if (levels.count(*l))
      cfg.log_level = *l;
    else
      c.issue(*root.get("log_level"), fmt::format("unknown log level '{}'", *l));
  }

  std::set<std::string> port_names;
  for (const toml::table* t : c.tables(root, "bridge")) {
    BridgeConfig b;
    b.pos = c.pos(*t);
    c.only_keys(*t,
                {"name", "port", "flows", "flow", "mac_aging", "mac_table_size", "controller",
                 "fail_mode", "meters"},
                "[[bridge]]");
    if (auto name = c.string(*t, "name"))
      b.name = *name;
    else
      c.issue(*t, "a bridge needs a 'name'");
    if (cfg.bridge(b.name)) c.issue(*t, fmt::format("bridge '{}' defined twice", b.name));
    if (cfg.ovsdb && !t->contains("port")) {
      // The database gives this bridge its ports: keep its flows for then.
      c.only_keys(*t, {"name", "flows", "flow"}, "[[bridge]] of the database (no ports)");
      cfg.database_flows.push_back(read_flow_text(c, *t, b));
      continue;
    }
    if (auto a = c.integer(*t, "mac_aging", 1, 1'000'000)) b.mac_aging_seconds = std::uint32_t(*a);
    if (auto s = c.integer(*t, "mac_table_size", 16, 1 << 22)) b.mac_table_size = std::uint32_t(*s);
    for (const auto& [target, node] : c.strings(*t, "controller")) {
      try {
        (void)openflow::parse_controller_target(target);
        b.controllers.push_back(target);
      } catch (const std::invalid_argument& e) {
        c.issue(*node, e.what());
      }
    }
    if (auto mode = c.string(*t, "fail_mode")) {
      if (*mode == "standalone" || *mode == "secure")
        b.fail_mode = *mode;
      else
        c.issue(*t->get("fail_mode"),
                fmt::format("fail_mode '{}': give standalone or secure", *mode));
    }
    for (const toml::table* pt : c.tables(*t, "port")) {
      PortConfig p = read_port(c, *pt);
      if (!p.name.empty() && !port_names.insert(p.name).second)
        c.issue(p.pos,
                fmt::format("port '{}' is defined twice (a port belongs to one bridge)", p.name));
      b.ports.push_back(std::move(p));
    }
    if (b.ports.size() > kMaxPortsPerBridge)
      c.issue(b.pos, fmt::format("bridge '{}' has more than {} ports", b.name, kMaxPortsPerBridge));
    number_ports(c, b);
    read_flows(c, *t, b);
    read_meters(c, *t, b);
    cfg.bridges.push_back(std::move(b));
  }
  if (cfg.bridges.size() > kMaxBridges)
    c.issue(cfg.bridges[kMaxBridges].pos, fmt::format("at most {} bridges", kMaxBridges));
  check_patches(c, cfg);
  check_wireguard_ports(c, cfg);
  read_threads(c, root, cfg);
  if (!c.issues().empty()) throw ConfigError(c.issues());
  return cfg;
}

flowtable::FlowFile parse_flows(const BridgeFlowText& f, flowtable::PortMap& ports) {
  flowtable::FlowFile out;
  if (f.flows_file) out = flowtable::parse_flow_file(f.flows_file_text, *f.flows_file, ports);
  for (const auto& [line, where] : f.lines) {
    try {
      out.flows.push_back(
          {flowtable::parse_flow(line, ports, flowtable::FlowSyntax::add, where), where, line});
    } catch (const flowtable::FlowError& e) {
      out.errors.push_back(e);
    }
  }
  return out;
}

Config load_config(const std::string& path) {
  std::string text;
  try {
    text = read_text_file(path);
  } catch (const std::exception& e) {
    // Built step by step: GCC 12 at -O3 misreads the nested braces
    // (-Wmaybe-uninitialized inside std::string).
    ConfigIssue issue;
    issue.pos.file = path;
    issue.message = e.what();
    std::vector<ConfigIssue> issues;
    issues.push_back(std::move(issue));
    throw ConfigError(std::move(issues));
  }
  return parse_config(text, path);
}

std::uint64_t default_datapath_id(const std::string& bridge) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (char c : bridge)
    h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return (h & 0x0000feffffffffffull) | 0x0000020000000000ull;
}

}  // namespace sockswitch::control
