// tests/dataplane/conntrack_test.cc: the connection tracker's verdicts, packet by packet.
//
// Plan. Frames built byte by byte go through Conntrack::track() as ct()
// would pass them: UDP, ICMP echo and TCP connections opened, answered and
// closed, with and without commit; then what is invalid (a SYN+ACK out of
// nowhere, a segment far outside the window, an echo reply nobody asked
// for, a fragment), ICMP errors about a tracked connection (+rel), zones,
// ct_mark, the ct_max bound (counted), timeouts, flush, and two threads
// writing at once. Verify: the ct_state bits OVS's userspace tracker gives
// the same packets.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "dataplane/conntrack.h"
#include "dataplane/flow_extractor.h"
#include "tests/dataplane/frame_builder.h"

namespace sockswitch::dataplane {

using packet::Packet;

namespace {

using namespace std::chrono_literals;
using flowtable::Action;
using flowtable::ActionKind;
using test::FrameBuilder;

constexpr std::uint8_t kTrk = flowtable::kCtStateTracked, kNew = flowtable::kCtStateNew,
                       kEst = flowtable::kCtStateEstablished, kRpl = flowtable::kCtStateReply,
                       kInv = flowtable::kCtStateInvalid, kRel = flowtable::kCtStateRelated;
constexpr std::uint32_t kA = 0x0a000001, kB = 0x0a000002;
constexpr std::uint64_t kMacA = 0x020000000001, kMacB = 0x020000000002;
constexpr std::uint16_t kSyn = 0x02, kAck = 0x10, kFin = 0x01, kRst = 0x04;

FrameBuilder::Ipv4 ip(std::uint8_t proto, std::uint32_t src, std::uint32_t dst,
                      std::uint16_t frag = 0) {
  FrameBuilder::Ipv4 h;
  h.proto = proto;
  h.src = src;
  h.dst = dst;
  h.frag = frag;
  return h;
}

Action ct(bool commit, std::uint16_t zone = 0) {
  Action a;
  a.kind = ActionKind::ct;
  a.table = 1;
  a.zone = zone;
  a.ct_flags = commit ? flowtable::kCtCommit : 0;
  return a;
}

CtVerdict pass(Conntrack& t, const std::vector<std::uint8_t>& frame, const Action& a,
               std::chrono::seconds now = 100s) {
  std::vector<std::uint8_t> buffer(2048);
  Packet p;
  p.bind(buffer.data(), static_cast<std::uint32_t>(buffer.size()));
  std::memcpy(p.append(static_cast<std::uint32_t>(frame.size())), frame.data(), frame.size());
  flowtable::FlowKey key;
  (void)extract_flow(p, key);
  return t.track(p, key, a, now);
}

std::vector<std::uint8_t> udp(std::uint32_t src, std::uint32_t dst, std::uint16_t sport,
                              std::uint16_t dport) {
  FrameBuilder f;
  f.eth(kMacB, kMacA, flowtable::kEthTypeIpv4).ipv4(ip(flowtable::kIpProtoUdp, src, dst));
  return f.udp(sport, dport).zeros(8).build();
}

std::vector<std::uint8_t> tcp(std::uint32_t src, std::uint32_t dst, std::uint16_t sport,
                              std::uint16_t dport, std::uint16_t flags, std::uint32_t seq,
                              std::uint32_t ack, std::size_t payload = 0) {
  FrameBuilder f;
  f.eth(kMacB, kMacA, flowtable::kEthTypeIpv4).ipv4(ip(flowtable::kIpProtoTcp, src, dst));
  f.u16(sport).u16(dport).u32(seq).u32(ack).u16(5 << 12 | flags).u16(65535).u16(0).u16(0);
  return f.zeros(payload).build();
}

std::vector<std::uint8_t> echo(std::uint32_t src, std::uint32_t dst, std::uint8_t type,
                               std::uint16_t id) {
  FrameBuilder f;
  f.eth(kMacB, kMacA, flowtable::kEthTypeIpv4).ipv4(ip(flowtable::kIpProtoIcmp, src, dst));
  return f.u8(type).u8(0).u16(0).u16(id).u16(1).zeros(16).build();
}

// Port unreachable from `from` about a UDP datagram src:sport -> dst:dport.
std::vector<std::uint8_t> unreachable(std::uint32_t from, std::uint32_t to, std::uint32_t src,
                                      std::uint32_t dst, std::uint16_t sport, std::uint16_t dport) {
  FrameBuilder f;
  f.eth(kMacA, kMacB, flowtable::kEthTypeIpv4).ipv4(ip(flowtable::kIpProtoIcmp, from, to));
  f.u8(3).u8(3).u16(0).u32(0);
  f.u8(0x45).u8(0).u16(36).u16(7).u16(0).u8(64).u8(flowtable::kIpProtoUdp).u16(0).u32(src).u32(dst);
  return f.u16(sport).u16(dport).u16(16).u16(0).build();
}

TEST(Conntrack, UdpIsNewUntilTheReplyThenEstablished) {
  Conntrack t(1000);
  const auto out = udp(kA, kB, 5000, 53), back = udp(kB, kA, 53, 5000);
  EXPECT_EQ(pass(t, out, ct(false)).state, kTrk | kNew);
  EXPECT_EQ(pass(t, back, ct(false)).state, kTrk | kNew) << "uncommitted: nothing to reply to";
  EXPECT_EQ(t.counters().connections, 0u);
  EXPECT_EQ(pass(t, out, ct(true)).state, kTrk | kNew);
  EXPECT_EQ(pass(t, out, ct(false)).state, kTrk | kNew) << "no reply seen yet";
  EXPECT_EQ(pass(t, back, ct(false)).state, kTrk | kEst | kRpl);
  EXPECT_EQ(pass(t, out, ct(false)).state, kTrk | kEst);
  EXPECT_EQ(t.counters().connections, 1u);
  EXPECT_EQ(t.counters().committed, 1u);
}

TEST(Conntrack, TcpHandshakeDataAndClose) {
  Conntrack t(1000);
  EXPECT_EQ(pass(t, tcp(kA, kB, 40000, 80, kSyn, 100, 0), ct(true)).state, kTrk | kNew);
  EXPECT_EQ(pass(t, tcp(kB, kA, 80, 40000, kSyn | kAck, 5000, 101), ct(false)).state,
            kTrk | kEst | kRpl);
  EXPECT_EQ(pass(t, tcp(kA, kB, 40000, 80, kAck, 101, 5001), ct(false)).state, kTrk | kEst);
  EXPECT_EQ(pass(t, tcp(kA, kB, 40000, 80, kAck, 101, 5001, 500), ct(false)).state, kTrk | kEst);
  EXPECT_EQ(pass(t, tcp(kB, kA, 80, 40000, kAck, 5001, 601), ct(false)).state, kTrk | kEst | kRpl);
  // Far outside anything either side announced.
  EXPECT_EQ(pass(t, tcp(kA, kB, 40000, 80, kAck, 101 + 50'000'000, 5001, 100), ct(false)).state,
            kTrk | kInv);
  const auto dumped = t.dump(std::nullopt, 100s);
  ASSERT_EQ(dumped.size(), 1u);
  EXPECT_EQ(dumped[0].tcp, TcpState::established);
  EXPECT_EQ(pass(t, tcp(kA, kB, 40000, 80, kFin | kAck, 601, 5001), ct(false)).state, kTrk | kEst);
  EXPECT_EQ(pass(t, tcp(kB, kA, 80, 40000, kFin | kAck, 5001, 602), ct(false)).state,
            kTrk | kEst | kRpl);
  EXPECT_EQ(pass(t, tcp(kA, kB, 40000, 80, kAck, 602, 5002), ct(false)).state, kTrk | kEst);
  EXPECT_EQ(t.dump(std::nullopt, 100s).at(0).tcp, TcpState::fin_wait_2);
  // Both sides closed: a fresh SYN on the same ports starts a new connection.
  EXPECT_EQ(pass(t, tcp(kA, kB, 40000, 80, kSyn, 9000, 0), ct(true)).state, kTrk | kNew);
  EXPECT_EQ(t.dump(std::nullopt, 100s).at(0).tcp, TcpState::syn_sent);
}

// Found by the soak: a client whose SYN went unanswered (Xray's veth was
// being made again) tries again from the same port with another ISN. That is
// a new attempt, not an invalid segment of the old one.
TEST(Conntrack, ANewSynAfterAnUnansweredOneStartsAgain) {
  Conntrack t(1000);
  EXPECT_EQ(pass(t, tcp(kA, kB, 40001, 8443, kSyn, 100, 0), ct(true)).state, kTrk | kNew);
  EXPECT_FALSE(pass(t, tcp(kA, kB, 40001, 8443, kSyn, 100, 0), ct(false)).state & kInv)
      << "the same SYN again (a retransmission)";
  EXPECT_EQ(pass(t, tcp(kA, kB, 40001, 8443, kSyn, 3'000'000'000u, 0), ct(true)).state, kTrk | kNew)
      << "another ISN on the same ports";
  EXPECT_EQ(t.counters().invalid, 0u);
  EXPECT_EQ(pass(t, tcp(kB, kA, 8443, 40001, kSyn | kAck, 7000, 3'000'000'001u), ct(false)).state,
            kTrk | kEst | kRpl);
  EXPECT_EQ(t.counters().connections, 1u);
  // Once the other side has answered, a SYN with another ISN is no new attempt.
  EXPECT_EQ(pass(t, tcp(kA, kB, 40001, 8443, kSyn, 5'000, 0), ct(false)).state, kTrk | kInv);
}

TEST(Conntrack, WhatCannotStartAConnectionIsInvalid) {
  Conntrack t(1000);
  EXPECT_EQ(pass(t, tcp(kB, kA, 80, 40000, kSyn | kAck, 5000, 101), ct(true)).state, kTrk | kInv);
  EXPECT_EQ(pass(t, tcp(kA, kB, 40000, 80, kSyn | kFin, 1, 0), ct(true)).state, kTrk | kInv);
  EXPECT_EQ(pass(t, tcp(kA, kB, 40000, 80, 0, 1, 0), ct(true)).state, kTrk | kInv);
  EXPECT_EQ(pass(t, echo(kB, kA, 0, 7), ct(true)).state, kTrk | kInv) << "a reply nobody asked for";
  FrameBuilder frag;
  frag.eth(kMacB, kMacA, flowtable::kEthTypeIpv4).ipv4(ip(flowtable::kIpProtoUdp, kA, kB, 0x2000));
  EXPECT_EQ(pass(t, frag.udp(1, 2).build(), ct(true)).state, kTrk | kInv);
  EXPECT_EQ(t.counters().connections, 0u);
  EXPECT_EQ(t.counters().invalid, 5u);
  // Picked up mid-stream, as OVS does: an ACK may start tracking.
  EXPECT_EQ(pass(t, tcp(kA, kB, 41000, 80, kAck, 7000, 8000), ct(true)).state, kTrk | kNew);
  EXPECT_EQ(pass(t, tcp(kB, kA, 80, 41000, kAck, 8000, 7000), ct(false)).state, kTrk | kEst | kRpl);
}

TEST(Conntrack, IcmpEchoAndErrorsAboutTrackedConnections) {
  Conntrack t(1000);
  EXPECT_EQ(pass(t, echo(kA, kB, 8, 7), ct(true)).state, kTrk | kNew);
  EXPECT_EQ(pass(t, echo(kB, kA, 0, 7), ct(false)).state, kTrk | kEst | kRpl);
  EXPECT_EQ(pass(t, echo(kB, kA, 0, 8), ct(false)).state, kTrk | kInv) << "another id";
  (void)pass(t, udp(kA, kB, 5000, 9), ct(true));
  EXPECT_EQ(pass(t, unreachable(kB, kA, kA, kB, 5000, 9), ct(false)).state, kTrk | kRel | kRpl);
  EXPECT_EQ(pass(t, unreachable(kB, kA, kA, kB, 5001, 9), ct(false)).state, kTrk | kInv);
}

TEST(Conntrack, ZonesAreSeparateAndMarksStay) {
  Conntrack t(1000);
  Action marked = ct(true, 5);
  marked.ct_flags |= flowtable::kCtSetMark;
  marked.value.lo = 0x2a;
  marked.value.hi = 0xffffffff;
  const auto out = udp(kA, kB, 5000, 53), back = udp(kB, kA, 53, 5000);
  EXPECT_EQ(pass(t, out, marked).mark, 0x2au);
  EXPECT_EQ(pass(t, back, ct(false, 6)).state, kTrk | kNew) << "zone 6 knows nothing of zone 5";
  const CtVerdict v = pass(t, back, ct(false, 5));
  EXPECT_EQ(v.state, kTrk | kEst | kRpl);
  EXPECT_EQ(v.mark, 0x2au);
  EXPECT_EQ(t.dump(6, 100s).size(), 0u);
  EXPECT_EQ(t.dump(5, 100s).size(), 1u);
  EXPECT_EQ(t.flush(6), 0u);
  EXPECT_EQ(t.flush(5), 1u);
  EXPECT_EQ(t.counters().connections, 0u);
}

TEST(Conntrack, TheBoundIsKeptAndCounted) {
  Conntrack t(4);
  for (std::uint16_t port = 1; port <= 10; ++port)
    EXPECT_EQ(pass(t, udp(kA, kB, port, 53), ct(true)).state, kTrk | kNew);
  EXPECT_EQ(t.counters().connections, 4u);
  EXPECT_EQ(t.counters().full, 6u);
  EXPECT_EQ(t.dump(std::nullopt, 100s).size(), 4u);
}

TEST(Conntrack, ASynFloodFillsTheBoundWhileEstablishedConnectionsKeepWorking) {
  Conntrack t(1000);
  (void)pass(t, tcp(kA, kB, 40000, 80, kSyn, 100, 0), ct(true));
  (void)pass(t, tcp(kB, kA, 80, 40000, kSyn | kAck, 5000, 101), ct(false));
  (void)pass(t, tcp(kA, kB, 40000, 80, kAck, 101, 5001), ct(false));
  std::mt19937 random(7);
  constexpr int kSyns = 5000;
  for (int i = 0; i < kSyns; ++i) {
    const auto source = static_cast<std::uint32_t>(random() | 0x01000000);
    EXPECT_EQ(pass(t,
                   tcp(source, kB, static_cast<std::uint16_t>(random()), 80, kSyn,
                       static_cast<std::uint32_t>(random()), 0),
                   ct(true))
                  .state,
              kTrk | kNew);
  }
  EXPECT_EQ(t.counters().connections, 1000u);
  EXPECT_EQ(t.counters().full, std::uint64_t{kSyns - 999});
  EXPECT_EQ(pass(t, tcp(kA, kB, 40000, 80, kAck, 101, 5001, 100), ct(false)).state, kTrk | kEst);
  EXPECT_EQ(pass(t, tcp(kB, kA, 80, 40000, kAck, 5001, 201), ct(false)).state, kTrk | kEst | kRpl);
  // The half-open ones go after TCP's 30 s; the established one stays.
  EXPECT_EQ(t.expire(131s), 999u);
  EXPECT_EQ(t.counters().connections, 1u);
}

TEST(Conntrack, ConnectionsExpireByTheirProtocolsTimeouts) {
  Conntrack t(1000);
  (void)pass(t, udp(kA, kB, 5000, 53), ct(true), 100s);
  (void)pass(t, echo(kA, kB, 8, 7), ct(true), 100s);
  (void)pass(t, tcp(kA, kB, 40000, 80, kSyn, 100, 0), ct(true), 100s);
  EXPECT_EQ(t.expire(129s), 0u);
  EXPECT_EQ(t.expire(130s), 1u) << "TCP's first packet: 30 s";
  EXPECT_EQ(t.expire(160s), 2u) << "UDP and ICMP: 60 s";
  EXPECT_EQ(pass(t, udp(kB, kA, 53, 5000), ct(false), 161s).state, kTrk | kNew);
  EXPECT_EQ(t.counters().connections, 0u);
}

TEST(Conntrack, TwoWritersAtOnce) {
  Conntrack t(100'000);
  auto writer = [&t](std::uint32_t src) {
    for (std::uint16_t port = 1; port <= 5000; ++port) {
      (void)pass(t, udp(src, kB, port, 53), ct(true));
      (void)pass(t, udp(kB, src, 53, port), ct(false));
    }
  };
  std::thread one(writer, 0x0a000010), two(writer, 0x0a000020);
  one.join();
  two.join();
  EXPECT_EQ(t.counters().connections, 10'000u);
  for (const ConnectionInfo& c : t.dump(std::nullopt, 100s))
    ASSERT_EQ(c.orig.dst.lo, kB);
  EXPECT_EQ(pass(t, udp(0x0a000010, kB, 77, 53), ct(false)).state, kTrk | kEst);
}

}  // namespace
}  // namespace sockswitch::dataplane
