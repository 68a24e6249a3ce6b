// tests/control/link_events_test.cc: link notifications arrive for the namespace they were opened
// in.
//
// Plan. Open LinkEvents on a thread inside a fresh namespace; make a veth
// there, flap it, delete it; verify each step is reported (drained within a
// bounded wait), and that a veth made in another namespace is not.
#include "control/link_events.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/net/command.h"
#include "tests/net/netns.h"
#include "tests/net/require_netns.h"

namespace sockswitch::test {
namespace {

using namespace std::chrono_literals;

TEST(LinkEvents, ChangesInItsNamespaceWakeItAndOthersDoNot) {
  SOCKSWITCH_REQUIRE_NETNS();
  net::NetNamespace ns, other;
  const std::string a = net::unique_link_name('e'), b = net::unique_link_name('e');
  std::thread t([&] {
    ns.enter_this_thread();
    control::LinkEvents events;
    EXPECT_EQ(events.drain().links, 0u);
    auto seen = [&](std::size_t control::LinkEvents::Changes::*what) {
      std::size_t n = 0;
      (void)net::wait_until([&] { return (n += events.drain().*what) > 0; }, 2s);
      return n;
    };
    const auto links = &control::LinkEvents::Changes::links;
    const auto routes = &control::LinkEvents::Changes::routes;
    net::run_checked(
        {"ip", "-n", other.name(), "link", "add", a, "type", "veth", "peer", "name", b});
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(events.drain().links, 0u) << "another namespace's link";
    net::run_checked({"ip", "-n", ns.name(), "link", "add", a, "type", "veth", "peer", "name", b});
    EXPECT_GT(seen(links), 0u) << "new link";
    net::run_checked({"ip", "-n", ns.name(), "link", "set", a, "up"});
    EXPECT_GT(seen(links), 0u) << "link up";
    // What the L3 ports answer ARP for follows the routes.
    net::run_checked(
        {"ip", "-n", ns.name(), "route", "add", "198.51.100.0/24", "dev", a, "table", "51820"});
    EXPECT_GT(seen(routes), 0u) << "route added";
    net::run_checked({"ip", "-n", ns.name(), "link", "del", a});
    EXPECT_GT(seen(links), 0u) << "link deleted";
  });
  t.join();
}

}  // namespace
}  // namespace sockswitch::test
