// ports/port_factory.cc: driver name -> driver class, and the AF_XDP -> AF_PACKET fallback.
#include "ports/port_factory.h"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "ports/af_packet_port.h"
#include "ports/af_xdp_port.h"
#include "ports/netdev_query.h"
#include "ports/pcap_port.h"
#include "ports/tap_port.h"
#include "ports/tun_port.h"
#include "ports/wireguard/key.h"
#include "ports/wireguard_port.h"
#ifdef SOCKSWITCH_HAVE_DPDK
#include "ports/dpdk_port.h"
#endif

namespace sockswitch::ports {
namespace {

std::unique_ptr<Port> make_af_packet(const PortSpec& spec) {
  if (spec.queues != 1)
    throw std::invalid_argument("port " + spec.name + ": af_packet supports one queue");
  auto port = std::make_unique<AfPacketPort>(spec.name, AfPacketOptions{.l3_mac = spec.mac});
  // An Ethernet device has its own address: a mac would be accepted and ignored.
  if ((spec.mac || spec.l3_only) && port->ifindex() != 0 && !port->is_l3())
    throw std::invalid_argument("port " + spec.name +
                                ": mac and proxy are only for bare-IP devices (tun, WireGuard); "
                                "this one is Ethernet (its own address, its own ARP)");
  return port;
}

std::unique_ptr<Port> make_af_xdp(const PortSpec& spec) {
  // queues = 1 is PortSpec's default; AF_XDP binds every rx channel anyway,
  // so only a larger explicit count is passed on (and checked).
  return std::make_unique<AfXdpPort>(
      spec.name,
      AfXdpOptions{.pool = spec.pool, .queues = spec.queues > 1 ? spec.queues : std::uint16_t{0}});
}

std::shared_ptr<const wireguard::WgConfig> wg_config_of(const PortSpec& spec) {
  if (spec.wg_config) return spec.wg_config;
  if (spec.wg_config_file.empty()) return nullptr;
  try {
    return std::make_shared<const wireguard::WgConfig>(
        wireguard::load_wg_config(spec.wg_config_file));
  } catch (const wireguard::WgConfigError& e) {
    throw std::invalid_argument(e.what());
  }
}

}  // namespace

std::unique_ptr<Port> make_port(const PortSpec& spec) {
  if (spec.driver == "internal")  // the bridge's own device: a tap it creates
    return std::make_unique<TapPort>(spec.name, TapOptions{spec.queues, spec.create});
  if (spec.driver == "pcap")
    return std::make_unique<PcapPort>(
        spec.name, PcapPortOptions{spec.rx_pcap, spec.tx_pcap, spec.rx_pcap_repeat});
  if (spec.driver == "af_packet") return make_af_packet(spec);
  if (spec.driver == "af_xdp") return make_af_xdp(spec);
  if (spec.driver == "auto" || spec.driver == "netdev") {
    if (spec.mac || spec.l3_only) {  // only bare-IP devices take them, and those are AF_PACKET's
      PortSpec one = spec;
      one.queues = 1;
      return make_af_packet(one);
    }
    // A container's veth (any device whose senders are on this host) hands
    // over 64 KiB GSO frames, which AF_PACKET keeps whole; an XDP program
    // on it would make the kernel turn the peer's GSO off, and AF_XDP then
    // carries TCP at a quarter of the rate (bench/README.md, "GSO frames
    // kept whole"). AF_XDP stays the engine for NICs, and for a veth whose
    // config asks for several queues (AF_PACKET has one).
    if (spec.queues <= 1 && has_local_senders(spec.name)) return make_af_packet(spec);
    try {
      auto port = make_af_xdp(spec);
      if (spec.pool && spec.pool->overcommitted()) {
        // Its rings would wait for buffers that idle rings keep.
        spdlog::warn(
            "port {}: its poll thread's packet pool has no room for more AF_XDP queues at "
            "full share ({} buffers each); using AF_PACKET",
            spec.name, packet::PacketPool::kMaxLendShare);
      } else if (static_cast<const AfXdpPort&>(*port).xdp_mode() != XdpMode::generic) {
        return port;
      } else {
        // Only a native XDP program makes a veth's peer stop sending GSO
        // frames; in generic mode those arrive whole, larger than a chunk,
        // and AF_XDP cannot take them. AF_PACKET cuts them.
        spdlog::warn(
            "port {}: AF_XDP only in generic mode, which cannot take GSO frames; "
            "using AF_PACKET",
            spec.name);
      }
    } catch (const std::exception& e) {
      spdlog::warn("port {}: AF_XDP unavailable ({}); using AF_PACKET", spec.name, e.what());
    }
    PortSpec fallback = spec;
    fallback.queues = 1;  // AF_PACKET has one; the device's others still reach it
    return make_af_packet(fallback);
  }
  if (spec.driver == "tap") {
    if (spec.mac || spec.l3_only)
      throw std::invalid_argument("port " + spec.name +
                                  ": tap takes no mac or proxy (it is an Ethernet device)");
    return std::make_unique<TapPort>(spec.name, TapOptions{spec.queues, spec.create});
  }
  if (spec.driver == "tun")
    return std::make_unique<TunPort>(spec.name, TunOptions{spec.queues, spec.create, spec.mac});
  if (spec.driver == "wireguard") {
    const auto config = wg_config_of(spec);
    if (!config)
      throw std::invalid_argument("port " + spec.name + ": wireguard needs its wg-quick file");
    if (spec.queues != 1)
      throw std::invalid_argument("port " + spec.name + ": wireguard supports one queue");
    return std::make_unique<WireGuardPort>(
        spec.name, *config,
        WireGuardPortOptions{.mac = spec.mac, .uapi_directory = spec.wg_run_dir});
  }
  if (spec.driver == "dpdk") {
#ifdef SOCKSWITCH_HAVE_DPDK
    DpdkOptions options;
    options.devargs = spec.devargs;
    options.queues = spec.queues;
    return std::make_unique<DpdkPort>(spec.name, std::move(options));
#else
    throw std::invalid_argument(
        "port " + spec.name + ": driver 'dpdk' is not built in (libdpdk not found at build time)");
#endif
  }
  throw std::invalid_argument("port " + spec.name + ": unknown driver '" + spec.driver + "'");
}

void retune_port(Port& port, const PortSpec& spec) {
  auto* wg = dynamic_cast<WireGuardPort*>(&port);
  const auto config = wg_config_of(spec);
  if (wg == nullptr || !config)
    throw std::invalid_argument("port " + port.name() + " takes no new settings in place");
  wg->reconfigure(*config);
}

std::size_t resolve_port_names(Port& port) {
  auto* wg = dynamic_cast<WireGuardPort*>(&port);
  return wg == nullptr ? 0 : wg->resolve_pending_endpoints();
}

std::size_t unresolved_port_names(const Port& port) noexcept {
  const auto* wg = dynamic_cast<const WireGuardPort*>(&port);
  return wg == nullptr ? 0 : wg->pending_endpoints();
}

std::optional<std::string> wireguard_status(Port& port) {
  auto* wg = dynamic_cast<WireGuardPort*>(&port);
  if (wg == nullptr) return std::nullopt;
  return wg->show();
}

std::vector<WireGuardPeerStatus> wireguard_peers(Port& port) {
  auto* wg = dynamic_cast<WireGuardPort*>(&port);
  if (wg == nullptr) return {};
  std::vector<WireGuardPeerStatus> out;
  for (const wireguard::PeerSnapshot& p : wg->snapshot().peers)
    out.push_back(
        {wireguard::to_base64(p.public_key), p.rx_bytes, p.tx_bytes, p.last_handshake_sec});
  return out;
}

}  // namespace sockswitch::ports
