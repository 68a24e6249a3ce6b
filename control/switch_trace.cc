// control/switch_trace.cc: `ctl trace` against the running bridge.
#include <chrono>

#include "control/flow_trace.h"
#include "control/switch.h"

namespace sockswitch::control {

// The live snapshot with private copies of what a traced packet would write:
// the MAC table (filled from the poll thread's copy, so NORMAL answers as it
// would now) and the connection table (empty: a new connection).
std::string Switch::trace(const std::string& name, const std::string& packet, bool json) {
  RunningBridge& b = bridge(name);
  flowtable::PortMap ports = b.config.port_map;  // a copy: parse_flow takes it by reference
  dataplane::MacLearningTable mac(mac_config(b.config));
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::steady_clock::now().time_since_epoch());
  for (const dataplane::FdbEntry& e : mac_entries(name))
    (void)mac.learn(e.mac, e.vlan, e.port, now - e.age);
  dataplane::Conntrack conntrack(1024);
  dataplane::BridgeSnapshot snapshot = b.bridge->snapshot();
  snapshot.mac = &mac;
  snapshot.conntrack = &conntrack;
  snapshot.controller = nullptr;
  snapshot.removals.clear();
  return trace_report(snapshot, packet, ports, json);
}

}  // namespace sockswitch::control
