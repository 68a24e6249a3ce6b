// ports/port_driver.h: the drivers a bridge port can name, and what each one takes.
//
// One table holds everything about a driver that matters outside the
// driver itself: which of a port's options it takes and which it needs (the
// config loader and `ctl add-port` check a port against it, so both refuse
// the same things with the same words), whether it sits on a netdev of the
// port's name (the hotplug check and the database's write-back follow it),
// whether it makes up its own Ethernet side (mac, proxy), whether two of it
// can hold one device at once (a reload can open the new port before the
// old one closes) and whether new options apply to the running port.
// The row also says how the Open vSwitch database names the driver (the
// Interface types it carries out) and its options (Interface.options keys),
// so the database config source needs no list of its own. make_port()
// (port_factory.h) builds them. Adding a driver is its class, its row here
// and its case in make_port().
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace sockswitch::ports {

// The options a port may have besides those every port has (name, ofport,
// no_flood and its VLAN role).
enum class PortOption : std::uint8_t {
  queues,
  mac,
  proxy,
  create,
  peer,
  rx_pcap,
  rx_pcap_repeat,
  tx_pcap,
  dpdk_devargs,
  wg_config,
};

// The option's key, as the config file and ctl spell it.
[[nodiscard]] std::string_view option_key(PortOption o) noexcept;
// The option of that key, if it is one of these.
[[nodiscard]] bool parse_option_key(std::string_view key, PortOption& out) noexcept;
// The Open vSwitch database's Interface.options key for it ("n_rxq" for
// queues), or "" when the database has none.
[[nodiscard]] std::string_view ovsdb_option_key(PortOption o) noexcept;
[[nodiscard]] bool parse_ovsdb_option_key(std::string_view key, PortOption& out) noexcept;

struct PortDriver {
  std::string_view name;
  std::uint32_t options = 0;   // bit (1 << PortOption): the options it takes
  std::uint32_t required = 0;  // ... and those it cannot open without
  std::uint16_t max_queues = 1;
  bool has_netdev = false;      // sits on a netdev of the port's name
  bool makes_ethernet = false;  // makes up its Ethernet side: takes mac and proxy
  // Two ports of it can hold one device at once (a packet socket is one of
  // many; a patch port is a ring of its own). A pcap port shares its
  // capture unless it writes one.
  bool shares_device = false;
  bool retunes = false;       // a new file applies to the running port (wireguard)
  bool config_only = false;   // made from the config file only (patch: both sides at once)
  bool opens_itself = false;  // opened by the switch, not make_port (patch: a pair)
  bool bridge_local = false;  // the bridge's own port, OpenFlow LOCAL (internal)
  // The Interface.type values of the Open vSwitch database it carries out.
  std::array<std::string_view, 2> ovsdb_types{};

  [[nodiscard]] bool takes(PortOption o) const noexcept {
    return (options >> static_cast<unsigned>(o)) & 1U;
  }
  [[nodiscard]] bool needs(PortOption o) const noexcept {
    return (required >> static_cast<unsigned>(o)) & 1U;
  }
};

// The driver of that name ("netdev" is "auto"), or nullptr.
[[nodiscard]] const PortDriver* find_port_driver(std::string_view name) noexcept;
[[nodiscard]] std::span<const PortDriver> port_drivers() noexcept;
// "auto, af_xdp, ...": for errors that list them.
[[nodiscard]] std::string port_driver_names();
// The driver that carries out the database's Interface.type ("" and
// "system": auto), or nullptr; and the types it knows, for errors.
[[nodiscard]] const PortDriver* find_ovsdb_port_driver(std::string_view type) noexcept;
[[nodiscard]] std::string ovsdb_type_names();

}  // namespace sockswitch::ports
