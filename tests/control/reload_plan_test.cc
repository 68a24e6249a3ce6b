// tests/control/reload_plan_test.cc: what a reload touches, decided from two configs alone.
//
// Plan. diff() on parsed configs (no switch, no devices, no root). Verify:
// a config against itself plans nothing; one setting of one bridge touches
// that bridge only; a changed wg-quick file retunes that port only, a
// changed ListenPort reopens it; one side of a patch pair changed replaces
// the pair; a bridge moved to another poll thread moves and reopens its
// ports; a port whose device cannot be held twice is reopened, one that
// can is replaced; ports that come and go, and bridges, are listed.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "control/config.h"
#include "control/reload_plan.h"

namespace sockswitch::test {
namespace {

using control::diff;
using control::PortStep;
using control::ReloadPlan;

std::string warp_file(const std::string& name, int listen_port, const char* endpoint) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("reload-plan-" + std::to_string(::getpid()) + "-" + name))
                               .string();
  std::FILE* f = std::fopen(path.c_str(), "w");
  std::fprintf(f,
               "[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n"
               "ListenPort = %d\n[Peer]\nPublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\n"
               "Endpoint = %s\nAllowedIPs = 0.0.0.0/0\n",
               listen_port, endpoint);
  std::fclose(f);
  return path;
}

struct Files {
  std::string warp = warp_file("warp.conf", 51820, "192.0.2.9:2408");
  std::string warp_new_peer = warp_file("warp-peer.conf", 51820, "192.0.2.10:2408");
  std::string warp_new_port = warp_file("warp-port.conf", 51821, "192.0.2.9:2408");
  ~Files() {
    for (const auto& f : {warp, warp_new_peer, warp_new_port})
      std::filesystem::remove(f);
  }
};

// The VPS's shape: a bridge with an AF_XDP veth, a native WireGuard port,
// a packet socket and a patch pair to a second bridge.
std::string plan_config(const std::string& warp_conf, const std::string& edits = "",
                        const std::string& threads = "") {
  return threads + R"([[bridge]]
name = "socket"
mac_aging = 300
flow = ["priority=10,actions=normal"]
[[bridge.port]]
name = "xray0"
driver = "af_xdp"
[[bridge.port]]
name = "warp0"
driver = "wireguard"
wg_config = ")" +
         warp_conf + R"("
[[bridge.port]]
name = "mon0"
driver = "af_packet"
[[bridge.port]]
name = "to-mesh"
driver = "patch"
peer = "to-socket"
)" + edits +
         R"(
[[bridge]]
name = "mesh"
flow = ["priority=10,actions=normal"]
[[bridge.port]]
name = "to-socket"
driver = "patch"
peer = "to-mesh"
[[bridge.port]]
name = "nm0"
driver = "af_xdp"
)";
}

control::Config parsed_plan_config(const std::string& text) {
  return control::parse_config(text, "<plan>");
}

PortStep step(const ReloadPlan& plan, const std::string& bridge, const std::string& port) {
  for (const auto& b : plan.bridges)
    if (b.name == bridge)
      for (const auto& p : b.ports)
        if (p.name == port) return p.step;
  ADD_FAILURE() << "no " << bridge << "/" << port << " in the plan";
  return PortStep::keep;
}

const control::BridgePlan& bridge_plan(const ReloadPlan& plan, const std::string& name) {
  for (const auto& b : plan.bridges)
    if (b.name == name) return b;
  throw std::runtime_error("no bridge " + name);
}

TEST(ReloadPlan, AConfigAgainstItselfPlansNothing) {
  Files f;
  const control::Config c = parsed_plan_config(plan_config(f.warp));
  const ReloadPlan plan = diff(c, parsed_plan_config(plan_config(f.warp)));
  EXPECT_TRUE(plan.empty()) << plan.describe();
  EXPECT_EQ(plan.describe(), "");
  // The file is still the table: flows added at run time go.
  EXPECT_TRUE(plan.sets_flows(plan.bridges[0]));
  EXPECT_FALSE(diff(c, c, control::FlowReload::when_changed).sets_flows(plan.bridges[0]));
}

TEST(ReloadPlan, MacAgingTouchesOneBridge) {
  Files f;
  const control::Config c = parsed_plan_config(plan_config(f.warp));
  std::string text = plan_config(f.warp);
  text.replace(text.find("mac_aging = 300"), 15, "mac_aging = 60");
  const ReloadPlan plan = diff(c, parsed_plan_config(text));
  EXPECT_EQ(plan.describe(), "socket: MAC table settings\n");
  EXPECT_FALSE(bridge_plan(plan, "mesh").changes());
}

TEST(ReloadPlan, ANewWgFileRetunesThatPortOnlyAndANewListenPortReopensIt) {
  Files f;
  const control::Config c = parsed_plan_config(plan_config(f.warp));
  const ReloadPlan peers = diff(c, parsed_plan_config(plan_config(f.warp_new_peer)));
  EXPECT_EQ(peers.describe(), "socket: warp0 retune\n");
  const ReloadPlan port = diff(c, parsed_plan_config(plan_config(f.warp_new_port)));
  EXPECT_EQ(port.describe(), "socket: warp0 reopen\n");
}

TEST(ReloadPlan, OneSideOfAPatchPairChangedReplacesThePair) {
  Files f;
  const control::Config c = parsed_plan_config(plan_config(f.warp));
  const ReloadPlan plan = diff(c, parsed_plan_config(plan_config(f.warp, "no_flood = true\n")));
  EXPECT_EQ(step(plan, "socket", "to-mesh"), PortStep::replace);
  EXPECT_EQ(step(plan, "mesh", "to-socket"), PortStep::replace);
  EXPECT_EQ(step(plan, "socket", "xray0"), PortStep::keep);
  EXPECT_EQ(step(plan, "mesh", "nm0"), PortStep::keep);
}

TEST(ReloadPlan, ADeviceThatCannotBeHeldTwiceIsReopenedOneThatCanIsReplaced) {
  Files f;
  const control::Config c = parsed_plan_config(plan_config(f.warp));
  std::string text = plan_config(f.warp);
  text.replace(text.find("name = \"mon0\""), 13, "name = \"mon0\"\nno_flood = true");
  text.replace(text.find("name = \"nm0\""), 12, "name = \"nm0\"\nqueues = 2");
  const ReloadPlan plan = diff(c, parsed_plan_config(text));
  EXPECT_EQ(step(plan, "socket", "mon0"), PortStep::replace);  // one more packet socket
  EXPECT_EQ(step(plan, "mesh", "nm0"), PortStep::reopen);      // one XDP program per device
  EXPECT_EQ(plan.describe(), "socket: mon0 replace\nmesh: nm0 reopen\n");
}

TEST(ReloadPlan, ABridgeMovedToAnotherPollThreadReopensItsPorts) {
  Files f;
  const std::string one = "[[poll_thread]]\nbridges = [\"socket\", \"mesh\"]\n";
  const std::string two =
      "[[poll_thread]]\nbridges = [\"socket\"]\n[[poll_thread]]\nbridges = [\"mesh\"]\n";
  const control::Config c = parsed_plan_config(plan_config(f.warp, "", one));
  const ReloadPlan plan = diff(c, parsed_plan_config(plan_config(f.warp, "", two)));
  EXPECT_TRUE(plan.thread_count_changes);
  EXPECT_FALSE(bridge_plan(plan, "socket").moves_thread);
  EXPECT_TRUE(bridge_plan(plan, "mesh").moves_thread);
  EXPECT_EQ(step(plan, "socket", "xray0"), PortStep::keep);
  EXPECT_EQ(step(plan, "mesh", "nm0"), PortStep::reopen);
  // The patch pair spans the move: one ring, both sides new.
  EXPECT_EQ(step(plan, "mesh", "to-socket"), PortStep::replace);
  EXPECT_EQ(step(plan, "socket", "to-mesh"), PortStep::replace);
}

TEST(ReloadPlan, PortsAndBridgesThatComeAndGoAreListed) {
  Files f;
  const control::Config c = parsed_plan_config(plan_config(f.warp));
  std::string text = plan_config(f.warp);
  text.replace(text.find("[[bridge.port]]\nname = \"mon0\"\ndriver = \"af_packet\"\n"),
               std::string("[[bridge.port]]\nname = \"mon0\"\ndriver = \"af_packet\"\n").size(),
               "[[bridge.port]]\nname = \"veth200\"\n");
  text += "[[bridge]]\nname = \"lab\"\n[[bridge.port]]\nname = \"mon0\"\ndriver = \"af_xdp\"\n";
  const ReloadPlan plan = diff(c, parsed_plan_config(text));
  EXPECT_EQ(bridge_plan(plan, "socket").removed, std::vector<std::string>{"mon0"});
  EXPECT_EQ(step(plan, "socket", "veth200"), PortStep::open);
  EXPECT_TRUE(bridge_plan(plan, "lab").added);
  // mon0 moves to the new bridge as AF_XDP: the packet socket closes first.
  EXPECT_EQ(step(plan, "lab", "mon0"), PortStep::reopen);
  EXPECT_TRUE(plan.bridge_set_changes());
  const ReloadPlan back = diff(parsed_plan_config(text), c);
  EXPECT_EQ(back.bridges_removed, std::vector<std::string>{"lab"});
}

TEST(ReloadPlan, PollThreadCpusAndLogLevelAreSettingsOfTheirOwn) {
  Files f;
  const std::string pinned = "[[poll_thread]]\ncpu = 0\n";
  const control::Config c = parsed_plan_config(plan_config(f.warp, "", "[[poll_thread]]\n"));
  const ReloadPlan plan =
      diff(c, parsed_plan_config("log_level = \"debug\"\n" + plan_config(f.warp, "", pinned)));
  EXPECT_EQ(plan.describe(), "poll thread 0: CPU\nlog_level\n");
  EXPECT_FALSE(plan.bridge_set_changes());
}

}  // namespace
}  // namespace sockswitch::test
