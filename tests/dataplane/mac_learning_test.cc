// tests/dataplane/mac_learning_test.cc: the MAC learning table on its own.
//
// Plan: learn/lookup/move/age/flush one entry at a time; then the bounds:
// a table filled by a random-MAC flood never holds more than its capacity
// and keeps the entries of quieter ports; then a long random run checked
// against a plain std::map model (exercises deletion in the index).
#include "dataplane/mac_learning.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace sockswitch::dataplane {

using packet::MacAddr;

namespace {

using flowtable::PortNo;
using namespace std::chrono_literals;
using Seconds = MacLearningTable::Seconds;

constexpr MacAddr mac(std::uint64_t v) {
  return MacAddr::from_u64(0x020000000000 | v);
}
constexpr VlanId kVlan10{10};
constexpr VlanId kVlan20{20};
constexpr PortNo kP1{1}, kP2{2}, kP3{3};

MacLearningConfig small(std::uint32_t entries, std::uint32_t ports = 16) {
  return {.max_entries = entries, .aging = 300s, .max_ports = ports, .seed = 42};
}

TEST(MacLearning, LearnsPerMacAndVlan) {
  MacLearningTable t(small(64));
  EXPECT_EQ(t.learn(mac(1), kVlan10, kP1, 0s), LearnResult::learned);
  EXPECT_EQ(t.lookup(mac(1), kVlan10, 1s), kP1);
  EXPECT_EQ(t.lookup(mac(1), kVlan20, 1s), std::nullopt);  // VLANs are separate tables
  EXPECT_EQ(t.lookup(mac(2), kVlan10, 1s), std::nullopt);
  EXPECT_EQ(t.learn(mac(1), kVlan20, kP2, 0s), LearnResult::learned);
  EXPECT_EQ(t.lookup(mac(1), kVlan20, 1s), kP2);
  EXPECT_EQ(t.lookup(mac(1), kVlan10, 1s), kP1);
  EXPECT_EQ(t.learn(mac(1), kVlan10, kP1, 5s), LearnResult::refreshed);
  EXPECT_EQ(t.size(), 2u);
}

// fdb-show's copy: the live entries with their VLAN and age, none expired,
// and only once per request.
TEST(MacLearning, ACopyHoldsTheLiveEntriesWithTheirAges) {
  MacLearningTable t({.max_entries = 64, .aging = 10s, .max_ports = 16, .seed = 42});
  t.learn(mac(1), kVlan10, kP1, 0s);
  t.learn(mac(2), kVlan20, kP2, 5s);
  EXPECT_FALSE(t.copy_wanted());
  const std::uint64_t ticket = t.request_copy();
  EXPECT_TRUE(t.copy_wanted());
  EXPECT_FALSE(t.copy_ready(ticket));
  t.write_copy(12s);  // mac(1) is 12 s old: past its 10 s
  EXPECT_FALSE(t.copy_wanted());
  ASSERT_TRUE(t.copy_ready(ticket));
  ASSERT_EQ(t.copy().size(), 1u);
  const FdbEntry& e = t.copy()[0];
  EXPECT_EQ(e.port, kP2);
  EXPECT_EQ(e.vlan, kVlan20);
  EXPECT_EQ(e.mac.bits, mac(2).bits);
  EXPECT_EQ(e.age, 7s);
  t.learn(mac(3), kVlan10, kP3, 13s);
  t.write_copy(14s);  // nobody asked: the answer stays as it was
  EXPECT_EQ(t.copy().size(), 1u);
}

TEST(MacLearning, IgnoresWhatIsNotAHostOnAPort) {
  MacLearningTable t(small(64));
  EXPECT_EQ(t.learn(MacAddr::from_u64(0xffffffffffff), kVlan10, kP1, 0s), LearnResult::ignored);
  EXPECT_EQ(t.learn(MacAddr::from_u64(0x01005e000001), kVlan10, kP1, 0s), LearnResult::ignored);
  EXPECT_EQ(t.learn(mac(1), VlanId{4096}, kP1, 0s), LearnResult::ignored);
  EXPECT_EQ(t.learn(mac(1), kVlan10, flowtable::kPortLocal, 0s), LearnResult::ignored);
  EXPECT_EQ(t.learn(mac(1), kVlan10, PortNo{0}, 0s), LearnResult::ignored);
  EXPECT_EQ(t.size(), 0u);
}

TEST(MacLearning, HostMovesToAnotherPort) {
  MacLearningTable t(small(64));
  ASSERT_EQ(t.learn(mac(1), kVlan10, kP1, 0s), LearnResult::learned);
  EXPECT_EQ(t.learn(mac(1), kVlan10, kP2, 1s), LearnResult::moved);
  EXPECT_EQ(t.lookup(mac(1), kVlan10, 1s), kP2);
  EXPECT_EQ(t.port_entries(kP1), 0u);
  EXPECT_EQ(t.port_entries(kP2), 1u);
  EXPECT_EQ(t.size(), 1u);
}

TEST(MacLearning, EntriesAgeOut) {
  MacLearningTable t(small(64));
  ASSERT_EQ(t.learn(mac(1), kVlan10, kP1, 1000s), LearnResult::learned);
  ASSERT_EQ(t.learn(mac(2), kVlan10, kP1, 1000s), LearnResult::learned);
  EXPECT_EQ(t.lookup(mac(1), kVlan10, 1299s), kP1);
  EXPECT_EQ(t.lookup(mac(1), kVlan10, 1300s), std::nullopt);  // idle for exactly the aging time
  // Being seen again restarts the clock.
  EXPECT_EQ(t.learn(mac(2), kVlan10, kP1, 1200s), LearnResult::refreshed);
  EXPECT_EQ(t.lookup(mac(2), kVlan10, 1499s), kP1);
  // expire() reclaims only what is expired, within its budget.
  ASSERT_EQ(t.learn(mac(3), kVlan10, kP2, 1000s), LearnResult::learned);
  EXPECT_EQ(t.expire(1300s, 1), 1u);
  EXPECT_EQ(t.expire(1300s, 10), 1u);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.lookup(mac(2), kVlan10, 1300s), kP1);
  // A different aging time.
  MacLearningTable fast({.max_entries = 8, .aging = 15s, .max_ports = 4, .seed = 1});
  ASSERT_EQ(fast.learn(mac(1), kVlan10, kP1, 0s), LearnResult::learned);
  EXPECT_EQ(fast.lookup(mac(1), kVlan10, 14s), kP1);
  EXPECT_EQ(fast.lookup(mac(1), kVlan10, 15s), std::nullopt);
}

TEST(MacLearning, RemovalsAreAppliedOnceAndAMissedOneForgetsEverything) {
  MacLearningTable t(small(64));
  for (std::uint64_t i = 0; i < 9; ++i)
    ASSERT_EQ(t.learn(mac(i), kVlan10,
                      i % 3 == 0   ? kP1
                      : i % 3 == 1 ? kP2
                                   : kP3,
                      0s),
              LearnResult::learned);
  const std::vector<PortRemoval> one{{1, kP1}};
  EXPECT_EQ(t.apply_removals(one), 3u);
  EXPECT_EQ(t.removals_applied(), 1u);
  // The same log again is already applied: kP1's new entry stays.
  ASSERT_EQ(t.learn(mac(0), kVlan10, kP1, 1s), LearnResult::learned);
  EXPECT_EQ(t.apply_removals(one), 0u);
  EXPECT_EQ(t.lookup(mac(0), kVlan10, 1s), kP1);
  // A log whose oldest entry is past the next one due: something was
  // missed, so nothing learned can be trusted.
  const std::vector<PortRemoval> gap{{3, kP2}};
  EXPECT_EQ(t.apply_removals(gap), 7u);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.removals_applied(), 3u);
  // A new table skips the removals made before it.
  MacLearningTable fresh(small(64));
  fresh.skip_removals_through(3);
  ASSERT_EQ(fresh.learn(mac(1), kVlan10, kP2, 0s), LearnResult::learned);
  EXPECT_EQ(fresh.apply_removals(gap), 0u);
  EXPECT_EQ(fresh.lookup(mac(1), kVlan10, 0s), kP2);
}

TEST(MacLearning, FlushPortForgetsOnlyThatPort) {
  MacLearningTable t(small(64));
  for (std::uint64_t i = 0; i < 10; ++i)
    ASSERT_EQ(t.learn(mac(i), kVlan10, i % 2 ? kP1 : kP2, 0s), LearnResult::learned);
  EXPECT_EQ(t.flush_port(kP1), 5u);
  EXPECT_EQ(t.flush_port(kP1), 0u);
  EXPECT_EQ(t.flush_port(kP3), 0u);
  for (std::uint64_t i = 0; i < 10; ++i)
    EXPECT_EQ(t.lookup(mac(i), kVlan10, 1s), i % 2 ? std::nullopt : std::optional(kP2)) << i;
  EXPECT_EQ(t.size(), 5u);
  t.flush();
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.lookup(mac(0), kVlan10, 1s), std::nullopt);
}

TEST(MacLearning, PortSlotsAreBounded) {
  MacLearningTable t(small(64, 2));
  ASSERT_EQ(t.learn(mac(1), kVlan10, kP1, 0s), LearnResult::learned);
  ASSERT_EQ(t.learn(mac(2), kVlan10, kP2, 0s), LearnResult::learned);
  EXPECT_EQ(t.learn(mac(3), kVlan10, kP3, 0s), LearnResult::no_port);
  // Moving to a port that cannot be tracked forgets the stale port.
  EXPECT_EQ(t.learn(mac(1), kVlan10, kP3, 0s), LearnResult::no_port);
  EXPECT_EQ(t.lookup(mac(1), kVlan10, 0s), std::nullopt);
  EXPECT_EQ(t.learn(mac(3), kVlan10, kP3, 0s), LearnResult::learned);  // port 1's slot is free
}

TEST(MacLearning, RejectsBadConfig) {
  EXPECT_THROW(MacLearningTable({.max_entries = 0}), std::invalid_argument);
  EXPECT_THROW(MacLearningTable({.max_ports = 0}), std::invalid_argument);
  EXPECT_THROW(MacLearningTable({.aging = 0s}), std::invalid_argument);
}

// A host on port 3 sends from random source MACs. The table stays at its
// capacity, the flood churns port 3's own entries, and the hosts on ports
// 1 and 2 stay reachable throughout.
TEST(MacLearning, RandomMacFloodStaysBoundedAndSparesQuietPorts) {
  MacLearningTable t(small(1024));
  for (std::uint64_t i = 0; i < 20; ++i)
    ASSERT_EQ(t.learn(mac(i), kVlan10, i < 10 ? kP1 : kP2, 0s), LearnResult::learned);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    const Seconds now{i / 1000};  // 100 s of flood, within the aging time
    t.learn(MacAddr::from_u64(rng() & ~0x010000000000ULL), kVlan10, kP3, now);
    ASSERT_LE(t.size(), t.capacity());
  }
  EXPECT_EQ(t.size(), 1024u);
  EXPECT_EQ(t.port_entries(kP3), 1024u - 20);
  EXPECT_GE(t.evictions(), 100000u - 1024);
  for (std::uint64_t i = 0; i < 20; ++i)
    EXPECT_EQ(t.lookup(mac(i), kVlan10, 100s), i < 10 ? kP1 : kP2) << i;
  // What metrics read: nothing until the writer publishes, then the counts.
  EXPECT_EQ(t.published_size(), 0u);
  t.publish_counts();
  EXPECT_EQ(t.published_size(), 1024u);
  EXPECT_EQ(t.published_evictions(), t.evictions());
}

// A port that itself holds the most entries is where evictions come from,
// oldest first; it is balanced against the flooder rather than emptied.
TEST(MacLearning, EvictsFromTheBiggestPortOldestFirst) {
  MacLearningTable t(small(100));
  for (std::uint64_t i = 0; i < 100; ++i)
    ASSERT_EQ(t.learn(mac(i), kVlan10, kP1, Seconds(i)), LearnResult::learned);
  for (std::uint64_t i = 0; i < 1000; ++i)
    t.learn(mac(0x10000 + i), kVlan10, kP2, 100s + Seconds(i / 100));
  EXPECT_EQ(t.size(), 100u);
  EXPECT_GE(t.port_entries(kP1), 49u);
  EXPECT_LE(t.port_entries(kP1), 51u);
  // Port 1 lost its oldest entries, kept its newest.
  EXPECT_EQ(t.lookup(mac(0), kVlan10, 110s), std::nullopt);
  EXPECT_EQ(t.lookup(mac(99), kVlan10, 110s), kP1);
}

TEST(MacLearning, ExpiredEntriesGoBeforeLiveOnes) {
  MacLearningTable t(small(4));
  ASSERT_EQ(t.learn(mac(1), kVlan10, kP1, 0s), LearnResult::learned);
  ASSERT_EQ(t.learn(mac(2), kVlan10, kP2, 250s), LearnResult::learned);
  ASSERT_EQ(t.learn(mac(3), kVlan10, kP2, 250s), LearnResult::learned);
  ASSERT_EQ(t.learn(mac(4), kVlan10, kP2, 250s), LearnResult::learned);
  // Port 2 is the biggest, but mac(1) on port 1 has expired: it goes first.
  ASSERT_EQ(t.learn(mac(5), kVlan10, kP3, 310s), LearnResult::learned);
  EXPECT_EQ(t.evictions(), 0u);
  EXPECT_EQ(t.port_entries(kP1), 0u);
  EXPECT_EQ(t.port_entries(kP2), 3u);
  EXPECT_EQ(t.lookup(mac(5), kVlan10, 310s), kP3);
}

// Random learn/flush/expire against a model without capacity pressure.
TEST(MacLearning, AgreesWithAModel) {
  MacLearningTable t(small(4096, 8));
  std::map<std::pair<std::uint64_t, std::uint16_t>, std::pair<PortNo, std::int64_t>> model;
  std::mt19937 rng(99);
  std::int64_t now = 0;
  for (int step = 0; step < 50000; ++step) {
    now += rng() % 3;
    const std::uint64_t m = rng() % 1500;
    const auto vlan = static_cast<std::uint16_t>(rng() % 2);
    const PortNo port{static_cast<std::uint32_t>(rng() % 6 + 1)};
    const int op = static_cast<int>(rng() % 100);
    if (op < 80) {
      t.learn(mac(m), VlanId{vlan}, port, Seconds(now));
      auto& e = model[{m, vlan}];
      if (e.first != port || now > e.second) e.second = now;
      e.first = port;
    } else if (op < 82) {
      t.flush_port(port);
      std::erase_if(model, [&](const auto& kv) { return kv.second.first == port; });
    } else if (op < 84) {
      t.expire(Seconds(now), rng() % 50);  // reclaiming is invisible to lookups
    } else {
      const auto it = model.find({m, vlan});
      const bool live = it != model.end() && now - it->second.second < 300;
      EXPECT_EQ(t.lookup(mac(m), VlanId{vlan}, Seconds(now)),
                live ? std::optional(it->second.first) : std::nullopt)
          << "step " << step;
    }
  }
}

}  // namespace
}  // namespace sockswitch::dataplane
