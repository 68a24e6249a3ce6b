// tests/control/runtime_ports_test.cc: ports added and removed at run time, as hooks and containers
// do it.
//
// Plan. An in-process control::Switch on pcap ports (no devices, no root),
// driven through the ctl command table as the daemon's socket drives it.
// Verify, one defect each: a refused add-port leaves the switch exactly as
// it was, and later del-ports and publishes still work (under
// AddressSanitizer: no use after free); an add-port of a port already there
// with the same settings is success without change (wg-quick's PostUp runs
// under `set -e`), with other settings an error naming them; ports added
// at run time survive a reload and are marked in `show`; a number a
// removed port had is not handed to a newcomer, and comes back with its
// name; malformed ctl arguments are refused, counted, and change nothing.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "control/config.h"
#include "control/control_commands.h"
#include "control/switch.h"
#include "tests/control/broadcast_pcap.h"
#include "tests/net/command.h"

namespace sockswitch::test {
namespace {

constexpr const char* kConfig = R"([[bridge]]
name = "br"
flow = ["priority=10,actions=normal"]
[[bridge.port]]
name = "p1"
driver = "pcap"
[[bridge.port]]
name = "p2"
driver = "pcap"
)";

control::Config runtime_config() {
  return control::parse_config(kConfig, "<runtime ports>");
}

struct Ctl {
  control::Switch sw{runtime_config()};

  nlohmann::json run(std::vector<std::string> args) {
    const std::string cmd = args.front();
    args.erase(args.begin());
    return control::run_control_command(sw, {{"command", cmd}, {"args", args}}, [this] {
      sw.reload(runtime_config());
      return std::string("reloaded\n");
    });
  }
  std::string ok(std::vector<std::string> args) {
    const nlohmann::json r = run(std::move(args));
    EXPECT_TRUE(r.value("ok", false)) << r.dump();
    return r.value("output", "");
  }
  std::string refused(std::vector<std::string> args) {
    const nlohmann::json r = run(std::move(args));
    EXPECT_FALSE(r.value("ok", true)) << r.dump();
    return r.value("error", "");
  }
  std::string ports() { return sw.dump_ports("br"); }
};

using net::contains;

TEST(RuntimePorts, ARefusedAddPortChangesNothingAndLaterChangesWork) {
  Ctl c;
  c.ok({"add-port", "br", "l1", "driver=pcap", "ofport=65534"});
  const std::string before = c.ports();
  const std::string why = c.refused({"add-port", "br", "x1", "driver=pcap", "ofport=65534"});
  EXPECT_TRUE(contains(why, "65534 is already used")) << why;
  EXPECT_EQ(c.ports(), before);
  EXPECT_EQ(c.sw.rejected_requests(), 1u);
  // Publishing still works, and deleting frees only what no thread uses.
  c.ok({"del-port", "br", "p1"});
  c.ok({"add-port", "br", "x1", "driver=pcap"});
  EXPECT_FALSE(contains(c.ports(), ": p1 ("));
  EXPECT_TRUE(contains(c.ports(), ": x1 (pcap"));
  EXPECT_TRUE(contains(c.ports(), ": l1 (pcap"));
}

TEST(RuntimePorts, AddingAPortThatIsThereWithTheSameSettingsIsANoOp) {
  Ctl c;
  EXPECT_EQ(c.ok({"add-port", "br", "p1"}), "port p1 is already on br as 1; unchanged\n");
  EXPECT_EQ(c.ok({"add-port", "br", "p1", "driver=pcap", "ofport=1"}),
            "port p1 is already on br as 1; unchanged\n");
  const std::string why = c.refused({"add-port", "br", "p1", "driver=tap", "ofport=7"});
  EXPECT_TRUE(contains(why, "driver=pcap (asked: driver=tap)")) << why;
  EXPECT_TRUE(contains(why, "ofport=1 (asked: ofport=7)")) << why;
  const std::string vlan = c.refused({"add-port", "br", "p1", "tag=10"});
  EXPECT_TRUE(contains(vlan, "tag= (asked: tag=10)")) << vlan;
  c.ok(
      {"add-port", "br", "v1", "driver=pcap", "tag=10", "trunks=20,30", "vlan_mode=native-tagged"});
  EXPECT_TRUE(contains(c.ports(), "tag=10 trunks=20,30 vlan_mode=native-tagged")) << c.ports();
}

TEST(RuntimePorts, PortsAddedAtRunTimeSurviveReloadUntilDeleted) {
  Ctl c;
  c.ok({"add-port", "br", "warp0", "driver=pcap"});
  EXPECT_TRUE(contains(c.sw.show(), "warp0 up (added by ctl)")) << c.sw.show();
  c.ok({"reload"});
  EXPECT_TRUE(contains(c.sw.show(), "warp0 up (added by ctl)")) << c.sw.show();
  EXPECT_TRUE(contains(c.ports(), ": p1 (pcap"));
  c.ok({"del-port", "br", "warp0"});
  c.ok({"reload"});
  EXPECT_FALSE(contains(c.sw.show(), "warp0")) << c.sw.show();
}

TEST(RuntimePorts, ANumberIsNotHandedToANewcomerAndComesBackWithItsName) {
  Ctl c;
  EXPECT_EQ(c.ok({"add-port", "br", "warp0", "driver=pcap"}), "port warp0 added to br as 3\n");
  c.ok({"del-port", "br", "warp0"});
  EXPECT_EQ(c.ok({"add-port", "br", "veth9", "driver=pcap"}), "port veth9 added to br as 4\n");
  EXPECT_EQ(c.ok({"add-port", "br", "warp0", "driver=pcap"}), "port warp0 added to br as 3\n");
  c.ok({"del-port", "br", "p1"});  // a file's port: its number rests too
  EXPECT_EQ(c.ok({"add-port", "br", "veth10", "driver=pcap"}), "port veth10 added to br as 5\n");
}

// Waits up to 5 s for `done`.
template <class F>
bool holds_within_5s(F done) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

TEST(RuntimePorts, ADeletedPortsLearnedMacsAreForgotten) {
  // One broadcast frame from 02:00:00:00:00:01 arrives on p1: NORMAL learns it there.
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("rtports-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string frames = (dir / "p1.pcap").string();
  write_broadcast_pcap(frames);
  control::Switch sw(control::parse_config(std::string(kConfig) + "rx_pcap = \"" + frames + "\"\n",
                                           "<runtime ports>"));
  const flowtable::PortNo p2{2};
  EXPECT_TRUE(holds_within_5s([&] { return sw.learned_macs("br", p2) == 1; }));
  EXPECT_EQ(sw.del_port("br", "p2"), "port p2 removed from br\n");
  EXPECT_TRUE(holds_within_5s([&] { return sw.learned_macs("br", p2) == 0; }))
      << "NORMAL still sends 02:00:00:00:00:01 to the port that left";
  std::filesystem::remove_all(dir);
}

TEST(RuntimePorts, MalformedArgumentsAreRefusedAndCounted) {
  Ctl c;
  const std::string before = c.ports();
  EXPECT_TRUE(contains(c.refused({"del-flows", "--strict"}), "usage: del-flows"));
  EXPECT_TRUE(contains(c.refused({"trace", "--json", "br"}), "usage: trace"));
  EXPECT_TRUE(contains(c.refused({"add-port", "br", "q", "driver=pcap", "queues=65537"}),
                       "queues=65537: expected a whole number from 1 to 1024"));
  EXPECT_TRUE(contains(c.refused({"add-port", "br", "q", "driver=pcap", "ofport=4295032830"}),
                       "ofport=4295032830: expected a whole number"));
  EXPECT_TRUE(
      contains(c.refused({"add-port", "br", "q", "driver=pcap", "ofport=0x10"}), "ofport=0x10"));
  EXPECT_TRUE(contains(c.refused({"add-port", "br", "q", "driver=pcap", "mac=zz"}), "zz"));
  EXPECT_TRUE(contains(c.refused({"add-port", "br", "q", "driver=pcap", "no_flood=maybe"}),
                       "no_flood=maybe"));
  EXPECT_TRUE(contains(c.refused({"add-port", "br", "q", "driver=pcap", "mac=02:00:00:00:00:01"}),
                       "a pcap port uses its device's own address"));
  EXPECT_TRUE(contains(c.refused({"add-port", "br", "q", "driver=pcap", "tag=4096"}),
                       "tag=4096: expected a whole number from 0 to 4095"));
  EXPECT_TRUE(
      contains(c.refused({"add-port", "br", "q", "driver=pcap", "trunks=10,,20"}), "trunks="));
  EXPECT_TRUE(contains(c.refused({"add-port", "br", "q", "driver=pcap", "vlan_mode=qinq"}),
                       "vlan_mode 'qinq' is not access, trunk"));
  EXPECT_TRUE(contains(c.refused({"add-port", "br", "q", "driver=pcap", "tag=10", "trunks=20"}),
                       "port 'q': a port with a 'tag' and 'trunks' needs a 'vlan_mode'"));
  EXPECT_TRUE(contains(c.refused({"add-port", "br", "q", "driver=pcap", "proxy=10.0.0.0/8"}),
                       "'proxy' is for L3 ports (tun, wireguard, auto/af_packet"));
  EXPECT_TRUE(contains(c.refused({"add-port", "br", "q", "driver=tun", "proxy=10.0.0.0/8,x"}),
                       "proxy: 'x' is not an IP prefix"));
  // The config file's checks, word for word: an option the driver would ignore is refused.
  EXPECT_TRUE(contains(c.refused({"add-port", "br", "q", "driver=tap", "rx_pcap=/tmp/x.pcap"}),
                       "'rx_pcap' is only for pcap ports ('q' is tap)"));
  EXPECT_TRUE(contains(c.refused({"add-port", "br", "q", "driver=pcap", "queues=2"}),
                       "pcap port 'q' has one queue"));
  EXPECT_TRUE(contains(c.refused({"add-port", "br", "q", "driver=dpdk"}),
                       "dpdk port 'q' needs 'dpdk_devargs'"));
  EXPECT_TRUE(contains(c.refused({"add-port", "br", "q", "driver=warp"}), "unknown driver 'warp'"));
  EXPECT_EQ(c.sw.rejected_requests(), 18u);
  EXPECT_EQ(c.ports(), before);
  c.ok({"del-flows", "br", "--strict", "priority=10"});
}

// ovs-ofctl's mod-flows: new actions for the flows selected, cookie/mask
// narrowing, --strict for one exact flow, counters kept; no actions refused.
TEST(RuntimePorts, ModFlowsSetsTheActionsOfTheFlowsItSelects) {
  Ctl c;
  c.ok({"add-flow", "br", "priority=100,cookie=0x10,udp,tp_dst=53,actions=drop"});
  c.ok({"add-flow", "br", "priority=100,cookie=0x20,udp,tp_dst=54,actions=drop"});
  EXPECT_EQ(c.ok({"mod-flows", "br", "cookie=0x10/0xff,udp,actions=normal"}),
            "1 flows modified on br\n");
  std::string dump = c.sw.dump_flows("br");
  EXPECT_TRUE(contains(dump, "udp,tp_dst=53 actions=NORMAL")) << dump;
  EXPECT_TRUE(contains(dump, "udp,tp_dst=54 actions=drop")) << dump;
  EXPECT_EQ(c.ok({"mod-flows", "br", "--strict", "priority=100,udp,tp_dst=54,actions=output:p1"}),
            "1 flows modified on br\n");
  EXPECT_EQ(c.ok({"mod-flows", "br", "--strict", "priority=99,udp,tp_dst=54,actions=output:p2"}),
            "0 flows modified on br\n");
  dump = c.sw.dump_flows("br");
  EXPECT_TRUE(contains(dump, "udp,tp_dst=54 actions=output:p1")) << dump;
  EXPECT_TRUE(contains(c.refused({"mod-flows", "br", "udp"}), "no actions= to set"));
}

}  // namespace
}  // namespace sockswitch::test
