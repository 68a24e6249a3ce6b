// ports/port_factory.cc: driver name -> driver class.
#include "ports/port_factory.h"

#include <stdexcept>

#include "ports/af_packet_port.h"
#include "ports/tap_port.h"
#include "ports/tun_port.h"

namespace sockswitch::ports {

std::unique_ptr<Port> make_port(const PortSpec& spec) {
  if (spec.driver == "af_packet") {
    if (spec.queues != 1)
      throw std::invalid_argument("port " + spec.name + ": af_packet supports one queue");
    return std::make_unique<AfPacketPort>(spec.name, AfPacketOptions{.l3_mac = spec.mac});
  }
  if (spec.driver == "tap") {
    if (spec.mac)
      throw std::invalid_argument("port " + spec.name +
                                  ": tap takes no mac (set the device's own address)");
    return std::make_unique<TapPort>(spec.name, TapOptions{spec.queues, spec.create});
  }
  if (spec.driver == "tun")
    return std::make_unique<TunPort>(spec.name, TunOptions{spec.queues, spec.create, spec.mac});
  throw std::invalid_argument("port " + spec.name + ": unknown driver '" + spec.driver + "'");
}

}  // namespace sockswitch::ports
