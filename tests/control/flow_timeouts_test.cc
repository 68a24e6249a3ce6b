// tests/control/flow_timeouts_test.cc: idle_timeout and hard_timeout are carried out.
//
// Plan. Configure: containers A and B on veths pa/pb of one in-process
// switch, `actions=normal` below three timed flows on UDP from A:
// tp_dst=9 idle_timeout=2 (kept alive: A sends to it every 300 ms),
// tp_dst=10 idle_timeout=2 (never hit), tp_dst=11 hard_timeout=2 (hit all
// along). Run the expiry check (the daemon's once-a-second job) every
// 250 ms for 4.5 s while A sends. Verify: the used idle flow is still
// there, the unused one and the hard-timed one are gone, `show` counts two
// expiries, and dump-flows prints idle_age the way ovs-ofctl does.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "control/config.h"
#include "tests/control/flow_dump.h"
#include "tests/control/switch_host.h"
#include "tests/control/switch_thread.h"
#include "tests/net/require_netns.h"

namespace sockswitch::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kTimeoutsConfig = R"([[bridge]]
name = "br0"
flow = ["priority=10,actions=normal",
        "priority=500,udp,tp_dst=9,idle_timeout=2,actions=drop",
        "priority=500,udp,tp_dst=10,idle_timeout=2,actions=drop",
        "priority=500,udp,tp_dst=11,hard_timeout=2,actions=drop"]
[[bridge.port]]
name = "pa"
[[bridge.port]]
name = "pb"
)";

TEST(FlowTimeouts, AnIdleFlowInUseStaysWhileTheUnusedAndTheHardTimedOnesExpire) {
  SOCKSWITCH_REQUIRE_NETNS();
  SwitchHost host;
  Container& a = host.plug("pa", "10.66.0.1/24");
  host.plug("pb", "10.66.0.2/24");
  SwitchThread sw(host.ns(), control::parse_config(kTimeoutsConfig, "<timeouts>"));
  auto dump = [&] { return sw.call([](control::Switch& s) { return s.dump_flows("br0"); }); };
  ASSERT_NE(flow_packets(dump(), "udp,tp_dst=10"), -1) << dump();

  const auto start = std::chrono::steady_clock::now();
  std::size_t expired = 0;
  while (std::chrono::steady_clock::now() - start < 4500ms) {
    (void)a.ns->exec({"bash", "-c", "echo x >/dev/udp/10.66.0.2/9; echo x >/dev/udp/10.66.0.2/11"},
                     2s);
    expired += sw.call([](control::Switch& s) { return s.expire_flows(); });
    std::this_thread::sleep_for(250ms);
  }
  const std::string after = dump();
  EXPECT_GT(flow_packets(after, "udp,tp_dst=9"), 5) << "kept alive by traffic\n" << after;
  EXPECT_EQ(flow_packets(after, "udp,tp_dst=10"), -1) << "idle for 2 s\n" << after;
  EXPECT_EQ(flow_packets(after, "udp,tp_dst=11"), -1) << "2 s after install\n" << after;
  EXPECT_EQ(expired, 2u);
  const std::string show = sw.call([](control::Switch& s) { return s.show(); });
  EXPECT_NE(show.find("2 flows expired"), std::string::npos) << show;
  EXPECT_NE(after.find("idle_timeout=2, idle_age=0, priority=500,udp,tp_dst=9"), std::string::npos)
      << after;
}

}  // namespace
}  // namespace sockswitch::test
