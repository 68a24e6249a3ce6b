// tests/control/config_test.cc: configuration files, good and bad.
//
// Plan: the three shipped seed configs load with their flows and port
// numbers; each kind of mistake is reported with its file, line and column;
// a file with any mistake yields no configuration at all. A wireguard
// port's wg-quick file is parsed with the config: its mistakes are located
// in that file, and the port's checks (needs the file, one queue, no two
// tunnels on one ListenPort) are located in the TOML.
#include <gtest/gtest.h>

#include <cstdio>

#include "control/config.h"
#include "control/openflow/controller_target.h"

namespace sockswitch::control {
namespace {

std::string config(const char* name) {
  return std::string(SOCKSWITCH_SOURCE_DIR) + "/configs/" + name;
}

std::string error_of(const std::string& text) {
  try {
    (void)parse_config(text, "test.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Config, SeedDeploymentsLoad) {
  const Config vps = load_config(config("vps.toml"));
  ASSERT_EQ(vps.bridges.size(), 1u);
  const BridgeConfig& socket = vps.bridges[0];
  EXPECT_EQ(socket.name, "socket");
  EXPECT_EQ(socket.ports.size(), 3u);
  EXPECT_EQ(socket.flows.size(), 6u);
  EXPECT_EQ(*socket.port_map.find("veth102"), flowtable::PortNo{3});
  EXPECT_EQ(socket.flows[0].pos.line, 5);

  const Config mgmt = load_config(config("oo1424oo.toml"));
  EXPECT_EQ(mgmt.bridges[0].flows.size(), 9u);

  const Config dual = load_config(config("oo1424oo-dual.toml"));
  ASSERT_EQ(dual.bridges.size(), 2u);
  EXPECT_EQ(dual.bridge("mesh")->ports[1].driver, "patch");
  EXPECT_EQ(*dual.bridge("vmbr0")->ports[0].peer, "to-privacy");
  EXPECT_EQ(dual.bridge("mesh")->flows.size(), 7u);
  EXPECT_EQ(dual.bridge("vmbr0")->flows.size(), 5u);
}

TEST(Config, InlineFlowsAndAutomaticPortNumbers) {
  const Config c = parse_config(R"(
[[bridge]]
name = "br"
flow = ["priority=5,in_port=b,actions=output:a", "actions=normal"]
[[bridge.port]]
name = "a"
[[bridge.port]]
name = "b"
ofport = 1
[[bridge.port]]
name = "br"
driver = "internal"
)",
                                "test.toml");
  const BridgeConfig& b = c.bridges[0];
  EXPECT_EQ(*b.port_map.find("b"), flowtable::PortNo{1});
  EXPECT_EQ(*b.port_map.find("a"), flowtable::PortNo{2});
  EXPECT_EQ(b.ports[2].ofport, flowtable::kPortLocal);
  ASSERT_EQ(b.flows.size(), 2u);
  EXPECT_EQ(b.flows[0].pos.line, 4);
}

TEST(Config, MistakesAreLocated) {
  EXPECT_EQ(error_of("[[bridge]]\nname = \"br\"\ncolour = 1\n"),
            "test.toml:3:10: error: unknown key 'colour' in [[bridge]]");
  EXPECT_EQ(error_of("[[bridge]]\nname = 5\n"),
            "test.toml:2:8: error: 'name' must be a string\ntest.toml:1:1: error: a bridge needs a "
            "'name'");
  EXPECT_NE(error_of("[[bridge]]\nname = \"br\"\n[[bridge.port]]\nname = \"x\"\n"
                     "[[bridge]]\nname = \"br2\"\n[[bridge.port]]\nname = \"x\"\n")
                .find("test.toml:7:1: error: port 'x' is defined twice"),
            std::string::npos);
  EXPECT_EQ(error_of("[[bridge]]\nname = \"br\"\nflow = [\"in_port=nope,actions=drop\"]\n"),
            "test.toml:3:10: error: in_port=nope: unknown port 'nope' (at 'in_port=nope')");
  EXPECT_NE(
      error_of("[[bridge]]\nname = \"br\"\n[[bridge.port]]\nname = \"p\"\ndriver = \"patch\"\n"
               "peer = \"q\"\n")
          .find("its peer 'q' is not a patch port"),
      std::string::npos);
  EXPECT_NE(
      error_of("[[bridge]]\nname = \"br\"\n[[bridge.port]]\nname = \"p\"\ndriver = \"warp\"\n")
          .find("test.toml:5:10: error: unknown driver 'warp'"),
      std::string::npos);
  EXPECT_NE(error_of("[[bridge]\n").find("test.toml:1:"), std::string::npos);
  EXPECT_NE(error_of("[[bridge]]\nname = \"br\"\n[[bridge.port]]\nname = \"p\"\nofport = 70000\n")
                .find("'ofport' = 70000 is out of range"),
            std::string::npos);
}

// Found by config_fuzz: the patch check read the peer of a patch port that
// has none (an empty std::optional), once as the port and once as its peer.
TEST(Config, APatchPortWithoutPeerIsAnErrorNotACrash) {
  const std::string alone =
      error_of("[[bridge]]\nname = \"br\"\n[[bridge.port]]\nname = \"p\"\ndriver = \"patch\"\n");
  EXPECT_NE(alone.find("test.toml:3:1: error: patch port 'p' needs a 'peer'"), std::string::npos)
      << alone;
  const std::string named = error_of(
      "[[bridge]]\nname = \"a\"\n[[bridge.port]]\nname = \"p\"\ndriver = \"patch\"\n"
      "peer = \"q\"\n[[bridge]]\nname = \"b\"\n[[bridge.port]]\nname = \"q\"\n"
      "driver = \"patch\"\n");
  EXPECT_NE(named.find("patch port 'q' needs a 'peer'"), std::string::npos) << named;
}

// Parsed means done: an option the port's driver would ignore is refused
// where it is written, with the drivers that take it.
TEST(Config, AnOptionTheDriverWouldIgnoreIsRefusedAtItsPlace) {
  const std::string port = "[[bridge]]\nname = \"br\"\n[[bridge.port]]\nname = \"p\"\n";
  EXPECT_NE(error_of(port + "driver = \"af_xdp\"\nrx_pcap = \"in.pcap\"\n")
                .find("test.toml:6:11: error: 'rx_pcap' is only for pcap ports ('p' is af_xdp)"),
            std::string::npos)
      << error_of(port + "driver = \"af_xdp\"\nrx_pcap = \"in.pcap\"\n");
  EXPECT_NE(error_of(port + "driver = \"tap\"\ndpdk_devargs = \"net_tap0\"\n")
                .find("'dpdk_devargs' is only for dpdk ports ('p' is tap)"),
            std::string::npos);
  EXPECT_NE(error_of(port + "driver = \"af_packet\"\ncreate = false\n")
                .find("'create' is only for tap, tun, internal ports ('p' is af_packet)"),
            std::string::npos);
  EXPECT_NE(error_of(port + "driver = \"pcap\"\nqueues = 2\n").find("pcap port 'p' has one queue"),
            std::string::npos);
  EXPECT_NE(error_of(port + "driver = \"pcap\"\nrx_pcap_repeat = 3\n")
                .find("test.toml:6:18: error: 'rx_pcap_repeat' needs an 'rx_pcap' to replay"),
            std::string::npos);
}

TEST(Config, OpenFlowControllerTargetsAndFailModeAreChecked) {
  const Config c = parse_config(
      "ovs_rundir = \"/tmp/x\"\n[[bridge]]\nname = \"br\"\nfail_mode = \"secure\"\n"
      "controller = [\"ptcp:6653\", \"ptcp:6654:[::1]\", \"punix:/run/of.sock\", "
      "\"tcp:10.0.0.1\", \"tcp:[::1]:6633\", \"unix:/run/ctl.sock\"]\n",
      "test.toml");
  ASSERT_EQ(c.bridges.size(), 1u);
  EXPECT_EQ(c.bridges[0].controllers.size(), 6u);
  EXPECT_EQ(c.bridges[0].fail_mode, "secure");
  EXPECT_EQ(c.ovs_rundir, "/tmp/x");
  EXPECT_EQ(openflow::parse_controller_target("tcp:10.0.0.1").port, 6653);
  EXPECT_TRUE(openflow::parse_controller_target("unix:/run/ctl.sock").active());
  EXPECT_FALSE(openflow::parse_controller_target("ptcp:6653").active());
  EXPECT_NE(error_of("[[bridge]]\nname = \"br\"\ncontroller = [\"ssl:10.0.0.1:6653\"]\n")
                .find("test.toml:3:15: error: 'ssl:10.0.0.1:6653': TLS targets need certificates"),
            std::string::npos);
  EXPECT_NE(error_of("[[bridge]]\nname = \"br\"\ncontroller = [\"ptcp:0\"]\n")
                .find("the port must be 1..65535"),
            std::string::npos);
  EXPECT_NE(error_of("[[bridge]]\nname = \"br\"\ncontroller = [\"tcp:nowhere:6653\"]\n")
                .find("is not an IP address"),
            std::string::npos);
  EXPECT_NE(error_of("[[bridge]]\nname = \"br\"\nfail_mode = \"open\"\n")
                .find("fail_mode 'open': give standalone or secure"),
            std::string::npos);
  EXPECT_NE(error_of("openflow = 3\n").find("openflow: give true or false"), std::string::npos);
  EXPECT_NE(error_of("ovs_rundir = \"run\"\n").find("give an absolute path"), std::string::npos);
}

TEST(Config, PortVlanSettingsAreReadOrRefusedWithTheReason) {
  const Config c = parse_config(
      "[[bridge]]\nname = \"br\"\n"
      "[[bridge.port]]\nname = \"a\"\ntag = 10\n"
      "[[bridge.port]]\nname = \"t\"\ntrunks = [10, 20]\n"
      "[[bridge.port]]\nname = \"n\"\ntag = 10\ntrunks = [20]\nvlan_mode = \"native-untagged\"\n",
      "test.toml");
  ASSERT_EQ(c.bridges[0].ports.size(), 3u);
  EXPECT_EQ(c.bridges[0].ports[0].vlan.tag, 10);
  EXPECT_EQ(c.bridges[0].ports[1].vlan.trunks, (std::vector<std::uint16_t>{10, 20}));
  EXPECT_EQ(c.bridges[0].ports[2].vlan.mode, dataplane::VlanMode::native_untagged);
  const std::string port = "[[bridge]]\nname = \"br\"\n[[bridge.port]]\nname = \"p\"\n";
  EXPECT_NE(
      error_of(port + "tag = 4096\n").find("test.toml:5:7: error: 'tag' = 4096 is out of range"),
      std::string::npos);
  EXPECT_NE(error_of(port + "trunks = [1, \"x\"]\n").find("test.toml:5:14: error: each entry"),
            std::string::npos);
  EXPECT_NE(error_of(port + "vlan_mode = \"dot1q-tunnel\"\n")
                .find("test.toml:5:13: error: unknown vlan_mode 'dot1q-tunnel'"),
            std::string::npos);
  // What OVS would ignore with a warning is refused here, with the reason.
  EXPECT_NE(error_of(port + "tag = 10\ntrunks = [20]\n")
                .find("test.toml:3:1: error: port 'p': a port with a 'tag' and 'trunks' needs a "
                      "'vlan_mode'"),
            std::string::npos);
  EXPECT_NE(error_of(port + "vlan_mode = \"native-tagged\"\n").find("needs a 'tag'"),
            std::string::npos);
}

TEST(Config, ProxyListsAreReadForL3PortsOnly) {
  const Config c = parse_config(
      "[[bridge]]\nname = \"br\"\n"
      "[[bridge.port]]\nname = \"nm-server\"\nproxy = [\"10.2.0.50\", \"fd00::/64\"]\n"
      "[[bridge.port]]\nname = \"t\"\ndriver = \"tun\"\nproxy = []\n"
      "[[bridge.port]]\nname = \"v\"\n",
      "test.toml");
  const auto& ports = c.bridges[0].ports;
  ASSERT_TRUE(ports[0].proxy);
  ASSERT_EQ(ports[0].proxy->size(), 2u);
  EXPECT_EQ((*ports[0].proxy)[0].to_string(), "10.2.0.50/32");
  EXPECT_EQ((*ports[0].proxy)[1].to_string(), "fd00::/64");
  ASSERT_TRUE(ports[1].proxy);  // an empty list: answer for nothing
  EXPECT_TRUE(ports[1].proxy->empty());
  EXPECT_FALSE(ports[2].proxy);  // no list: the device's routes
  const std::string port = "[[bridge]]\nname = \"br\"\n[[bridge.port]]\nname = \"p\"\n";
  EXPECT_NE(error_of(port + "proxy = [\"10.2.0.0/33\"]\n")
                .find("test.toml:5:10: error: '10.2.0.0/33' is not an IP prefix"),
            std::string::npos)
      << error_of(port + "proxy = [\"10.2.0.0/33\"]\n");
  EXPECT_NE(error_of(port + "driver = \"af_xdp\"\nproxy = [\"10.2.0.0/24\"]\n")
                .find("test.toml:6:9: error: 'proxy' is for L3 ports"),
            std::string::npos);
  EXPECT_NE(error_of(port + "proxy = \"10.2.0.0/24\"\n").find("must be an array of strings"),
            std::string::npos);
}

TEST(Config, MetersAreReadAndFlowsMustNameOne) {
  const Config c = parse_config(
      "[[bridge]]\nname = \"br\"\nmeters = [\"meter=1,pktps,bands=type=drop,rate=10\"]\n"
      "flow = [\"priority=5,icmp,actions=meter:1,normal\"]\n",
      "test.toml");
  ASSERT_EQ(c.bridges[0].meters.size(), 1u);
  EXPECT_EQ(c.bridges[0].meters[0].bands[0].rate, 10u);
  EXPECT_EQ(error_of("[[bridge]]\nname = \"br\"\nflow = [\"icmp,actions=meter:2,normal\"]\n"),
            "test.toml:3:10: error: meter 2 is not defined: add it to the bridge's 'meters'");
  EXPECT_EQ(
      error_of("[[bridge]]\nname = \"br\"\nmeters = [\"meter=1,pktps,bands=type=drop,rate=0\"]\n"),
      "test.toml:3:42: error: 0 is out of range 1..4294967295 (at 'rate=0')");
  EXPECT_NE(error_of("[[bridge]]\nname = \"br\"\nmeters = [\"meter=1,bands=type=drop,rate=1\", "
                     "\"meter=1,bands=type=drop,rate=2\"]\n")
                .find("meter 1 is defined twice"),
            std::string::npos);
}

TEST(Config, BadFlowFileIsReportedAtItsOwnPosition) {
  const std::string dir = testing::TempDir();
  const std::string flows = dir + "/bad.flows";
  {
    std::FILE* f = std::fopen(flows.c_str(), "w");
    std::fputs("# comment\npriority=10,tp_dst=443,actions=normal\n", f);
    std::fclose(f);
  }
  const std::string err = error_of("[[bridge]]\nname = \"br\"\nflows = \"" + flows + "\"\n");
  EXPECT_NE(err.find(flows + ":2:13: error: tp_dst needs tcp, udp or sctp"), std::string::npos)
      << err;
}

// Writes `text` to a file in the test's temporary directory; returns its path.
std::string temp_file(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "w");
  std::fputs(text.c_str(), f);
  std::fclose(f);
  return path;
}

constexpr const char* kWarpConf =
    "[Interface]\n"
    "PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n"
    "ListenPort = 51820\n"
    "[Peer]\n"
    "PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\n"
    "Endpoint = 192.0.2.9:2408\n"
    "AllowedIPs = 0.0.0.0/0, ::/0\n";

TEST(Config, WireguardPortParsesItsWgQuickFile) {
  const std::string conf = temp_file("warp0.conf", kWarpConf);
  const Config c = parse_config(
      "[[bridge]]\nname = \"br\"\n[[bridge.port]]\nname = \"warp0\"\n"
      "driver = \"wireguard\"\nwg_config = \"" +
          conf + "\"\n",
      "test.toml");
  const PortConfig& p = c.bridges[0].ports[0];
  EXPECT_EQ(p.driver, "wireguard");
  EXPECT_EQ(*p.wg_config, conf);
  ASSERT_TRUE(p.wg_parsed);
  EXPECT_EQ(p.wg_parsed->interface.listen_port, 51820);
  ASSERT_EQ(p.wg_parsed->peers.size(), 1u);
  EXPECT_EQ(p.wg_parsed->peers[0].allowed_ips.size(), 2u);
  // The file's text decides equality (by its digest: the text, keys and
  // all, is not kept): an edited file is a changed port.
  PortConfig edited = p;
  edited.wg_config_digest[0] ^= 1;
  EXPECT_FALSE(edited == p);
  EXPECT_NE(p.wg_config_digest, PortConfig{}.wg_config_digest);
}

TEST(Config, WireguardMistakesAreLocated) {
  const std::string bad = temp_file("bad-wg.conf", "[Interface]\nPrivateKey = nope\n");
  std::string err = error_of(
      "[[bridge]]\nname = \"br\"\n[[bridge.port]]\nname = \"wg0\"\n"
      "driver = \"wireguard\"\nwg_config = \"" +
      bad + "\"\n");
  EXPECT_NE(err.find(bad + ":2:14: error: invalid key"), std::string::npos)
      << err;                                             // in the wg file itself
  EXPECT_EQ(err.find("nope"), std::string::npos) << err;  // a key's text is never shown

  err = error_of(
      "[[bridge]]\nname = \"br\"\n[[bridge.port]]\nname = \"wg0\"\n"
      "driver = \"wireguard\"\n");
  EXPECT_NE(err.find("test.toml:3:1: error: wireguard port 'wg0' needs 'wg_config'"),
            std::string::npos)
      << err;

  err = error_of(
      "[[bridge]]\nname = \"br\"\n[[bridge.port]]\nname = \"wg0\"\n"
      "driver = \"wireguard\"\nwg_config = \"/nonexistent/wg0.conf\"\n");
  EXPECT_NE(err.find("test.toml:6:13: error:"), std::string::npos) << err;
  EXPECT_NE(err.find("/nonexistent/wg0.conf"), std::string::npos) << err;

  const std::string good = temp_file("good-wg.conf", kWarpConf);
  err = error_of(
      "[[bridge]]\nname = \"br\"\n[[bridge.port]]\nname = \"eth1\"\n"
      "wg_config = \"" +
      good + "\"\n");
  EXPECT_NE(err.find("test.toml:5:13: error: 'wg_config' is only for wireguard ports"),
            std::string::npos)
      << err;

  err = error_of(
      "[[bridge]]\nname = \"br\"\n"
      "[[bridge.port]]\nname = \"wg0\"\ndriver = \"wireguard\"\nwg_config = \"" +
      good +
      "\"\n[[bridge.port]]\nname = \"wg1\"\ndriver = \"wireguard\"\n"
      "queues = 2\nwg_config = \"" +
      good + "\"\n");
  EXPECT_NE(err.find("wireguard port 'wg1' has one queue"), std::string::npos) << err;
  EXPECT_NE(err.find("wireguard ports 'wg0' and 'wg1' both have ListenPort 51820"),
            std::string::npos)
      << err;
}

}  // namespace
}  // namespace sockswitch::control
