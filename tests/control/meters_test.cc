// tests/control/meters_test.cc: meters with real traffic, and the meter commands.
//
// Plan. Configure: containers A and B on veths of one in-process switch;
// UDP from A goes through `meter:1` (the config's meters), everything else
// is NORMAL. Send: paced UDP streams from A at 2x and 10x meter 1's rate,
// then at 2x a kbps meter's rate, for T seconds each. Verify: what B
// receives lies between 0.95 x rate x T and rate x T + burst (OVS's
// bucket), and meter-stats counts what came in and what was dropped. Then
// the commands: a flow naming a missing meter is refused and changes
// nothing, del-meters takes the meter's flows with it, and a malformed
// meter is refused with its position.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "control/config.h"
#include "tests/control/switch_host.h"
#include "tests/control/switch_thread.h"
#include "tests/net/command.h"
#include "tests/net/require_netns.h"
#include "tests/net/udp_stream.h"

namespace sockswitch::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kMetersConfig = R"([[bridge]]
name = "br0"
meters = ["meter=1,pktps,bands=type=drop,rate=200",
          "meter=2,kbps,burst,bands=type=drop,rate=400,burst_size=400"]
flow = ["priority=10,actions=normal",
        "priority=20,udp,tp_dst=5001,actions=meter:1,normal",
        "priority=20,udp,tp_dst=5002,actions=meter:2,normal"]
[[bridge.port]]
name = "mta0"
[[bridge.port]]
name = "mtb0"
)";

using net::contains;

// dump-flows without the durations, which move between two dumps.
std::string flows_of(control::Switch& s) {
  std::string out = s.dump_flows("br0");
  for (const char* moving : {"duration=", "idle_age="})
    for (std::size_t at; (at = out.find(moving)) != std::string::npos;)
      out.erase(at, out.find(", ", at) + 2 - at);
  return out;
}

// Datagrams B received of a stream from A at `pps` for `seconds` to `port`.
std::size_t received_at(Container& a, Container& b, std::uint16_t port, int pps, int seconds) {
  net::UdpStreamSpec spec;
  spec.to_addr = "10.67.0.2";
  spec.port = port;
  spec.count = static_cast<std::size_t>(pps * seconds);
  spec.interval = std::chrono::microseconds(1'000'000 / pps);
  spec.timeout = std::chrono::milliseconds(seconds * 1000 + 1500);  // what is dropped never comes
  const net::UdpStreamResult r = net::udp_stream(*a.ns, *b.ns, spec);
  EXPECT_TRUE(r.path_up);
  return r.received;
}

TEST(Meters, WhatPassesStaysWithinTheRateAndTheBurstUnderOverload) {
  SOCKSWITCH_REQUIRE_NETNS();
  SwitchHost host;
  Container& a = host.plug("mta0", "10.67.0.1/24");
  Container& b = host.plug("mtb0", "10.67.0.2/24");
  SwitchThread sw(host.ns(), control::parse_config(kMetersConfig, "<meters>"));
  constexpr int kSeconds = 4, kRate = 200, kBurst = 200;  // no burst_size: the rate
  for (const int overload : {2, 10}) {
    sw.call([](control::Switch& s) {
      return s.mod_meter("br0", "meter=1,pktps,bands=type=drop,rate=200");
    });
    const std::size_t got = received_at(a, b, 5001, kRate * overload, kSeconds);
    EXPECT_GE(got, std::size_t(0.95 * kRate * kSeconds)) << overload << "x";
    EXPECT_LE(got, std::size_t(kRate * kSeconds + kBurst + 1)) << overload << "x (+1: the probe)";
  }
  // kbps (meter 2 holds a second of its rate, so a pause of the sender
  // shorter than that costs it no tokens): the stream's frames are 46 bytes (4 bytes of UDP
  // payload) unless something pads them; 400 kbit/s is then 1087 a second, sent at 2x. The bounds
  // use the frame size the meter itself counted.
  const std::size_t got = received_at(a, b, 5002, 2174, kSeconds);
  const std::string m2 =
      sw.call([](control::Switch& s) { return s.meter_stats("br0", "meter=2"); });
  const auto field = [&](const std::string& key) {
    const std::size_t at = m2.find(key + "=");
    return at == std::string::npos ? 0.0 : std::stod(m2.substr(at + key.size() + 1));
  };
  ASSERT_GT(field("packet_in_count"), 0) << m2;
  const double frame_bits = 8 * field("byte_in_count") / field("packet_in_count");
  const double allowed = 400'000.0 * kSeconds / frame_bits;
  EXPECT_GE(got, std::size_t(0.95 * allowed)) << m2;
  EXPECT_LE(got, std::size_t(allowed + 400'000 / frame_bits + 1)) << m2;
  const std::string stats = sw.call([](control::Switch& s) { return s.meter_stats("br0", ""); });
  EXPECT_TRUE(contains(stats, "meter=1 flow_count=1 packet_in_count=")) << stats;
  EXPECT_TRUE(contains(stats, "meter=2 flow_count=1 ")) << stats;
}

TEST(Meters, CommandsKeepFlowsAndMetersConsistent) {
  SOCKSWITCH_REQUIRE_NETNS();
  SwitchHost host;
  host.plug("mta0", "10.67.0.1/24");
  host.plug("mtb0", "10.67.0.2/24");
  SwitchThread sw(host.ns(), control::parse_config(kMetersConfig, "<meters>"));
  auto run = [&](auto f) { return sw.call(f); };
  auto refused = [&](auto f) -> std::string {
    try {
      (void)sw.call(f);
    } catch (const std::exception& e) {
      return e.what();
    }
    return "(accepted)";
  };
  const std::string flows_before = run(flows_of);
  EXPECT_TRUE(contains(refused([](control::Switch& s) {
                         return s.add_flows("br0", "priority=30,udp,actions=meter:9,normal", "<t>");
                       }),
                       "meter 9 does not exist on bridge br0"));
  const std::string bad = refused([](control::Switch& s) {
    return s.add_meter("br0", "meter=9,pktps,bands=type=drop,rate=x");
  });
  EXPECT_TRUE(contains(bad, "<meter>:1:31: error: ")) << bad;
  EXPECT_TRUE(contains(bad, "(at 'rate=x')")) << bad;
  EXPECT_TRUE(contains(refused([](control::Switch& s) {
                         return s.add_meter("br0", "meter=1,pktps,bands=type=drop,rate=5");
                       }),
                       "meter 1 already exists on br0 (mod-meter changes it)"));
  EXPECT_TRUE(contains(refused([](control::Switch& s) {
                         return s.mod_meter("br0", "meter=8,pktps,bands=type=drop,rate=5");
                       }),
                       "no meter 8 on br0 to modify"));
  EXPECT_EQ(run(flows_of), flows_before);

  run([](control::Switch& s) {
    return s.add_meter("br0", "meter=9,pktps,stats,bands=type=drop,rate=50");
  });
  run([](control::Switch& s) {
    return s.add_flows("br0", "priority=30,udp,tp_dst=7,actions=meter:9,normal", "<t>");
  });
  EXPECT_EQ(run([](control::Switch& s) { return s.dump_meters("br0", "meter=9"); }),
            "meter=9,pktps,stats,bands=type=drop,rate=50\n");
  EXPECT_EQ(run([](control::Switch& s) { return s.del_meters("br0", "meter=9"); }),
            "1 meters deleted from br0\n");
  EXPECT_FALSE(contains(run(flows_of), "meter:9")) << "the meter's flow went with it";
  EXPECT_EQ(run(flows_of), flows_before);
  // All meters: their flows go too; the rest stay.
  run([](control::Switch& s) { return s.del_meters("br0", "meter=all"); });
  const std::string left = run(flows_of);
  EXPECT_FALSE(contains(left, "meter:")) << left;
  EXPECT_TRUE(contains(left, "priority=10 actions=NORMAL")) << left;
}

}  // namespace
}  // namespace sockswitch::test
