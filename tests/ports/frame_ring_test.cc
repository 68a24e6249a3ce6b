// tests/ports/frame_ring_test.cc: the in-memory frame ring and the ring port over it.
//
// Plan: push single frames and whole bursts, read them back in order with
// both consumer forms, fill the ring to its bound and wrap around it, check
// the wake-up descriptor's edge behaviour; then drive a RingPort's
// rx_burst/tx_burst through a pool and check frames, counters and that the
// pool gets every packet back (also when the far ring is full).
#include <gtest/gtest.h>
#include <poll.h>

#include <numeric>
#include <vector>

#include "packet/packet_pool.h"
#include "ports/frame_ring.h"
#include "ports/ring_port.h"

namespace sockswitch::ports {
namespace {

std::vector<std::uint8_t> frame_of(std::size_t len, std::uint8_t seed) {
  std::vector<std::uint8_t> f(len);
  std::iota(f.begin(), f.end(), seed);
  return f;
}

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

TEST(FrameRing, FramesOfEveryLengthComeOutInOrder) {
  FrameRing ring(8);
  // Lengths around the short-copy path's 32..64 window and the slot size.
  const std::size_t lengths[] = {0, 1, 31, 32, 33, 60, 64, 65, 1514, FrameRing::kSlotSize};
  for (std::size_t round = 0; round < 3; ++round) {  // wraps the 8 slots
    for (std::size_t i = 0; i < std::size(lengths); ++i) {
      const auto f = frame_of(lengths[i], static_cast<std::uint8_t>(i + round));
      ASSERT_TRUE(ring.push(f));
      ASSERT_EQ(ring.available(), 1u);
      const auto got = ring.peek(0);
      EXPECT_EQ(std::vector<std::uint8_t>(got.begin(), got.end()), f) << lengths[i];
      ring.pop();
    }
  }
  EXPECT_FALSE(ring.push(frame_of(FrameRing::kSlotSize + 1, 0)));
  EXPECT_EQ(ring.size(), 0u);
}

TEST(FrameRing, BatchFormsFillToTheBoundAndWrap) {
  FrameRing ring(4);
  for (std::uint8_t round = 0; round < 5; ++round) {
    ASSERT_EQ(ring.reserve(10), 4u);  // never more than the free slots
    for (std::size_t i = 0; i < 3; ++i) {
      const auto f = frame_of(60, static_cast<std::uint8_t>(round * 10 + i));
      std::copy(f.begin(), f.end(), ring.slot(i));
      ring.set_length(i, 60);
    }
    ring.publish(3);
    EXPECT_EQ(ring.reserve(10), 1u);
    EXPECT_TRUE(ring.push(frame_of(5, round)));
    EXPECT_FALSE(ring.push(frame_of(5, round)));  // full
    ASSERT_EQ(ring.available(), 4u);
    for (std::size_t i = 0; i < 3; ++i) {
      const auto got = ring.peek(i);
      EXPECT_EQ(std::vector<std::uint8_t>(got.begin(), got.end()),
                frame_of(60, static_cast<std::uint8_t>(round * 10 + i)));
    }
    EXPECT_EQ(ring.peek(3).size(), 5u);
    ring.release(4);
    EXPECT_EQ(ring.available(), 0u);
    EXPECT_TRUE(ring.front().empty());
  }
}

TEST(FrameRing, WakeupOnlyOnTheEmptyToNonEmptyEdge) {
  FrameRing ring(16);
  EXPECT_FALSE(readable(ring.wakeup_fd()));
  ASSERT_TRUE(ring.push(frame_of(60, 1)));
  EXPECT_TRUE(readable(ring.wakeup_fd()));
  ring.release(ring.available());
  EXPECT_TRUE(ring.rearm() == false);  // empty again: nothing arrived meanwhile
  EXPECT_FALSE(readable(ring.wakeup_fd()));
  ASSERT_EQ(ring.reserve(2), 2u);
  ring.set_length(0, 1);
  ring.set_length(1, 1);
  ring.publish(2);
  EXPECT_TRUE(readable(ring.wakeup_fd()));
  EXPECT_TRUE(ring.rearm());  // frames are waiting
}

TEST(RingPort, BurstsThroughAPoolKeepFramesAndCounters) {
  packet::PacketPool pool(64);
  auto [a, b] = RingPort::make_patch_pair("a", "b", 8);
  // 10 frames sent into a ring of 8: 8 fit, 2 are tx drops.
  std::vector<packet::Packet*> out(10);
  for (std::uint8_t i = 0; i < 10; ++i) {
    packet::Packet* p = pool.alloc();
    const auto f = frame_of(40 + i, i);
    std::copy(f.begin(), f.end(), p->append(static_cast<std::uint32_t>(f.size())));
    out[i] = p;
  }
  a->tx_burst(0, pool, out);
  EXPECT_EQ(pool.available(), pool.size());  // tx_burst returned every packet
  EXPECT_EQ(a->counters().tx_packets, 8u);
  EXPECT_EQ(a->counters().tx_dropped, 2u);

  std::vector<packet::Packet*> in(32);
  ASSERT_EQ(b->rx_burst(0, pool, std::span(in).first(5)), 5u);
  ASSERT_EQ(b->rx_burst(0, pool, std::span(in).subspan(5)), 3u);
  for (std::uint8_t i = 0; i < 8; ++i) {
    const auto f = frame_of(40 + i, i);
    EXPECT_EQ(std::vector<std::uint8_t>(in[i]->bytes().begin(), in[i]->bytes().end()), f);
  }
  EXPECT_EQ(b->counters().rx_packets, 8u);
  EXPECT_EQ(b->rx_burst(0, pool, in), 0u);
  pool.free_burst(std::span(in).first(8));
  EXPECT_EQ(pool.available(), pool.size());
}

TEST(RingPort, AnEmptyPoolDropsWhatItCannotHold) {
  packet::PacketPool pool(2);
  RingPort port("p", 16);
  for (std::uint8_t i = 0; i < 5; ++i)
    ASSERT_TRUE(port.inject(frame_of(60, i)));
  std::vector<packet::Packet*> in(32);
  ASSERT_EQ(port.rx_burst(0, pool, in), 2u);
  EXPECT_EQ(in[1]->bytes()[0], 1);
  EXPECT_EQ(port.counters().rx_dropped, 3u);
  pool.free_burst(std::span(in).first(2));
}

}  // namespace
}  // namespace sockswitch::ports
