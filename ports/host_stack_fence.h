// ports/host_stack_fence.h: keeps a port's incoming frames from the host's own stack.
//
// An AF_PACKET socket is a tap: the device's frames reach it and then go on
// into the host's stack as well. On a switch port that is wrong: the host
// would answer a container's ARP for any of its addresses from the veth
// (the container then sends its traffic past the switch, and its flows,
// straight into the host's routing), take its broadcasts (a host DHCP
// server bound to every interface), and spend a receive path on every
// frame. Open vSwitch's kernel datapath and an XDP redirect both take the
// frame for good; so does this: a tcx ingress program that drops every
// frame, which the kernel runs after the packet taps have had their copy:
//
//   r0 = TCX_DROP
//   exit
//
// Attached as a BPF link, so it goes with this object or with the process
// (kill -9 included) and leaves the device as it found it. tcx needs
// Linux 6.6; an older kernel refuses the link, the constructor throws, and
// the port runs without the fence (the caller logs it, `show` says it).
#pragma once

#include <string>

#include "ports/fd.h"

namespace sockswitch::ports {

class HostStackFence final {
 public:
  // Loads the program and links it to the ingress of `ifindex`. Throws
  // std::system_error naming the bpf call and the device.
  HostStackFence(const std::string& device, int ifindex);

  static constexpr const char* kProgramName = "sockswitch_fence";

 private:
  Fd prog_;
  Fd link_;  // the attachment: closing it detaches the program
};

}  // namespace sockswitch::ports
