// tests/control/ovsdb_differential_test.cc: the same ovs-vsctl commands against ovs-vswitchd and
// against sockswitch leave the same database.
//
// Plan. Configure: two private ovsdb-servers; on one, the real
// ovs-vswitchd (userspace `netdev` datapath) in its own namespace; on the
// other, `sockswitch run` in another; the same veth names in both. Send:
// one sequence of ovs-vsctl commands (bridges, ports, deletes and re-adds,
// ofport_request, fail mode) to both, each waiting for its switch. Verify:
// `ovs-vsctl show` and every Interface's ofport read the same, and the
// default flow follows the fail mode on both.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "tests/control/config_dir.h"
#include "tests/control/daemon_process.h"
#include "tests/control/ovsdb_server.h"
#include "tests/control/vswitchd.h"
#include "tests/net/netns.h"
#include "tests/net/require_netns.h"
#include "tests/net/skip.h"

namespace sockswitch::test {
namespace {

using namespace std::chrono_literals;

// The lines from `at` that are indented deeper than `indent`, as one text
// with each line's own children sorted: `ovs-vsctl show` lists bridges and
// ports in the order of their (random) row UUIDs.
std::string sorted_tree(const std::vector<std::string>& lines, std::size_t& at,
                        std::size_t indent) {
  std::vector<std::string> children;
  while (at < lines.size()) {
    const std::size_t mine = lines[at].find_first_not_of(' ');
    if (mine <= indent) break;
    std::string node = lines[at++] + "\n";
    node += sorted_tree(lines, at, mine);
    children.push_back(std::move(node));
  }
  std::sort(children.begin(), children.end());
  std::string out;
  for (const std::string& c : children)
    out += c;
  return out;
}

// `ovs-vsctl show` without its first line (the database's own UUID), in an
// order that does not depend on row UUIDs.
std::string show(const OvsdbServer& db) {
  std::vector<std::string> lines;
  std::istringstream in(db.vsctl_ok({"show"}));
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  std::size_t at = 1;
  return sorted_tree(lines, at, 0);
}

TEST(OvsdbDifferential, TheSameVsctlCommandsLeaveTheSameDatabaseAsOvsVswitchd) {
  SOCKSWITCH_REQUIRE_NETNS();
  if (const auto why = OvsdbServer::skip_reason()) SOCKSWITCH_SKIP(*why);
  if (::access(kVswitchd, X_OK) != 0) SOCKSWITCH_SKIP(std::string(kVswitchd) + " is missing");
  OvsdbServer ovs_db, our_db;
  net::NetNamespace ovs_ns, our_ns;
  for (const net::NetNamespace* ns : {&ovs_ns, &our_ns})
    for (const char* p : {"p1", "p2", "p3", "p4"}) {
      net::run_checked({"ip", "-n", ns->name(), "link", "add", p, "type", "veth", "peer", "name",
                        std::string("q") + (p + 1)});
      net::run_checked({"ip", "-n", ns->name(), "link", "set", p, "up"});
    }
  Vswitchd vswitchd(ovs_ns, ovs_db);
  ConfigDir dir{{}};
  dir.write("sockswitch.toml", "control_socket = \"" + dir.path("ctl.sock") + "\"\novsdb = \"" +
                                   our_db.remote() + "\"\n");
  DaemonProcess sockswitch(our_ns, dir.path("sockswitch.toml"), dir.path("ctl.sock"),
                           dir.path("daemon.log"));

  const std::vector<std::vector<std::string>> commands = {
      {"add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=netdev"},
      {"add-port", "br0", "p1"},
      {"add-port", "br0", "p2"},
      {"del-port", "br0", "p1"},
      {"add-port", "br0", "p3"},
      {"add-port", "br0", "p1"},
      {"--", "add-port", "br0", "p4", "--", "set", "Interface", "p4", "ofport_request=10"},
      {"--may-exist", "add-port", "br0", "p2"},
      {"add-br", "br1", "--", "set", "bridge", "br1", "datapath_type=netdev"},
      {"set-fail-mode", "br1", "secure"},
      {"del-port", "br0", "p3"},
      {"add-port", "br0", "p3"},
  };
  for (const auto& c : commands) {
    const net::CommandResult theirs = ovs_db.vsctl(c);
    const net::CommandResult ours = our_db.vsctl(c);
    ASSERT_TRUE(theirs.ok()) << theirs.output;
    ASSERT_TRUE(ours.ok()) << ours.output << sockswitch.log();
    EXPECT_EQ(ours.output, theirs.output) << c[0];
  }
  EXPECT_EQ(show(our_db), show(ovs_db));
  for (const char* iface : {"br0", "br1", "p1", "p2", "p3", "p4"})
    EXPECT_EQ(our_db.vsctl_ok({"get", "Interface", iface, "ofport"}),
              ovs_db.vsctl_ok({"get", "Interface", iface, "ofport"}))
        << iface;
  // OVS's default flow on the standalone bridge, none on the secure one.
  const std::string ovs_flows =
      net::run_command({"ovs-ofctl", "dump-flows", "unix:" + ovs_db.dir() + "/br0.mgmt"}, 5s)
          .output;
  EXPECT_NE(ovs_flows.find("priority=0 actions=NORMAL"), std::string::npos) << ovs_flows;
  EXPECT_NE(sockswitch.ctl_ok({"dump-flows", "br0"}).find("priority=0 actions=NORMAL"),
            std::string::npos);
  EXPECT_EQ(sockswitch.ctl_ok({"dump-flows", "br1"}), "");
}

}  // namespace
}  // namespace sockswitch::test
