// tests/control/drop_accounting_test.cc: every packet the switch receives is
// forwarded or dropped under exactly one name.
//
// Plan. Configure: one in-process switch, containers A (sender), B
// (receiver) and C (an access port of VLAN 5), and a table in which each
// class of frame meets one fate: output (the lone-output fast path and the
// interpreter), drop, controller (with no client reading, so its queue of
// 128 fills), output to the ingress port, output to a missing port, dec_ttl
// of TTL 1, a port rewrite on a later fragment (no L4 header), a resubmit
// chain deeper than 64, a resubmit tree of 2^14 lookups, a meter of one
// packet a second, NORMAL with a VLAN the access port does not take, and
// an EtherType no flow matches. Send: a known number of each class from the
// containers' raw sockets, paced. Verify: what the ports received equals
// what the poll thread processed, which equals `forwarded` plus the sum of
// every named drop (the pipeline's and the ports'); what the containers
// saw arrive equals `forwarded` (less any frame a port failed to send); and
// each class landed under its own reason, exactly. The one reason not
// provoked is drop.no_buffer (the pool running dry), which this rate cannot
// reach.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "control/config.h"
#include "dataplane/drop_reason.h"
#include "tests/control/switch_host.h"
#include "tests/control/switch_thread.h"
#include "tests/dataplane/frame_builder.h"
#include "tests/net/command.h"
#include "tests/net/require_netns.h"

namespace sockswitch::test {
namespace {

using namespace std::chrono_literals;
using dataplane::Drop;
using dataplane::test::FrameBuilder;

constexpr std::size_t kPerClass = 20;
constexpr std::size_t kToController = 200;  // more than the queue's 128 slots

// The flows for each fate, by UDP destination port where there is one.
std::string accounting_config() {
  std::string flows = R"FLOWS(
  "priority=100,udp,tp_dst=10,actions=output:acc1",
  "priority=100,udp,tp_dst=11,actions=mod_nw_tos:8,output:acc1",
  "priority=100,udp,tp_dst=9,actions=drop",
  "priority=100,udp,tp_dst=12,actions=controller",
  "priority=100,udp,tp_dst=13,actions=output:acc0",
  "priority=100,udp,tp_dst=14,actions=output:99",
  "priority=100,udp,tp_dst=15,actions=dec_ttl,output:acc1",
  "priority=100,udp,ip_frag=later,actions=mod_tp_dst:1,output:acc1",
  "priority=100,udp,tp_dst=16,actions=resubmit(,1)",
  "priority=100,udp,tp_dst=17,actions=resubmit(,100)",
  "priority=100,udp,tp_dst=18,actions=meter:1,output:acc1",
  "priority=100,dl_type=0x88b6,actions=normal",)FLOWS";
  for (int t = 1; t <= 70; ++t)  // deeper than kMaxResubmitDepth (64)
    flows += fmt::format("\n  \"table={},udp,tp_dst=16,actions=resubmit(,{})\",", t, t + 1);
  for (int t = 100; t < 114; ++t)  // 2^14 leaves, more than 4096 lookups
    flows += fmt::format("\n  \"table={},udp,tp_dst=17,actions=resubmit(,{}),resubmit(,{})\",", t,
                         t + 1, t + 1);
  return fmt::format(R"([[bridge]]
name = "br0"
meters = ["meter=1,pktps,bands=type=drop,rate=1"]
flow = [{}
]
[[bridge.port]]
name = "acc0"
[[bridge.port]]
name = "acc1"
[[bridge.port]]
name = "acc2"
tag = 5
)",
                     flows);
}

FrameBuilder::Ipv4 udp_header(std::uint8_t ttl = 64, std::uint16_t frag = 0) {
  FrameBuilder::Ipv4 ip;
  ip.proto = flowtable::kIpProtoUdp;
  ip.ttl = ttl;
  ip.frag = frag;
  return ip;
}

net::Frame udp_frame(const Container& from, const Container& to, std::uint16_t port,
                     std::uint8_t ttl = 64) {
  return FrameBuilder()
      .eth(to.mac(), from.mac(), flowtable::kEthTypeIpv4)
      .ipv4(udp_header(ttl))
      .udp(4000, port)
      .zeros(18)
      .build();
}

struct Totals {
  std::uint64_t received = 0, rx_dropped = 0, tx_dropped = 0, port_named = 0;
  std::uint64_t packets = 0, forwarded = 0;
  std::map<Drop, std::uint64_t> drops;
  std::uint64_t drops_total = 0;
};

Totals totals(control::Switch& s) {
  Totals t;
  for (const control::Switch::PortStatus& p : s.port_statuses("br0")) {
    t.received += p.counters.rx_packets;
    t.rx_dropped += p.counters.rx_dropped;
    t.tx_dropped += p.counters.tx_dropped;
  }
  for (const auto& [port, drops] : s.port_drops("br0"))
    for (const ports::PortDrop& d : drops)
      t.port_named += d.count;
  for (const auto& [index, stats] : s.thread_stats()) {
    t.packets += stats->packets.get();
    t.forwarded += stats->forwarded.get();
  }
  for (std::size_t d = 0; d < static_cast<std::size_t>(Drop::kCount); ++d) {
    t.drops[Drop(d)] = s.dropped(Drop(d));
    t.drops_total += s.dropped(Drop(d));
  }
  return t;
}

TEST(DropAccounting, EveryReceivedPacketIsForwardedOrDroppedUnderExactlyOneName) {
  SOCKSWITCH_REQUIRE_NETNS();
  SwitchHost host;
  Container& a = host.plug("acc0");
  Container& b = host.plug("acc1");
  Container& c = host.plug("acc2");
  SwitchThread sw(host.ns(), control::parse_config(accounting_config(), "<drop accounting>"));

  std::vector<std::pair<const Container*, net::Frame>> frames;
  const auto add = [&](const Container& from, const net::Frame& f, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
      frames.emplace_back(&from, f);
  };
  for (const std::uint16_t port : {10, 11, 9, 13, 14, 16, 17, 18})
    add(a, udp_frame(a, b, port), kPerClass);
  add(a, udp_frame(a, b, 12), kToController);
  add(a, udp_frame(a, b, 15, 1), kPerClass);
  add(a,
      FrameBuilder()
          .eth(b.mac(), a.mac(), flowtable::kEthTypeIpv4)
          .ipv4(udp_header(64, 16))  // offset 128: no UDP header
          .zeros(26)
          .build(),
      kPerClass);
  add(a, FrameBuilder().eth(b.mac(), a.mac(), 0x88b5).zeros(46).build(), kPerClass);
  add(c, FrameBuilder().eth_addrs(b.mac(), c.mac()).tag(0x8100, 7).type(0x88b6).zeros(46).build(),
      kPerClass);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    frames[i].first->wire->send(frames[i].second);
    if (i % 16 == 15) std::this_thread::sleep_for(2ms);  // well inside the rx rings
  }
  const std::uint64_t injected = frames.size();

  // Everything received has been processed, and what was sent has left.
  Totals t;
  net::wait_until(
      [&] {
        t = sw.call(totals);
        return t.received + t.rx_dropped >= injected && t.packets == t.received;
      },
      5s);
  std::this_thread::sleep_for(300ms);
  t = sw.call(totals);
  std::uint64_t arrived = 0;
  for (const Container* x : {&a, &b, &c})
    arrived += x->wire->receive(200ms).size();
  const std::string show = sw.call([](control::Switch& s) { return s.show(); });

  EXPECT_EQ(t.received + t.rx_dropped, injected) << show;
  EXPECT_EQ(t.packets, t.received) << show;
  // The identity: each received packet is forwarded or has one name.
  EXPECT_EQ(t.received, t.forwarded + t.drops_total + t.port_named) << show;
  EXPECT_EQ(arrived + t.tx_dropped, t.forwarded) << show;

  // Each class under its own reason, no more, no less.
  EXPECT_EQ(t.drops[Drop::action_drop], kPerClass) << show;
  EXPECT_EQ(t.drops[Drop::reflect], kPerClass) << show;
  EXPECT_EQ(t.drops[Drop::port_unknown], kPerClass) << show;
  EXPECT_EQ(t.drops[Drop::ttl_expired], kPerClass) << show;
  EXPECT_EQ(t.drops[Drop::bad_edit], kPerClass) << show;
  EXPECT_EQ(t.drops[Drop::resubmit_depth], kPerClass) << show;
  EXPECT_EQ(t.drops[Drop::resubmit_total], kPerClass) << show;
  EXPECT_EQ(t.drops[Drop::no_match], kPerClass) << show;
  EXPECT_EQ(t.drops[Drop::vlan], kPerClass) << show;
  EXPECT_EQ(t.drops[Drop::controller] + t.drops[Drop::controller_queue], kToController) << show;
  EXPECT_GT(t.drops[Drop::controller_queue], 0u) << "the queue of 128 filled" << show;
  EXPECT_GT(t.drops[Drop::controller], 0u) << show;
  // The meter passes its bucket (one packet a second) and drops the rest.
  EXPECT_GE(t.drops[Drop::meter], kPerClass - 3) << show;
  EXPECT_LE(t.drops[Drop::meter], kPerClass) << show;
  EXPECT_EQ(t.drops[Drop::no_buffer], 0u) << show;
  // Forwarded: the two output classes whole, and what the meter passed.
  EXPECT_EQ(t.forwarded, 2 * kPerClass + (kPerClass - t.drops[Drop::meter])) << show;
}

}  // namespace
}  // namespace sockswitch::test
