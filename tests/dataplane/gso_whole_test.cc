// tests/dataplane/gso_whole_test.cc: GSO super-frames kept whole through the bridge.
//
// A super-frame travels as one large packet whose TCP/UDP checksum field
// holds the pseudo-header sum alone. What must hold: an output that takes
// super-frames gets the one packet; any other output gets segments that
// each stand alone (checked by offload_frames.h's own sums), or, when the
// pool cannot hold them, nothing and a counted loss, with every buffer back
// in the pool; a rewrite of an address keeps the stored value the pseudo-
// header sum of the new addresses, and a port rewrite leaves it alone.
#include <gtest/gtest.h>

#include <vector>

#include "dataplane/bridge.h"
#include "dataplane/flow_extractor.h"
#include "dataplane/gso_segmenter.h"
#include "dataplane/header_rewrite.h"
#include "dataplane/tx_batch.h"
#include "tests/dataplane/offload_frames.h"
#include "tests/dataplane/recording_port.h"
#include "wire/checksum.h"

namespace sockswitch::dataplane {

using packet::kDefaultHeadroom;
using packet::Packet;
using packet::PacketPool;
using wire::GsoKind;
using wire::load_be16;

namespace {

using test::offload_frame;
using test::OffloadFrame;
using test::plain_fold;
using test::RecordingPort;

Packet* super_frame(PacketPool& pool, const OffloadFrame& f, std::uint16_t mss) {
  Packet* p = pool.alloc_for(static_cast<std::uint32_t>(f.bytes.size()));
  EXPECT_NE(p, nullptr);
  if (p == nullptr) return nullptr;
  std::uint8_t* at = p->append(static_cast<std::uint32_t>(f.bytes.size()));
  std::copy(f.bytes.begin(), f.bytes.end(), at);
  p->set_gso({f.udp ? GsoKind::udp_l4 : GsoKind::tcp, mss});
  return p;
}

OffloadFrame partial_tcp(bool ipv6, std::size_t payload) {
  OffloadFrame f = offload_frame(ipv6, /*udp=*/false, payload);
  f.make_partial();
  return f;
}

TEST(GsoWhole, APortThatTakesThemGetsTheFrameAnyOtherItsSegments) {
  for (const bool takes : {true, false}) {
    SCOPED_TRACE(takes ? "takes GSO" : "takes none");
    PacketPool pool(256, PacketPool::kDefaultBufferSize, kDefaultHeadroom, 4);
    RecordingPort port(takes);
    const BridgePort bp{flowtable::PortNo{1}, &port};
    const OffloadFrame f = partial_tcp(false, 60'000);
    {
      TxBatch tx(pool);
      tx.enqueue(0, 0, bp, super_frame(pool, f, 1448));
      tx.flush();
    }
    if (takes) {
      ASSERT_EQ(port.sent.size(), 1u);
      EXPECT_TRUE(port.sent[0]->is_gso());
      EXPECT_EQ(port.sent[0]->length(), f.bytes.size());
    } else {
      ASSERT_EQ(port.sent.size(), (60'000 + 1447) / 1448u);
      std::size_t payload = 0;
      for (const Packet* s : port.sent) {
        OffloadFrame seg = f;
        seg.bytes.assign(s->data(), s->data() + s->length());
        EXPECT_FALSE(s->is_gso());
        EXPECT_TRUE(seg.l4_valid());
        EXPECT_TRUE(seg.ipv4_header_valid());
        payload += seg.l4_length() - 20;
      }
      EXPECT_EQ(payload, 60'000u);
      EXPECT_EQ(port.counters().tx_segments, port.sent.size());
    }
    pool.free_burst(port.sent);
    EXPECT_EQ(pool.available(), pool.size());
    EXPECT_EQ(pool.large_available(), pool.large_size());
  }
}

TEST(GsoWhole, ACutThePoolCannotHoldIsALossCountedAndNothingLeaks) {
  PacketPool pool(16, PacketPool::kDefaultBufferSize, kDefaultHeadroom, 1);
  RecordingPort port(false);
  const BridgePort bp{flowtable::PortNo{1}, &port};
  TxBatch tx(pool);
  tx.enqueue(0, 0, bp, super_frame(pool, partial_tcp(true, 40'000), 1440));
  tx.flush();
  EXPECT_TRUE(port.sent.empty());
  EXPECT_EQ(port.counters().tx_dropped, 1u);
  EXPECT_EQ(pool.available(), pool.size());
  EXPECT_EQ(pool.large_available(), 1u);
}

TEST(GsoWhole, RewritesKeepThePseudoHeaderSumThatIsStoredAndCutSegmentsStayValid) {
  for (const bool ipv6 : {false, true}) {
    SCOPED_TRACE(ipv6 ? "IPv6" : "IPv4");
    PacketPool pool(256, PacketPool::kDefaultBufferSize, kDefaultHeadroom, 2);
    OffloadFrame f = partial_tcp(ipv6, 30'000);
    Packet* p = super_frame(pool, f, 1000);
    ASSERT_NE(p, nullptr);
    flowtable::FlowKey key;
    ASSERT_EQ(extract_flow(*p, key), ParseResult::ok);

    flowtable::Action addr;
    if (ipv6) {
      addr.kind = flowtable::ActionKind::set_field;
      addr.field = flowtable::FieldId::ipv6_dst;
      addr.value = {0xfd00000000000000ull, 0x99};
    } else {
      addr.kind = flowtable::ActionKind::mod_nw_dst;
      addr.field = flowtable::FieldId::ipv4_dst;
      addr.value.lo = 0x0a0000c8;  // 10.0.0.200
    }
    flowtable::Action port;
    port.kind = flowtable::ActionKind::mod_tp_dst;
    port.field = flowtable::FieldId::tp_dst;
    port.value.lo = 8443;
    ASSERT_TRUE(apply_rewrite(addr, *p, key));
    f.bytes.assign(p->data(), p->data() + p->length());
    const std::uint16_t after_address = f.stored();
    EXPECT_EQ(after_address, plain_fold(f.pseudo_sum())) << "the new addresses' sum";
    ASSERT_TRUE(apply_rewrite(port, *p, key));
    f.bytes.assign(p->data(), p->data() + p->length());
    EXPECT_EQ(f.stored(), after_address) << "ports lie outside the pseudo-header";
    EXPECT_EQ(load_be16(&f.bytes[f.l4 + 2]), 8443);

    std::array<Packet*, kMaxGsoSegments> segments{};
    const std::size_t n = segment_gso(*p, pool, segments);
    ASSERT_EQ(n, 30u);
    for (std::size_t i = 0; i < n; ++i) {
      OffloadFrame seg = f;
      seg.bytes.assign(segments[i]->data(), segments[i]->data() + segments[i]->length());
      EXPECT_TRUE(seg.l4_valid()) << "segment " << i;
    }
    pool.free_burst({segments.data(), n});
    pool.free(p);
    EXPECT_EQ(pool.large_available(), pool.large_size());
  }
}

TEST(GsoWhole, LargeBuffersComeFromTheirOwnStack) {
  PacketPool pool(8, PacketPool::kDefaultBufferSize, kDefaultHeadroom, 2);
  Packet* a = pool.alloc_for(60'000);
  Packet* b = pool.alloc_large();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(pool.alloc_large(), nullptr) << "two large buffers only";
  EXPECT_EQ(pool.available(), 8u) << "ordinary buffers untouched";
  EXPECT_GE(a->tailroom(), 65'536u);
  Packet* small = pool.alloc_for(1500);
  ASSERT_NE(small, nullptr);
  EXPECT_EQ(pool.available(), 7u);
  pool.free(a);
  pool.free(b);
  pool.free(small);
  EXPECT_EQ(pool.large_available(), 2u);
  EXPECT_EQ(pool.available(), 8u);
  EXPECT_DEATH(pool.free(a), "freed twice");
}

}  // namespace
}  // namespace sockswitch::dataplane
