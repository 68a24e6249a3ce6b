// tests/packet/packet_pool_test.cc: Packet edits, PacketPool accounting, Burst bounds.
#include "packet/packet_pool.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "packet/burst.h"

namespace sockswitch::packet {
namespace {

using flowtable::PortNo;

TEST(Packet, EditsStayInsideTheBuffer) {
  PacketPool pool(1, 256, 128);
  Packet* p = pool.alloc();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->headroom(), 128u);
  EXPECT_EQ(p->length(), 0u);
  EXPECT_EQ(p->tailroom(), 128u);
  EXPECT_EQ(p->in_port(), flowtable::kPortNone);

  std::uint8_t* tail = p->append(100);
  ASSERT_NE(tail, nullptr);
  EXPECT_EQ(tail, p->data());
  std::memset(tail, 0xab, 100);
  EXPECT_EQ(p->append(29), nullptr);  // 28 left
  EXPECT_EQ(p->length(), 100u);

  // An L3 port prepends an Ethernet header without moving the payload.
  const std::uint8_t* payload = p->data();
  std::uint8_t* eth = p->push_front(14);
  ASSERT_NE(eth, nullptr);
  EXPECT_EQ(eth + 14, payload);
  EXPECT_EQ(p->length(), 114u);
  EXPECT_EQ(p->push_front(115), nullptr);  // 114 headroom left
  EXPECT_EQ(p->length(), 114u);

  EXPECT_EQ(p->pull_front(115), nullptr);
  EXPECT_EQ(p->pull_front(14), payload);
  EXPECT_FALSE(p->trim(101));
  EXPECT_TRUE(p->trim(100));
  EXPECT_TRUE(p->empty());
  EXPECT_EQ(p->bytes().size(), 0u);
  pool.free(p);
}

TEST(PacketPool, AllocatesEachBufferOnceAndReusesFreedOnes) {
  PacketPool pool(64);
  EXPECT_EQ(pool.size(), 64u);
  EXPECT_EQ(pool.available(), 64u);
  EXPECT_EQ(pool.buffer_size(), PacketPool::kDefaultBufferSize);
  std::array<Packet*, 64> all{};
  std::set<const std::uint8_t*> buffers;
  for (Packet*& p : all) {
    p = pool.alloc();
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(pool.owns(p));
    EXPECT_EQ(p->headroom(), kDefaultHeadroom);
    // Buffers start on cache lines and never overlap.
    const std::uint8_t* start = p->data() - p->headroom();
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(start) % 64, 0u);
    buffers.insert(start);
  }
  EXPECT_EQ(buffers.size(), 64u);
  EXPECT_EQ(pool.alloc(), nullptr);
  EXPECT_EQ(pool.available(), 0u);

  all[5]->set_in_port(PortNo{9});
  ASSERT_NE(all[5]->append(10), nullptr);
  pool.free(all[5]);
  Packet* again = pool.alloc();
  EXPECT_EQ(again, all[5]);  // LIFO: the warm buffer first
  EXPECT_EQ(again->length(), 0u);
  EXPECT_EQ(again->in_port(), flowtable::kPortNone);
  pool.free_burst(all);
  EXPECT_EQ(pool.available(), 64u);
}

TEST(PacketPool, BurstAllocIsPartialWhenShort) {
  PacketPool pool(40);
  Burst a, b;
  a.set_size(pool.alloc_burst(a.storage()));
  EXPECT_EQ(a.size(), 32u);
  b.set_size(pool.alloc_burst(b.storage()));
  EXPECT_EQ(b.size(), 8u);
  EXPECT_EQ(pool.available(), 0u);
  pool.free_burst(a.packets());
  pool.free_burst(b.packets());
  EXPECT_EQ(pool.available(), 40u);
}

TEST(PacketPool, RejectsBadSetup) {
  EXPECT_THROW(PacketPool(0), std::invalid_argument);
  EXPECT_THROW(PacketPool(1, 128, 128), std::invalid_argument);
}

// The area is what AF_XDP registers: page-aligned, whole pages, and every
// byte of a buffer maps back to its packet.
TEST(PacketPool, AreaIsRegistrableAndOffsetsMapBackToPackets) {
  PacketPool pool(33);
  const auto area = pool.area();
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(area.data()) % 4096, 0u);
  EXPECT_EQ(area.size() % 4096, 0u);
  EXPECT_GE(area.size(), pool.stride() * pool.size());
  Packet* p = pool.alloc();
  const std::uint64_t at = pool.offset_of(*p);
  EXPECT_EQ(area.data() + at, p->data());
  EXPECT_EQ(&pool.packet_at_offset(at), p);
  EXPECT_EQ(&pool.packet_at_offset(at - p->headroom()), p) << "the buffer's first byte";
  EXPECT_EQ(&pool.packet_at_offset(at + p->tailroom() - 1), p) << "its last byte";
  EXPECT_EQ(pool.index_of(pool.packet_at_offset(at + pool.stride())), pool.index_of(*p) + 1);
  pool.free(p);
}

// A port closing on the control thread gives packets back; the owner frees
// them at its next reclaim(), and only then.
TEST(PacketPool, HandedBackPacketsReturnAtReclaim) {
  PacketPool pool(64);
  std::vector<Packet*> lent(40);
  ASSERT_EQ(pool.alloc_burst(lent), 40u);
  EXPECT_EQ(pool.reclaim(), 0u);
  std::thread control([&] {
    pool.hand_back({lent.begin(), lent.begin() + 25});
    pool.hand_back({lent.begin() + 25, lent.end()});
  });
  control.join();
  EXPECT_EQ(pool.available(), 24u) << "nothing freed behind the owner's back";
  EXPECT_EQ(pool.reclaim(), 40u);
  EXPECT_EQ(pool.available(), 64u);
  EXPECT_EQ(pool.reclaim(), 0u);
  pool.hand_back({pool.alloc()});  // still queued when the pool goes: no leak (ASan)
}

TEST(PacketPoolDeathTest, DoubleAndForeignFreesAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  PacketPool pool(2), other(1);
  Packet* p = pool.alloc();
  pool.free(p);
  EXPECT_DEATH(pool.free(p), "freed twice");
  Packet* q = other.alloc();
  EXPECT_DEATH(pool.free(q), "does not belong");
  other.free(q);
}

TEST(Burst, HoldsAtMostKBurstSize) {
  PacketPool pool(1);
  Packet* p = pool.alloc();
  Burst b;
  EXPECT_TRUE(b.empty());
  for (std::size_t i = 0; i < kBurstSize; ++i)
    EXPECT_TRUE(b.push(p));
  EXPECT_TRUE(b.full());
  EXPECT_FALSE(b.push(p));
  b.set_size(1000);
  EXPECT_EQ(b.size(), kBurstSize);
  EXPECT_EQ(b.packets().size(), kBurstSize);
  b.clear();
  EXPECT_EQ(b.begin(), b.end());
  pool.free(p);
}

}  // namespace
}  // namespace sockswitch::packet
