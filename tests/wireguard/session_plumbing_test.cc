// The Device's lock-free plumbing alone: the receive index table, the
// handshake queue, the grace period, the endpoint seqlock and the staging
// ring.
#include <gtest/gtest.h>

#include <thread>

#include "ports/wireguard/endpoint_cell.h"
#include "ports/wireguard/grace_period.h"
#include "ports/wireguard/handshake_queue.h"
#include "ports/wireguard/session_index_table.h"
#include "ports/wireguard/staged_packets.h"

namespace sockswitch::wireguard {
namespace {

TEST(SessionIndexTable, ReservePublishFindRelease) {
  SessionIndexTable t(4);
  const auto i1 = t.reserve(7, 0xabcd0000);
  const auto i2 = t.reserve(8, 0xabcd0000);
  ASSERT_TRUE(i1 && i2);
  EXPECT_NE(*i1, *i2);
  EXPECT_EQ(t.owner_of(*i1), 7u);
  EXPECT_EQ(t.find(*i1), nullptr);  // reserved, nothing published yet
  Keypair k;
  k.local_index = *i1;
  t.publish(*i1, &k);
  EXPECT_EQ(t.find(*i1), &k);
  EXPECT_EQ(t.find(*i1 ^ 0x10000), nullptr);  // same slot, other random bits
  t.unpublish(*i1);
  EXPECT_EQ(t.find(*i1), nullptr);
  t.release(*i1);
  EXPECT_FALSE(t.owner_of(*i1));
}

TEST(SessionIndexTable, FullTableRefusesUntilReleased) {
  SessionIndexTable t(4);
  std::vector<std::uint32_t> taken;
  while (const auto i = t.reserve(1, 0x12340000))
    taken.push_back(*i);
  EXPECT_EQ(taken.size(), 4u);
  t.release(taken[2]);
  EXPECT_TRUE(t.reserve(1, 0x55550000));
}

TEST(HandshakeQueue, FifoBoundedAndSizeChecked) {
  HandshakeQueue q(2);
  const Endpoint from{};
  std::vector<std::uint8_t> a(kInitiationSize, 1), b(kResponseSize, 2), c(64, 3);
  EXPECT_TRUE(q.push(a, from));
  EXPECT_TRUE(q.push(b, from));
  EXPECT_FALSE(q.push(c, from));  // full
  EXPECT_EQ(q.depth(), 2u);
  QueuedHandshake out;
  ASSERT_TRUE(q.pop(out));
  EXPECT_EQ(out.size, kInitiationSize);
  ASSERT_TRUE(q.pop(out));
  EXPECT_EQ(out.size, kResponseSize);
  EXPECT_FALSE(q.pop(out));
  std::vector<std::uint8_t> huge(kInitiationSize + 1, 1);
  EXPECT_FALSE(q.push(huge, from));
}

TEST(GracePeriod, PassesOnceThePollThreadLeftItsBurst) {
  GracePeriod g;
  EXPECT_TRUE(g.passed(g.ticket()));  // outside any burst: free at once
  g.enter();
  const auto t = g.ticket();
  EXPECT_FALSE(g.passed(t));  // the burst in progress may hold the object
  g.leave();
  EXPECT_TRUE(g.passed(t));
  g.enter();
  EXPECT_TRUE(g.passed(t));  // a later burst loaded the new pointer
}

TEST(EndpointCell, ReadersNeverSeeATornEndpoint) {
  EndpointCell cell;
  const Endpoint x{*IpAddress::parse("192.0.2.1"), 1111, 0};
  const Endpoint y{*IpAddress::parse("2001:db8::1"), 2222, 3};
  cell.store(x);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; i < 200000; ++i)
      cell.store(i % 2 ? x : y);
    stop = true;
  });
  std::size_t torn = 0;
  while (!stop) {
    const Endpoint e = cell.load();
    torn += !(e == x || e == y);
  }
  writer.join();
  EXPECT_EQ(torn, 0u);
}

TEST(StagedPackets, RingKeepsOrderAndBounds) {
  StagedPackets s(2, 8);
  const std::uint8_t p1[] = {1, 2, 3}, p2[] = {4}, big[9] = {};
  EXPECT_EQ(s.push(p1), StagedPackets::Result::staged);
  EXPECT_EQ(s.push(big), StagedPackets::Result::too_big);
  EXPECT_EQ(s.push(p2), StagedPackets::Result::staged);
  EXPECT_EQ(s.push(p2), StagedPackets::Result::full);
  std::uint32_t size = 0;
  EXPECT_EQ(s.front(size)[2], 3);
  EXPECT_EQ(size, 3u);
  s.pop();
  EXPECT_EQ(s.front(size)[0], 4);
  s.pop();
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.push(p1), StagedPackets::Result::staged);  // wraps around
  EXPECT_EQ(s.front(size)[0], 1);
}

}  // namespace
}  // namespace sockswitch::wireguard
