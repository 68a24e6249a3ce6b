// tests/control/malformed_replay_test.cc: a malformed-frame corpus through a running daemon.
//
// Plan. A corpus of our own, written as a capture file: well-formed frames
// of every header kind (IPv4 TCP/UDP/ICMP with and without options and as
// first and later fragments, IPv6 with an extension chain, a fragment header
// and AH, ND, ARP, one and two VLAN tags), each cut at every byte, plus
// broken length fields (IPv4 total length past the frame or under its
// header, IHL under 5, IPv6 payload length past the frame, TCP data offset
// under 5). The real `sockswitch run` (no root needed: pcap ports) replays
// it 3 000 times into bridge `br` through port `in`, whose flows rewrite
// every kind of header (VLAN push/strip, IPv4/IPv6 addresses, ports, TTL)
// across two tables and send each frame to exactly one of `out1`/`out2`, or
// drop it. While frames are in flight, a reload of a broken config is
// refused. At the end the daemon is alive, its flows are the file's, and
// every frame is accounted for: the corpus = received by `in` + its rx
// drops and errors; received = sent by out1 and out2 + their tx drops +
// every named drop of the poll thread.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 with ASan, inside <regex>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <filesystem>
#include <regex>

#include "tests/control/config_dir.h"
#include "tests/control/daemon_process.h"
#include "tests/dataplane/frame_builder.h"
#include "tests/net/netns.h"
#include "tests/net/require_netns.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"  // headers by designated fields

namespace sockswitch::test {
namespace {

using namespace std::chrono_literals;
using dataplane::test::FrameBuilder;

constexpr std::uint64_t kDst = 0x02000000'00bb, kSrc = 0x02000000'00aa;
constexpr int kRounds = 3000;  // long enough that the reload lands mid-stream

std::vector<std::vector<std::uint8_t>> whole_frames() {
  constexpr flowtable::Wide kT{0xfe80000000000000, 0xbb};
  std::vector<std::vector<std::uint8_t>> f;
  f.push_back(FrameBuilder().eth(kDst, kSrc, 0x0800).ipv4({}).tcp(1, 443, 0x02).build());
  f.push_back(FrameBuilder().eth(kDst, kSrc, 0x0800).ipv4({.proto = 17}).udp(53, 9).build());
  f.push_back(FrameBuilder()
                  .eth(kDst, kSrc, 0x0800)
                  .ipv4({.proto = 17, .ihl = 6, .options = 4})
                  .udp(1, 2)
                  .build());
  f.push_back(FrameBuilder().eth(kDst, kSrc, 0x0800).ipv4({.proto = 1}).icmp(8, 0).build());
  f.push_back(
      FrameBuilder().eth(kDst, kSrc, 0x0800).ipv4({.proto = 17, .frag = 0x2000}).udp(1, 2).build());
  f.push_back(
      FrameBuilder().eth(kDst, kSrc, 0x0800).ipv4({.proto = 17, .frag = 0x0010}).udp(1, 2).build());
  f.push_back(FrameBuilder().eth(kDst, kSrc, 0x0800).ipv4({.ttl = 1}).tcp(1, 80, 0x10).build());
  f.push_back(FrameBuilder().eth(kDst, kSrc, 0x0806).arp(1, kSrc, 1, 0, 2).build());
  f.push_back(FrameBuilder()
                  .eth_addrs(kDst, kSrc)
                  .tag(0x8100, 5)
                  .type(0x0800)
                  .ipv4({.proto = 17})
                  .udp(1, 2)
                  .build());
  f.push_back(FrameBuilder()
                  .eth_addrs(kDst, kSrc)
                  .tag(0x88a8, 5)
                  .tag(0x8100, 6)
                  .type(0x0806)
                  .arp(1, kSrc, 1, 0, 2)
                  .build());
  f.push_back(FrameBuilder()
                  .eth(kDst, kSrc, 0x86dd)
                  .ipv6({.next = 0})
                  .ext(60, 1)
                  .ext(6)
                  .tcp(1, 2, 2)
                  .build());
  f.push_back(FrameBuilder()
                  .eth(kDst, kSrc, 0x86dd)
                  .ipv6({.next = 44})
                  .frag6(17, 0, true)
                  .udp(1, 2)
                  .build());
  f.push_back(FrameBuilder().eth(kDst, kSrc, 0x86dd).ipv6({.next = 51}).ah(17).udp(1, 2).build());
  f.push_back(FrameBuilder()
                  .eth(kDst, kSrc, 0x86dd)
                  .ipv6({.next = 58, .hop_limit = 255})
                  .nd(135, kT)
                  .nd_lla(1, kSrc)
                  .build());
  return f;
}

std::vector<std::vector<std::uint8_t>> corpus() {
  std::vector<std::vector<std::uint8_t>> out;
  for (const auto& frame : whole_frames())
    for (std::size_t len = 1; len <= frame.size(); ++len)  // every cut, the whole frame last
      out.emplace_back(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(len));
  // Length fields that lie.
  out.push_back(
      FrameBuilder().eth(kDst, kSrc, 0x0800).ipv4({.total_length = 1500}).tcp(1, 2, 2).build());
  out.push_back(
      FrameBuilder().eth(kDst, kSrc, 0x0800).ipv4({.total_length = 12}).tcp(1, 2, 2).build());
  out.push_back(FrameBuilder().eth(kDst, kSrc, 0x0800).ipv4({.ihl = 3}).tcp(1, 2, 2).build());
  out.push_back(FrameBuilder().eth(kDst, kSrc, 0x0800).ipv4({.ihl = 15}).tcp(1, 2, 2).build());
  out.push_back(FrameBuilder()
                    .eth(kDst, kSrc, 0x86dd)
                    .ipv6({.next = 6, .payload_length = 4000})
                    .tcp(1, 2, 2)
                    .build());
  out.push_back(FrameBuilder().eth(kDst, kSrc, 0x0800).ipv4({}).tcp(1, 2, 2, 2).build());
  return out;
}

void write_capture(const std::string& path, const std::vector<std::vector<std::uint8_t>>& frames) {
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
  pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
  ASSERT_NE(d, nullptr) << pcap_geterr(dead);
  for (const auto& f : frames) {
    pcap_pkthdr h{};
    h.caplen = h.len = static_cast<bpf_u_int32>(f.size());
    pcap_dump(reinterpret_cast<u_char*>(d), &h, f.data());
  }
  pcap_dump_close(d);
  pcap_close(dead);
}

constexpr const char* kReplayFlows = R"flows(
table=0,priority=300,vlan_tci=0x1000/0x1000,actions=strip_vlan,resubmit(,1)
table=0,priority=200,tcp,actions=mod_nw_src:10.9.9.9,mod_tp_dst:8443,dec_ttl,mod_vlan_vid:7,output:out1
table=0,priority=200,udp,actions=mod_nw_dst:10.8.8.8,mod_tp_src:5353,mod_nw_ttl:9,output:out2
table=0,priority=150,ipv6,actions=set_field:fe80::1->ipv6_src,dec_ttl,resubmit(,1)
table=0,priority=100,arp,actions=mod_dl_src:02:00:00:00:00:01,push_vlan:0x8100,output:out2
table=0,priority=50,icmp,actions=drop
table=0,priority=10,actions=resubmit(,1)
table=1,priority=100,ip,actions=mod_nw_tos:8,output:out1
table=1,priority=10,actions=output:out2
)flows";

// "    port   1: in (pcap, link up)\n           rx pkts=N, bytes=M, drop=D, errs=E\n  ..."
struct PortCount {
  std::uint64_t rx = 0, rx_drop = 0, rx_errs = 0, tx = 0, tx_drop = 0, tx_errs = 0;
};
PortCount port_count(const std::string& dump, const std::string& port) {
  PortCount c;
  const std::size_t at = dump.find(": " + port + " (");
  if (at == std::string::npos) return c;
  unsigned long long v[8]{};
  std::sscanf(dump.c_str() + dump.find("rx pkts=", at),
              "rx pkts=%llu, bytes=%llu, drop=%llu, errs=%llu", &v[0], &v[1], &v[2], &v[3]);
  std::sscanf(dump.c_str() + dump.find("tx pkts=", at),
              "tx pkts=%llu, bytes=%llu, drop=%llu, errs=%llu", &v[4], &v[5], &v[6], &v[7]);
  return {v[0], v[2], v[3], v[4], v[6], v[7]};
}

// Every "drop.NAME: N (...)" line of `show`, summed.
std::uint64_t named_drops(const std::string& show, std::string* which) {
  static const std::regex line(R"((drop\.[a-z_]+): ([0-9]+) )");
  std::uint64_t sum = 0;
  for (std::sregex_iterator i(show.begin(), show.end(), line), end; i != end; ++i) {
    sum += std::stoull((*i)[2]);
    *which += (*i)[1].str() + "=" + (*i)[2].str() + " ";
  }
  return sum;
}

TEST(MalformedReplay, EveryFrameIsAccountedForAndABrokenReloadChangesNothing) {
  SOCKSWITCH_REQUIRE_NETNS();  // the daemon runs in a namespace of its own
  const auto frames = corpus();
  ASSERT_GT(frames.size(), 700u);
  ConfigDir dir({});
  write_capture(dir.path("corpus.pcap"), frames);
  dir.write("br.flows", kReplayFlows);
  const std::string config = fmt::format(
      "[[bridge]]\nname = \"br\"\nflows = \"br.flows\"\n"
      "[[bridge.port]]\nname = \"in\"\ndriver = \"pcap\"\nrx_pcap = \"corpus.pcap\"\n"
      "rx_pcap_repeat = {}\n"
      "[[bridge.port]]\nname = \"out1\"\ndriver = \"pcap\"\ntx_pcap = \"out1.pcap\"\n"
      "[[bridge.port]]\nname = \"out2\"\ndriver = \"pcap\"\ntx_pcap = \"out2.pcap\"\n",
      kRounds);
  dir.write("switch.toml", config);
  net::NetNamespace host;
  DaemonProcess d(host, dir.path("switch.toml"), dir.path("ctl.sock"), dir.path("daemon.log"));
  const std::string flows = d.ctl_ok({"dump-flows", "br"});

  // A broken config while the replay runs: refused, nothing changes.
  const std::uint64_t before = port_count(d.ctl_ok({"dump-ports", "br"}), "in").rx;
  dir.write("switch.toml", config + "[[bridge.port]]\nname = \"in\"\ndriver = \"pcap\"\n");
  const net::CommandResult refused = d.ctl({"reload"});
  EXPECT_FALSE(refused.ok()) << refused.output;
  const std::uint64_t after = port_count(d.ctl_ok({"dump-ports", "br"}), "in").rx;
  dir.write("switch.toml", config);
  const std::uint64_t total = static_cast<std::uint64_t>(frames.size()) * kRounds;
  RecordProperty("received_when_reload_refused",
                 std::to_string(before) + ".." + std::to_string(after));

  PortCount in;
  ASSERT_TRUE(net::wait_until(
      [&] {
        in = port_count(d.ctl_ok({"dump-ports", "br"}), "in");
        return in.rx + in.rx_drop + in.rx_errs == total;
      },
      60s))
      << "received " << in.rx << " of " << total;
  std::this_thread::sleep_for(200ms);  // the last burst through the pipeline
  const std::string dump = d.ctl_ok({"dump-ports", "br"});
  const std::string show = d.ctl_ok({"show"});
  in = port_count(dump, "in");
  const PortCount o1 = port_count(dump, "out1"), o2 = port_count(dump, "out2");
  std::string which;
  const std::uint64_t dropped = named_drops(show, &which);
  EXPECT_EQ(in.rx, o1.tx + o2.tx + o1.tx_drop + o2.tx_drop + dropped)
      << "out1 " << o1.tx << " out2 " << o2.tx << " named drops " << which << "\n"
      << dump << show;
  EXPECT_GT(o1.tx, 0u);
  EXPECT_GT(o2.tx, 0u);
  EXPECT_GT(dropped, 0u) << "icmp and expired TTLs are dropped by name";
  RecordProperty("accounting", fmt::format("received {} = out1 {} + out2 {} + named drops {}({})",
                                           in.rx, o1.tx, o2.tx, dropped, which));
  // Alive, with the file's flows (counters aside).
  auto without_counters = [](std::string s) {
    return std::regex_replace(s, std::regex(R"((duration|n_packets|n_bytes|idle_age)=[^,]*, )"),
                              "");
  };
  EXPECT_EQ(without_counters(d.ctl_ok({"dump-flows", "br"})), without_counters(flows));
  EXPECT_EQ(d.log().find("ERROR: AddressSanitizer"), std::string::npos) << d.log();
}

}  // namespace
}  // namespace sockswitch::test
