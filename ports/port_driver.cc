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
               .makes_ethernet = true},
    PortDriver{.name = "af_xdp", .options = bits({queues}), .max_queues = 16, .has_netdev = true},
    PortDriver{.name = "af_packet",
               .options = bits({queues, mac, proxy}),
               .has_netdev = true,
               .makes_ethernet = true,
               .shares_device = true},
    PortDriver{
        .name = "tap", .options = bits({queues, create}), .max_queues = 16, .has_netdev = true},
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
               .opens_itself = true},
    PortDriver{
        .name = "pcap", .options = bits({rx_pcap, rx_pcap_repeat, tx_pcap}), .shares_device = true},
    PortDriver{.name = "dpdk",
               .options = bits({queues, dpdk_devargs}),
               .required = bits({dpdk_devargs}),
               .max_queues = 16},
    PortDriver{.name = "wireguard",
               .options = bits({queues, mac, proxy, wg_config}),
               .required = bits({wg_config}),
               .makes_ethernet = true,
               .retunes = true},
};

constexpr std::array<std::string_view, 10> kOptionKeys{
    "queues",         "mac",     "proxy",        "create",   "peer", "rx_pcap",
    "rx_pcap_repeat", "tx_pcap", "dpdk_devargs", "wg_config"};

}  // namespace

std::string_view option_key(PortOption o) noexcept {
  return kOptionKeys[static_cast<std::size_t>(o)];
}

bool parse_option_key(std::string_view key, PortOption& out) noexcept {
  for (std::size_t i = 0; i < kOptionKeys.size(); ++i)
    if (kOptionKeys[i] == key) {
      out = static_cast<PortOption>(i);
      return true;
    }
  return false;
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

}  // namespace sockswitch::ports
