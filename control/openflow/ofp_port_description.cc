// control/openflow/ofp_port_description.cc: ports as OpenFlow describes them.
#include "control/openflow/ofp_port_description.h"

#include <net/if.h>

#include <algorithm>

#include "control/openflow/ofp_match.h"
#include "control/switch.h"
#include "ports/netdev_query.h"

namespace sockswitch::control::openflow {

std::vector<PortDescription> describe_ports(Switch& sw, const std::string& bridge) {
  std::vector<PortDescription> out;
  for (const Switch::PortStatus& s : sw.port_statuses(bridge)) {
    PortDescription d;
    d.no = s.ofport;
    d.name = s.name;
    d.link_down = !s.open || !s.link_up;
    d.counters = s.counters;
    if (driver_has_netdev(s.driver)) {
      try {
        if (const auto dev = ports::query_netdev(s.name)) {
          d.mac = dev->mac.bits;
          d.admin_down = (dev->flags & IFF_UP) == 0;
        }
      } catch (const std::exception&) {
        // A name the kernel refuses has no device to describe.
      }
    }
    out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end(), [](const PortDescription& a, const PortDescription& b) {
    return flowtable::to_u32(a.no) < flowtable::to_u32(b.no);
  });
  return out;
}

void encode_port(WireWriter& w, const PortDescription& p, std::uint8_t version) {
  const std::uint32_t config = p.admin_down ? 1 : 0;  // OFPPC_PORT_DOWN
  const std::uint32_t state =
      p.link_down ? 1 : (version == kVersion10 ? 0 : 4);  // LINK_DOWN / LIVE
  if (version == kVersion10) {
    w.u16(port_to_wire(p.no, version));
    w.be(p.mac, 6);
    w.text(p.name, 16);
    w.u32(config);
    w.u32(state);
    w.zeros(16);  // curr, advertised, supported, peer: no PHY to describe
    return;
  }
  w.u32(port_to_wire(p.no, version));
  w.zeros(4);
  w.be(p.mac, 6);
  w.zeros(2);
  w.text(p.name, 16);
  w.u32(config);
  w.u32(state);
  w.zeros(16);
  w.u32(p.speed_kbps);  // curr_speed
  w.u32(p.speed_kbps);  // max_speed
}

void encode_port_stats(WireWriter& w, const PortDescription& p, std::uint8_t version) {
  const ports::PortCounters& c = p.counters;
  if (version == kVersion10) {
    w.u16(port_to_wire(p.no, version));
    w.zeros(6);
  } else {
    w.u32(port_to_wire(p.no, version));
    w.zeros(4);
  }
  w.u64(c.rx_packets);
  w.u64(c.tx_packets);
  w.u64(c.rx_bytes);
  w.u64(c.tx_bytes);
  w.u64(c.rx_dropped);
  w.u64(c.tx_dropped);
  w.u64(c.rx_errors);
  w.u64(c.tx_errors);
  // rx_frame_err, rx_over_err, rx_crc_err, collisions: no PHY counts them.
  // OpenFlow's "unavailable" is all ones.
  for (int i = 0; i < 4; ++i)
    w.u64(~std::uint64_t{0});
  if (version != kVersion10) {
    w.u32(0xffffffff);  // duration_sec: unavailable
    w.u32(0xffffffff);
  }
}

}  // namespace sockswitch::control::openflow
