// tests/control/capture_test.cc: `ctl capture`, the frames a port receives
// and sends, as pcap.
//
// Plan. (a) The real daemon on the VPS config (VpsDaemon: veth102, warp0
// and nm-server in containers, `auto` ports): `ctl capture socket nm-server
// --rx -c 3 -w FILE` while nm-server's container broadcasts Netmaker
// datagrams (UDP 51821, which the VPS flows deliver to veth102 and warp0);
// then `ctl capture socket veth102 --tx -c 2 -w - | tcpdump -nn -r -`.
// Verify: the file holds exactly 3 frames, each the broadcast as sent
// (Ethernet, UDP to 51821, whole length kept); tcpdump reads 2 from the
// pipe; nothing was lost from the traffic; refused requests (no such port,
// a second capture of one port, an unknown id) change nothing and the
// bridge still forwards. (b) An in-process switch whose two ports are
// AF_XDP (driver "af_xdp"), where `tcpdump -i` sees no received frame:
// start_capture/read_capture see the pings both ways.
#include <pcap/pcap.h>

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <future>
#include <nlohmann/json.hpp>

#include "control/config.h"
#include "control/switch.h"
#include "tests/control/switch_host.h"
#include "tests/control/switch_thread.h"
#include "tests/control/vps_daemon.h"
#include "tests/net/command.h"
#include "tests/net/require_netns.h"

namespace sockswitch::test {
namespace {

using namespace std::chrono_literals;
using net::contains;

struct PcapFrame {
  std::uint32_t length = 0;
  std::vector<std::uint8_t> bytes;
};

// Every frame of a pcap file, read with libpcap; throws when it is not one.
std::vector<PcapFrame> read_pcap(const std::string& path, int& link_type) {
  char error[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline(path.c_str(), error);
  if (p == nullptr) throw std::runtime_error(path + ": " + error);
  link_type = pcap_datalink(p);
  std::vector<PcapFrame> frames;
  pcap_pkthdr* h = nullptr;
  const u_char* data = nullptr;
  while (pcap_next_ex(p, &h, &data) == 1)
    frames.push_back({h->len, std::vector<std::uint8_t>(data, data + h->caplen)});
  pcap_close(p);
  return frames;
}

std::uint16_t udp_destination(const std::vector<std::uint8_t>& f) {
  // Ethernet (14) + IPv4 without options (20) + source port (2).
  return f.size() >= 38 ? static_cast<std::uint16_t>(f[36] << 8 | f[37]) : 0;
}

TEST(Capture, CtlWritesWhatAPortReceivesAndSendsAsPcapForFilesAndPipes) {
  SOCKSWITCH_REQUIRE_NETNS();
  VpsDaemon v;
  const std::string file = v.dir.path("nm.pcap");
  auto captured = std::async(std::launch::async, [&] {
    return v.daemon.ctl({"capture", "socket", "nm-server", "--rx", "-c", "3", "-w", file});
  });
  const std::vector<std::uint8_t> broadcast = VpsDaemon::udp(v.nm, kBroadcast, 51821);
  int sent = 0;
  {
    DeliveryCheck check(v.host, {"veth102", "warp0", "nm-server"});
    while (captured.wait_for(200ms) != std::future_status::ready && sent < 40)
      check.send("nm-server", broadcast, {"veth102", "warp0"},
                 "Netmaker broadcast " + std::to_string(++sent));
    EXPECT_EQ(check.verify(), "") << "a capture takes nothing from the traffic";
  }
  const net::CommandResult r = captured.get();
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_TRUE(contains(r.output, "capture: 3 frames written; 0 dropped")) << r.output;
  int link_type = 0;
  const std::vector<PcapFrame> frames = read_pcap(file, link_type);
  EXPECT_EQ(link_type, DLT_EN10MB);
  ASSERT_EQ(frames.size(), 3u);
  // The frames as nm-server's container sent them: DeliveryCheck pads
  // each to 60 bytes and marks it at the end.
  for (const PcapFrame& f : frames) {
    EXPECT_EQ(f.length, 60u);
    ASSERT_EQ(f.bytes.size(), 60u);
    EXPECT_TRUE(std::equal(broadcast.begin(), broadcast.begin() + 16, f.bytes.begin()));
    EXPECT_EQ(udp_destination(f.bytes), 51821);
  }

  // Sent frames, through a pipe into tcpdump, as the issue's user does it.
  auto piped = std::async(std::launch::async, [&] {
    return v.host.ns().exec(
        {"sh", "-c",
         fmt::format("{} ctl --socket {} capture socket veth102 --tx -c 2 -w - | tcpdump -nn -r -",
                     SOCKSWITCH_BINARY, v.daemon.socket_path())},
        20s);
  });
  {
    DeliveryCheck check(v.host, {"veth102", "warp0", "nm-server"});
    for (int i = 0; piped.wait_for(200ms) != std::future_status::ready && i < 40; ++i)
      check.send("nm-server", broadcast, {"veth102", "warp0"}, "broadcast for the pipe");
    EXPECT_EQ(check.verify(), "");
  }
  const net::CommandResult t = piped.get();
  ASSERT_TRUE(t.ok()) << t.output;
  EXPECT_TRUE(contains(t.output, "10.2.0.1.40000 > 10.2.0.102.51821: UDP")) << t.output;
  EXPECT_TRUE(contains(t.output, "capture: 2 frames written")) << t.output;

  // Refused, and nothing changes: no such port, one capture per port at a
  // time, an unknown id, a bad count.
  EXPECT_TRUE(contains(v.daemon.ctl({"capture", "socket", "nope", "-w", file}).output,
                       "no port named 'nope' is open on bridge socket"));
  const std::string id = v.daemon.ctl_ok({"capture-start", "socket", "warp0", "both"});
  EXPECT_TRUE(contains(v.daemon.ctl({"capture-start", "socket", "warp0", "rx"}).output,
                       "port warp0 is already being captured"));
  EXPECT_EQ(v.daemon.ctl({"capture-read", "99"}).exit_code, 1);
  EXPECT_EQ(v.daemon.ctl({"capture", "socket", "warp0", "-c", "0", "-w", file}).exit_code, 1);
  const std::string last = v.daemon.ctl_ok({"capture-read", id.substr(0, id.find('\n')), "--stop"});
  EXPECT_TRUE(contains(last, R"("open":true)")) << last;
  DeliveryCheck after(v.host, {"veth102", "warp0", "nm-server"});
  after.send("nm-server", broadcast, {"veth102", "warp0"}, "a broadcast after the refusals");
  EXPECT_EQ(after.verify(), "");
}

// Received frames on an AF_XDP port reach no packet socket: the capture is
// the only view of them.
TEST(Capture, AfXdpPortsFramesAreCapturedBothWays) {
  SOCKSWITCH_REQUIRE_NETNS();
  SwitchHost host;
  Container& a = host.plug("cap-a", "10.77.0.1/24");
  host.plug("cap-b", "10.77.0.2/24");
  SwitchThread sw(host.ns(), control::parse_config(R"([[bridge]]
name = "br0"
flow = ["priority=10,actions=normal"]
[[bridge.port]]
name = "cap-a"
driver = "af_xdp"
[[bridge.port]]
name = "cap-b"
driver = "af_xdp"
)",
                                                   "<capture>"));
  const std::uint64_t id = sw.call([](control::Switch& s) {
    return s.start_capture("br0", "cap-b", ports::CaptureDirection::both);
  });
  const net::CommandResult ping =
      a.ns->exec({"ping", "-c", "3", "-i", "0.2", "-W", "1", "10.77.0.2"}, 10s);
  EXPECT_TRUE(ping.ok()) << ping.output;
  const nlohmann::json got = nlohmann::json::parse(
      sw.call([id](control::Switch& s) { return s.read_capture(id, 1024, true); }));
  int requests = 0, replies = 0;
  for (const nlohmann::json& f : got.at("frames")) {
    const std::string dir = f.at("dir");
    const std::size_t length = f.at("len");
    // ICMP echo request out to B (tx), echo reply in from B (rx); ARP too.
    if (length == 98 && dir == "tx") ++requests;
    if (length == 98 && dir == "rx") ++replies;
  }
  // Every request the switch sent B is in the capture, and every reply it
  // received from B, however many of the three ping counted.
  int answered = -1;
  if (const std::size_t at = ping.output.find(" received"); at != std::string::npos)
    answered = std::atoi(ping.output.c_str() + ping.output.rfind(", ", at) + 2);
  EXPECT_EQ(requests, 3) << got.dump();
  EXPECT_EQ(replies, answered) << ping.output << got.dump();
  EXPECT_EQ(got.at("dropped"), 0);
  EXPECT_THROW(sw.call([id](control::Switch& s) { return s.read_capture(id, 1, false); }),
               std::invalid_argument);
}

}  // namespace
}  // namespace sockswitch::test
