// tests/control/openflow_ofctl_test.cc: the real ovs-ofctl (Debian's
// openvswitch-common) driving the running VPS daemon over OpenFlow.
//
// Plan. Configure: VpsDaemon (configs/vps.toml and the seed's flows, veth
// containers veth102 = Xray, warp0, nm-server; the daemon runs with
// OVS_RUNDIR in its temp dir, so its management socket is
// DIR/socket.mgmt). Drive: `ovs-ofctl [--names] [-O OpenFlow13] CMD
// unix:DIR/socket.mgmt ...` exactly as a user types it (no sockswitch
// flags), and a bare client for what ovs-ofctl refuses to send. Verify:
// show, dump-flows and dump-ports agree with `sockswitch ctl`; a flow added
// over the wire carries real frames (the seed bug fixed live) and
// del-flows --strict undoes it; replace-flows/diff-flows agree with the seed
// file; a flow mod without its prerequisite gets OFPBMC_BAD_PREREQ in both
// versions and changes nothing, and ordinary requests work after it; a
// ptcp: listener follows the config across reloads.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <thread>

#include "tests/control/openflow_client.h"
#include "tests/control/vps_daemon.h"
#include "tests/net/require_netns.h"

namespace sockswitch::test {
namespace {

using namespace std::chrono_literals;
using dataplane::test::FrameBuilder;

constexpr std::uint64_t kNobodysMac = 0x02005e000001;
constexpr std::uint8_t kTcpSyn = 0x02;

net::CommandResult ofctl(const VpsDaemon& v, const std::vector<std::string>& args,
                         const std::string& protocol = "") {
  std::vector<std::string> argv{"ovs-ofctl", "--names"};
  if (!protocol.empty()) argv.insert(argv.end(), {"-O", protocol});
  argv.push_back(args.at(0));
  argv.push_back(v.daemon.openflow_target("socket"));
  argv.insert(argv.end(), args.begin() + 1, args.end());
  return net::run_command(argv, 10s);
}

std::string ofctl_ok(const VpsDaemon& v, const std::vector<std::string>& args,
                     const std::string& protocol = "") {
  const net::CommandResult r = ofctl(v, args, protocol);
  if (!r.ok()) ADD_FAILURE() << "ovs-ofctl " << args.at(0) << ": " << r.output;
  return r.output;
}

// Removes every "KEY=...s, " / "KEY=N, " of the given key from `line`.
std::string without(std::string line, const std::string& key) {
  for (std::size_t at; (at = line.find(key + "=")) != std::string::npos;) {
    const std::size_t end = line.find(", ", at);
    if (end == std::string::npos) break;
    line.erase(at, end + 2 - at);
  }
  return line;
}

// A flow dump without what changes from one dump to the next (durations,
// idle ages) and without the reply header ovs-ofctl prints in some modes.
std::string comparable(const std::string& dump) {
  std::string out;
  std::size_t at = 0;
  while (at < dump.size()) {
    std::size_t end = dump.find('\n', at);
    if (end == std::string::npos) end = dump.size();
    const std::string line = dump.substr(at, end - at);
    at = end + 1;
    if (line.empty() || line.starts_with("NXST_") || line.starts_with("OFPST_")) continue;
    out += without(without(line, "duration"), "idle_age") + "\n";
  }
  return out;
}

std::vector<std::uint8_t> xray_tcp(const Container& xray, std::uint16_t dport) {
  return FrameBuilder()
      .eth(kNobodysMac, xray.mac(), 0x0800)
      .ipv4(ip_header(6, ipv4(xray.address), ipv4("93.184.216.34")))
      .tcp(40000, dport, kTcpSyn)
      .build();
}

std::string device_mac(const VpsDaemon& v, const std::string& dev) {
  const net::CommandResult r = net::run_command(
      {"ip", "netns", "exec", v.host.ns().name(), "cat", "/sys/class/net/" + dev + "/address"}, 5s);
  return r.output.substr(0, r.output.find('\n'));
}

// "N" of "port   N: NAME (" in ctl dump-ports.
std::string ofport(const VpsDaemon& v, const std::string& name) {
  const std::string dump = v.daemon.ctl_ok({"dump-ports", "socket"});
  const std::size_t at = dump.find(": " + name + " (");
  if (at == std::string::npos) return "?";
  std::size_t from = at;
  while (from > 0 && dump[from - 1] >= '0' && dump[from - 1] <= '9')
    --from;
  return dump.substr(from, at - from);
}

// The number after "KEY=" at or after `from`.
long long number_after(const std::string& text, const std::string& key, std::size_t from) {
  const std::size_t at = text.find(key + "=", from);
  return at == std::string::npos ? -1 : std::stoll(text.substr(at + key.size() + 1));
}

// rx and tx packets per port name, from ovs-ofctl --names dump-ports
// ("  port  veth102: rx pkts=...\n           tx pkts=...") or from ctl
// dump-ports ("  port   3: veth102 (af_xdp, link up)\n  rx pkts=...").
std::map<std::string, std::pair<long long, long long>> port_packets(const std::string& dump,
                                                                    bool ofctl_format) {
  std::map<std::string, std::pair<long long, long long>> out;
  for (std::size_t at = dump.find("port "); at != std::string::npos;
       at = dump.find("port ", at + 1)) {
    std::size_t name_at = dump.find_first_not_of(' ', at + 5);
    if (!ofctl_format) name_at = dump.find(": ", name_at) + 2;
    const std::size_t name_end = ofctl_format ? dump.find(':', name_at) : dump.find(' ', name_at);
    if (name_at == std::string::npos || name_end == std::string::npos) break;
    std::string name = dump.substr(name_at, name_end - name_at);
    if (name.size() > 1 && name.front() == '"') name = name.substr(1, name.size() - 2);
    if (name == "LOCAL" || name.find('\n') != std::string::npos) continue;
    out[name] = {number_after(dump, "rx pkts", name_end), number_after(dump, "tx pkts", name_end)};
  }
  return out;
}

TEST(OpenFlowChannel, OvsOfctlShowListsThePortsWithNumbersNamesMacsAndLinkState) {
  SOCKSWITCH_REQUIRE_NETNS();
  VpsDaemon v;
  for (const std::string protocol : {"", "OpenFlow13"}) {
    const std::string show = ofctl_ok(v, {"show"}, protocol);
    for (const std::string name : {"veth102", "warp0", "nm-server"}) {
      const std::string line =
          fmt::format(" {}({}): addr:{}\n", ofport(v, name), name, device_mac(v, name));
      const std::size_t at = show.find(line);
      ASSERT_NE(at, std::string::npos) << protocol << ": no '" << line << "' in\n" << show;
      const std::string state = show.substr(show.find("state:", at), 40);
      EXPECT_EQ(state.find("LINK_DOWN"), std::string::npos) << name << ": " << state;
    }
    EXPECT_NE(show.find("n_tables:255"), std::string::npos) << show;
  }
}

TEST(OpenFlowChannel, DumpFlowsEqualsCtlDumpFlowsLineForLineWithCounters) {
  SOCKSWITCH_REQUIRE_NETNS();
  VpsDaemon v;
  DeliveryCheck check(v.host, {"veth102", "warp0", "nm-server"});
  for (int i = 0; i < 3; ++i)
    check.send("warp0", VpsDaemon::udp(v.warp, v.xray.mac(), 4000), {"veth102"}, "WARP return");
  ASSERT_EQ(check.verify(), "");
  ASSERT_TRUE(net::wait_until([&] { return v.packets(kWarpFlow) >= 3; }, 3s)) << v.dump();
  for (const std::string protocol : {"", "OpenFlow13"}) {
    std::string ours, theirs;
    // Counters move with stray kernel traffic (IPv6 ND): compare a pair
    // of dumps taken with nothing in between.
    for (int attempt = 0; attempt < 5 && (ours.empty() || ours != theirs); ++attempt) {
      theirs = comparable(ofctl_ok(v, {"dump-flows"}, protocol));
      ours = comparable(v.dump());
    }
    EXPECT_EQ(theirs, ours) << "protocol " << (protocol.empty() ? "default" : protocol);
    EXPECT_NE(theirs.find("n_packets=3, n_bytes="), std::string::npos) << theirs;
  }
}

TEST(OpenFlowChannel, AddFlowFixesTheSeedBugLiveAndDelFlowsStrictUndoesIt) {
  SOCKSWITCH_REQUIRE_NETNS();
  VpsDaemon v;
  {
    DeliveryCheck check(v.host, {"veth102", "warp0", "nm-server"});
    check.send("veth102", xray_tcp(v.xray, 443), {}, "Xray HTTPS out (the seed bug: reflected)");
    EXPECT_EQ(check.verify(), "");
  }
  ofctl_ok(v, {"add-flow", "priority=110,in_port=veth102,actions=output:warp0"});
  EXPECT_NE(v.dump().find("priority=110,in_port=veth102 actions=output:warp0"), std::string::npos)
      << v.dump();
  {
    DeliveryCheck check(v.host, {"veth102", "warp0", "nm-server"});
    check.send("veth102", xray_tcp(v.xray, 443), {"warp0"}, "Xray HTTPS out after add-flow");
    EXPECT_EQ(check.verify(), "");
  }
  ofctl_ok(v, {"del-flows", "--strict", "priority=110,in_port=veth102"});
  EXPECT_EQ(v.dump().find("priority=110"), std::string::npos) << v.dump();
  {
    DeliveryCheck check(v.host, {"veth102", "warp0", "nm-server"});
    check.send("veth102", xray_tcp(v.xray, 443), {}, "Xray HTTPS out after del-flows");
    EXPECT_EQ(check.verify(), "");
  }
}

TEST(OpenFlowChannel, ReplaceFlowsAndDiffFlowsAgreeWithTheSeedFile) {
  SOCKSWITCH_REQUIRE_NETNS();
  VpsDaemon v;
  const std::string seed = v.dir.path("vps-socket.flows");
  for (const std::string protocol : {"", "OpenFlow13"}) {
    ofctl_ok(v, {"add-flow", "table=2,priority=7,udp,tp_dst=9,actions=drop"}, protocol);
    ofctl_ok(v, {"del-flows", "--strict", "priority=80,in_port=nm-server"}, protocol);
    const net::CommandResult differs = ofctl(v, {"diff-flows", seed}, protocol);
    EXPECT_FALSE(differs.ok()) << "diff-flows saw no difference:\n" << differs.output;
    EXPECT_NE(differs.output.find("udp,tp_dst=9"), std::string::npos) << differs.output;
    ofctl_ok(v, {"replace-flows", seed}, protocol);
    const net::CommandResult same = ofctl(v, {"diff-flows", seed}, protocol);
    EXPECT_TRUE(same.ok() && same.output.empty()) << same.output;
    EXPECT_EQ(v.dump().find("tp_dst=9"), std::string::npos) << v.dump();
    EXPECT_NE(v.dump().find("priority=80,in_port=\"nm-server\" actions=NORMAL"), std::string::npos)
        << v.dump();
  }
}

TEST(OpenFlowChannel, DumpPortsCountsEqualCtlDumpPorts) {
  SOCKSWITCH_REQUIRE_NETNS();
  VpsDaemon v;
  DeliveryCheck check(v.host, {"veth102", "warp0", "nm-server"});
  for (int i = 0; i < 4; ++i)
    check.send("warp0", VpsDaemon::udp(v.warp, v.xray.mac(), 4000), {"veth102"}, "WARP return");
  ASSERT_EQ(check.verify(), "");
  for (const std::string protocol : {"", "OpenFlow13"}) {
    std::map<std::string, std::pair<long long, long long>> ours, theirs;
    for (int attempt = 0; attempt < 5 && (ours.empty() || ours != theirs); ++attempt) {
      theirs = port_packets(ofctl_ok(v, {"dump-ports"}, protocol), true);
      ours = port_packets(v.daemon.ctl_ok({"dump-ports", "socket"}), false);
    }
    EXPECT_EQ(theirs, ours);
    EXPECT_EQ(ours.size(), 3u);
    EXPECT_GE(ours["warp0"].first, 4);
    EXPECT_GE(ours["veth102"].second, 4);
  }
}

// tcp_dst without ip_proto (and eth_type): what ovs-ofctl never sends.
std::vector<std::uint8_t> flow_mod13_without_prereq() {
  std::vector<std::uint8_t> body(40, 0);
  body[20] = body[21] = 0;       // idle, hard
  body[22] = 0, body[23] = 100;  // priority
  for (int i : {24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35})
    body[i] = 0xff;                                              // buffer, out_port, out_group
  const std::vector<std::uint8_t> match{0x00, 0x01, 0x00, 0x0a,  // OXM, length 10
                                        0x80, 0x00, 0x1c, 0x02, 0x01, 0xbb,         // tcp_dst=443
                                        0,    0,    0,    0,    0,    0};           // pad to 16
  const std::vector<std::uint8_t> instructions{0x00, 0x04, 0x00, 0x18, 0, 0, 0, 0,  // apply
                                               0x00, 0x00, 0x00, 0x10, 0, 0, 0, 1,  // output:1
                                               0xff, 0xe5, 0,    0,    0, 0, 0, 0};
  body.insert(body.end(), match.begin(), match.end());
  body.insert(body.end(), instructions.begin(), instructions.end());
  return ofp_message(4, 14, 7, body);
}

std::vector<std::uint8_t> nx_flow_mod10_without_prereq() {
  std::vector<std::uint8_t> body{0x00, 0x00, 0x23, 0x20, 0x00, 0x00, 0x00, 0x0d};  // NXT_FLOW_MOD
  const std::vector<std::uint8_t> fixed{0,    0,    0,    0,    0, 0, 0, 0,        // cookie
                                        0,    0,                                   // command: add
                                        0,    0,    0,    0,                       // idle, hard
                                        0,    100,                                 // priority
                                        0xff, 0xff, 0xff, 0xff,                    // buffer_id
                                        0xff, 0xff,                                // out_port
                                        0,    0,                                   // flags
                                        0,    12,                                  // match_len
                                        0,    0,    0,    0,    0, 0};             // pad
  const std::vector<std::uint8_t> match{0x00, 0x00, 0x06, 0x02, 0x08, 0x00,        // eth_type=ip
                                        0x00, 0x00, 0x14, 0x02, 0x01, 0xbb,        // tcp_dst=443
                                        0,    0,    0,    0};
  const std::vector<std::uint8_t> actions{0, 0, 0, 8, 0, 1, 0, 0};  // output:1
  body.insert(body.end(), fixed.begin(), fixed.end());
  body.insert(body.end(), match.begin(), match.end());
  body.insert(body.end(), actions.begin(), actions.end());
  return ofp_message(1, 4, 8, body);
}

TEST(OpenFlowChannel, AFlowModWithoutItsPrerequisiteIsRefusedWithBadPrereqAndChangesNothing) {
  SOCKSWITCH_REQUIRE_NETNS();
  VpsDaemon v;
  const std::string path = v.daemon.openflow_target("socket").substr(5);
  const std::string before = comparable(v.dump());
  {
    OpenFlowClient c(path);
    c.hello(4);
    c.send(flow_mod13_without_prereq());
    const auto got = c.barrier(4);
    ASSERT_EQ(got.size(), 2u) << "expected an ERROR before the barrier reply";
    const std::vector<std::uint8_t>& e = got[0];
    ASSERT_GE(e.size(), 12u);
    EXPECT_EQ(e[1], 1);                // OFPT_ERROR
    EXPECT_EQ(e[8] << 8 | e[9], 4);    // OFPET_BAD_MATCH
    EXPECT_EQ(e[10] << 8 | e[11], 9);  // OFPBMC_BAD_PREREQ
  }
  {
    OpenFlowClient c(path);
    c.hello(1);
    c.send(nx_flow_mod10_without_prereq());
    const auto got = c.barrier(1);
    ASSERT_EQ(got.size(), 2u);
    const std::vector<std::uint8_t>& e = got[0];
    ASSERT_GE(e.size(), 20u);
    EXPECT_EQ(e[8] << 8 | e[9], 0xb0c2);  // NXET_VENDOR
    EXPECT_EQ(e[16] << 8 | e[17], 1);     // Nicira type 1,
    EXPECT_EQ(e[18] << 8 | e[19], 260);   // code 260: OFPBMC_BAD_PREREQ in OpenFlow 1.0
  }
  EXPECT_EQ(comparable(v.dump()), before);
  EXPECT_NE(v.daemon.ctl_ok({"show"}).find("2 requests refused"), std::string::npos)
      << v.daemon.ctl_ok({"show"});
  // Ordinary requests after the refused ones.
  ofctl_ok(v, {"add-flow", "priority=5,udp,tp_dst=9,actions=drop"});
  EXPECT_NE(ofctl_ok(v, {"dump-flows"}).find("priority=5,udp,tp_dst=9 actions=drop"),
            std::string::npos);
}

TEST(OpenFlowChannel, GarbageOnTheSocketEndsThatSessionOnly) {
  SOCKSWITCH_REQUIRE_NETNS();
  VpsDaemon v;
  const std::string path = v.daemon.openflow_target("socket").substr(5);
  {
    OpenFlowClient c(path);
    c.send({0x04, 0x00, 0x00, 0x03, 0, 0, 0, 0});  // a length below the header
    while (c.receive(1s)) {
    }
  }
  {
    OpenFlowClient c(path);
    c.send({0x04, 0x0e, 0x00, 0x08, 0, 0, 0, 1});  // not HELLO first
    while (c.receive(1s)) {
    }
  }
  EXPECT_NE(ofctl_ok(v, {"dump-flows"}).find("actions=NORMAL"), std::string::npos);
}

// The next message of `type` within `timeout` (others are skipped), or {}.
std::vector<std::uint8_t> next_of_type(OpenFlowClient& c, std::uint8_t type,
                                       std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto m = c.receive(std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now()));
    if (m && (*m)[1] == type) return *m;
  }
  return {};
}

TEST(OpenFlowChannel, FlowRemovedReachesClientsForTimeoutsAndDeletes) {
  SOCKSWITCH_REQUIRE_NETNS();
  VpsDaemon v;
  const std::string path = v.daemon.openflow_target("socket").substr(5);
  OpenFlowClient c13(path), c10(path);
  c13.hello(4);
  c10.hello(1);  // OpenFlow 1.0 matches: the flow below fits one
  (void)c13.barrier(4);
  (void)c10.barrier(1);
  ofctl_ok(v, {"add-flow", "hard_timeout=1,send_flow_rem,priority=9,udp,tp_dst=9,actions=drop"});
  EXPECT_NE(v.dump().find("hard_timeout=1, send_flow_rem "), std::string::npos) << v.dump();
  constexpr std::uint8_t kFlowRemoved = 11, kHard = 1, kDelete = 2;
  const std::vector<std::uint8_t> m13 = next_of_type(c13, kFlowRemoved, 5s);
  ASSERT_GE(m13.size(), 56u) << "no FLOW_REMOVED (1.3)";
  EXPECT_EQ(m13[8 + 10], kHard);               // reason
  EXPECT_EQ(m13[8 + 8] << 8 | m13[8 + 9], 9);  // priority
  const std::vector<std::uint8_t> m10 = next_of_type(c10, kFlowRemoved, 2s);
  ASSERT_EQ(m10.size(), 88u) << "no FLOW_REMOVED (1.0)";
  EXPECT_EQ(m10[8 + 40 + 10], kHard);
  EXPECT_EQ(m10[8 + 40 + 8] << 8 | m10[8 + 40 + 9], 9);

  ofctl_ok(v, {"add-flow", "send_flow_rem,priority=8,udp,tp_dst=8,actions=drop"});
  ofctl_ok(v, {"add-flow", "priority=7,udp,tp_dst=7,actions=drop"});  // does not ask
  ofctl_ok(v, {"del-flows", "udp"});
  const std::vector<std::uint8_t> gone = next_of_type(c13, kFlowRemoved, 3s);
  ASSERT_GE(gone.size(), 56u);
  EXPECT_EQ(gone[8 + 10], kDelete);
  EXPECT_EQ(gone[8 + 8] << 8 | gone[8 + 9], 8);
  EXPECT_TRUE(next_of_type(c13, kFlowRemoved, 500ms).empty()) << "a flow that did not ask";
}

TEST(OpenFlowChannel, PortStatusTellsClientsOfPortsThatComeChangeAndGo) {
  SOCKSWITCH_REQUIRE_NETNS();
  VpsDaemon v;
  OpenFlowClient c(v.daemon.openflow_target("socket").substr(5));
  c.hello(4);
  (void)c.barrier(4);
  std::this_thread::sleep_for(1500ms);  // the daemon has seen the ports with a client
  constexpr std::uint8_t kPortStatus = 12;
  // reason, then the 1.3 port: its number at 16, its name at 32, its state at 52.
  auto reason_and_name = [](const std::vector<std::uint8_t>& m) {
    return std::to_string(m.at(8)) + " " +
           std::string(reinterpret_cast<const char*>(m.data() + 32),
                       strnlen(reinterpret_cast<const char*>(m.data() + 32), 16));
  };
  (void)v.daemon.ctl_ok({"add-port", "socket", "veth9"});
  const auto added = next_of_type(c, kPortStatus, 4s);
  ASSERT_EQ(added.size(), 80u);
  EXPECT_EQ(reason_and_name(added), "0 veth9");  // OFPPR_ADD
  EXPECT_EQ(added[8 + 8 + 36 + 3] & 1, 1) << "no device yet: link down";
  v.host.plug("veth9", "10.2.0.9/24");
  const auto up = next_of_type(c, kPortStatus, 5s);
  ASSERT_EQ(up.size(), 80u);
  EXPECT_EQ(reason_and_name(up), "2 veth9");  // OFPPR_MODIFY
  EXPECT_EQ(up[8 + 8 + 36 + 3] & 1, 0) << "the device came: link up";
  (void)v.daemon.ctl_ok({"del-port", "socket", "veth9"});
  const auto deleted = next_of_type(c, kPortStatus, 4s);
  ASSERT_EQ(deleted.size(), 80u);
  EXPECT_EQ(reason_and_name(deleted), "1 veth9");  // OFPPR_DELETE
}

// The controller loop: a flow sends UDP 7777 to the controller only; the
// client gets the PACKET_IN and sends the frame on with a PACKET_OUT to
// veth102, so the frame reaches Xray only through the client.
TEST(OpenFlowChannel, PacketInAndPacketOutCarryAFrameThroughTheClient) {
  SOCKSWITCH_REQUIRE_NETNS();
  VpsDaemon v;
  OpenFlowClient c(v.daemon.openflow_target("socket").substr(5));
  c.hello(4);
  (void)c.barrier(4);
  ofctl_ok(v, {"add-flow", "priority=200,udp,tp_dst=7777,actions=controller"});
  const std::uint32_t warp0 = std::stoul(ofport(v, "warp0"));
  const std::uint32_t veth102 = std::stoul(ofport(v, "veth102"));

  std::vector<std::uint8_t> packet_in;
  std::thread controller([&] {
    packet_in = next_of_type(c, 10, 5s);  // OFPT_PACKET_IN
    if (packet_in.size() < 42) return;
    // 1.3 PACKET_IN: buffer_id, total_len, reason, table, cookie, then the
    // match (in_port: 12 bytes padded to 16), 2 bytes of pad, the frame.
    const std::vector<std::uint8_t> frame(packet_in.begin() + 42, packet_in.end());
    std::vector<std::uint8_t> body{0xff,
                                   0xff,
                                   0xff,
                                   0xff,  // buffer_id: none
                                   0xff,
                                   0xff,
                                   0xff,
                                   0xfd,  // in_port: CONTROLLER
                                   0x00,
                                   0x10,
                                   0,
                                   0,
                                   0,
                                   0,
                                   0,
                                   0,  // actions_len 16, pad
                                   0x00,
                                   0x00,
                                   0x00,
                                   0x10,  // OUTPUT
                                   static_cast<std::uint8_t>(veth102 >> 24),
                                   static_cast<std::uint8_t>(veth102 >> 16),
                                   static_cast<std::uint8_t>(veth102 >> 8),
                                   static_cast<std::uint8_t>(veth102),
                                   0,
                                   0,
                                   0,
                                   0,
                                   0,
                                   0,
                                   0,
                                   0};
    // resize and copy: GCC 12 at -O3 reads insert() past the first block
    // as out of bounds (-Warray-bounds).
    const std::size_t header = body.size();
    body.resize(header + frame.size());
    std::copy(frame.begin(), frame.end(), body.begin() + static_cast<std::ptrdiff_t>(header));
    c.send(ofp_message(4, 13, 77, body));  // OFPT_PACKET_OUT
  });
  DeliveryCheck check(v.host, {"veth102", "warp0", "nm-server"});
  check.send("warp0", VpsDaemon::udp(v.warp, v.xray.mac(), 7777), {"veth102"},
             "UDP 7777: to the controller, and from it to veth102");
  EXPECT_EQ(check.verify(), "");
  controller.join();
  ASSERT_GE(packet_in.size(), 42u) << "no PACKET_IN";
  EXPECT_EQ(packet_in[14], 1);  // OFPR_ACTION
  EXPECT_EQ(std::uint32_t(packet_in[32]) << 24 | std::uint32_t(packet_in[33]) << 16 |
                std::uint32_t(packet_in[34]) << 8 | packet_in[35],
            warp0);
  EXPECT_EQ(packet_in.size() - 42, std::size_t(packet_in[12] << 8 | packet_in[13]))
      << "the whole frame (max_len 65535)";
  const std::string show = v.daemon.ctl_ok({"show"});
  EXPECT_NE(show.find("1 packet-ins sent, 0 over the rate limit"), std::string::npos) << show;
  // An error: a PACKET_OUT with a frame shorter than an Ethernet header.
  c.send(ofp_message(
      4, 13, 78, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2}));
  const auto error = next_of_type(c, 1, 3s);
  ASSERT_GE(error.size(), 12u);
  EXPECT_EQ(error[8] << 8 | error[9], 1);     // OFPET_BAD_REQUEST
  EXPECT_EQ(error[10] << 8 | error[11], 12);  // OFPBRC_BAD_PACKET
}

// ptcp:PORT listeners come and go with the config (reload), on loopback of
// the switch's namespace: op-dbus's own OpenFlow client connects to
// tcp:127.0.0.1:6653 this way.
TEST(OpenFlowChannel, PtcpListenersFollowTheConfigAcrossReloads) {
  SOCKSWITCH_REQUIRE_NETNS();
  VpsDaemon v;
  const std::string toml = v.dir.read("vps.toml");
  auto with_listener = [&](const std::string& target) {
    std::string t = toml;
    const std::string key = "flows = \"vps-socket.flows\"\n";
    t.insert(t.find(key) + key.size(), "controller = [\"" + target + "\"]\n");
    return t;
  };
  auto show_at = [&](const std::string& target) {
    return net::run_command(
        {"ip", "netns", "exec", v.host.ns().name(), "ovs-ofctl", "--names", "show", target}, 10s);
  };
  v.dir.write("vps.toml", with_listener("ptcp:16653"));
  (void)v.daemon.ctl_ok({"reload"});
  const net::CommandResult first = show_at("tcp:127.0.0.1:16653");
  EXPECT_TRUE(first.ok()) << first.output << v.daemon.log();
  EXPECT_NE(first.output.find("(veth102): addr:"), std::string::npos) << first.output;

  v.dir.write("vps.toml", with_listener("ptcp:16654:127.0.0.1"));
  (void)v.daemon.ctl_ok({"reload"});
  EXPECT_TRUE(show_at("tcp:127.0.0.1:16654").ok()) << v.daemon.log();
  EXPECT_FALSE(show_at("tcp:127.0.0.1:16653").ok()) << "the old listener is still there";
  // The management socket stays through both.
  EXPECT_TRUE(ofctl(v, {"show"}).ok());
}

// Meters over OpenFlow 1.3, as `ovs-ofctl -O OpenFlow13` and op-dbus use
// them: the bridge's own table (ctl sees the same), flows naming them, and
// OVS's errors for a meter that is missing or already there.
TEST(OpenFlowChannel, MetersOverOpenFlow13AreTheBridgesOwn) {
  SOCKSWITCH_REQUIRE_NETNS();
  VpsDaemon v;
  const std::string p = "OpenFlow13";
  ofctl_ok(v, {"add-meter", "meter=1,pktps,burst,stats,bands=type=drop,rate=100,burst_size=20"}, p);
  ofctl_ok(v, {"add-flow", "table=0,priority=480,icmp,actions=meter:1,resubmit(,10)"}, p);
  EXPECT_EQ(v.daemon.ctl_ok({"dump-meters", "socket"}),
            "meter=1,pktps,burst,stats,bands=type=drop,rate=100,burst_size=20\n");
  const std::string meters = ofctl_ok(v, {"dump-meters"}, p);
  EXPECT_NE(meters.find("meter=1 pktps burst stats bands=\ntype=drop rate=100 burst_size=20"),
            std::string::npos)
      << meters;
  EXPECT_NE(ofctl_ok(v, {"dump-flows"}, p).find("priority=480,icmp actions=meter:1,resubmit(,10)"),
            std::string::npos);
  const std::string stats = ofctl_ok(v, {"meter-stats"}, p);
  EXPECT_NE(stats.find("meter:1 flow_count:1 packet_in_count:0 byte_in_count:0"), std::string::npos)
      << stats;
  EXPECT_NE(ofctl_ok(v, {"meter-features"}, p).find("band_types: drop"), std::string::npos);

  const net::CommandResult missing = ofctl(v, {"add-flow", "priority=5,icmp,actions=meter:7"}, p);
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.output.find("OFPMMFC_UNKNOWN_METER"), std::string::npos) << missing.output;
  const net::CommandResult twice =
      ofctl(v, {"add-meter", "meter=1,pktps,bands=type=drop,rate=5"}, p);
  EXPECT_NE(twice.output.find("OFPMMFC_METER_EXISTS"), std::string::npos) << twice.output;
  const net::CommandResult remark =
      ofctl(v, {"add-meter", "meter=2,kbps,bands=type=dscp_remark,rate=5,prec_level=1"}, p);
  EXPECT_NE(remark.output.find("OFPMMFC_BAD_BAND"), std::string::npos) << remark.output;

  // Deleting the meter takes its flow along, as in OVS.
  ofctl_ok(v, {"del-meter", "meter=1"}, p);
  EXPECT_EQ(ofctl_ok(v, {"dump-flows"}, p).find("meter:1"), std::string::npos);
  EXPECT_EQ(v.daemon.ctl_ok({"dump-meters", "socket"}), "");
}

// op-dbus's stateful lines, as its plugin sends them through ovs-ofctl,
// in both versions; what is not built yet is refused by name.
TEST(OpenFlowChannel, ConntrackFlowsOverOvsOfctlReadBackAsWritten) {
  SOCKSWITCH_REQUIRE_NETNS();
  VpsDaemon v;
  for (const std::string p : {"", "OpenFlow13"}) {
    SCOPED_TRACE(p.empty() ? "OpenFlow10" : p);
    ofctl_ok(v, {"add-flow", "table=0,priority=470,ip,actions=ct(table=10)"}, p);
    ofctl_ok(v, {"add-flow", "table=10,priority=500,ct_state=-trk,actions=drop"}, p);
    ofctl_ok(v,
             {"add-flow",
              "table=10,priority=390,ct_state=+new+trk,ip,actions=ct(commit,zone=3,exec(set_field:"
              "0x1->ct_mark)),resubmit(,20)"},
             p);
    const std::string flows = ofctl_ok(v, {"dump-flows"}, p);
    for (const char* line :
         {"priority=470,ip actions=ct(table=10)", "priority=500,ct_state=-trk actions=drop",
          "priority=390,ct_state=+new+trk,ip "
          "actions=ct(commit,zone=3,exec(set_field:0x1->ct_mark)),resubmit(,20)"})
      EXPECT_NE(flows.find(line), std::string::npos) << line << "\n" << flows;
    const std::string ctl = v.daemon.ctl_ok({"dump-flows", "socket"});
    EXPECT_NE(ctl.find("ct(commit,zone=3,exec(set_field:0x1->ct_mark))"), std::string::npos);
    const net::CommandResult nat =
        ofctl(v, {"add-flow", "priority=5,ip,actions=ct(commit,nat(src=10.0.0.9))"}, p);
    EXPECT_FALSE(nat.ok());
    ofctl_ok(v, {"del-flows", "ct_state=-trk"}, p);
    ofctl_ok(v, {"del-flows", "table=0,ip"}, p);
    ofctl_ok(v, {"del-flows", "table=10,ip"}, p);
  }
}

// load: and move: as ovs-ofctl sends them (Nicira REG_LOAD / REG_MOVE).
TEST(OpenFlowChannel, LoadAndMoveOverOvsOfctlReadBackAsWritten) {
  SOCKSWITCH_REQUIRE_NETNS();
  VpsDaemon v;
  const std::string flow =
      "priority=5,tcp "
      "actions=load:0x3->NXM_NX_REG0[0..1],move:NXM_OF_TCP_SRC[]->NXM_NX_REG1[0..15],"
      "move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],resubmit(,1)";
  for (const std::string p : {"", "OpenFlow13"}) {
    SCOPED_TRACE(p.empty() ? "OpenFlow10" : p);
    ofctl_ok(v, {"add-flow", flow}, p);
    const std::string flows = ofctl_ok(v, {"dump-flows"}, p);
    EXPECT_NE(flows.find(flow), std::string::npos) << flows;
    EXPECT_NE(v.daemon.ctl_ok({"dump-flows", "socket"}).find(flow), std::string::npos);
    ofctl_ok(v, {"del-flows", "tcp"}, p);
  }
}

}  // namespace
}  // namespace sockswitch::test
