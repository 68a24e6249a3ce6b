// tests/control/fail_soft_start_test.cc: one port that cannot open does not stop the switch.
//
// Plan. Configure: a host namespace with containers A and B on veths pa/pb,
// and a device already named "tapx" (a veth), so that the tap port the
// config asks the switch to create cannot be created (TUNSETIFF refuses a
// name in use). Start: the in-process Switch must start anyway. Verify:
// `show` has tapx down with the reason, A and B ping each other through
// the switch meanwhile; once the veth is gone, the hotplug check's retry
// opens tapx (within its back-off) and the reason disappears. A bad
// setting (not a device) is refused by the config, with its place.
#include <gtest/gtest.h>

#include <string>

#include "control/config.h"
#include "tests/control/switch_host.h"
#include "tests/control/switch_thread.h"
#include "tests/net/require_netns.h"

namespace sockswitch::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kFailSoftConfig = R"([[bridge]]
name = "br0"
flow = ["actions=normal"]
[[bridge.port]]
name = "pa"
[[bridge.port]]
name = "pb"
[[bridge.port]]
name = "tapx"
driver = "tap"
)";

TEST(FailSoftStart, APortThatCannotOpenIsDownWithItsReasonAndOpensWhenItCan) {
  SOCKSWITCH_REQUIRE_NETNS();
  SwitchHost host;
  Container& a = host.plug("pa", "10.64.0.1/24");
  host.plug("pb", "10.64.0.2/24");
  net::run_checked({"ip", "-n", host.ns().name(), "link", "add", "tapx", "type", "veth", "peer",
                    "name", "tapy"});
  SwitchThread sw(host.ns(), control::parse_config(kFailSoftConfig, "<fail-soft>"));
  auto show = [&] { return sw.call([](control::Switch& s) { return s.show(); }); };
  const std::string first = show();
  EXPECT_NE(first.find("tapx down (cannot open: "), std::string::npos) << first;
  EXPECT_NE(first.find(": pa up"), std::string::npos) << first;

  const auto ping = a.ns->exec({"ping", "-c", "2", "-i", "0.2", "-W", "1", "10.64.0.2"}, 5s);
  EXPECT_TRUE(ping.ok()) << "the other ports forward meanwhile\n" << ping.output;

  net::run_checked({"ip", "-n", host.ns().name(), "link", "del", "tapx"});
  const bool opened = net::wait_until(
      [&] {
        (void)sw.call([](control::Switch& s) { return s.refresh_ports(); });
        return show().find("cannot open") == std::string::npos;
      },
      5s);
  EXPECT_TRUE(opened) << show();
  EXPECT_NE(show().find(": tapx "), std::string::npos) << show();
}

// A bad setting is the config's to refuse, with its place, before anything
// opens: it never becomes a port that is down and retried.
TEST(FailSoftStart, ABadSettingStillStopsTheStartWithItsPlace) {
  // A tap takes its device's own address: a mac would be accepted and ignored.
  try {
    (void)control::parse_config(std::string(kFailSoftConfig) + "mac = \"02:00:00:00:00:01\"\n",
                                "fail-soft.toml");
    FAIL() << "a tap with a mac was accepted";
  } catch (const control::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("fail-soft.toml:11:7: error: "), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("a tap port uses its device's own address"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW((void)control::parse_config(
                   std::string(kFailSoftConfig) + "mac = \"02:00:00:00:00\"\n", "fail-soft.toml"),
               control::ConfigError);
}

}  // namespace
}  // namespace sockswitch::test
