// tests/control/dual_isolation_test.cc: vmbr0 stays isolated under random traffic.
//
// Plan. Configure: DualLayout (in-process Switch, shipped dual config
// verbatim). Send: from inside each vmbr0 container (gateway, Xray client,
// the WARP stand-in), 200 random frames with a packet socket: UDP, TCP and
// ARP with random MACs (unicast, broadcast, multicast, the other
// containers'), random addresses (mesh's and vmbr0's subnets among them)
// and random ports (the service ports among them). Then the same from
// Netmaker into mesh. The generator is seeded; the seed is printed.
// Verify: nothing sent inside vmbr0 reaches nm-privacy or a mesh container
// (their receivers see no frame at all, marked or not: vmbr0's flows never
// output to from-mesh), and inside vmbr0 each frame arrives exactly where
// the seed's flows send it. From Netmaker, exactly the frames the filled-in
// privacy match selects (IPv4 or ARP for 10.0.0.0/24) enter vmbr0, at the
// Xray client; everything else stays on mesh.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "tests/control/dual_layout.h"
#include "tests/dataplane/frame_builder.h"
#include "tests/net/require_netns.h"

namespace sockswitch::test {
namespace {

using dataplane::test::FrameBuilder;

constexpr int kFramesPerPort = 200;

struct RandomFrame {
  std::vector<std::uint8_t> bytes;
  bool privacy = false;  // IPv4 or ARP addressed to 10.0.0.0/24
  std::string what;
};

class FrameGenerator {
 public:
  FrameGenerator(std::uint32_t seed, std::vector<std::uint64_t> known_macs)
      : rng_(seed), known_macs_(std::move(known_macs)) {}

  RandomFrame next(std::uint64_t src_mac) {
    const std::uint32_t src_ip = address(), dst_ip = address();
    FrameBuilder b;
    RandomFrame f;
    switch (pick(3)) {
      case 0: {
        const std::uint32_t tpa = address();
        b.eth(pick(2) ? kBroadcast : dst_mac(), src_mac, 0x0806)
            .arp(static_cast<std::uint16_t>(1 + pick(2)), src_mac, src_ip, dst_mac(), tpa);
        f.privacy = (tpa >> 8) == (ipv4("10.0.0.0") >> 8);
        f.what = "random ARP";
        break;
      }
      case 1:
        b.eth(dst_mac(), src_mac, 0x0800)
            .ipv4(ip_header(6, src_ip, dst_ip))
            .tcp(port(), port(), static_cast<std::uint16_t>(pick(0x40)));
        f.privacy = (dst_ip >> 8) == (ipv4("10.0.0.0") >> 8);
        f.what = "random TCP";
        break;
      default:
        b.eth(dst_mac(), src_mac, 0x0800).ipv4(ip_header(17, src_ip, dst_ip)).udp(port(), port());
        f.privacy = (dst_ip >> 8) == (ipv4("10.0.0.0") >> 8);
        f.what = "random UDP";
    }
    for (std::uint32_t i = pick(64); i > 0; --i)
      b.u8(static_cast<std::uint8_t>(pick(256)));
    f.bytes = b.build();
    return f;
  }

 private:
  std::uint32_t pick(std::uint32_t n) {
    return std::uniform_int_distribution<std::uint32_t>(0, n - 1)(rng_);
  }
  std::uint32_t address() {
    switch (pick(4)) {
      case 0:
        return ipv4("10.0.0.0") | pick(256);
      case 1:
        return ipv4("10.1.0.0") | pick(256);
      case 2:
        return ipv4("172.16.0.0") | pick(256);
      default:
        return static_cast<std::uint32_t>(rng_());
    }
  }
  std::uint64_t dst_mac() {
    switch (pick(4)) {
      case 0:
        return kBroadcast;
      case 1:
        return 0x01005e000000 | pick(1 << 23);  // IPv4 multicast
      case 2:
        return known_macs_[pick(static_cast<std::uint32_t>(known_macs_.size()))];
      default:
        return (std::uint64_t{rng_()} << 16 | pick(1 << 16)) & 0xfeffffffffff;  // unicast
    }
  }
  std::uint16_t port() {
    static constexpr std::uint16_t kServices[] = {443, 8443, 8080, 9573, 9574, 6333, 2408, 51821};
    return pick(2) ? kServices[pick(8)] : static_cast<std::uint16_t>(pick(65536));
  }

  std::mt19937 rng_;
  std::vector<std::uint64_t> known_macs_;
};

std::uint32_t test_seed() {
  const std::uint32_t seed = std::random_device{}();
  std::cout << "random frame seed: " << seed << "\n";
  return seed;
}

TEST(DualIsolation, RandomTrafficInVmbr0NeverReachesMesh) {
  SOCKSWITCH_REQUIRE_NETNS();
  DualLayout d;
  DeliveryCheck check(d.host, DualLayout::all_ports());
  FrameGenerator gen(test_seed(), {d.netmaker.mac(), d.mcp.mac(), d.api.mac(), d.warp.mac(),
                                   d.gateway.mac(), d.xray.mac()});
  // vmbr0's flows, by ingress port: nothing is ever sent to from-mesh.
  const std::map<std::string, std::set<std::string>> where{
      {"veth100", {"warp0"}}, {"veth102", {"warp0"}}, {"warp0", {"veth102"}}};
  for (int i = 0; i < kFramesPerPort; ++i)
    for (const auto& [port, to] : where) {
      RandomFrame f = gen.next(d.host[port].mac());
      check.send(port, std::move(f.bytes), to, f.what + " #" + std::to_string(i));
    }
  EXPECT_EQ(check.verify(std::chrono::seconds(5)), "");
  for (const std::string& port : DualLayout::kMeshPorts) {
    EXPECT_EQ(check.marked(port), 0u) << port;
    EXPECT_EQ(check.unmarked(port), 0u) << port << " saw frames from vmbr0's kernels";
  }
  EXPECT_EQ(check.marked("veth100"), 0u);
}

TEST(DualIsolation, FromNetmakerOnlyThePrivacyMatchEntersVmbr0) {
  SOCKSWITCH_REQUIRE_NETNS();
  DualLayout d;
  DeliveryCheck check(d.host, DualLayout::all_ports());
  // Not the Netmaker MAC itself as a destination: NORMAL has learned it on
  // nm-privacy and would drop the frame as a reflection.
  FrameGenerator gen(test_seed(),
                     {d.mcp.mac(), d.api.mac(), d.warp.mac(), d.gateway.mac(), d.xray.mac()});
  int privacy = 0;
  for (int i = 0; i < kFramesPerPort; ++i) {
    // A fresh unicast source each time, never one a destination could name.
    const std::uint64_t src = 0x0a0000000000 | static_cast<std::uint64_t>(i);
    RandomFrame f = gen.next(src);
    privacy += f.privacy;
    check.send(
        "nm-privacy", std::move(f.bytes),
        f.privacy ? std::set<std::string>{"veth102"} : std::set<std::string>{"veth200", "veth201"},
        f.what + " #" + std::to_string(i));
  }
  EXPECT_EQ(check.verify(std::chrono::seconds(5)), "");
  EXPECT_GT(privacy, 10);
  EXPECT_LT(privacy, kFramesPerPort - 10);
}

}  // namespace
}  // namespace sockswitch::test
