// tests/flowtable/flow_test_ports.h: the ports the seed deployments name,
// numbered once for every flow parser and printer test.
#pragma once

#include "flowtable/port_map.h"

namespace sockswitch::flowtable::test {

inline PortMap seed_ports() {
  PortMap ports;
  int n = 1;
  for (const char* name : {"veth102", "warp0", "nm-server", "nm-privacy", "veth200", "veth201",
                           "veth202", "veth203", "veth204", "to-privacy", "from-mesh", "veth100"})
    ports.add(name, PortNo(n++));
  return ports;
}

}  // namespace sockswitch::flowtable::test
