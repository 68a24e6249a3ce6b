// control/config_ports.cc: a port's keys, checked against its driver.
#include "control/config_ports.h"

#include <set>

#include "control/port_arguments.h"
#include "control/port_checks.h"
#include "flowtable/value_text.h"
#include "ports/port_driver.h"
#include "ports/wireguard/blake2s.h"
#include "ports/wireguard/key.h"

namespace sockswitch::control {
namespace {

using flowtable::PortNo;

// A wireguard port's wg-quick file is read and parsed with the config, so
// its errors (located in that file) stop a load or reload like any other.
void read_wg_config(ConfigChecker& c, const toml::table& t, PortConfig& p) {
  const toml::node* key = t.get("wg_config");
  if (auto file = c.string(t, "wg_config")) p.wg_config = resolve_path(c.file(), *file);
  const ports::PortDriver* d = ports::find_port_driver(p.driver);
  if (d == nullptr || !d->takes(ports::PortOption::wg_config) || !p.wg_config)
    return;  // check_port says what is wrong
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

const ports::PortDriver& port_driver(const PortConfig& p) {
  const ports::PortDriver* d = ports::find_port_driver(p.driver);
  if (d == nullptr)
    throw std::invalid_argument("port " + p.name + ": unknown driver '" + p.driver + "'");
  return *d;
}

bool driver_has_netdev(std::string_view driver) {
  const ports::PortDriver* d = ports::find_port_driver(driver);
  return d != nullptr && d->has_netdev;
}

namespace {

// tag, trunks, vlan_mode: Open vSwitch's Port columns, with its meaning.
void read_vlan(ConfigChecker& c, const toml::table& t, PortConfig& p) {
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
}

// proxy = ["10.2.0.50/32", ...]: what lies behind an L3 port, for a device
// the host does not route (a bridge port only), in place of its routes.
void read_proxy(ConfigChecker& c, const toml::table& t, PortConfig& p) {
  const toml::node* key = t.get("proxy");
  if (key == nullptr) return;
  p.proxy.emplace();
  for (const auto& [text, node] : c.strings(t, "proxy")) {
    if (auto prefix = ports::ClaimPrefix::parse(text))
      p.proxy->push_back(*prefix);
    else
      c.issue(*node,
              fmt::format("'{}' is not an IP prefix (10.2.0.0/24, fd00::/64, 10.2.0.50)", text));
  }
}

}  // namespace

PortConfig read_port(ConfigChecker& c, const toml::table& t) {
  PortConfig p;
  p.pos = c.pos(t);
  c.only_keys(t,
              {"name", "driver", "ofport", "no_flood", "queues", "mac", "proxy", "create", "peer",
               "rx_pcap", "rx_pcap_repeat", "tx_pcap", "dpdk_devargs", "wg_config", "tag", "trunks",
               "vlan_mode"},
              "[[bridge.port]]");
  if (auto name = c.string(t, "name"))
    p.name = *name;
  else
    c.issue(t, "a port needs a 'name'");
  if (auto d = c.string(t, "driver")) p.driver = *d;
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
  }
  read_proxy(c, t, p);
  if (auto b = c.boolean(t, "create")) p.create = *b;
  p.peer = c.string(t, "peer");
  // Relative to the config file, as flows and wg_config are.
  if (auto f = c.string(t, "rx_pcap")) p.rx_pcap = resolve_path(c.file(), *f);
  if (auto f = c.string(t, "tx_pcap")) p.tx_pcap = resolve_path(c.file(), *f);
  if (auto n = c.integer(t, "rx_pcap_repeat", 0, 1'000'000'000))
    p.rx_pcap_repeat = static_cast<std::uint32_t>(*n);
  p.dpdk_devargs = c.string(t, "dpdk_devargs");
  if (const ports::PortDriver* d = ports::find_port_driver(p.driver); d && d->bridge_local)
    p.ofport = flowtable::kPortLocal;
  read_wg_config(c, t, p);
  // What the driver takes and needs: the same check as ctl add-port's.
  std::set<std::string> given;
  for (const auto& [key, node] : t)
    given.insert(std::string(key.str()));
  for (const PortIssue& i : check_port(p, given)) {
    const toml::node* at = i.key.empty() ? nullptr : t.get(i.key);
    c.issue(at != nullptr ? *at : static_cast<const toml::node&>(t), i.message);
  }
  return p;
}

}  // namespace sockswitch::control
