// tests/control/openflow_controller_test.cc: sockswitch driven by a real
// OpenFlow controller it connects to, and its fail modes.
//
// Plan. Configure: a host namespace with two containers (ofa, ofb) on one
// bridge with no flows and `controller = ["tcp:127.0.0.1:PORT"]`; the
// daemon runs in the host namespace. Drive: os-ken (Debian's python3-os-ken,
// Ryu's maintained fork) running a MAC-learning application
// (tests/control/openflow/learning_switch.py: Debian ships os-ken without
// its samples), listening on PORT in the same namespace. Verify: ping and a TCP transfer
// work only through what the controller does (PACKET_IN for the first
// packets, the flows it learns, PACKET_OUT), the learned flows show in
// `ctl dump-flows`, and when the controller goes a secure bridge keeps
// forwarding by them. Without any controller, a standalone bridge fails open
// to NORMAL switching and a secure one forwards nothing.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <csignal>
#include <filesystem>

#include "tests/control/config_dir.h"
#include "tests/control/daemon_process.h"
#include "tests/control/switch_host.h"
#include "tests/net/child_process.h"
#include "tests/net/require_netns.h"
#include "tests/net/tcp_transfer.h"

namespace sockswitch::test {
namespace {

using namespace std::chrono_literals;

std::string controller_config(const std::string& dir, const std::string& fail_mode, int port) {
  return "control_socket = \"" + dir + "/ctl.sock\"\n[[bridge]]\nname = \"br\"\nfail_mode = \"" +
         fail_mode + "\"\ncontroller = [\"tcp:127.0.0.1:" + std::to_string(port) +
         "\"]\n[[bridge.port]]\nname = \"ofa\"\n[[bridge.port]]\nname = \"ofb\"\n";
}

bool pings(const Container& from, const std::string& to) {
  return from.ns->exec({"ping", "-c", "1", "-W", "1", to}, 3s).ok();
}

// A controller process, stopped (SIGTERM, then SIGKILL) when it goes.
class Controller final {
 public:
  Controller(const SwitchHost& host, int port, const std::string& log) : log_(log) {
    pid_ = net::spawn_with_log(
        {"ip", "netns", "exec", host.ns().name(), "osken-manager", "--ofp-tcp-listen-port",
         std::to_string(port), SOCKSWITCH_SOURCE_DIR "/tests/control/openflow/learning_switch.py"},
        log);
  }
  ~Controller() { stop(); }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 50 && ::waitpid(pid_, nullptr, WNOHANG) == 0; ++i)
      std::this_thread::sleep_for(100ms);
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, WNOHANG);
    pid_ = -1;
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
};

TEST(OpenFlowController,
     OsKenLearningSwitchCarriesPingAndTcpAndTheSecureBridgeKeepsItsFlowsWhenItGoes) {
  SOCKSWITCH_REQUIRE_NETNS();
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/osken-manager"))
      << "python3-os-ken is installed by scripts/install-deps.sh";
  SwitchHost host;
  Container& a = host.plug("ofa", "10.71.0.1/24");
  Container& b = host.plug("ofb", "10.71.0.2/24");
  ConfigDir dir({});
  constexpr int kPort = 16633;
  dir.write("sw.toml", controller_config(dir.path(""), "secure", kPort));
  Controller controller(host, kPort, dir.path("osken.log"));
  DaemonProcess daemon(host.ns(), dir.path("sw.toml"), dir.path("ctl.sock"), dir.path("d.log"));

  // The controller connects, installs its table-miss flow and learns.
  ASSERT_TRUE(net::wait_until([&] { return pings(a, "10.71.0.2"); }, 20s))
      << daemon.ctl_ok({"dump-flows", "br"}) << daemon.log() << "\nos-ken:\n"
      << dir.read("osken.log");
  EXPECT_EQ(net::tcp_transfer(*b.ns, b.address, *a.ns, 5001, 2'000'000, 10s), 2'000'000u);
  const std::string flows = daemon.ctl_ok({"dump-flows", "br"});
  EXPECT_NE(flows.find("priority=0 actions=CONTROLLER:65535"), std::string::npos) << flows;
  EXPECT_NE(flows.find("idle_timeout=10, "), std::string::npos) << flows;
  EXPECT_NE(flows.find("priority=1,in_port=ofa,dl_dst="), std::string::npos) << flows;
  EXPECT_NE(flows.find("priority=1,in_port=ofb,dl_dst="), std::string::npos) << flows;
  EXPECT_NE(daemon.log().find("connected to controller tcp:127.0.0.1:16633"), std::string::npos);
  const std::string show = daemon.ctl_ok({"show"});
  EXPECT_NE(show.find("controller tcp:127.0.0.1:16633 connected (OpenFlow 1.3);"),
            std::string::npos)
      << show;
  EXPECT_NE(show.find("listening on unix:"), std::string::npos) << show;

  // The controller goes: secure keeps the flows it installed, and they
  // still carry the learned traffic.
  controller.stop();
  ASSERT_TRUE(net::wait_until(
      [&] {
        return daemon.log().find("controller tcp:127.0.0.1:16633 disconnected") !=
               std::string::npos;
      },
      10s))
      << daemon.log();
  EXPECT_TRUE(pings(a, "10.71.0.2"));
  EXPECT_EQ(daemon.log().find("fail-open"), std::string::npos) << "secure never fails open";
}

// ovs-testcontroller (Debian's openvswitch-testcontroller) speaks OpenFlow
// 1.0 and installs no table-miss flow: it relies on 1.0's table miss going
// to the controller, and learns from those PACKET_INs. Its flows carry an
// idle timeout and go when the traffic stops.
TEST(OpenFlowController, OvsTestcontrollerLearnsFromOpenFlow10TableMissesAndItsFlowsExpire) {
  SOCKSWITCH_REQUIRE_NETNS();
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/ovs-testcontroller"))
      << "openvswitch-testcontroller is installed by scripts/install-deps.sh";
  SwitchHost host;
  Container& a = host.plug("ofa", "10.73.0.1/24");
  host.plug("ofb", "10.73.0.2/24");
  ConfigDir dir({});
  constexpr int kPort = 16636;
  dir.write("sw.toml", controller_config(dir.path(""), "secure", kPort));
  const pid_t controller = net::spawn_with_log(
      {"ip", "netns", "exec", host.ns().name(), "ovs-testcontroller", "-O", "OpenFlow10",
       "--max-idle=2", "--unixctl=" + dir.path("testcontroller.ctl"),
       "ptcp:" + std::to_string(kPort) + ":127.0.0.1"},
      dir.path("testcontroller.log"));
  DaemonProcess daemon(host.ns(), dir.path("sw.toml"), dir.path("ctl.sock"), dir.path("d.log"));
  const bool ok = net::wait_until([&] { return pings(a, "10.73.0.2"); }, 20s);
  const std::string flows = daemon.ctl_ok({"dump-flows", "br"});
  EXPECT_TRUE(ok) << flows << daemon.log() << dir.read("testcontroller.log");
  EXPECT_NE(flows.find("idle_timeout=2, "), std::string::npos) << flows;
  // Traffic stops: the learned flows expire by their idle timeout.
  EXPECT_TRUE(net::wait_until(
      [&] {
        return daemon.ctl_ok({"dump-flows", "br"}).find("idle_timeout=2") == std::string::npos;
      },
      10s))
      << daemon.ctl_ok({"dump-flows", "br"});
  ::kill(controller, SIGTERM);
  ::waitpid(controller, nullptr, 0);
}

TEST(OpenFlowController, WithItsControllerAwayAStandaloneBridgeFailsOpenAndASecureOneDoesNot) {
  SOCKSWITCH_REQUIRE_NETNS();
  for (const std::string mode : {"standalone", "secure"}) {
    SCOPED_TRACE(mode);
    SwitchHost host;
    Container& a = host.plug("ofa", "10.72.0.1/24");
    host.plug("ofb", "10.72.0.2/24");
    ConfigDir dir({});
    dir.write("sw.toml", controller_config(dir.path(""), mode, 16634));  // nobody listens there
    DaemonProcess daemon(host.ns(), dir.path("sw.toml"), dir.path("ctl.sock"), dir.path("d.log"));
    if (mode == "standalone") {
      EXPECT_TRUE(net::wait_until([&] { return pings(a, "10.72.0.2"); }, 5s)) << daemon.log();
      EXPECT_NE(daemon.log().find("fail-open"), std::string::npos);
    } else {
      EXPECT_FALSE(pings(a, "10.72.0.2"));
      EXPECT_EQ(daemon.log().find("fail-open"), std::string::npos);
    }
    // Either way the switch keeps trying: the log says why it is not connected.
    EXPECT_NE(daemon.log().find("controller tcp:127.0.0.1:16634: Connection refused"),
              std::string::npos)
        << daemon.log();
  }
}

}  // namespace
}  // namespace sockswitch::test
