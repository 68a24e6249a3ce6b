// tests/dataplane/flow_cache_test.cc: the exact-match and megaflow caches.
//
// Plan: insert decisions, look up the same and neighbouring keys, check that
// a megaflow answers for every key that agrees on its mask and for no other,
// that clearing forgets everything, and that hostile key sets stay bounded.
#include <gtest/gtest.h>

#include <random>

#include "dataplane/exact_match_cache.h"
#include "dataplane/megaflow_cache.h"

namespace sockswitch::dataplane {
namespace {

using flowtable::FieldId;
using flowtable::FlowKey;
using flowtable::FlowMask;

FlowKey tcp_key(std::uint32_t dst_ip, std::uint16_t dst_port) {
  FlowKey k;
  k.set(FieldId::in_port, 1);
  k.set(FieldId::eth_type, 0x0800);
  k.set(FieldId::ip_proto, 6);
  k.set(FieldId::ipv4_dst, dst_ip);
  k.set(FieldId::tp_dst, dst_port);
  return k;
}

TEST(ExactMatchCache, HitsOnlyTheSameKey) {
  ExactMatchCache<int> emc(64);
  const FlowKey a = tcp_key(0x0a000001, 443);
  const FlowKey b = tcp_key(0x0a000001, 444);
  emc.insert(a, hash_key(a), 7);
  ASSERT_NE(emc.lookup(a, hash_key(a)), nullptr);
  EXPECT_EQ(*emc.lookup(a, hash_key(a)), 7);
  EXPECT_EQ(emc.lookup(b, hash_key(b)), nullptr);
  emc.clear();
  EXPECT_EQ(emc.lookup(a, hash_key(a)), nullptr);
}

TEST(ExactMatchCache, ManyKeysNeverGiveAWrongAnswer) {
  ExactMatchCache<std::uint32_t> emc(256);
  for (std::uint32_t i = 0; i < 10000; ++i) {
    const FlowKey k = tcp_key(i, static_cast<std::uint16_t>(i));
    emc.insert(k, hash_key(k), i);
  }
  int hits = 0;
  for (std::uint32_t i = 0; i < 10000; ++i) {
    const FlowKey k = tcp_key(i, static_cast<std::uint16_t>(i));
    if (const std::uint32_t* v = emc.lookup(k, hash_key(k))) {
      EXPECT_EQ(*v, i);
      ++hits;
    }
  }
  EXPECT_GT(hits, 0);
  EXPECT_LE(hits, 256);
}

TEST(MegaflowCache, AnswersForEveryKeyThatAgreesOnTheMask) {
  MegaflowCache<int> cache(64);
  FlowMask mask = flowtable::full_mask(FieldId::eth_type);
  mask |= flowtable::full_mask(FieldId::ip_proto);
  mask |= flowtable::full_mask(FieldId::tp_dst);
  ASSERT_TRUE(cache.insert(tcp_key(0x0a000001, 443), mask, 1));
  ASSERT_NE(cache.lookup(tcp_key(0x0a0000ff, 443)), nullptr);  // ipv4_dst not in the mask
  EXPECT_EQ(*cache.lookup(tcp_key(0x0a0000ff, 443)), 1);
  EXPECT_EQ(cache.lookup(tcp_key(0x0a000001, 80)), nullptr);  // tp_dst is
  EXPECT_EQ(cache.subtable_count(), 1u);
  EXPECT_EQ(cache.size(), 1u);
  cache.clear();
  EXPECT_EQ(cache.lookup(tcp_key(0x0a000001, 443)), nullptr);
  EXPECT_EQ(cache.subtable_count(), 0u);
}

TEST(MegaflowCache, SubtablesAndEntriesAreBounded) {
  MegaflowCache<int> cache(16);
  std::mt19937_64 rng(1);
  for (int i = 0; i < 1000; ++i) {
    FlowMask m;
    m.w[rng() % flowtable::kKeyWords] = rng() | 1;
    cache.insert(tcp_key(static_cast<std::uint32_t>(rng()), 1), m, i);
  }
  EXPECT_LE(cache.subtable_count(), MegaflowCache<int>::kMaxSubtables);
  EXPECT_LE(cache.size(), MegaflowCache<int>::kMaxSubtables * 16);
  // Reuse after clear keeps working.
  cache.clear();
  const FlowMask m = flowtable::full_mask(FieldId::tp_dst);
  ASSERT_TRUE(cache.insert(tcp_key(1, 22), m, 5));
  ASSERT_NE(cache.lookup(tcp_key(2, 22)), nullptr);
  EXPECT_EQ(*cache.lookup(tcp_key(2, 22)), 5);
}

}  // namespace
}  // namespace sockswitch::dataplane
