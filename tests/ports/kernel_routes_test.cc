// tests/ports/kernel_routes_test.cc: the routing tables as an L3 port's claims read them.
//
// Plan: a fresh namespace with a veth end holding 10.77.0.1/24 (a connected
// route), a route in a table of its own (as wg-quick puts its default route
// in table 51820), a multipath route over two devices and a blackhole.
// read_kernel_routes() there must list the unicast routes with their
// devices, every table included, each next hop of the multipath route, and
// never the blackhole or the local/broadcast routes.
#include "ports/kernel_routes.h"

#include <gtest/gtest.h>
#include <net/if.h>

#include <algorithm>

#include "tests/net/in_namespace.h"
#include "tests/net/netns.h"
#include "tests/net/require_netns.h"

namespace sockswitch::ports {
namespace {

using test::net::NetNamespace;

TEST(KernelRoutes, EveryTableEveryNextHopOnlyUnicast) {
  SOCKSWITCH_REQUIRE_NETNS();
  NetNamespace ns;
  const std::string a = test::net::unique_link_name('r'), b = test::net::unique_link_name('r');
  ns.exec_checked({"ip", "link", "add", a, "type", "veth", "peer", "name", b});
  for (const std::string& d : {a, b})
    ns.exec_checked({"ip", "link", "set", d, "up"});
  ns.exec_checked({"ip", "addr", "add", "10.77.0.1/24", "dev", a});
  ns.exec_checked({"ip", "addr", "add", "10.78.0.1/24", "dev", b});
  ns.exec_checked({"ip", "route", "add", "default", "dev", a, "table", "51820"});
  ns.exec_checked({"ip", "route", "add", "198.51.100.0/24", "nexthop", "via", "10.77.0.2",
                   "nexthop", "via", "10.78.0.2"});
  ns.exec_checked({"ip", "route", "add", "blackhole", "203.0.113.0/24"});

  struct Seen {
    std::vector<KernelRoute> routes;
    int a = 0, b = 0;
  };
  const Seen seen = test::net::in_namespace(ns, [&] {
    return Seen{read_kernel_routes(), static_cast<int>(::if_nametoindex(a.c_str())),
                static_cast<int>(::if_nametoindex(b.c_str()))};
  });
  auto has = [&](const char* prefix, int device) {
    return std::any_of(seen.routes.begin(), seen.routes.end(), [&](const KernelRoute& r) {
      return r.destination == *ClaimPrefix::parse(prefix) && r.device == device;
    });
  };
  EXPECT_TRUE(has("10.77.0.0/24", seen.a));
  EXPECT_TRUE(has("0.0.0.0/0", seen.a)) << "table 51820";
  EXPECT_TRUE(has("198.51.100.0/24", seen.a)) << "first next hop";
  EXPECT_TRUE(has("198.51.100.0/24", seen.b)) << "second next hop";
  for (const KernelRoute& r : seen.routes) {
    EXPECT_NE(r.destination, *ClaimPrefix::parse("203.0.113.0/24")) << "blackhole";
    EXPECT_NE(r.destination, *ClaimPrefix::parse("10.77.0.1/32")) << "local";
  }
}

}  // namespace
}  // namespace sockswitch::ports
