// tests/ports/af_xdp_port_test.cc: AfXdpPort carrying real traffic between namespaces, and its
// fallback.
//
// Plan: two veth pairs; the inner ends live in namespaces ns1 and ns2 on one
// subnet, the outer ends are attached to two AfXdpPorts in the root
// namespace (native XDP, then generic) over one packet pool, and a
// PortForwarder wires them with that pool. If ping (v4 and v6) and a 1 MB
// TCP transfer succeed, the redirect program, the XSKMAP, the fill ring,
// in-place rx and tx with completion reaping all work. Teardown must leave
// no XDP program on the device and give every pool packet back.
//
// Fallback: a foreign XDP program (XDP_PASS, loaded here) already sits on
// the device, which AF_XDP must never replace. Then an explicit "af_xdp"
// port fails with a reason, "auto" logs that reason and hands out an
// AF_PACKET port that still forwards, and the foreign program survives.
#include "ports/af_xdp_port.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <memory>
#include <thread>

#include "ports/af_packet_port.h"
#include "ports/port_factory.h"
#include "tests/net/require_netns.h"
#include "tests/net/tcp_transfer.h"
#include "tests/ports/port_forwarder.h"
#include "tests/ports/two_namespaces.h"

namespace sockswitch::ports {
namespace {

using namespace std::chrono_literals;
using test::ping;
using test::PortForwarder;
using test::TwoNamespaces;
using test::net::NetNamespace;
using test::net::VethPair;

// "xdp", "xdpgeneric" or "" as `ip link` shows the device.
std::string xdp_shown(const std::string& dev) {
  const auto r = test::net::run_command({"ip", "-d", "link", "show", "dev", dev}, 3s);
  if (r.output.find(" xdpgeneric") != std::string::npos) return "xdpgeneric";
  if (r.output.find(" xdp") != std::string::npos) return "xdp";
  return "";
}

using Pool = std::shared_ptr<packet::PacketPool>;
Pool make_pool() {
  return std::make_shared<packet::PacketPool>(8192);
}

void expect_forwards(TwoNamespaces& net, Port& a, Port& b, Pool pool = make_pool()) {
  PortForwarder wire(a, b, pool);
  EXPECT_TRUE(ping(net.ns1, "10.98.0.2"));
  EXPECT_TRUE(ping(net.ns2, "fd00:98::1"));
  constexpr std::size_t kBytes = 1'000'000;
  EXPECT_EQ(test::net::tcp_transfer(net.ns2, "10.98.0.2", net.ns1, 5002, kBytes, 8s), kBytes);
  wire.stop();
  const PortCounters ca = a.counters(), cb = b.counters();
  // ~1 MB reaches B's AF_XDP port in MTU-sized segments (an AF_PACKET port
  // A receives the sender's GSO frames, which are cut for B).
  EXPECT_GT(cb.tx_packets, 700u);
  EXPECT_GT(ca.rx_bytes, kBytes);
  EXPECT_EQ(ca.rx_errors + cb.rx_errors, 0u) << "oversized frames: are the peers' offloads off?";
  EXPECT_EQ(ca.tx_errors + cb.tx_errors, 0u);
}

void expect_forwards_over_af_xdp(bool generic_only) {
  TwoNamespaces net(98);
  if (generic_only) {
    // Only a native XDP program turns the veth peer's segmentation offload
    // off; in generic mode GSO frames arrive whole, larger than a chunk, so
    // `auto` takes AF_PACKET there (port_factory.cc). This test is about
    // the generic attach itself.
    net.v1->sender_offloads_off(net.ns1);
    net.v2->sender_offloads_off(net.ns2);
  }
  const Pool pool = make_pool();
  {
    AfXdpPort a(net.v1->outer(), {.pool = pool, .generic_only = generic_only}),
        b(net.v2->outer(), {.pool = pool, .generic_only = generic_only});
    ASSERT_EQ(a.link_state(), LinkState::up);
    ASSERT_EQ(b.link_state(), LinkState::up);
    EXPECT_EQ(a.mtu(), 1500u);
    EXPECT_EQ(a.queue_count(), 1u);  // a veth made by `ip link add` has one rx channel
    EXPECT_GE(a.wakeup_fd(0), 0);
    const XdpMode want = generic_only ? XdpMode::generic : XdpMode::native;
    EXPECT_EQ(a.xdp_mode(), want);
    EXPECT_EQ(xdp_shown(net.v1->outer()), generic_only ? "xdpgeneric" : "xdp");
    EXPECT_EQ(a.lent_packets(), 0u) << "only the poll thread takes from its pool";
    EXPECT_FALSE(a.ready()) << "its fill ring is empty until the poll thread's first pass";
    expect_forwards(net, a, b, pool);
    EXPECT_TRUE(a.ready());
    EXPECT_GE(a.lent_packets(), packet::PacketPool::kMaxLendShare - 32u)
        << "a fill ring kept (nearly) at its share";
    // Both fill rings and whatever is still in flight are the kernel's.
    EXPECT_EQ(pool->available() + a.lent_packets() + b.lent_packets(), pool->size());
  }
  EXPECT_EQ(xdp_shown(net.v1->outer()), "") << "the program must go with the port";
  EXPECT_EQ(xdp_shown(net.v2->outer()), "");
  const std::size_t handed_back = pool->size() - pool->available();
  EXPECT_GT(handed_back, 0u) << "the fill rings' packets were the kernel's until now";
  EXPECT_EQ(pool->reclaim(), handed_back);
  EXPECT_EQ(pool->available(), pool->size()) << "closed sockets give every lent packet back";
}

TEST(AfXdpPort, NativeModePingAndTcpBetweenNamespaces) {
  SOCKSWITCH_REQUIRE_NETNS();
  expect_forwards_over_af_xdp(false);
}

TEST(AfXdpPort, GenericModePingAndTcpBetweenNamespaces) {
  SOCKSWITCH_REQUIRE_NETNS();
  expect_forwards_over_af_xdp(true);
}

TEST(AfXdpPort, MissingDeviceIsDownAndDropsTx) {
  SOCKSWITCH_REQUIRE_NETNS();
  const Pool pool = make_pool();
  AfXdpPort port(test::net::unique_link_name('m'), {.pool = pool});
  EXPECT_EQ(port.link_state(), LinkState::down);
  EXPECT_EQ(port.wakeup_fd(0), -1);
  EXPECT_EQ(port.xdp_mode(), std::nullopt);
  std::array<packet::Packet*, 2> pkts{pool->alloc(), pool->alloc()};
  port.tx_burst(0, *pool, pkts);
  EXPECT_EQ(port.counters().tx_dropped, 2u);
  EXPECT_EQ(pool->available(), pool->size());
}

TEST(AfXdpPort, WithoutAPoolIsRefused) {
  EXPECT_THROW(AfXdpPort("eth0", {}), std::invalid_argument);
}

// A poll thread that passes a pool other than the port's UMEM would free
// kernel-owned buffers into the wrong pool: the port refuses, counting it.
TEST(AfXdpPort, AForeignPoolIsRefusedAndCounted) {
  SOCKSWITCH_REQUIRE_NETNS();
  TwoNamespaces net(98);
  const Pool pool = make_pool();
  AfXdpPort a(net.v1->outer(), {.pool = pool});
  packet::PacketPool other(8);
  std::array<packet::Packet*, 8> out{};
  EXPECT_EQ(a.rx_burst(0, other, out), 0u);
  std::array<packet::Packet*, 2> pkts{other.alloc(), other.alloc()};
  ASSERT_NE(pkts[0]->append(60), nullptr);
  ASSERT_NE(pkts[1]->append(60), nullptr);
  a.tx_burst(0, other, pkts);
  EXPECT_EQ(other.available(), other.size());
  EXPECT_EQ(a.counters().rx_errors, 1u);
  EXPECT_EQ(a.counters().tx_errors, 2u);
  EXPECT_EQ(a.counters().tx_packets, 0u);
}

// A device with more queues than the pool can fill leaves the pool an
// eighth for everything else, and still receives.
TEST(AfXdpPort, FillRingsLeaveAnEighthOfThePool) {
  SOCKSWITCH_REQUIRE_NETNS();
  TwoNamespaces net(98);
  const Pool pool = std::make_shared<packet::PacketPool>(256);  // less than the share cap
  AfXdpPort a(net.v1->outer(), {.pool = pool, .ring_size = 2048});
  std::array<packet::Packet*, 32> out{};
  EXPECT_EQ(a.rx_burst(0, *pool, out), 0u);
  EXPECT_EQ(pool->available(), 32u);
  EXPECT_EQ(a.lent_packets(), 256u - 32u);
  (void)net.ns1.exec({"ping", "-c", "1", "-W", "1", "10.98.0.2"}, 3s);  // ARP requests, unanswered
  std::size_t n = 0;
  for (int i = 0; i < 100 && n == 0; ++i) {
    n = a.rx_burst(0, *pool, out);
    if (n == 0) std::this_thread::sleep_for(5ms);
  }
  EXPECT_GT(n, 0u) << "nothing received with the pool at its floor";
  pool->free_burst(std::span(out).first(n));
}

// The kernel frees a closed socket's queue in deferred work, so a port
// reopened at once (a reload changing its settings, a restart) can find
// its queue busy for a moment: the reopen waits for it instead of failing.
TEST(AfXdpPort, APortClosedAndReopenedAtOnceOpens) {
  SOCKSWITCH_REQUIRE_NETNS();
  TwoNamespaces net(97);
  const Pool pool = make_pool();
  for (int i = 0; i < 50; ++i) {
    try {
      AfXdpPort a(net.v1->outer(), {.pool = pool});
    } catch (const std::system_error& e) {
      FAIL() << "open " << i << ": " << e.what();
    }
  }
  EXPECT_EQ(pool->available(), pool->size());
}

// Rings that together want more than the pool can lend each get an even
// share, whichever is polled first: a queue left with an empty fill ring
// drops every frame the kernel's hash puts on it (two 4-queue veths of 2048
// over the switch's 16384 packets lost every ping on some machines).
TEST(AfXdpPort, EveryRingGetsItsShareOfThePool) {
  SOCKSWITCH_REQUIRE_NETNS();
  TwoNamespaces net(98);
  const Pool pool = std::make_shared<packet::PacketPool>(512);
  AfXdpPort a(net.v1->outer(), {.pool = pool, .ring_size = 2048});
  AfXdpPort b(net.v2->outer(), {.pool = pool, .ring_size = 2048});
  EXPECT_EQ(pool->lend_share(), (512u - 64u) / 2);
  std::array<packet::Packet*, 32> out{};
  EXPECT_EQ(a.rx_burst(0, *pool, out), 0u);
  EXPECT_EQ(b.rx_burst(0, *pool, out), 0u);
  EXPECT_TRUE(a.ready());
  EXPECT_TRUE(b.ready()) << "the port polled second found the pool emptied by the first";
  EXPECT_EQ(a.lent_packets(), 224u);
  EXPECT_EQ(b.lent_packets(), 224u);
  EXPECT_EQ(pool->available(), 64u);
  (void)net.ns2.exec({"ping", "-c", "1", "-W", "1", "10.98.0.1"}, 3s);  // ARP requests into b
  std::size_t n = 0;
  for (int i = 0; i < 100 && n == 0; ++i) {
    n = b.rx_burst(0, *pool, out);
    if (n == 0) std::this_thread::sleep_for(5ms);
  }
  EXPECT_GT(n, 0u);
  pool->free_burst(std::span(out).first(n));
}

// Idle rings give lent packets back only as they receive, so a port added
// at run time beside full, idle ones got none and dropped everything (the
// ninth AF_XDP queue of a poll thread, e.g. the ninth container added with
// ovs-vsctl): a ring's share is capped, leaving room for later rings.
TEST(AfXdpPort, ARingAddedBesideFullIdleOnesStillGetsItsShare) {
  SOCKSWITCH_REQUIRE_NETNS();
  TwoNamespaces net(98);
  TwoNamespaces later(97);
  const Pool pool = std::make_shared<packet::PacketPool>(2048);
  AfXdpPort a(net.v1->outer(), {.pool = pool, .ring_size = 2048});
  AfXdpPort b(net.v2->outer(), {.pool = pool, .ring_size = 2048});
  std::array<packet::Packet*, 32> out{};
  EXPECT_EQ(a.rx_burst(0, *pool, out), 0u);
  EXPECT_EQ(b.rx_burst(0, *pool, out), 0u);
  AfXdpPort c(later.v1->outer(), {.pool = pool, .ring_size = 2048});
  EXPECT_EQ(c.rx_burst(0, *pool, out), 0u);
  EXPECT_TRUE(c.ready()) << "the rings filled first kept every lendable packet";
  EXPECT_EQ(c.lent_packets(), packet::PacketPool::kMaxLendShare);
  (void)later.ns1.exec({"ping", "-c", "1", "-W", "1", "10.97.0.2"}, 3s);  // ARP requests into c
  std::size_t n = 0;
  for (int i = 0; i < 100 && n == 0; ++i) {
    n = c.rx_burst(0, *pool, out);
    if (n == 0) std::this_thread::sleep_for(5ms);
  }
  EXPECT_GT(n, 0u);
  pool->free_burst(std::span(out).first(n));
}

// A crash leaves nothing behind: the program is attached through a BPF
// link, which the kernel closes with the process however it dies, so the
// next start finds the device free and attaches natively again (a program
// left on the device made `auto` fall back to AF_PACKET and an explicit
// af_xdp port stop the daemon from starting).
TEST(AfXdpPort, AKilledProcessLeavesNoProgramBehind) {
  SOCKSWITCH_REQUIRE_NETNS();
  TwoNamespaces net(98);
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    try {
      const Pool pool = make_pool();
      AfXdpPort a(net.v1->outer(), {.pool = pool});
      const char mode = a.xdp_mode() == XdpMode::native ? 'n' : 'g';
      if (::write(ready[1], &mode, 1) == 1) ::pause();
    } catch (...) {
    }
    ::_exit(1);
  }
  ::close(ready[1]);
  char mode = 0;
  const bool attached = ::read(ready[0], &mode, 1) == 1;
  ::close(ready[0]);
  EXPECT_TRUE(attached);
  EXPECT_EQ(mode, 'n');
  EXPECT_EQ(xdp_shown(net.v1->outer()), "xdp");
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_TRUE(test::net::wait_until([&] { return xdp_shown(net.v1->outer()).empty(); }, 2s))
      << "the program outlived the killed process";
  AfXdpPort again(net.v1->outer(), {.pool = make_pool()});
  EXPECT_EQ(again.xdp_mode(), XdpMode::native);
}

// In place: a frame received on one port leaves by another from the very
// buffer the kernel wrote it into, and that buffer stays the kernel's until
// the completion ring hands it back.
TEST(AfXdpPort, ForwardsFromTheBufferItReceivedInto) {
  SOCKSWITCH_REQUIRE_NETNS();
  TwoNamespaces net(98);
  const Pool pool = make_pool();
  AfXdpPort a(net.v1->outer(), {.pool = pool}), b(net.v2->outer(), {.pool = pool});
  const auto sent = net.ns1.exec({"ping", "-c", "1", "-W", "1", "10.98.0.2"}, 3s);  // no reply
  (void)sent;
  std::array<packet::Packet*, 32> got{};
  std::size_t n = 0;
  for (int i = 0; i < 200 && n == 0; ++i) {
    n = a.rx_burst(0, *pool, got);
    if (n == 0) std::this_thread::sleep_for(5ms);
  }
  ASSERT_GT(n, 0u) << "the ping's ARP request reached port a";
  const auto area = pool->area();
  for (std::size_t i = 0; i < n; ++i) {
    EXPECT_GE(got[i]->data(), area.data());
    EXPECT_LT(got[i]->data(), area.data() + area.size());
  }
  const std::uint32_t lent_before = b.lent_packets();
  const std::size_t free_before = pool->available();
  b.tx_burst(0, *pool, std::span(got).first(n));
  EXPECT_EQ(b.counters().tx_packets, n);
  EXPECT_EQ(pool->available(), free_before) << "not freed: sent from where they lie";
  EXPECT_EQ(b.lent_packets(), lent_before + n);
  // The next burst reaps the completions and frees them.
  for (int i = 0; i < 200 && b.lent_packets() != lent_before; ++i) {
    std::this_thread::sleep_for(5ms);
    b.tx_burst(0, *pool, {});
  }
  EXPECT_EQ(b.lent_packets(), lent_before);
  EXPECT_EQ(pool->available(), free_before + n);
}

TEST(AfXdpPort, QueuesTheDeviceLacksAreAnErrorAndLeaveNoProgram) {
  SOCKSWITCH_REQUIRE_NETNS();
  NetNamespace ns;
  VethPair v;
  v.plug_into(ns, {"10.98.1.1/24"});
  EXPECT_THROW(AfXdpPort(v.outer(), {.pool = make_pool(), .queues = 4}), std::system_error);
  EXPECT_EQ(xdp_shown(v.outer()), "");
}

// A queue without a socket would pass its frames to the host stack, around
// the switch: fewer queues than the device has, or more than one port
// covers, are refused, and `auto` takes AF_PACKET (which sees every queue).
TEST(AfXdpPort, EveryRxQueueIsCoveredOrThePortIsRefused) {
  SOCKSWITCH_REQUIRE_NETNS();
  for (const unsigned queues : {4u, 20u}) {
    const std::string outer = test::net::unique_link_name('q'),
                      inner = test::net::unique_link_name('q');
    const std::string n = std::to_string(queues);
    test::net::run_checked({"ip", "link", "add", outer, "numtxqueues", n, "numrxqueues", n, "type",
                            "veth", "peer", "name", inner, "numtxqueues", n, "numrxqueues", n});
    test::net::run_checked({"ip", "link", "set", outer, "up"});
    if (queues == 4)
      EXPECT_THROW(AfXdpPort(outer, {.pool = make_pool(), .queues = 2}), std::system_error);
    else
      EXPECT_THROW(AfXdpPort(outer, {.pool = make_pool()}), std::system_error);
    EXPECT_EQ(xdp_shown(outer), "") << queues << " queues";
    PortSpec spec;
    spec.name = outer;
    spec.driver = "auto";
    spec.pool = make_pool();
    spec.queues = queues == 4 ? 2 : 1;
    const auto port = make_port(spec);
    EXPECT_NE(dynamic_cast<AfPacketPort*>(port.get()), nullptr) << queues << " queues";
    (void)test::net::run_command({"ip", "link", "del", outer}, 5s);
  }
}

TEST(AfXdpPort, HotplugDownAndBack) {
  SOCKSWITCH_REQUIRE_NETNS();
  TwoNamespaces net(98);
  const Pool pool = make_pool();
  AfXdpPort a(net.v1->outer(), {.pool = pool}), b(net.v2->outer(), {.pool = pool});
  const std::string outer = net.v2->outer(), inner = net.v2->inner();
  net.v2->remove();
  b.refresh();
  EXPECT_EQ(b.link_state(), LinkState::down);
  EXPECT_EQ(b.wakeup_fd(0), -1);

  net.v2 = std::make_unique<VethPair>(outer, inner);
  net.v2->plug_into(net.ns2, {"10.98.0.2/24"});
  net.ns1.exec_checked({"ip", "neigh", "flush", "all"});
  b.refresh();
  EXPECT_EQ(b.link_state(), LinkState::up);
  EXPECT_GE(b.wakeup_fd(0), 0);
  EXPECT_NE(xdp_shown(outer), "");
  PortForwarder wire(a, b, pool);
  EXPECT_TRUE(ping(net.ns1, "10.98.0.2"));
}

PortSpec spec(const std::string& name, const std::string& driver, Pool pool,
              std::uint16_t queues = 1) {
  PortSpec s;
  s.name = name;
  s.driver = driver;
  s.pool = std::move(pool);
  s.queues = queues;
  return s;
}

// A minimal XDP_PASS program that is not ours, attached for the test's scope.
class ForeignXdpProgram final {
 public:
  explicit ForeignXdpProgram(const std::string& dev)
      : ifindex_(static_cast<int>(if_nametoindex(dev.c_str()))) {
    bpf_insn insns[2]{};
    insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
    insns[0].dst_reg = BPF_REG_0;
    insns[0].imm = XDP_PASS;
    insns[1].code = BPF_JMP | BPF_EXIT;
    fd_ = bpf_prog_load(BPF_PROG_TYPE_XDP, "foreign_pass", "GPL", insns, 2, nullptr);
    if (fd_ < 0) throw std::system_error(-fd_, std::generic_category(), "bpf_prog_load");
    if (const int r = bpf_xdp_attach(ifindex_, fd_, XDP_FLAGS_SKB_MODE, nullptr); r < 0)
      throw std::system_error(-r, std::generic_category(), "bpf_xdp_attach");
  }
  ~ForeignXdpProgram() {
    (void)bpf_xdp_detach(ifindex_, XDP_FLAGS_SKB_MODE, nullptr);
    ::close(fd_);
  }
  ForeignXdpProgram(const ForeignXdpProgram&) = delete;
  ForeignXdpProgram& operator=(const ForeignXdpProgram&) = delete;

 private:
  int ifindex_ = 0;
  int fd_ = -1;
};

// `auto` tries AF_XDP on a veth only when the port asks for several queues
// (one queue: AF_PACKET keeps the senders' GSO frames whole), so these
// veths have two.
TEST(AfXdpPort, ForeignProgramMakesAutoFallBackToAfPacket) {
  SOCKSWITCH_REQUIRE_NETNS();
  TwoNamespaces net(98, 2);
  ForeignXdpProgram foreign(net.v1->outer());
  ASSERT_EQ(xdp_shown(net.v1->outer()), "xdpgeneric");

  const Pool pool = make_pool();
  EXPECT_THROW((void)make_port(spec(net.v1->outer(), "af_xdp", pool)), std::system_error);

  auto log = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(16);
  const auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", log));
  std::unique_ptr<Port> a = make_port(spec(net.v1->outer(), "auto", pool, 2));
  std::unique_ptr<Port> b = make_port(spec(net.v2->outer(), "auto", pool, 2));
  spdlog::set_default_logger(previous);

  EXPECT_NE(dynamic_cast<AfPacketPort*>(a.get()), nullptr) << "fell back";
  EXPECT_NE(dynamic_cast<AfXdpPort*>(b.get()), nullptr) << "no reason to fall back";
  const std::vector<std::string> lines = log->last_formatted();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(net.v1->outer()), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("another XDP program"), std::string::npos) << lines[0];

  expect_forwards(net, *a, *b, pool);
  a.reset();
  b.reset();
  EXPECT_EQ(xdp_shown(net.v1->outer()), "xdpgeneric") << "someone else's program stays";
}

}  // namespace
}  // namespace sockswitch::ports
