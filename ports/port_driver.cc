// ports/port_driver.cc: the table of port drivers.
#include "ports/port_driver.h"

#include <array>
#include <initializer_list>

namespace sockswitch::ports {
namespace {

constexpr std::uint32_t bits(std::initializer_list<PortOption> options) {
  std::uint32_t b = 0;
  for (const PortOption o : options)
    b |= 1U << static_cast<unsigned>(o);
  return b;
}

using enum PortOption;

// "auto" and "af_packet" take mac and proxy for a bare-IP device (a tun or
// a kernel WireGuard interface), whose Ethernet side they make up; on an
// Ethernet device the factory refuses them once it sees the device.
constexpr std::array kDrivers{
    PortDriver{.name = "auto",
               .options = bits({queues, mac, proxy}),
               .max_queues = 16,
               .has_netdev = true,
               .makes_ethernet = true,
               .ovsdb_types = {"system"}},
    PortDriver{.name = "af_xdp",
               .options = bits({queues}),
               .max_queues = 16,
               .has_netdev = true,
               .ovsdb_types = {"afxdp", "afxdp-nonpmd"}},
    PortDriver{.name = "af_packet",
               .options = bits({queues, mac, proxy}),
               .has_netdev = true,
               .makes_ethernet = true,
               .shares_device = true},
    // The database's "internal" is a tap device, or the bridge's own port
    // (OpenFlow LOCAL) when it has the bridge's name.
    PortDriver{.name = "tap",
               .options = bits({queues, create}),
               .max_queues = 16,
               .has_netdev = true,
               .ovsdb_types = {"internal", "tap"}},
    PortDriver{.name = "tun",
               .options = bits({queues, mac, proxy, create}),
               .max_queues = 16,
               .has_netdev = true,
               .makes_ethernet = true},
    PortDriver{.name = "internal",
               .options = bits({queues, create}),
               .max_queues = 16,
               .has_netdev = true,
               .bridge_local = true},
    PortDriver{.name = "patch",
               .options = bits({peer}),
               .required = bits({peer}),
               .shares_device = true,
               .config_only = true,
               .opens_itself = true,
               .ovsdb_types = {"patch"}},
    PortDriver{
        .name = "pcap", .options = bits({rx_pcap, rx_pcap_repeat, tx_pcap}), .shares_device = true},
    PortDriver{.name = "dpdk",
               .options = bits({queues, dpdk_devargs}),
               .required = bits({dpdk_devargs}),
               .max_queues = 16,
               .ovsdb_types = {"dpdk"}},
    PortDriver{.name = "wireguard",
               .options = bits({queues, mac, proxy, wg_config}),
               .required = bits({wg_config}),
               .makes_ethernet = true,
               .retunes = true,
               .ovsdb_types = {"wireguard"}},  // ours: a wg-quick file in options:wg_config
};

constexpr std::array<std::string_view, 10> kOptionKeys{
    "queues",         "mac",     "proxy",        "create",   "peer", "rx_pcap",
    "rx_pcap_repeat", "tx_pcap", "dpdk_devargs", "wg_config"};
// As ovs-vsctl writes them; "" where the database has no such option.
constexpr std::array<std::string_view, 10> kOvsdbOptionKeys{
    "n_rxq", "", "", "", "peer", "", "", "", "dpdk-devargs", "wg_config"};
static_assert(kOptionKeys.size() == static_cast<std::size_t>(wg_config) + 1);

bool find_key(std::span<const std::string_view> keys, std::string_view key, PortOption& out) {
  for (std::size_t i = 0; i < keys.size(); ++i)
    if (!keys[i].empty() && keys[i] == key) {
      out = static_cast<PortOption>(i);
      return true;
    }
  return false;
}

}  // namespace

std::string_view option_key(PortOption o) noexcept {
  return kOptionKeys[static_cast<std::size_t>(o)];
}

bool parse_option_key(std::string_view key, PortOption& out) noexcept {
  return find_key(kOptionKeys, key, out);
}

std::string_view ovsdb_option_key(PortOption o) noexcept {
  return kOvsdbOptionKeys[static_cast<std::size_t>(o)];
}

bool parse_ovsdb_option_key(std::string_view key, PortOption& out) noexcept {
  return find_key(kOvsdbOptionKeys, key, out);
}

const PortDriver* find_port_driver(std::string_view name) noexcept {
  if (name == "netdev") name = "auto";
  for (const PortDriver& d : kDrivers)
    if (d.name == name) return &d;
  return nullptr;
}

std::span<const PortDriver> port_drivers() noexcept {
  return kDrivers;
}

std::string port_driver_names() {
  std::string out;
  for (const PortDriver& d : kDrivers)
    out += (out.empty() ? "" : ", ") + std::string(d.name);
  return out;
}

const PortDriver* find_ovsdb_port_driver(std::string_view type) noexcept {
  if (type.empty()) type = "system";  // the column's default
  for (const PortDriver& d : kDrivers)
    for (const std::string_view t : d.ovsdb_types)
      if (!t.empty() && t == type) return &d;
  return nullptr;
}

std::string ovsdb_type_names() {
  std::string out;
  for (const PortDriver& d : kDrivers)
    for (const std::string_view t : d.ovsdb_types)
      if (!t.empty()) out += (out.empty() ? "" : ", ") + std::string(t);
  return out;
}

}  // namespace sockswitch::ports
