// tests/control/conntrack_switch_test.cc: a stateful table with real connections.
//
// Plan. Configure: containers A (inside) and B (outside) on veths of one
// in-process switch whose table is op-dbus's security table completed as
// its issue asks (ARP switched, every IP packet through ct(table=10),
// -trk and +inv dropped, +est and +rel passed, +new committed only from
// A's port, an output stage after mod_nw_ttl). Send: TCP (1 MB, content
// counted) and pings both ways, with the kernel's default offloads.
// Verify: what A opens works in both directions; what B opens gets no
// answer (its SYNs and echo requests are +new from the wrong side);
// dump-conntrack lists A's connections in OVS's format; a refused ct flow
// changes nothing and the table keeps forwarding; a flow change that does
// not touch the connections leaves them established; flush-conntrack
// forgets them, after which A's established pings are +new again and pass.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "control/config.h"
#include "tests/control/switch_host.h"
#include "tests/control/switch_thread.h"
#include "tests/net/command.h"
#include "tests/net/require_netns.h"
#include "tests/net/tcp_transfer.h"

namespace sockswitch::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kConntrackConfig = R"toml([[bridge]]
name = "br0"
flow = ["table=0,priority=500,arp,actions=normal",
        "table=0,priority=470,ip,actions=ct(table=10)",
        "table=10,priority=500,ct_state=-trk,actions=drop",
        "table=10,priority=500,ct_state=+inv,actions=drop",
        "table=10,priority=400,ct_state=+est,actions=resubmit(,20)",
        "table=10,priority=400,ct_state=+rel,actions=resubmit(,20)",
        "table=10,priority=390,ct_state=+new,ip,in_port=cta0,actions=ct(commit),resubmit(,20)",
        "table=10,priority=380,ct_state=+new,actions=drop",
        "table=20,priority=300,ip,actions=mod_nw_ttl:64,resubmit(,30)",
        "table=30,priority=10,actions=normal"]
[[bridge.port]]
name = "cta0"
[[bridge.port]]
name = "ctb0"
)toml";

using net::contains;

bool ping_once(const net::NetNamespace& ns, const std::string& addr) {
  return ns.exec({"ping", "-c", "1", "-W", "1", addr}, 3s).ok();
}

TEST(ConntrackSwitch, ConnectionsOpenFromTheInsideOnly) {
  SOCKSWITCH_REQUIRE_NETNS();
  SwitchHost host;
  Container& a = host.plug("cta0", "10.68.0.1/24");
  Container& b = host.plug("ctb0", "10.68.0.2/24");
  SwitchThread sw(host.ns(), control::parse_config(kConntrackConfig, "<conntrack>"));

  EXPECT_TRUE(ping_once(*a.ns, "10.68.0.2"));
  constexpr std::size_t kBytes = 1 << 20;
  EXPECT_EQ(net::tcp_transfer(*b.ns, "10.68.0.2", *a.ns, 5201, kBytes, 10s), kBytes)
      << "A opens, B answers: both directions pass";
  EXPECT_FALSE(ping_once(*b.ns, "10.68.0.1")) << "B's echo request is +new from the wrong side";
  EXPECT_EQ(net::tcp_transfer(*a.ns, "10.68.0.1", *b.ns, 5202, kBytes, 3s), 0u)
      << "B's SYNs find no connection";

  const std::string dump = sw.call([](control::Switch& s) { return s.dump_conntrack("br0", {}); });
  EXPECT_TRUE(contains(dump, "tcp,orig=(src=10.68.0.1,dst=10.68.0.2,sport=")) << dump;
  EXPECT_TRUE(contains(dump, ",dport=5201),reply=(src=10.68.0.2,dst=10.68.0.1,sport=5201,"))
      << dump;
  EXPECT_TRUE(contains(dump, "icmp,orig=(src=10.68.0.1,dst=10.68.0.2,id=")) << dump;
  EXPECT_FALSE(contains(dump, "icmp,orig=(src=10.68.0.2")) << "B opened nothing: " << dump;
  const std::string show = sw.call([](control::Switch& s) { return s.show(); });
  EXPECT_TRUE(contains(show, "conntrack: ")) << show;

  // A refused flow (nat is not built) changes nothing; an unrelated flow
  // added after it leaves the connections as they are.
  const std::string before = sw.call([](control::Switch& s) { return s.dump_flows("br0"); });
  EXPECT_THROW(sw.call([](control::Switch& s) {
    return s.add_flows("br0", "table=10,priority=600,ip,actions=ct(commit,nat)", "<t>");
  }),
               std::exception);
  const std::string after = sw.call([](control::Switch& s) { return s.dump_flows("br0"); });
  EXPECT_EQ(before.size(), after.size());
  sw.call([](control::Switch& s) {
    return s.add_flows("br0", "table=30,priority=20,udp,tp_dst=9,actions=drop", "<t>");
  });
  EXPECT_TRUE(ping_once(*a.ns, "10.68.0.2"));
  EXPECT_EQ(net::tcp_transfer(*b.ns, "10.68.0.2", *a.ns, 5203, kBytes, 10s), kBytes);
  // The transfer returns when B has read the FIN; the close's last packets
  // may still be on their way, and one that crossed after the flush would
  // start a connection of its own (seen once: a SYN_SENT entry for 5203).
  std::this_thread::sleep_for(500ms);

  EXPECT_TRUE(
      contains(sw.call([](control::Switch& s) { return s.flush_conntrack({}); }), "flushed "));
  EXPECT_EQ(sw.call([](control::Switch& s) { return s.dump_conntrack("", {}); }), "");
  EXPECT_TRUE(ping_once(*a.ns, "10.68.0.2")) << "A may open again";
  EXPECT_FALSE(ping_once(*b.ns, "10.68.0.1"));
}

}  // namespace
}  // namespace sockswitch::test
