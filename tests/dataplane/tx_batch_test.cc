// tests/dataplane/tx_batch_test.cc: decide first, send second, one call per port and burst.
//
// What must hold: packets for one port leave in the order they were queued,
// in calls of at most kBurstSize (a full buffer goes at once, the rest at
// flush()); each port gets its own calls on the queue its BridgePort names,
// interleaving notwithstanding; a flush with nothing queued calls nothing;
// and a packet for a slot past the bounds goes back to the pool unsent,
// counted.
#include "dataplane/tx_batch.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/dataplane/recording_port.h"

namespace sockswitch::dataplane {
namespace {

using packet::kBurstSize;
using packet::Packet;
using packet::PacketPool;
using test::RecordingPort;

// A packet whose first byte says which it is.
Packet* numbered(PacketPool& pool, std::uint8_t n) {
  Packet* p = pool.alloc();
  EXPECT_NE(p, nullptr);
  *p->append(60) = n;
  return p;
}

std::vector<std::uint8_t> numbers(const std::vector<Packet*>& sent) {
  std::vector<std::uint8_t> out;
  for (const Packet* p : sent)
    out.push_back(p->data()[0]);
  return out;
}

TEST(TxBatch, AFullBufferGoesAtOnceAndTheRestAtFlushInOrder) {
  PacketPool pool(128);
  TxBatch tx(pool);
  RecordingPort port(false);
  const BridgePort bp{.no = flowtable::PortNo{1}, .port = &port, .tx_queue = 3};
  for (std::uint8_t i = 0; i < 40; ++i) {
    tx.enqueue(0, 0, bp, numbered(pool, i));
    if (i == kBurstSize - 2) {
      EXPECT_TRUE(port.bursts.empty()) << "sent before the buffer filled";
    }
  }
  EXPECT_EQ(port.bursts, std::vector<std::size_t>{kBurstSize});
  tx.flush();
  EXPECT_EQ(port.bursts, (std::vector<std::size_t>{kBurstSize, 40 - kBurstSize}));
  EXPECT_EQ(port.queues, (std::vector<std::uint16_t>{3, 3}));
  std::vector<std::uint8_t> want(40);
  for (std::uint8_t i = 0; i < 40; ++i)
    want[i] = i;
  EXPECT_EQ(numbers(port.sent), want);
  tx.flush();
  EXPECT_EQ(port.bursts.size(), 2u) << "an empty flush sent something";
  pool.free_burst(port.sent);
  EXPECT_EQ(pool.available(), pool.size());
}

TEST(TxBatch, InterleavedPortsOfTwoBridgesEachGetOneCallPerFlush) {
  PacketPool pool(64);
  TxBatch tx(pool);
  RecordingPort a(false, "a"), b(false, "b"), c(false, "c");
  const BridgePort pa{.no = flowtable::PortNo{1}, .port = &a};
  const BridgePort pb{.no = flowtable::PortNo{2}, .port = &b, .tx_queue = 1};
  const BridgePort pc{.no = flowtable::PortNo{1}, .port = &c};
  for (std::uint8_t i = 0; i < 12; ++i) {
    // Bridge 0 slots 0 and 1, bridge 1 slot 0: three buffers.
    if (i % 3 == 0) tx.enqueue(0, 0, pa, numbered(pool, i));
    if (i % 3 == 1) tx.enqueue(0, 1, pb, numbered(pool, i));
    if (i % 3 == 2) tx.enqueue(1, 0, pc, numbered(pool, i));
  }
  tx.flush();
  EXPECT_EQ(a.bursts, std::vector<std::size_t>{4});
  EXPECT_EQ(b.bursts, std::vector<std::size_t>{4});
  EXPECT_EQ(c.bursts, std::vector<std::size_t>{4});
  EXPECT_EQ(b.queues, std::vector<std::uint16_t>{1});
  EXPECT_EQ(numbers(a.sent), (std::vector<std::uint8_t>{0, 3, 6, 9}));
  EXPECT_EQ(numbers(b.sent), (std::vector<std::uint8_t>{1, 4, 7, 10}));
  EXPECT_EQ(numbers(c.sent), (std::vector<std::uint8_t>{2, 5, 8, 11}));
  for (RecordingPort* r : {&a, &b, &c})
    pool.free_burst(r->sent);
  EXPECT_EQ(pool.available(), pool.size());
}

// The control plane refuses a ninth bridge and a 257th port, so no packet
// should come here for one; if it does, it goes back to the pool.
TEST(TxBatch, ASlotPastTheBoundsIsFreedUnsent) {
  PacketPool pool(8);
  TxBatch tx(pool);
  RecordingPort port(false);
  const BridgePort bp{.no = flowtable::PortNo{1}, .port = &port};
  tx.enqueue(TxBatch::kMaxBridges, 0, bp, numbered(pool, 1));
  tx.enqueue(0, TxBatch::kMaxPortsPerBridge, bp, numbered(pool, 2));
  tx.enqueue(0, -1, bp, numbered(pool, 3));
  tx.flush();
  EXPECT_TRUE(port.sent.empty());
  EXPECT_EQ(pool.available(), pool.size());
  EXPECT_EQ(tx.take_unsent(), 3u);  // counted, for the thread's drop.port_unknown
  EXPECT_EQ(tx.take_unsent(), 0u);
}

}  // namespace
}  // namespace sockswitch::dataplane
