// tests/control/daemon_reload_test.cc: reload (ctl and SIGHUP), bad configs,
// zero loss under traffic, and clean shutdown, against the real daemon.
//
// Plan. Configure: the daemon on a temp-dir copy of a shipped config, inside
// a host namespace with container namespaces on its ports. Change the copy
// and reload. Verify: a good change is applied as a diff (flows that stay
// keep their counters); a bad file, by `ctl reload` or SIGHUP, is refused
// with file:line:col and the running table stays as it was; a paced
// sequence-numbered UDP stream across the switch loses no datagram while
// reloads change an unrelated flow; SIGTERM ends the daemon with status 0
// and removes its socket.
#include <signal.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <future>

#include "tests/control/vps_daemon.h"
#include "tests/net/command.h"
#include "tests/net/require_netns.h"
#include "tests/net/udp_stream.h"

namespace sockswitch::test {
namespace {

using namespace std::chrono_literals;

using net::contains;

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  if (at == std::string::npos) throw std::logic_error("no '" + from + "' in the text");
  return text.replace(at, from.size(), to);
}

int line_of(const std::string& text, const std::string& part) {
  const auto at = text.find(part);
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + at, '\n'));
}

TEST(DaemonReload, CtlReloadAppliesTheDiffAndKeepsCounters) {
  SOCKSWITCH_REQUIRE_NETNS();
  VpsDaemon v;
  DeliveryCheck check(v.host, {"veth102", "warp0", "nm-server"});
  for (int i = 0; i < 4; ++i)
    check.send("warp0", VpsDaemon::udp(v.warp, v.xray.mac(), 4000), {"veth102"}, "WARP return");
  EXPECT_EQ(check.verify(), "");
  ASSERT_TRUE(net::wait_until([&] { return v.packets(kWarpFlow) == 4; }, 2s)) << v.dump();

  v.dir.write("vps-socket.flows",
              v.dir.read("vps-socket.flows") + "priority=60,udp,tp_dst=5353,actions=drop\n");
  EXPECT_EQ(v.daemon.ctl_ok({"reload"}), "reloaded " + v.dir.path("vps.toml") + "\n");
  const std::string dump = v.dump();
  EXPECT_EQ(flow_packets(dump, "udp,tp_dst=5353 actions=drop"), 0) << dump;
  EXPECT_EQ(flow_packets(dump, kWarpFlow), 4) << dump;
  EXPECT_TRUE(contains(v.daemon.ctl_ok({"show"}), "bridge socket: 7 flows"));
}

TEST(DaemonReload, BadFilesAreRefusedWithPositionAndTheTableStays) {
  SOCKSWITCH_REQUIRE_NETNS();
  VpsDaemon v;
  const std::string good_toml = v.dir.read("vps.toml");
  const std::string good_flows = v.dir.read("vps-socket.flows");
  const std::string before = without_durations(v.dump());

  // A bad flow file, by ctl reload: the error names the flow file's line.
  const std::string bad_flows = replaced(good_flows, "tp_dst=8443", "tp_dst=84430");
  v.dir.write("vps-socket.flows", bad_flows);
  const net::CommandResult r = v.daemon.ctl({"reload"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  const std::string where =
      v.dir.path("vps-socket.flows") + ":" + std::to_string(line_of(bad_flows, "84430")) + ":";
  EXPECT_TRUE(contains(r.output, where)) << "expected " << where << " in " << r.output;
  EXPECT_EQ(without_durations(v.dump()), before);

  // A bad TOML file, by SIGHUP: the log says why, the table stays.
  v.dir.write("vps-socket.flows", good_flows);
  v.dir.write("vps.toml", "# a typo on line 2\nlog_levle = \"debug\"\n" + good_toml);
  v.daemon.signal(SIGHUP);
  const std::string toml_where = v.dir.path("vps.toml") + ":2:";
  EXPECT_TRUE(net::wait_until(
      [&] {
        const std::string log = v.daemon.log();
        return contains(log, "reload refused") && contains(log, toml_where) &&
               contains(log, "log_levle");
      },
      3s))
      << v.daemon.log();
  EXPECT_EQ(without_durations(v.dump()), before);
  // The same file by ctl reload: the client gets the position too.
  const net::CommandResult r2 = v.daemon.ctl({"reload"});
  EXPECT_EQ(r2.exit_code, 1);
  EXPECT_TRUE(contains(r2.output, toml_where)) << r2.output;

  // A good file by SIGHUP is applied.
  v.dir.write("vps.toml", good_toml);
  v.dir.write("vps-socket.flows", good_flows + "priority=60,udp,tp_dst=5353,actions=drop\n");
  v.daemon.signal(SIGHUP);
  EXPECT_TRUE(net::wait_until([&] { return v.packets("udp,tp_dst=5353") == 0; }, 3s))
      << v.dump() << v.daemon.log();
  EXPECT_TRUE(contains(v.daemon.ctl_ok({"show"}), "bridge socket: 7 flows"));
}

// oo1424oo: Netmaker (nm-privacy, 10.0.0.1) to the distributed-services
// container (veth204, 10.0.0.204) by NORMAL, while reloads flip the Redis
// flow between tp_dst=6379 and 6380: 5000 datagrams at 2 kpps, all arrive.
// (2.5 s: each round runs `ctl` twice, a quarter second apiece in the
// sanitizer build, and at least two rounds must fall inside the stream.)
TEST(DaemonReload, ReloadUnderTrafficLosesNothingAndSigtermExitsCleanly) {
  SOCKSWITCH_REQUIRE_NETNS();
  SwitchHost host;
  Container& nm = host.plug("nm-privacy", "10.0.0.1/24");
  Container& dist = host.plug("veth204", "10.0.0.204/24");
  ConfigDir dir({"oo1424oo.toml", "oo1424oo-socket.flows"});
  DaemonProcess daemon(host.ns(), dir.path("oo1424oo.toml"), dir.path("ctl.sock"),
                       dir.path("daemon.log"));
  const std::string flows6379 = dir.read("oo1424oo-socket.flows");
  const std::string flows6380 = replaced(flows6379, "tp_dst=6379", "tp_dst=6380");

  std::atomic<std::size_t> progress{0};
  net::UdpStreamSpec spec;
  spec.to_addr = "10.0.0.204";
  spec.count = 5000;
  spec.progress = &progress;
  auto stream = std::async(std::launch::async, [&] { return udp_stream(*nm.ns, *dist.ns, spec); });
  ASSERT_TRUE(net::wait_until([&] { return progress.load() > 100; }, 5s));
  int reloads_during = 0;
  for (int i = 0; progress.load() < spec.count && i < 20; ++i) {
    const bool to6380 = i % 2 == 0;
    dir.write("oo1424oo-socket.flows", to6380 ? flows6380 : flows6379);
    if (i % 4 == 1) {
      daemon.signal(SIGHUP);
    } else {
      EXPECT_TRUE(daemon.ctl({"reload"}).ok());
    }
    const std::string want = to6380 ? "tp_dst=6380" : "tp_dst=6379";
    EXPECT_TRUE(net::wait_until(
        [&] {
          const std::string d = daemon.ctl({"dump-flows", "socket"}).output;
          return contains(d, want);
        },
        2s));
    if (progress.load() < spec.count) ++reloads_during;
  }
  const net::UdpStreamResult result = stream.get();
  ASSERT_TRUE(result.path_up) << daemon.log();
  EXPECT_GE(reloads_during, 2) << "the stream ended before the reloads";
  EXPECT_EQ(result.sent, spec.count);
  EXPECT_EQ(result.received, spec.count)
      << "lost " << result.lost.size() << "+, first " << (result.lost.empty() ? 0 : result.lost[0]);
  // NORMAL's flow for Netmaker traffic stayed installed throughout: its
  // counter holds every datagram (and the ARP and probes before them).
  const std::string dump = daemon.ctl_ok({"dump-flows", "socket"});
  EXPECT_GE(flow_packets(dump, "priority=100,in_port=\"nm-privacy\" actions=NORMAL"),
            static_cast<long long>(spec.count))
      << dump;

  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait_exit(5s), 0) << daemon.log();
  EXPECT_FALSE(std::filesystem::exists(daemon.socket_path()));
  EXPECT_TRUE(contains(daemon.log(), "shutting down")) << daemon.log();
}

}  // namespace
}  // namespace sockswitch::test
