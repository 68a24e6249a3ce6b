// tests/control/daemon_ctl_test.cc: every `sockswitch ctl` command against the real daemon.
//
// Plan. Configure: VpsDaemon (the VPS config copied to a temp dir, `sockswitch
// run` inside a host namespace, its socket in the temp dir). Send: crafted
// frames from the containers between commands. Verify: each command's
// output, the table it leaves (dump-flows, n_packets counters that grow with
// traffic and survive replace-flows for unchanged flows), and that frames
// follow the changed table; a rejected command (bad flow) names the column
// and changes nothing.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <future>
#include <nlohmann/json.hpp>

#include "flowtable/value_text.h"
#include "tests/control/vps_daemon.h"
#include "tests/net/command.h"
#include "tests/net/require_netns.h"

namespace sockswitch::test {
namespace {

using namespace std::chrono_literals;

using net::contains;

TEST(DaemonCtl, ShowDumpFlowsWithGrowingCountersAndDumpPorts) {
  SOCKSWITCH_REQUIRE_NETNS();
  VpsDaemon v;
  const std::string show = v.daemon.ctl_ok({"show"});
  EXPECT_TRUE(contains(show, "bridge socket: 6 flows")) << show;
  // `auto` puts a veth on AF_PACKET, which keeps its senders' GSO frames
  // whole (explicit af_xdp ports are covered by the driver tests).
  for (const char* port : {"1 (auto, af_packet): nm-server up", "2 (auto, af_packet): warp0 up",
                           "3 (auto, af_packet): veth102 up"})
    EXPECT_TRUE(contains(show, port)) << show;
  EXPECT_EQ(v.packets(kWarpFlow), 0);

  DeliveryCheck check(v.host, {"veth102", "warp0", "nm-server"});
  for (int i = 0; i < 5; ++i)
    check.send("warp0", VpsDaemon::udp(v.warp, v.xray.mac(), 4000), {"veth102"}, "WARP return");
  EXPECT_EQ(check.verify(), "");
  EXPECT_TRUE(net::wait_until([&] { return v.packets(kWarpFlow) == 5; }, 2s)) << v.dump();

  const std::string ports = v.daemon.ctl_ok({"dump-ports", "socket"});
  EXPECT_TRUE(contains(ports, "port   2: warp0 (auto, link up)\n           rx pkts=5,")) << ports;
  EXPECT_TRUE(contains(ports, "veth102 (auto, link up)\n           rx pkts=0,")) << ports;
  EXPECT_TRUE(contains(ports, "tx pkts=5,")) << ports;
  const std::string help = v.daemon.ctl_ok({"help"});
  EXPECT_TRUE(contains(help, "replace-flows BRIDGE FILE")) << help;
}

TEST(DaemonCtl, AddFlowAddFlowsAndDelFlowsStrictAndNot) {
  SOCKSWITCH_REQUIRE_NETNS();
  VpsDaemon v;
  EXPECT_EQ(v.daemon.ctl_ok(
                {"add-flow", "socket", "priority=200,in_port=warp0,udp,tp_dst=7777,actions=drop"}),
            "1 flows added to socket\n");
  v.dir.write("more.flows",
              "priority=201,udp,tp_dst=7778,actions=drop\n"
              "priority=202,udp,tp_dst=7778,actions=drop\n");
  EXPECT_EQ(v.daemon.ctl_ok({"add-flows", "socket", v.dir.path("more.flows")}),
            "2 flows added to socket\n");
  EXPECT_TRUE(contains(v.daemon.ctl_ok({"show"}), "bridge socket: 9 flows"));

  // The new flow wins over in_port=warp0 and drops; other UDP still passes.
  DeliveryCheck check(v.host, {"veth102", "warp0", "nm-server"});
  check.send("warp0", VpsDaemon::udp(v.warp, v.xray.mac(), 7777), {}, "UDP 7777 (dropped)");
  check.send("warp0", VpsDaemon::udp(v.warp, v.xray.mac(), 7779), {"veth102"}, "UDP 7779");
  EXPECT_EQ(check.verify(), "");
  EXPECT_TRUE(net::wait_until(
      [&] { return v.packets("priority=200,udp,in_port=warp0,tp_dst=7777 actions=drop") == 1; },
      2s))
      << v.dump();

  // --strict: priority and match exactly; only one of the two 7778 flows.
  EXPECT_EQ(v.daemon.ctl_ok({"del-flows", "socket", "priority=201,udp,tp_dst=7778", "--strict"}),
            "1 flows deleted from socket\n");
  EXPECT_EQ(v.packets("priority=201,udp,tp_dst=7778"), -1);
  EXPECT_GE(v.packets("priority=202,udp,tp_dst=7778"), 0);
  // Strict with a match no flow has exactly: nothing.
  EXPECT_EQ(v.daemon.ctl_ok({"del-flows", "socket", "udp", "--strict"}),
            "0 flows deleted from socket\n");
  // Not strict: every flow at least as specific as `udp`, whatever priority.
  EXPECT_EQ(v.daemon.ctl_ok({"del-flows", "socket", "udp"}), "2 flows deleted from socket\n");
  const std::string dump = v.dump();
  EXPECT_FALSE(contains(dump, "udp")) << dump;
  EXPECT_TRUE(contains(v.daemon.ctl_ok({"show"}), "bridge socket: 6 flows"));
  // Without a flow: everything.
  EXPECT_EQ(v.daemon.ctl_ok({"del-flows", "socket"}), "6 flows deleted from socket\n");
  EXPECT_EQ(v.dump(), "");
}

TEST(DaemonCtl, ReplaceFlowsKeepsCountersOfUnchangedFlows) {
  SOCKSWITCH_REQUIRE_NETNS();
  VpsDaemon v;
  DeliveryCheck check(v.host, {"veth102", "warp0", "nm-server"});
  for (int i = 0; i < 3; ++i)
    check.send("warp0", VpsDaemon::udp(v.warp, v.xray.mac(), 4000), {"veth102"}, "WARP return");
  EXPECT_EQ(check.verify(), "");
  ASSERT_TRUE(net::wait_until([&] { return v.packets(kWarpFlow) == 3; }, 2s)) << v.dump();

  // The shipped table without the 8443 flow, plus one new flow.
  std::string flows = v.dir.read("vps-socket.flows");
  const std::string gone = "priority=100,tcp,tp_dst=8443,actions=output:veth102\n";
  ASSERT_NE(flows.find(gone), std::string::npos);
  flows.erase(flows.find(gone), gone.size());
  flows += "priority=50,udp,tp_dst=9999,actions=drop\n";
  v.dir.write("replaced.flows", flows);
  EXPECT_EQ(v.daemon.ctl_ok({"replace-flows", "socket", v.dir.path("replaced.flows")}),
            "socket now has 6 flows\n");
  const std::string dump = v.dump();
  EXPECT_EQ(flow_packets(dump, kWarpFlow), 3) << dump;
  EXPECT_EQ(flow_packets(dump, "udp,tp_dst=9999 actions=drop"), 0) << dump;
  EXPECT_EQ(flow_packets(dump, "tp_dst=8443"), -1) << dump;
}

TEST(DaemonCtl, BadFlowIsRejectedWithItsColumnAndChangesNothing) {
  SOCKSWITCH_REQUIRE_NETNS();
  VpsDaemon v;
  const std::string before = without_durations(v.dump());
  const net::CommandResult r =
      v.daemon.ctl({"add-flow", "socket", "priority=5,tcp,tp_dst=99999,actions=drop"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  // The bad field, tp_dst=99999, starts at column 16 of the line.
  EXPECT_TRUE(contains(r.output, "<add-flow>:1:16")) << r.output;
  const net::CommandResult r2 =
      v.daemon.ctl({"add-flow", "socket", "priority=5,udp,actions=output:nosuchport"});
  EXPECT_EQ(r2.exit_code, 1) << r2.output;
  EXPECT_TRUE(contains(r2.output, "<add-flow>:1:")) << r2.output;
  EXPECT_EQ(without_durations(v.dump()), before);
  // A request the table does not know is refused, and the daemon lives on.
  EXPECT_EQ(v.daemon.ctl({"no-such-command"}).exit_code, 1);
  EXPECT_EQ(v.daemon.ctl({"dump-flows"}).exit_code, 1);
  EXPECT_EQ(v.daemon.ctl({"dump-flows", "nosuchbridge"}).exit_code, 1);
  EXPECT_EQ(without_durations(v.dump()), before);
}

TEST(DaemonCtl, TraceJsonShowsTheLatentHttpsReflection) {
  SOCKSWITCH_REQUIRE_NETNS();
  VpsDaemon v;
  const std::string out =
      v.daemon.ctl_ok({"trace", "socket", "in_port=veth102,tcp,tp_dst=443", "--json"});
  const nlohmann::json j = nlohmann::json::parse(out);
  EXPECT_EQ(j["priority"], 100) << out;
  EXPECT_EQ(j["match"], "tcp,tp_dst=443") << out;
  EXPECT_EQ(j["actions"][0], "output:veth102") << out;
  // The verdict is the executor's: the output is to the ingress port.
  EXPECT_TRUE(contains(j["verdict"].get<std::string>(), "drop: drop.reflect")) << out;
  EXPECT_EQ(j["tied_with"][0], "priority=100,in_port=veth102 actions=output:warp0") << out;
  const std::string text = v.daemon.ctl_ok({"trace", "socket", "in_port=veth102,udp"});
  EXPECT_TRUE(contains(text, "verdict: output:warp0\n")) << text;
}

// ctl trace starts from the live MAC table: once Netmaker's address is
// learned, NORMAL says where it lives instead of flooding; and a trace
// learns nothing into the live table.
TEST(DaemonCtl, TraceAnswersFromTheLiveMacTable) {
  SOCKSWITCH_REQUIRE_NETNS();
  VpsDaemon v;
  const std::string to_nm = fmt::format("in_port=nm-server,udp,dl_src=02:bb:00:00:00:01,dl_dst={}",
                                        flowtable::format_mac(v.nm.mac()));
  const std::string unknown =
      "in_port=nm-server,udp,dl_src=02:bb:00:00:00:01,dl_dst=02:aa:00:00:00:01";
  const std::string flooded = v.daemon.ctl_ok({"trace", "socket", unknown});
  EXPECT_TRUE(contains(flooded, "NORMAL: flood")) << flooded;
  EXPECT_TRUE(contains(flooded, "=> warp0: ") && contains(flooded, "=> veth102: ")) << flooded;
  {
    DeliveryCheck check(v.host, {"veth102", "warp0", "nm-server"});
    check.send("nm-server", VpsDaemon::udp(v.nm, kBroadcast, 51821), {"veth102", "warp0"},
               "Netmaker broadcast (NORMAL learns its source)");
    EXPECT_EQ(check.verify(), "");
  }
  const std::string learned = v.daemon.ctl_ok({"trace", "socket", to_nm});
  EXPECT_TRUE(contains(learned, "NORMAL: learned on \"nm-server\"")) << learned;
  EXPECT_TRUE(contains(learned, "verdict: drop: drop.reflect")) << learned;
  const std::string fdb = v.daemon.ctl_ok({"fdb-show", "socket"});
  EXPECT_TRUE(contains(fdb, flowtable::format_mac(v.nm.mac()))) << fdb;
  EXPECT_FALSE(contains(fdb, "02:bb:00:00:00:01")) << fdb;
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

// ctl trace --live: the next real packets that match are traced while the
// switch forwards them as usual (delivered, counted), and a trace that sees
// nothing ends at its timeout, says so, and leaves the bridge free.
TEST(DaemonCtl, LiveTraceRecordsRealPacketsAsTheyAreForwarded) {
  SOCKSWITCH_REQUIRE_NETNS();
  VpsDaemon v;
  auto traced = std::async(std::launch::async, [&] {
    return v.daemon.ctl({"trace", "--live", "socket", "in_port=nm-server,udp,tp_dst=51821", "-c",
                         "2", "--timeout", "4"});
  });
  DeliveryCheck check(v.host, {"veth102", "warp0", "nm-server"});
  int sent = 0;
  while (traced.wait_for(200ms) != std::future_status::ready && sent < 20)
    check.send("nm-server", VpsDaemon::udp(v.nm, kBroadcast, 51821), {"veth102", "warp0"},
               "Netmaker broadcast " + std::to_string(++sent));
  const net::CommandResult r = traced.get();
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_EQ(check.verify(), "");
  EXPECT_TRUE(contains(r.output, "--- packet 1 of 2\n")) << r.output;
  EXPECT_TRUE(contains(r.output, "--- packet 2 of 2\n")) << r.output;
  EXPECT_EQ(occurrences(r.output, "=> veth102: udp,"), 2u) << r.output;
  EXPECT_EQ(occurrences(r.output, "=> warp0: udp,"), 2u) << r.output;
  EXPECT_EQ(occurrences(r.output, "verdict: output:"), 2u) << r.output;
  // Traced packets count in their flow like every other.
  EXPECT_EQ(v.packets("priority=80"), sent) << v.dump();

  const net::CommandResult none = v.daemon.ctl(
      {"trace", "--live", "socket", "in_port=nm-server,udp,tp_dst=7", "--timeout", "1", "--json"});
  EXPECT_EQ(none.exit_code, 1) << none.output;
  EXPECT_TRUE(contains(none.output, "0 of 1 packets matched within 1 s")) << none.output;
  EXPECT_TRUE(contains(none.output, R"({"packets":[]})")) << none.output;
  // A refused request changes nothing: a bad match, a count out of range.
  EXPECT_EQ(v.daemon.ctl({"trace", "--live", "socket", "in_port=nm-server,tp_dst=7"}).exit_code, 1);
  EXPECT_EQ(v.daemon.ctl({"trace", "--live", "socket", "udp", "-c", "101"}).exit_code, 1);
  EXPECT_EQ(v.daemon.ctl({"trace-live-read", "99"}).exit_code, 1);
  DeliveryCheck after(v.host, {"veth102", "warp0", "nm-server"});
  after.send("nm-server", VpsDaemon::udp(v.nm, kBroadcast, 51821), {"veth102", "warp0"},
             "Netmaker broadcast after the traces");
  EXPECT_EQ(after.verify(), "");
}

TEST(DaemonCtl, AddPortBeforeItsDeviceExistsThenHotplugAndDelPort) {
  SOCKSWITCH_REQUIRE_NETNS();
  VpsDaemon v;
  EXPECT_EQ(v.daemon.ctl_ok({"add-port", "socket", "veth9"}), "port veth9 added to socket as 4\n");
  EXPECT_TRUE(contains(v.daemon.ctl_ok({"show"}), ": veth9 down"));

  // The device appears: the daemon's once-a-second check brings the port up.
  Container& late = v.host.plug("veth9", "10.2.0.9/24");
  EXPECT_TRUE(net::wait_until(
      [&] { return contains(v.daemon.ctl_ok({"show"}), "(auto, af_packet): veth9 up"); }, 5s))
      << v.daemon.ctl_ok({"show"});
  {
    DeliveryCheck check(v.host, {"veth102", "warp0", "nm-server", "veth9"});
    check.send("nm-server", VpsDaemon::udp(v.nm, kBroadcast, 51821), {"veth102", "warp0", "veth9"},
               "Netmaker broadcast reaches the new port");
    check.send("veth9", VpsDaemon::udp(late, kBroadcast, 53), {"veth102", "warp0", "nm-server"},
               "the new port's broadcast (NORMAL)");
    EXPECT_EQ(check.verify(), "");
  }
  const std::string ports = v.daemon.ctl_ok({"dump-ports", "socket"});
  EXPECT_TRUE(contains(ports, "veth9 (auto, link up)\n           rx pkts=1,")) << ports;

  EXPECT_EQ(v.daemon.ctl_ok({"del-port", "socket", "veth9"}), "port veth9 removed from socket\n");
  EXPECT_FALSE(contains(v.daemon.ctl_ok({"show"}), "veth9"));
  DeliveryCheck check(v.host, {"veth102", "warp0", "nm-server", "veth9"});
  check.send("nm-server", VpsDaemon::udp(v.nm, kBroadcast, 51821), {"veth102", "warp0"},
             "Netmaker broadcast after del-port");
  EXPECT_EQ(check.verify(), "");
  EXPECT_EQ(v.daemon.ctl({"del-port", "socket", "veth9"}).exit_code, 1);
}

// A second daemon on the same control socket would unlink the first's
// socket and attach to the same devices: it must exit and say why, and the
// first goes on answering.
TEST(DaemonCtl, ASecondDaemonOnTheSameSocketExitsAndTheFirstKeepsAnswering) {
  SOCKSWITCH_REQUIRE_NETNS();
  VpsDaemon v;
  const net::CommandResult second = net::run_command(
      {"ip", "netns", "exec", v.host.ns().name(), SOCKSWITCH_BINARY, "run", "--config",
       v.dir.path("vps.toml"), "--control-socket", v.daemon.socket_path()},
      10s);
  EXPECT_NE(second.exit_code, 0);
  EXPECT_TRUE(contains(second.output, "another sockswitch daemon is running")) << second.output;
  EXPECT_TRUE(contains(v.daemon.ctl_ok({"show"}), "bridge socket: 6 flows"));
}

// The seed's wg-quick PostUp on a port the file already lists: success, no change.
TEST(DaemonCtl, PostUpAddPortOfAPortTheFileListsSucceeds) {
  SOCKSWITCH_REQUIRE_NETNS();
  VpsDaemon v;
  EXPECT_EQ(v.daemon.ctl_ok({"add-port", "socket", "warp0"}),
            "port warp0 is already on socket as 2; unchanged\n");
  const net::CommandResult other = v.daemon.ctl({"add-port", "socket", "warp0", "driver=tap"});
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_TRUE(contains(other.output, "driver=auto (asked: driver=tap)")) << other.output;
}

}  // namespace
}  // namespace sockswitch::test
