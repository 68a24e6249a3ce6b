// control/link_events.h: the kernel's link notifications, so hotplug acts when a device changes.
//
// A container restart deletes its veth and makes a new one; a link goes
// down and up. Polling devices once a second misses a flap inside the
// second and delays every change by up to a second. An rtnetlink socket
// subscribed to RTMGRP_LINK is told of every new, changed and deleted
// link in the network namespace it was opened in; the daemon waits on it
// (Boost.Asio) and runs the switch's hotplug check when it fires. It is also
// told of route changes (IPv4 and IPv6), which change what the L3 ports
// answer ARP for. The messages themselves are only a wake-up: the check
// reads the devices and the routing tables.
#pragma once

#include <cstddef>

#include "ports/fd.h"

namespace sockswitch::control {

class LinkEvents final {
 public:
  // Throws std::system_error when the socket cannot be opened or bound.
  LinkEvents();

  [[nodiscard]] int fd() const noexcept { return sock_.get(); }
  struct Changes {
    std::size_t links = 0;   // RTM_NEWLINK, RTM_DELLINK
    std::size_t routes = 0;  // RTM_NEWROUTE, RTM_DELROUTE
  };
  // Reads every pending message without blocking. An overrun (ENOBUFS:
  // more changes than the socket buffer held) counts as one of each: look
  // at everything.
  Changes drain() noexcept;

 private:
  ports::Fd sock_;
};

}  // namespace sockswitch::control
