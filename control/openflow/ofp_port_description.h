// control/openflow/ofp_port_description.h: a bridge's ports as OpenFlow
// describes them (FEATURES_REPLY in 1.0, PORT_DESC, PORT_STATS), and the
// bridge's datapath id.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "control/openflow/ofp_wire.h"
#include "flowtable/port_no.h"
#include "ports/port.h"

namespace sockswitch::control {
class Switch;
}

namespace sockswitch::control::openflow {

struct PortDescription {
  flowtable::PortNo no{0};
  std::string name;
  std::uint64_t mac = 0;
  bool admin_down = false;  // the device is down (OFPPC_PORT_DOWN)
  bool link_down = true;    // no carrier, or the port could not open (OFPPS_LINK_DOWN)
  std::uint32_t speed_kbps = 0;
  ports::PortCounters counters;
};

// The bridge's ports in port-number order (its LOCAL port, when it has one,
// as OFPP_LOCAL). MACs and admin state are read from the devices.
[[nodiscard]] std::vector<PortDescription> describe_ports(Switch& sw, const std::string& bridge);

// ofp_phy_port (1.0, 48 bytes) or ofp_port (1.3, 64 bytes).
void encode_port(WireWriter& w, const PortDescription& p, std::uint8_t version);
// Port statistics: 104 bytes (1.0) or 112 (1.3, with the duration).
void encode_port_stats(WireWriter& w, const PortDescription& p, std::uint8_t version);

}  // namespace sockswitch::control::openflow
