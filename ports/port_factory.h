// ports/port_factory.h: builds a port driver from its configuration.
//
// The control thread turns a configured port (name, driver, options) into
// a running Port without knowing driver classes: this file is the one place
// that does (what each driver takes is the table in port_driver.h). Patch
// ports are made by the switch itself, as pairs, and are rejected here like
// any unknown driver, so a config naming them here fails loudly instead of
// silently falling back. "wireguard" is the native WireGuard port; it takes
// its wg-quick file already parsed (the config loader reports its errors)
// or reads it (a port added by ctl).
//
// "auto" (alias "netdev") is the default engine: AF_XDP, and AF_PACKET with
// the reason logged when AF_XDP cannot attach. An explicit "af_xdp" is
// AF_XDP or an error.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "packet/mac_addr.h"
#include "packet/packet_pool.h"
#include "ports/port.h"
#include "ports/wireguard/wg_config.h"

namespace sockswitch::ports {

struct PortSpec final {
  std::string name;    // the netdev's name
  std::string driver;  // "auto" (= "netdev") | "af_xdp" | "af_packet" | "tap" | "tun" | "dpdk"
                       // | "wireguard"
  std::uint16_t queues = 1;  // tap/tun: IFF_MULTI_QUEUE when > 1; af_xdp: > 1 is checked
                             // against the device (it always binds every rx channel)
  std::optional<packet::MacAddr> mac = std::nullopt;  // L3 ports: the port's own MAC
  bool l3_only = false;  // settings only a bare-IP device takes (proxy) were given
  bool create = true;    // tap/tun: create the device (true) or attach to an existing one
  // dpdk: the ethdev, a vdev ("net_af_packet0,iface=veth0") or a PCI address.
  std::string devargs = {};
  // af_xdp / auto: the packet pool of the poll thread that will serve the
  // port (its UMEM). Without one, "auto" uses AF_PACKET.
  std::shared_ptr<packet::PacketPool> pool = nullptr;
  // wireguard: the parsed wg-quick file (or the file, read here when not
  // parsed: a port added by ctl), and where its UAPI socket goes.
  std::shared_ptr<const wireguard::WgConfig> wg_config = nullptr;
  std::string wg_config_file = {};
  std::string wg_run_dir = "/var/run/wireguard";
  // pcap: the captures to replay and to write, and how often to replay.
  std::optional<std::string> rx_pcap = std::nullopt, tx_pcap = std::nullopt;
  std::uint32_t rx_pcap_repeat = 1;
};

// Throws std::invalid_argument naming an unknown driver or an option the
// driver cannot honour, std::system_error when the device cannot be opened.
[[nodiscard]] std::unique_ptr<Port> make_port(const PortSpec& spec);

// What a running port of a driver that `retunes` (port_driver.h) takes in
// place: a wireguard port's new peers and keys. Throws
// std::invalid_argument for a port that takes nothing in place.
void retune_port(Port& port, const PortSpec& spec);

// Names a port waits to resolve (a wireguard peer's Endpoint host):
// looked up in the background, picked up here about once a second.
// Returns how many resolved; 0 for ports that have none.
std::size_t resolve_port_names(Port& port);
[[nodiscard]] std::size_t unresolved_port_names(const Port& port) noexcept;

// `wg show` for a native WireGuard port; nullopt for any other.
[[nodiscard]] std::optional<std::string> wireguard_status(Port& port);

// A native WireGuard port's peers, for metrics (no key material but the
// peer's public key).
struct WireGuardPeerStatus {
  std::string public_key;  // base64, as `wg show` prints it
  std::uint64_t rx_bytes = 0, tx_bytes = 0;
  std::int64_t last_handshake = 0;  // Unix seconds; 0: never
};
[[nodiscard]] std::vector<WireGuardPeerStatus> wireguard_peers(Port& port);

}  // namespace sockswitch::ports
