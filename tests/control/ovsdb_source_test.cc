// tests/control/ovsdb_source_test.cc: the real ovs-vsctl, Proxmox's and LXC's command lines and
// op-dbus's transactions driving sockswitch through a private ovsdb-server.
//
// Plan. Configure: a private ovsdb-server (Debian's schema, a socket in a
// temporary directory), `sockswitch run` in a host namespace with a file
// that only names that database, containers behind veths with the kernel's
// default offloads. Send: the seeds' hook lines and the other tools' calls
// verbatim (no --no-wait: each waits for the switch to acknowledge), then
// pings and TCP between containers. Verify: the commands return, traffic
// crosses the ports they added and stops at the ports they removed,
// Interface.ofport and error read as OVS writes them, and restarts of the
// server or of the switch change nothing.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <csignal>
#include <filesystem>
#include <set>
#include <thread>

#include "tests/control/config_dir.h"
#include "tests/control/daemon_process.h"
#include "tests/control/ovsdb_server.h"
#include "tests/control/switch_host.h"
#include "tests/dataplane/frame_builder.h"
#include "tests/net/child_process.h"
#include "tests/net/command.h"
#include "tests/net/require_netns.h"
#include "tests/net/skip.h"
#include "tests/net/tcp_transfer.h"

namespace sockswitch::test {
namespace {

using namespace std::chrono_literals;
using sockswitch::dataplane::test::FrameBuilder;

using net::contains;

#define REQUIRE_OVSDB()                                                     \
  do {                                                                      \
    SOCKSWITCH_REQUIRE_NETNS();                                             \
    if (const auto why = OvsdbServer::skip_reason()) SOCKSWITCH_SKIP(*why); \
  } while (false)

// The switch on a file that only names the database.
struct DatabaseSwitch {
  OvsdbServer db;
  SwitchHost host;
  ConfigDir dir{{}};
  std::unique_ptr<DaemonProcess> daemon;

  DatabaseSwitch() {
    dir.write("sockswitch.toml", "control_socket = \"" + dir.path("ctl.sock") + "\"\novsdb = \"" +
                                     db.remote() + "\"\n");
    start();
  }
  void start() {
    daemon = std::make_unique<DaemonProcess>(host.ns(), dir.path("sockswitch.toml"),
                                             dir.path("ctl.sock"), dir.path("daemon.log"));
  }
  bool ping(const std::string& from, const std::string& to_address, int count = 3) {
    return host[from]
        .ns->exec({"ping", "-c", std::to_string(count), "-i", "0.2", "-W", "1", to_address}, 10s)
        .ok();
  }
  std::string ofport(const std::string& iface) {
    std::string s = db.vsctl({"get", "Interface", iface, "ofport"}).output;
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
      s.pop_back();
    return s;
  }
  std::string log() const { return daemon->log(); }
};

TEST(OvsdbSource, SeedHookLinesAddAndRemoveAPortThatThenForwards) {
  REQUIRE_OVSDB();
  DatabaseSwitch s;
  s.host.plug("veth102", "10.2.0.102/24");
  s.host.plug("warp0", "10.2.0.2/24");
  // ovs-vsctl waits until the switch acknowledges (cur_cfg): each returns.
  s.db.vsctl_ok({"add-br", "socket"});
  EXPECT_EQ(s.ofport("socket"), "65534");
  s.db.vsctl_ok({"add-port", "socket", "veth102"});
  const net::CommandResult added = s.db.vsctl({"add-port", "socket", "warp0"});
  ASSERT_TRUE(added.ok()) << added.output << s.log();
  EXPECT_EQ(added.output, "");
  EXPECT_EQ(s.ofport("veth102"), "1");
  EXPECT_EQ(s.ofport("warp0"), "2");
  // The bridge's own device exists, as Proxmox and LXC look for it.
  EXPECT_TRUE(s.host.ns().exec({"test", "-e", "/sys/class/net/socket"}).ok());
  // No ping before returning: the return itself means the port forwards.
  EXPECT_TRUE(s.ping("veth102", "10.2.0.2")) << s.log();
  EXPECT_EQ(
      net::tcp_transfer(*s.host["warp0"].ns, "10.2.0.2", *s.host["veth102"].ns, 5001, 1 << 20, 10s),
      std::size_t{1} << 20)
      << "TCP with the default offloads";

  EXPECT_TRUE(s.db.vsctl({"--may-exist", "add-port", "socket", "warp0"}).ok());
  const std::string show = s.daemon->ctl_ok({"show"});
  EXPECT_TRUE(contains(show, "): warp0 up")) << show;
  EXPECT_TRUE(contains(
      show, "ovsdb " + s.db.remote() + ": connected; 1 bridges, 3 interfaces configured, 0 not"))
      << show;
  // The database owns this bridge: ctl points at the tool that does.
  const net::CommandResult ctl = s.daemon->ctl({"add-port", "socket", "other0"});
  EXPECT_FALSE(ctl.ok());
  EXPECT_TRUE(contains(ctl.output, "ovs-vsctl add-port socket other0")) << ctl.output;

  s.db.vsctl_ok({"del-port", "socket", "warp0"});
  EXPECT_FALSE(contains(s.daemon->ctl_ok({"show"}), "warp0"));
  EXPECT_FALSE(s.ping("veth102", "10.2.0.2", 2));
  EXPECT_TRUE(s.db.vsctl({"--if-exists", "del-port", "socket", "warp0"}).ok());
  // Added again, it forwards again (a new row: OVS gives it the next number).
  s.db.vsctl_ok({"add-port", "socket", "warp0"});
  EXPECT_EQ(s.ofport("warp0"), "3");
  EXPECT_TRUE(s.ping("veth102", "10.2.0.2")) << s.log();
}

TEST(OvsdbSource, AMissingDeviceGetsOvsErrorAndComesUpWhenItAppears) {
  REQUIRE_OVSDB();
  DatabaseSwitch s;
  s.host.plug("veth102", "10.2.0.102/24");
  s.db.vsctl_ok({"add-br", "socket"});
  s.db.vsctl_ok({"add-port", "socket", "veth102"});
  const net::CommandResult r = s.db.vsctl({"add-port", "socket", "nosuch"});
  EXPECT_TRUE(r.ok()) << r.output;  // as with OVS: the row stays, the error is printed
  EXPECT_TRUE(contains(r.output,
                       "Error detected while setting up 'nosuch': could not open "
                       "network device nosuch (No such device)"))
      << r.output;
  EXPECT_EQ(s.ofport("nosuch"), "-1");
  // The device appears: the port comes up by itself, and forwards.
  s.host.plug("nosuch", "10.2.0.3/24");
  EXPECT_TRUE(net::wait_until([&] { return s.ofport("nosuch") == "2"; }, 5s)) << s.ofport("nosuch");
  EXPECT_EQ(s.db.vsctl_ok({"get", "Interface", "nosuch", "error"}), "[]\n");
  EXPECT_TRUE(s.ping("veth102", "10.2.0.3")) << s.log();
  // Statistics come back every 5 s, as ovs-vswitchd writes them.
  EXPECT_TRUE(net::wait_until(
      [&] {
        return contains(s.db.vsctl({"get", "Interface", "veth102", "statistics"}).output,
                        "rx_packets=");
      },
      8s));
}

TEST(OvsdbSource, ProxmoxCommandLinesAndWhatIsRefusedSaysWhy) {
  REQUIRE_OVSDB();
  DatabaseSwitch s;
  s.host.plug("veth200i0", "10.3.0.200/24");
  s.host.plug("veth201i0", "10.3.0.201/24");
  s.db.vsctl_ok({"add-br", "vmbr0"});
  // Proxmox's network code, verbatim (a container without a VLAN tag).
  s.db.vsctl_ok({"--", "add-port", "vmbr0", "veth200i0", "--", "set", "Interface", "veth200i0",
                 "mtu_request=1400"});
  s.db.vsctl_ok({"--", "add-port", "vmbr0", "veth201i0", "--", "set", "Interface", "veth201i0",
                 "mtu_request=1400"});
  s.db.vsctl_ok({"--", "add-port", "vmbr0", "fwln200o0", "--", "set", "Interface", "fwln200o0",
                 "type=internal"});
  EXPECT_TRUE(s.host.ns().exec({"test", "-e", "/sys/class/net/fwln200o0"}).ok());
  const std::string mtu = s.host.ns().exec({"cat", "/sys/class/net/veth200i0/mtu"}).output;
  EXPECT_EQ(mtu, "1400\n");
  // The bridge's own device follows its ports' smallest MTU, as OVS's
  // does (Proxmox reads it from there).
  EXPECT_EQ(s.host.ns().exec({"cat", "/sys/class/net/vmbr0/mtu"}).output, "1400\n");
  EXPECT_TRUE(s.ping("veth200i0", "10.3.0.201")) << s.log();
  // QinQ is not carried out: refused with the reason, never ignored.
  s.host.plug("veth202i0", "10.3.0.202/24");
  const net::CommandResult qinq =
      s.db.vsctl({"--", "add-port", "vmbr0", "veth202i0", "tag=10", "vlan_mode=dot1q-tunnel"});
  EXPECT_TRUE(contains(qinq.output, "vlan_mode dot1q-tunnel (802.1ad QinQ) is not carried out"))
      << qinq.output;
  EXPECT_EQ(s.ofport("veth202i0"), "-1");
  EXPECT_FALSE(s.ping("veth200i0", "10.3.0.202", 2));
  // A tunnel type we do not have: the same.
  const net::CommandResult vxlan =
      s.db.vsctl({"add-port", "vmbr0", "vx0", "--", "set", "Interface", "vx0", "type=vxlan"});
  EXPECT_TRUE(contains(vxlan.output, "interface type 'vxlan' is not supported")) << vxlan.output;
}

// An ARP request for `target` from `c`'s eth0 as `sender`, tagged with
// `vid` (0: untagged). The kernel here has no VLAN devices (8021q), so a
// trunk container speaks in raw frames.
void send_arp(const Container& c, std::uint32_t sender, std::uint32_t target, std::uint16_t vid) {
  FrameBuilder f;
  f.eth_addrs(0xffffffffffff, c.mac());
  if (vid != 0) f.tag(0x8100, vid);
  f.type(0x0806).u16(1).u16(0x0800).u8(6).u8(4).u16(1);
  f.mac(c.mac()).u32(sender).mac(0).u32(target).zeros(18);
  c.wire->send(f.build());
}

// Whether `c` receives, within 2 s, an ARP frame (op 1 request, 2 reply)
// whose sender is `sender`, tagged with `vid` (0: untagged).
bool arp_arrives(const Container& c, int op, std::uint32_t sender, std::uint16_t vid) {
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (std::chrono::steady_clock::now() < deadline)
    for (const net::Frame& f : c.wire->receive(200ms)) {
      std::size_t at = 12;
      std::uint16_t tci = 0;
      if (f.size() >= 18 && f[12] == 0x81 && f[13] == 0x00) {
        tci = static_cast<std::uint16_t>(f[14] << 8 | f[15]);
        at = 16;
      }
      if (f.size() < at + 2 + 28 || f[at] != 0x08 || f[at + 1] != 0x06) continue;
      const std::uint8_t* arp = &f[at + 2];
      const std::uint32_t spa = std::uint32_t{arp[14]} << 24 | std::uint32_t{arp[15]} << 16 |
                                std::uint32_t{arp[16]} << 8 | arp[17];
      if (arp[7] == op && spa == sender && (tci & 0x0fff) == vid) return true;
    }
  return false;
}

TEST(OvsdbSource, ProxmoxVlanTagsAndTrunksSwitchWithinTheirVlans) {
  REQUIRE_OVSDB();
  DatabaseSwitch s;
  s.db.vsctl_ok({"add-br", "vmbr0"});
  // Containers as Proxmox adds them: tag=N for an access port, trunks= for
  // a trunk, and both with vlan_mode=native-untagged.
  s.host.plug("veth202i0", "10.10.0.2/24");
  s.host.plug("veth203i0", "10.10.0.3/24");
  s.host.plug("veth204i0", "10.10.0.4/24");  // same subnet, other VLAN: must stay apart
  const Container& trunk = s.host.plug("veth205i0");
  const Container& native = s.host.plug("veth206i0", "10.10.0.6/24");
  for (const auto& [port, tag] :
       {std::pair{"veth202i0", "tag=10"}, {"veth203i0", "tag=10"}, {"veth204i0", "tag=20"}})
    s.db.vsctl_ok(
        {"--", "add-port", "vmbr0", port, tag, "--", "set", "Interface", port, "mtu_request=1500"});
  s.db.vsctl_ok({"--", "add-port", "vmbr0", "veth205i0", "trunks=10,20"});
  s.db.vsctl_ok(
      {"--", "add-port", "vmbr0", "veth206i0", "tag=10", "vlan_mode=native-untagged", "trunks=20"});
  EXPECT_EQ(s.ofport("veth206i0"), "5");

  EXPECT_TRUE(s.ping("veth202i0", "10.10.0.3")) << s.log();  // access to access, VLAN 10
  EXPECT_FALSE(s.ping("veth202i0", "10.10.0.4", 2));         // VLAN 20: apart
  EXPECT_TRUE(s.ping("veth202i0", "10.10.0.6")) << s.log();  // native VLAN, untagged there
  // TCP from an access port to the native port, with the default offloads.
  EXPECT_EQ(net::tcp_transfer(*native.ns, "10.10.0.6", *s.host["veth202i0"].ns, 5001, 1 << 20, 10s),
            std::size_t{1} << 20);

  // The trunk asks in VLAN 10 and in VLAN 20: each is answered by that
  // VLAN's container only, and the answer comes back tagged with its VLAN.
  (void)trunk.wire->receive_ready();
  (void)native.wire->receive_ready();
  send_arp(trunk, 0x0a0a0005, 0x0a0a0002, 10);
  EXPECT_TRUE(arp_arrives(trunk, 2, 0x0a0a0002, 10)) << "reply from VLAN 10, tagged 10";
  EXPECT_TRUE(arp_arrives(native, 1, 0x0a0a0005, 0)) << "the native VLAN arrives untagged";
  send_arp(trunk, 0x0a0a0005, 0x0a0a0004, 20);
  EXPECT_TRUE(arp_arrives(trunk, 2, 0x0a0a0004, 20)) << "reply from VLAN 20, tagged 20";
  EXPECT_TRUE(arp_arrives(native, 1, 0x0a0a0005, 20)) << "a trunked VLAN arrives tagged";
  send_arp(trunk, 0x0a0a0005, 0x0a0a0002, 20);  // 10.10.0.2 is not in VLAN 20
  EXPECT_FALSE(arp_arrives(trunk, 2, 0x0a0a0002, 20));
  send_arp(trunk, 0x0a0a0005, 0x0a0a0002, 30);  // a VLAN the trunk does not carry
  EXPECT_FALSE(arp_arrives(trunk, 2, 0x0a0a0002, 30));

  const std::string ports = s.daemon->ctl_ok({"dump-ports", "vmbr0"});
  EXPECT_TRUE(
      contains(ports, "veth206i0 (auto, link up, tag=10 trunks=20 vlan_mode=native-untagged)"))
      << ports;
  const std::string show = s.daemon->ctl_ok({"show"});
  EXPECT_TRUE(contains(show, "drop.vlan: ")) << show;  // the VLAN 30 request

  // Retagging a running container's port takes effect at once, in place.
  s.db.vsctl_ok({"set", "Port", "veth204i0", "tag=10"});
  EXPECT_TRUE(s.ping("veth202i0", "10.10.0.4")) << s.log();
  EXPECT_EQ(s.ofport("veth204i0"), "3");
}

TEST(OvsdbSource, OpDbusTransactionsWithoutNextCfgAreAppliedAndNumbered) {
  REQUIRE_OVSDB();
  DatabaseSwitch s;
  s.host.plug("ct100", "10.4.0.100/24");
  s.host.plug("ct101", "10.4.0.101/24");
  const std::string script =
      std::string(SOCKSWITCH_SOURCE_DIR) + "/tests/control/ovsdb/opdbus_replay.py";
  auto replay = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv{"python3", script, s.db.socket_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return net::run_command(argv, 15s);
  };
  // op-dbus creates the bridge without a port of its own, and never bumps
  // next_cfg: the switch acts on the rows themselves.
  const net::CommandResult created = replay({"create", "mesh", "ct100", "ct101"});
  ASSERT_TRUE(created.ok()) << created.output;
  const net::CommandResult a = replay({"wait-ofport", "ct100", "5"});
  const net::CommandResult b = replay({"wait-ofport", "ct101", "5"});
  ASSERT_TRUE(a.ok() && b.ok()) << a.output << b.output << s.log();
  std::set<std::string> numbers{a.output, b.output};
  EXPECT_EQ(numbers, (std::set<std::string>{"1\n", "2\n"}));
  // A bridge op-dbus made gets OVS's default flow: a learning switch.
  EXPECT_TRUE(contains(s.daemon->ctl_ok({"dump-flows", "mesh"}), "priority=0 actions=NORMAL"));
  EXPECT_TRUE(s.ping("ct100", "10.4.0.101")) << s.log();
  const net::CommandResult fail_mode =
      replay({"set-bridge-property", "mesh", "fail_mode", "secure"});
  ASSERT_TRUE(fail_mode.ok()) << fail_mode.output;
  EXPECT_TRUE(net::wait_until(
      [&] {
        return !contains(s.daemon->ctl_ok({"dump-flows", "mesh"}), "NORMAL");
      },
      3s));
  EXPECT_FALSE(s.ping("ct100", "10.4.0.101", 2));
  ASSERT_TRUE(replay({"delete-port", "mesh", "ct101"}).ok());
  EXPECT_TRUE(net::wait_until([&] { return !contains(s.daemon->ctl_ok({"show"}), "ct101"); }, 3s));
}

TEST(OvsdbSource, RestartsOfTheServerOrOfTheSwitchChangeNothing) {
  REQUIRE_OVSDB();
  DatabaseSwitch s;
  for (const char* p : {"ct1", "ct2", "ct3"})
    s.host.plug(p, std::string("10.5.0.") + (p + 2) + "/24");
  s.db.vsctl_ok({"add-br", "socket"});
  for (const char* p : {"ct1", "ct2", "ct3"})
    s.db.vsctl_ok({"add-port", "socket", p});
  s.db.vsctl_ok({"del-port", "socket", "ct1"});
  EXPECT_EQ(s.ofport("ct2"), "2");
  EXPECT_EQ(s.ofport("ct3"), "3");

  // ovsdb-server restarts under traffic: the switch forwards on as it was.
  net::CommandResult flood;
  std::thread pinger([&] {
    flood = s.host["ct2"].ns->exec({"ping", "-c", "60", "-i", "0.05", "-W", "1", "10.5.0.3"}, 15s);
  });
  std::this_thread::sleep_for(1s);
  s.db.restart();
  pinger.join();
  EXPECT_TRUE(contains(flood.output, " 0% packet loss")) << flood.output;
  EXPECT_TRUE(net::wait_until(
      [&] {
        return contains(s.daemon->ctl_ok({"show"}), "ct3 up") &&
               s.db.vsctl({"add-port", "socket", "ct1"}).ok();
      },
      10s))
      << s.log();
  EXPECT_EQ(s.ofport("ct1"), "4");  // OVS: the next number, not the one ct1 freed

  // A reload of the file while the server is away keeps the database's bridges.
  s.db.stop();
  EXPECT_TRUE(contains(s.daemon->ctl_ok({"reload"}), "reloaded"));
  EXPECT_TRUE(contains(s.daemon->ctl_ok({"show"}), "ct1 up")) << s.log();
  EXPECT_TRUE(s.ping("ct1", "10.5.0.3")) << s.log();
  s.db.start();

  // The switch restarts: the same ports with the same numbers, from the rows.
  s.daemon.reset();
  s.start();
  EXPECT_TRUE(net::wait_until([&] { return contains(s.daemon->ctl_ok({"show"}), "ct1 up"); }, 5s));
  const std::string show = s.daemon->ctl_ok({"show"});
  for (const char* port : {"port 2 (auto, af_packet): ct2 up", "port 3 (auto, af_packet): ct3 up",
                           "port 4 (auto, af_packet): ct1 up"})
    EXPECT_TRUE(contains(show, port)) << show;
  EXPECT_TRUE(s.ping("ct1", "10.5.0.3")) << s.log();
}

// `ovs-vsctl set-controller`: the switch connects out as ovs-vswitchd
// does and writes the connection's state back to the Controller row.
TEST(OvsdbSource, DatabaseControllersAreConnectedAndTheirStateWrittenBack) {
  REQUIRE_OVSDB();
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/ovs-testcontroller"))
      << "openvswitch-testcontroller is installed by scripts/install-deps.sh";
  DatabaseSwitch s;
  s.host.plug("veth202i0", "10.12.0.2/24");
  s.host.plug("veth203i0", "10.12.0.3/24");
  s.db.vsctl_ok({"add-br", "br0"});
  s.db.vsctl_ok({"add-port", "br0", "veth202i0"});
  s.db.vsctl_ok({"add-port", "br0", "veth203i0"});
  constexpr int kPort = 16641;
  auto row = [&](const char* column) {
    return s.db.vsctl({"get", "Controller", "br0", column}).output;
  };

  // Nothing listens yet: the row says why, and the standalone bridge fails
  // open to NORMAL meanwhile.
  s.db.vsctl_ok({"set-controller", "br0", "tcp:127.0.0.1:" + std::to_string(kPort)});
  EXPECT_TRUE(net::wait_until([&] { return contains(row("status"), "Connection refused"); }, 5s))
      << row("status");
  EXPECT_EQ(row("is_connected"), "false\n");
  EXPECT_TRUE(contains(row("status"), "state=BACKOFF")) << row("status");
  EXPECT_TRUE(s.ping("veth202i0", "10.12.0.3")) << s.log();

  // The controller comes (OpenFlow 1.0, learning from table misses).
  const pid_t controller =
      net::spawn_with_log({"ip", "netns", "exec", s.host.ns().name(), "ovs-testcontroller", "-O",
                           "OpenFlow10", "--unixctl=" + s.dir.path("testcontroller.ctl"),
                           "ptcp:" + std::to_string(kPort) + ":127.0.0.1"},
                          s.dir.path("testcontroller.log"));
  EXPECT_TRUE(net::wait_until([&] { return row("is_connected") == "true\n"; }, 15s))
      << row("status") << s.log();
  EXPECT_TRUE(contains(row("status"), "state=ACTIVE")) << row("status");
  EXPECT_EQ(row("role"), "other\n");
  EXPECT_TRUE(net::wait_until([&] { return s.ping("veth202i0", "10.12.0.3", 1); }, 10s))
      << s.daemon->ctl_ok({"dump-flows", "br0"}) << s.log();
  EXPECT_TRUE(contains(s.daemon->ctl_ok({"dump-flows", "br0"}), "idle_timeout="))
      << "the controller's own flows:\n"
      << s.daemon->ctl_ok({"dump-flows", "br0"}) << s.daemon->ctl_ok({"show"})
      << s.dir.read("testcontroller.log");

  // It goes: not connected again, said so.
  ::kill(controller, SIGTERM);
  ::waitpid(controller, nullptr, 0);
  EXPECT_TRUE(net::wait_until([&] { return row("is_connected") == "false\n"; }, 5s));

  // No controller: OVS's default flow for a standalone bridge comes back.
  s.db.vsctl_ok({"del-controller", "br0"});
  EXPECT_TRUE(net::wait_until(
      [&] {
        return contains(s.daemon->ctl_ok({"dump-flows", "br0"}), "actions=NORMAL");
      },
      5s))
      << s.daemon->ctl_ok({"dump-flows", "br0"});
  EXPECT_TRUE(s.ping("veth202i0", "10.12.0.3")) << s.log();
}

}  // namespace
}  // namespace sockswitch::test
