// control/config.cc: TOML to Config, with every problem located.
#include "control/config.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "control/openflow/controller_target.h"
#include "control/port_arguments.h"
#include "flowtable/flow_counters.h"
#include "flowtable/value_text.h"
#include "ports/wireguard/blake2s.h"
#include "ports/wireguard/key.h"

namespace sockswitch::control {
namespace {

using flowtable::PortNo;
using flowtable::SourcePos;

constexpr std::size_t kMaxBridges = 8;           // TxBatch::kMaxBridges
constexpr std::size_t kMaxPortsPerBridge = 256;  // TxBatch::kMaxPortsPerBridge

const std::set<std::string, std::less<>> kDrivers{
    "auto", "af_xdp", "af_packet", "tap", "tun", "internal", "patch", "pcap", "dpdk", "wireguard"};

class Checker {
 public:
  explicit Checker(std::string file) : file_(std::move(file)) {}

  SourcePos pos(const toml::node& n) const {
    const auto& b = n.source().begin;
    return {file_, static_cast<int>(b.line), static_cast<int>(b.column)};
  }
  void issue(SourcePos p, std::string message) {
    issues_.push_back({std::move(p), std::move(message)});
  }
  void issue(const toml::node& n, std::string message) { issue(pos(n), std::move(message)); }

  void only_keys(const toml::table& t, std::initializer_list<std::string_view> allowed,
                 std::string_view where) {
    for (const auto& [key, value] : t) {
      bool ok = false;
      for (std::string_view a : allowed)
        ok |= key.str() == a;
      if (!ok) issue(value, fmt::format("unknown key '{}' in {}", key.str(), where));
    }
  }

  std::optional<std::string> string(const toml::table& t, std::string_view key) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_string()) {
      issue(*n, fmt::format("'{}' must be a string", key));
      return std::nullopt;
    }
    return n->value<std::string>();
  }
  std::optional<std::int64_t> integer(const toml::table& t, std::string_view key, std::int64_t lo,
                                      std::int64_t hi) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_integer()) {
      issue(*n, fmt::format("'{}' must be an integer", key));
      return std::nullopt;
    }
    const std::int64_t v = *n->value<std::int64_t>();
    if (v < lo || v > hi) {
      issue(*n, fmt::format("'{}' = {} is out of range {}..{}", key, v, lo, hi));
      return std::nullopt;
    }
    return v;
  }
  std::optional<bool> boolean(const toml::table& t, std::string_view key) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_boolean()) {
      issue(*n, fmt::format("'{}' must be true or false", key));
      return std::nullopt;
    }
    return n->value<bool>();
  }
  // The tables of an array of tables ([[key]]), checked for type.
  std::vector<const toml::table*> tables(const toml::table& t, std::string_view key) {
    std::vector<const toml::table*> out;
    const toml::node* n = t.get(key);
    if (n == nullptr) return out;
    const toml::array* a = n->as_array();
    if (a == nullptr) {
      issue(*n, fmt::format("'{}' must be an array of tables ([[{}]])", key, key));
      return out;
    }
    for (const toml::node& e : *a) {
      if (const toml::table* et = e.as_table())
        out.push_back(et);
      else
        issue(e, fmt::format("each '{}' must be a table", key));
    }
    return out;
  }
  // An array of integers in lo..hi.
  std::vector<std::int64_t> integers(const toml::table& t, std::string_view key, std::int64_t lo,
                                     std::int64_t hi) {
    std::vector<std::int64_t> out;
    const toml::node* n = t.get(key);
    if (n == nullptr) return out;
    const toml::array* a = n->as_array();
    if (a == nullptr) {
      issue(*n, fmt::format("'{}' must be an array of integers", key));
      return out;
    }
    for (const toml::node& e : *a) {
      const std::optional<std::int64_t> v = e.value<std::int64_t>();
      if (!e.is_integer() || !v)
        issue(e, fmt::format("each entry of '{}' must be an integer", key));
      else if (*v < lo || *v > hi)
        issue(e, fmt::format("'{}' entry {} is out of range {}..{}", key, *v, lo, hi));
      else
        out.push_back(*v);
    }
    return out;
  }
  // An array of strings, with each string's node for positions.
  std::vector<std::pair<std::string, const toml::node*>> strings(const toml::table& t,
                                                                 std::string_view key) {
    std::vector<std::pair<std::string, const toml::node*>> out;
    const toml::node* n = t.get(key);
    if (n == nullptr) return out;
    const toml::array* a = n->as_array();
    if (a == nullptr) {
      issue(*n, fmt::format("'{}' must be an array of strings", key));
      return out;
    }
    for (const toml::node& e : *a) {
      if (e.is_string())
        out.emplace_back(*e.value<std::string>(), &e);
      else
        issue(e, fmt::format("each entry of '{}' must be a string", key));
    }
    return out;
  }

  [[nodiscard]] const std::vector<ConfigIssue>& issues() const noexcept { return issues_; }
  [[nodiscard]] const std::string& file() const noexcept { return file_; }

 private:
  std::string file_;
  std::vector<ConfigIssue> issues_;
};

std::string resolve_path(const std::string& config_file, const std::string& path) {
  const std::filesystem::path p(path);
  if (p.is_absolute()) return path;
  return (std::filesystem::path(config_file).parent_path() / p).lexically_normal().string();
}

// A wireguard port's wg-quick file is read and parsed with the config, so
// its errors (located in that file) stop a load or reload like any other.
void read_wg_config(Checker& c, const toml::table& t, PortConfig& p) {
  const toml::node* key = t.get("wg_config");
  if (auto file = c.string(t, "wg_config")) p.wg_config = resolve_path(c.file(), *file);
  if (p.driver != "wireguard") {
    if (key != nullptr)
      c.issue(*key, fmt::format("'wg_config' is only for wireguard ports ('{}' is {})", p.name,
                                p.driver));
    return;
  }
  if (p.queues != 1) c.issue(t, fmt::format("wireguard port '{}' has one queue", p.name));
  if (!p.wg_config) {
    if (key == nullptr) c.issue(t, fmt::format("wireguard port '{}' needs 'wg_config'", p.name));
    return;
  }
  std::string text;
  try {
    text = read_text_file(*p.wg_config);
  } catch (const std::exception& e) {
    c.issue(*key, e.what());
    return;
  }
  // The text holds the private key: it lives only in this scope.
  struct Wiped {
    std::string& s;
    ~Wiped() { wireguard::wipe(s.data(), s.size()); }
  } wiped{text};
  const auto bytes = std::as_bytes(std::span(text));
  (void)wireguard::blake2s_hash(
      {{reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}}, p.wg_config_digest);
  try {
    p.wg_parsed =
        std::make_shared<const wireguard::WgConfig>(wireguard::parse_wg_config(text, *p.wg_config));
  } catch (const wireguard::WgConfigError& e) {
    c.issue({e.pos().file, e.pos().line, e.pos().column},
            e.message() + (e.token().empty() ? "" : " (at '" + e.token() + "')"));
  }
}

}  // namespace

bool driver_takes_mac(std::string_view driver) {
  return driver == "auto" || driver == "af_packet" || driver == "tun" || driver == "wireguard";
}

bool driver_has_netdev(std::string_view driver) {
  return driver == "auto" || driver == "af_packet" || driver == "af_xdp" || driver == "tap" ||
         driver == "tun" || driver == "internal";
}

namespace {

// meters = ["meter=1,pktps,bands=type=drop,rate=100", ...], in ovs-ofctl
// add-meter's syntax; every meter:N of the bridge's flows must be one.
void read_meters(Checker& c, const toml::table& t, BridgeConfig& b) {
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

// tag, trunks, vlan_mode: Open vSwitch's Port columns, with its meaning.
void read_vlan(Checker& c, const toml::table& t, PortConfig& p) {
  if (auto tag = c.integer(t, "tag", 0, 4095)) p.vlan.tag = static_cast<std::uint16_t>(*tag);
  for (const std::int64_t v : c.integers(t, "trunks", 0, 4095))
    p.vlan.trunks.push_back(static_cast<std::uint16_t>(v));
  if (auto mode = c.string(t, "vlan_mode")) {
    if (auto m = dataplane::parse_vlan_mode(*mode))
      p.vlan.mode = *m;
    else
      c.issue(*t.get("vlan_mode"),
              fmt::format("unknown vlan_mode '{}' (access, trunk, native-tagged or "
                          "native-untagged)",
                          *mode));
  }
  if (const std::string why = dataplane::vlan_config_error(p.vlan); !why.empty())
    c.issue(t, fmt::format("port '{}': {}", p.name, why));
}

PortConfig read_port(Checker& c, const toml::table& t) {
  PortConfig p;
  p.pos = c.pos(t);
  c.only_keys(t,
              {"name", "driver", "ofport", "no_flood", "queues", "mac", "create", "peer", "rx_pcap",
               "tx_pcap", "dpdk_devargs", "wg_config", "tag", "trunks", "vlan_mode"},
              "[[bridge.port]]");
  if (auto name = c.string(t, "name"))
    p.name = *name;
  else
    c.issue(t, "a port needs a 'name'");
  if (auto d = c.string(t, "driver")) {
    if (kDrivers.count(*d))
      p.driver = *d;
    else
      c.issue(*t.get("driver"), fmt::format("unknown driver '{}'", *d));
  }
  if (auto n = c.integer(t, "ofport", 1, flowtable::to_u32(flowtable::kPortMax)))
    p.ofport = PortNo{static_cast<std::uint32_t>(*n)};
  if (auto b = c.boolean(t, "no_flood")) p.no_flood = *b;
  if (auto q = c.integer(t, "queues", 1, 16)) p.queues = static_cast<std::uint16_t>(*q);
  read_vlan(c, t, p);
  p.mac = c.string(t, "mac");
  if (p.mac) {
    try {
      (void)flowtable::parse_mac(*p.mac);
    } catch (const std::exception& e) {
      c.issue(*t.get("mac"), e.what());
    }
    if (!driver_takes_mac(p.driver))
      c.issue(*t.get("mac"),
              fmt::format("'mac' is for ports that make up their Ethernet side (tun, wireguard, "
                          "auto/af_packet on a bare-IP device); a {} port uses its device's own "
                          "address",
                          p.driver));
  }
  if (auto b = c.boolean(t, "create")) p.create = *b;
  p.peer = c.string(t, "peer");
  p.rx_pcap = c.string(t, "rx_pcap");
  p.tx_pcap = c.string(t, "tx_pcap");
  p.dpdk_devargs = c.string(t, "dpdk_devargs");
  if (p.driver == "patch" && !p.peer)
    c.issue(t, fmt::format("patch port '{}' needs a 'peer'", p.name));
  if (p.driver != "patch" && p.peer)
    c.issue(*t.get("peer"),
            fmt::format("'peer' is only for patch ports ('{}' is {})", p.name, p.driver));
  if (p.driver == "dpdk" && !p.dpdk_devargs)
    c.issue(t, fmt::format("dpdk port '{}' needs 'dpdk_devargs'", p.name));
  if (p.driver == "internal") p.ofport = flowtable::kPortLocal;
  read_wg_config(c, t, p);
  return p;
}

void number_ports(Checker& c, BridgeConfig& b) {
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
BridgeFlowText read_flow_text(Checker& c, const toml::table& t, const BridgeConfig& b) {
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

void read_flows(Checker& c, const toml::table& t, BridgeConfig& b) {
  const BridgeFlowText text = read_flow_text(c, t, b);
  b.flows_file = text.flows_file;
  flowtable::FlowFile parsed = parse_flows(text, b.port_map);
  for (const flowtable::FlowError& e : parsed.errors)
    c.issue(e.pos(), e.message() + (e.token().empty() ? "" : " (at '" + e.token() + "')"));
  b.flows = std::move(parsed.flows);
}

void check_patches(Checker& c, const Config& cfg) {
  std::map<std::string, std::pair<const PortConfig*, const BridgeConfig*>> patches;
  for (const BridgeConfig& b : cfg.bridges)
    for (const PortConfig& p : b.ports)
      if (p.driver == "patch") patches[p.name] = {&p, &b};
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
void check_wireguard_ports(Checker& c, const Config& cfg) {
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

void read_threads(Checker& c, const toml::table& root, Config& cfg) {
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
  Checker c(file_name);
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
  c.only_keys(root,
              {"control_socket", "log_level", "poll_thread", "bridge", "ovsdb", "ovs_rundir",
               "openflow", "metrics", "metrics_address", "metrics_flow_series", "ct_max"},
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
    throw ConfigError({{{path, 1, 1}, e.what()}});
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
