// control/link_events.cc: an rtnetlink socket on the link group, drained without blocking.
#include "control/link_events.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <string>

namespace sockswitch::control {

LinkEvents::LinkEvents()
    : sock_(ports::Fd::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK, NETLINK_ROUTE,
                              "netlink (link events)")) {
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
  if (::bind(sock_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    ports::throw_errno("bind(netlink, RTMGRP_LINK|RTMGRP_IPV4_ROUTE|RTMGRP_IPV6_ROUTE)", errno);
}

LinkEvents::Changes LinkEvents::drain() noexcept {
  Changes changes;
  alignas(nlmsghdr) std::array<char, 16384> buf;
  for (;;) {
    const ssize_t n = ::recv(sock_.get(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == ENOBUFS) {
        ++changes.links;
        ++changes.routes;
        continue;
      }
      return changes;  // EAGAIN: nothing more
    }
    if (n == 0) return changes;
    auto len = static_cast<unsigned>(n);
    for (auto* h = reinterpret_cast<const nlmsghdr*>(buf.data()); NLMSG_OK(h, len);
         h = NLMSG_NEXT(h, len))
      if (h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK)
        ++changes.links;
      else if (h->nlmsg_type == RTM_NEWROUTE || h->nlmsg_type == RTM_DELROUTE)
        ++changes.routes;
  }
}

}  // namespace sockswitch::control
