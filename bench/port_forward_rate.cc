// bench/port_forward_rate.cc: 64-byte frame rate through two ports of each netdev driver.
//
// End to end, not a microbenchmark: what one forwarding thread sustains
// between two real veths, per driver, in one run on one machine. Setup
// (root): namespaces ns1 and ns2 each hold the inner end of a veth pair; the
// outer ends become two ports of the driver under test, wired by the tests'
// PortForwarder (one thread, bursts of 32, sleeps only when idle). A thread
// in ns1 blasts 64-byte UDP frames (60 bytes before the FCS) at the inner end
// through a packet socket with sendmmsg, for a fixed time. The figure is the
// egress port's tx_packets over that time: frames the driver received,
// the loop moved and the driver handed back to the kernel.
//
// The same run also measures the reference on the same topology: a Linux
// bridge enslaving the two outer ends ("linux_bridge": frames the bridge
// handed to the egress veth, from its tx_packets), and the tap driver
// ("tap": the switch creates two taps and moves them into ns1/ns2 in place
// of the veths, so the generator sends into a tap). AF_XDP ports share one
// packet pool as their UMEM, as on a poll thread, so they forward in place.
//
// Usage: port_forward_rate [seconds] [drivers...]   (linux_bridge af_packet
// af_xdp af_xdp_generic tap dpdk; default all, 2 s each). Run it under the
// benchmark lock.
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ports/af_packet_port.h"
#include "ports/af_xdp_port.h"
#include "ports/fd.h"
#include "ports/tap_port.h"
#ifdef SOCKSWITCH_HAVE_DPDK
#include "ports/dpdk_port.h"
#endif
#include "tests/net/netns.h"
#include "tests/ports/port_forwarder.h"

namespace {

using namespace sockswitch;
using namespace std::chrono_literals;

// Frame size before the FCS: 60 (64 on the wire) unless FRAME_BYTES says
// otherwise (60..1514).
std::size_t frame_bytes() {
  const char* env = std::getenv("FRAME_BYTES");
  const long n = env ? std::strtol(env, nullptr, 10) : 60;
  return static_cast<std::size_t>(std::clamp(n, 60L, 1514L));
}

// Sends frame_bytes()-byte frames out of `dev` (in the calling thread's namespace)
// until `stop`; returns how many the kernel accepted.
std::uint64_t blast(const std::string& dev, const std::atomic<bool>& stop) {
  ports::Fd s = ports::Fd::socket(AF_PACKET, SOCK_RAW, 0, "AF_PACKET generator");
  const int one = 1;
  (void)::setsockopt(s.get(), SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_ifindex = static_cast<int>(::if_nametoindex(dev.c_str()));
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    ports::throw_errno("bind(generator, " + dev + ")");

  // Ethernet (unicast to a MAC nobody has, so the far end drops it cheaply),
  // IPv4, UDP, zero payload.
  std::vector<std::uint8_t> frame(frame_bytes(), 0);
  const std::uint8_t eth[14] = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00};
  std::memcpy(frame.data(), eth, sizeof eth);
  const auto ip_len = static_cast<std::uint16_t>(frame.size() - 14);
  const auto udp_len = static_cast<std::uint16_t>(frame.size() - 34);
  // clang-format off
  const std::uint8_t ip[20] = {0x45, 0, std::uint8_t(ip_len >> 8), std::uint8_t(ip_len),
                               0, 0, 0, 0, 64, 17, 0, 0, 10, 96, 0, 1, 10, 96, 0, 2};
  // clang-format on
  std::memcpy(frame.data() + 14, ip, sizeof ip);
  // A valid header checksum: a Linux bridge with br_netfilter drops bad ones.
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < sizeof ip; i += 2)
    sum += static_cast<std::uint32_t>(ip[i] << 8 | ip[i + 1]);
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  frame[14 + 10] = static_cast<std::uint8_t>(~sum >> 8);
  frame[14 + 11] = static_cast<std::uint8_t>(~sum);
  const std::uint8_t udp[8] = {
      0x13, 0x88, 0x13, 0x89, std::uint8_t(udp_len >> 8), std::uint8_t(udp_len), 0, 0};
  std::memcpy(frame.data() + 34, udp, sizeof udp);

  constexpr unsigned kBatch = 64;
  std::array<iovec, kBatch> iov;
  std::array<mmsghdr, kBatch> msgs{};
  for (unsigned i = 0; i < kBatch; ++i) {
    iov[i] = {frame.data(), frame.size()};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  std::uint64_t sent = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    const int r = ::sendmmsg(s.get(), msgs.data(), kBatch, 0);
    if (r > 0) sent += static_cast<unsigned>(r);
  }
  return sent;
}

std::unique_ptr<ports::Port> make(const std::string& driver, const std::string& dev,
                                  const std::shared_ptr<packet::PacketPool>& pool) {
  if (driver == "af_packet") return std::make_unique<ports::AfPacketPort>(dev);
  if (driver == "af_xdp")
    return std::make_unique<ports::AfXdpPort>(dev, ports::AfXdpOptions{.pool = pool});
  if (driver == "af_xdp_generic")
    return std::make_unique<ports::AfXdpPort>(
        dev, ports::AfXdpOptions{.pool = pool, .generic_only = true});
#ifdef SOCKSWITCH_HAVE_DPDK
  if (driver == "dpdk") {
    static int n = 0;
    ports::DpdkOptions o;
    o.devargs = "net_af_packet" + std::to_string(n++) + ",iface=" + dev;
    return std::make_unique<ports::DpdkPort>("dpdk" + std::to_string(n), std::move(o));
  }
#endif
  return nullptr;
}

std::uint64_t sysfs_counter(const std::string& dev, const char* name) {
  std::FILE* f = std::fopen(("/sys/class/net/" + dev + "/statistics/" + name).c_str(), "r");
  unsigned long long v = 0;
  if (f != nullptr) {
    if (std::fscanf(f, "%llu", &v) != 1) v = 0;
    std::fclose(f);
  }
  return v;
}

struct Rate {
  double offered = 0, forwarded = 0;
  double ns_per_packet = 0;  // forwarding thread's CPU per forwarded packet; 0: kernel
};

// Runs the generator in `from_ns` on `from_dev` for `seconds` after a warm-up
// and returns what `egress()` counted meanwhile.
template <typename Egress>
Rate measure(const test::net::NetNamespace& from_ns, const std::string& from_dev, double seconds,
             Egress egress, test::PortForwarder* wire = nullptr) {
  std::atomic<bool> stop{false};
  std::uint64_t offered = 0;
  std::thread gen([&] {
    from_ns.enter_this_thread();
    offered = blast(from_dev, stop);
  });
  std::this_thread::sleep_for(200ms);  // warm-up: rings filled, caches hot
  const std::uint64_t before = egress();
  const double cpu0 = wire ? wire->cpu_seconds() : 0;
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  const std::uint64_t after = egress();
  const double cpu = wire ? wire->cpu_seconds() - cpu0 : 0;
  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stop.store(true);
  gen.join();
  const auto moved = static_cast<double>(after - before);
  return {static_cast<double>(offered) / (dt + 0.2), moved / dt, moved > 0 ? cpu * 1e9 / moved : 0};
}

}  // namespace

int main(int argc, char** argv) {
  using test::net::NetNamespace;
  using test::net::VethPair;
  if (auto why = test::net::skip_reason()) {
    std::fprintf(stderr, "cannot run: %s\n", why->c_str());
    return 2;
  }
  test::net::sweep_leftovers();
  const double seconds = argc > 1 ? std::stod(argv[1]) : 2.0;
  std::vector<std::string> drivers{"linux_bridge",   "af_packet", "af_xdp",
                                   "af_xdp_generic", "tap",       "dpdk"};
  if (argc > 2) drivers.assign(argv + 2, argv + argc);

  NetNamespace ns1, ns2;
  VethPair v1, v2;
  v1.plug_into(ns1, {"10.96.0.1/24"});
  v2.plug_into(ns2, {"10.96.0.2/24"});

  std::printf("%-16s %12s %12s %12s %10s %12s\n", "driver", "offered pps", "fwd pps", "fwd/offered",
              "vs bridge", "ns/pkt (fwd)");
  double bridge_fwd = 0;
  auto report = [&](const std::string& driver, Rate r) {
    if (driver == "linux_bridge") bridge_fwd = r.forwarded;
    std::printf("%-16s %12.0f %12.0f %11.0f%%", driver.c_str(), r.offered, r.forwarded,
                100.0 * r.forwarded / r.offered);
    if (bridge_fwd > 0)
      std::printf(" %9.2fx", r.forwarded / bridge_fwd);
    else
      std::printf(" %10s", "-");
    if (r.ns_per_packet > 0) std::printf(" %12.0f", r.ns_per_packet);
    std::printf("\n");
  };
  for (const std::string& driver : drivers) {
    if (driver == "linux_bridge") {
      const std::string br = test::net::unique_link_name('b');
      test::net::run_checked({"ip", "link", "add", br, "type", "bridge"});
      test::net::run_checked({"ip", "link", "set", v1.outer(), "master", br});
      test::net::run_checked({"ip", "link", "set", v2.outer(), "master", br});
      test::net::run_checked({"ip", "link", "set", br, "up"});
      report(driver, measure(ns1, v1.inner(), seconds,
                             [&] { return sysfs_counter(v2.outer(), "tx_packets"); }));
      test::net::run_checked({"ip", "link", "del", br});
      continue;
    }
    if (driver == "tap") {
      const std::string ta = test::net::unique_link_name('t'),
                        tb = test::net::unique_link_name('t');
      ports::TapPort a(ta), b(tb);
      test::net::run_checked({"ip", "link", "set", ta, "netns", ns1.name()});
      test::net::run_checked({"ip", "link", "set", tb, "netns", ns2.name()});
      ns1.exec_checked({"ip", "link", "set", ta, "up"});
      ns2.exec_checked({"ip", "link", "set", tb, "up"});
      test::PortForwarder wire(a, b);
      report(driver, measure(
                         ns1, ta, seconds, [&] { return b.counters().tx_packets; }, &wire));
      continue;
    }
    const auto pool = std::make_shared<packet::PacketPool>(8192);
    std::unique_ptr<ports::Port> a, b;
    try {
      a = make(driver, v1.outer(), pool);
      b = make(driver, v2.outer(), pool);
    } catch (const std::exception& e) {
      std::printf("%-16s unavailable: %s\n", driver.c_str(), e.what());
      continue;
    }
    if (!a || !b) {
      std::printf("%-16s unknown or not built\n", driver.c_str());
      continue;
    }
    test::PortForwarder wire(*a, *b, pool);
    report(driver, measure(
                       ns1, v1.inner(), seconds, [&] { return b->counters().tx_packets; }, &wire));
  }
  return 0;
}
