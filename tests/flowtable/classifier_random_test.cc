// tests/flowtable/classifier_random_test.cc: the classifier against a
// brute-force linear scan on random tables and packets, plus the megaflow
// property of `consulted`.
//
// Plan: build thousands of random rules (few distinct priorities so ties are
// common; fields drawn from in_port, eth_type, ip_proto, IPv4 prefixes,
// masked L4 ports, VLAN, metadata, registers, IPv6 prefixes), then look up
// random packets, half of them derived from a rule so that they hit. Every
// answer must equal the reference's, and a packet that agrees with the
// first on every consulted bit (random elsewhere) must get the same answer.
// Then edit the table (remove some, add some) into a new version and check
// both versions again.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "flowtable/classifier.h"
#include "flowtable/classifier_builder.h"

namespace sockswitch::flowtable {
namespace {

using Rng = std::mt19937_64;

std::uint64_t prefix_mask(unsigned bits, unsigned len) {
  if (len == 0) return 0;
  const std::uint64_t all = bits == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
  return (all << (bits - len)) & all;
}

// Small value domains so that random packets often collide with rules.
FlowRule random_rule(Rng& rng) {
  FlowRule r;
  r.priority = static_cast<std::uint16_t>(rng() % 8);  // many ties
  Match& m = r.match;
  auto coin = [&](unsigned in) { return rng() % in == 0; };
  if (coin(2)) m.set_exact(FieldId::in_port, 1 + rng() % 4);
  if (coin(2)) m.set_exact(FieldId::eth_type, coin(2) ? kEthTypeIpv4 : kEthTypeIpv6);
  if (coin(3)) m.set_exact(FieldId::ip_proto, coin(2) ? kIpProtoTcp : kIpProtoUdp);
  if (coin(3))
    m.set_masked(FieldId::ipv4_src, 0x0a000000 | (rng() % 4) << 8, prefix_mask(32, rng() % 33));
  if (coin(3))
    m.set_masked(FieldId::ipv4_dst, 0xc0a80000 | (rng() % 4), prefix_mask(32, rng() % 33));
  if (coin(3)) m.set_masked(FieldId::tp_dst, 80 + rng() % 4, prefix_mask(16, 12 + rng() % 5));
  if (coin(4)) m.set_masked(FieldId::tp_src, rng() % 8, prefix_mask(16, rng() % 17));
  if (coin(5)) m.set_masked(FieldId::vlan_tci, kVlanCfi | (rng() % 3), coin(2) ? 0x1fff : 0x1000);
  if (coin(5)) m.set_masked(FieldId::metadata, rng() % 4, 0x3);
  if (coin(5)) m.set_exact(FieldId::reg0, rng() % 3);
  if (coin(6)) m.set_exact(FieldId::reg5, rng() % 3);
  if (coin(5)) {
    const unsigned len = rng() % 129;
    const Wide mask{prefix_mask(64, std::min(len, 64u)), prefix_mask(64, len > 64 ? len - 64 : 0)};
    m.set_wide_masked(FieldId::ipv6_dst, {0x20010db800000000 | (rng() % 2), rng() % 3}, mask);
  }
  return r;
}

FlowKey random_packet(Rng& rng) {
  FlowKey k;
  k.set(FieldId::in_port, 1 + rng() % 5);
  k.set(FieldId::eth_type, rng() % 2 ? kEthTypeIpv4 : kEthTypeIpv6);
  k.set(FieldId::ip_proto, rng() % 2 ? kIpProtoTcp : kIpProtoUdp);
  k.set(FieldId::ipv4_src, 0x0a000000 | (rng() % 4) << 8 | (rng() % 3));
  k.set(FieldId::ipv4_dst, 0xc0a80000 | (rng() % 5));
  k.set(FieldId::tp_dst, 78 + rng() % 8);
  k.set(FieldId::tp_src, rng() % 10);
  k.set(FieldId::vlan_tci, rng() % 2 ? 0 : kVlanCfi | (rng() % 3));
  k.set(FieldId::metadata, rng() % 8);
  k.set(FieldId::reg0, rng() % 3);
  k.set(FieldId::reg5, rng() % 3);
  k.set_wide(FieldId::ipv6_dst, {0x20010db800000000 | (rng() % 2), rng() % 3});
  return k;
}

// A packet that satisfies `r`: its value where r matches, random elsewhere.
FlowKey packet_hitting(const ClassifierRule& r, Rng& rng) {
  FlowKey k = random_packet(rng);
  for (std::size_t i = 0; i < kKeyWords; ++i)
    k.w[i] = (k.w[i] & ~r.flow.match.mask.w[i]) | r.flow.match.value.w[i];
  return k;
}

const ClassifierRule* reference(const std::vector<const ClassifierRule*>& rules, const FlowKey& k) {
  const ClassifierRule* best = nullptr;
  for (const ClassifierRule* r : rules) {
    if (!r->flow.match.matches(k)) continue;
    if (best == nullptr || rank_of(*r) > rank_of(*best)) best = r;
  }
  return best;
}

void check_against_reference(const Classifier& c, Rng& rng, int packets) {
  const std::vector<const ClassifierRule*> rules = c.rules();
  ASSERT_EQ(rules.size(), c.size());
  for (int i = 0; i < packets; ++i) {
    const FlowKey k = (i % 2 == 0 && !rules.empty())
                          ? packet_hitting(*rules[rng() % rules.size()], rng)
                          : random_packet(rng);
    FlowMask consulted;
    const ClassifierRule* got = c.lookup(k, consulted);
    ASSERT_EQ(got, reference(rules, k)) << "packet " << i;

    // Megaflow property: agree on consulted bits, differ randomly elsewhere.
    for (int j = 0; j < 4; ++j) {
      FlowKey other = (j % 2 == 0) ? random_packet(rng) : FlowKey{};
      for (std::size_t w = 0; w < kKeyWords; ++w) {
        if (j >= 2) other.w[w] = rng();
        other.w[w] = (other.w[w] & ~consulted.w[w]) | (k.w[w] & consulted.w[w]);
      }
      FlowMask unused;
      ASSERT_EQ(c.lookup(other, unused), got) << "megaflow broken for packet " << i;
    }
  }
}

TEST(ClassifierRandom, MatchesLinearReference) {
  Rng rng(20240611);
  for (int round = 0; round < 3; ++round) {
    ClassifierBuilder b;
    int wanted = 1500 + round * 1000;
    while (static_cast<int>(b.size()) < wanted) {
      FlowRule r = random_rule(rng);
      if (b.find_strict(r.match, r.priority) == nullptr) b.insert(std::move(r));
    }
    const Classifier v1 = b.build();
    check_against_reference(v1, rng, 3000);

    // A new version: remove a third of the rules, modify some, add new ones.
    const std::vector<const ClassifierRule*> before = v1.rules();
    ClassifierBuilder edit(v1);
    for (std::size_t i = 0; i < before.size(); i += 3)
      ASSERT_TRUE(edit.remove(*before[i]));
    for (std::size_t i = 1; i < before.size(); i += 6) {  // none removed above
      auto changed = std::make_shared<ClassifierRule>(*before[i]);
      changed->flow.cookie = 42;
      ASSERT_TRUE(edit.replace(*before[i], std::move(changed)));
    }
    for (int i = 0; i < 500; ++i) {
      FlowRule r = random_rule(rng);
      if (edit.find_strict(r.match, r.priority) == nullptr) edit.insert(std::move(r));
    }
    const Classifier v2 = edit.build();
    check_against_reference(v2, rng, 3000);
    // The old version is unchanged by all that.
    ASSERT_EQ(v1.rules(), before);
    for (const ClassifierRule* r : before)
      EXPECT_NE(r->flow.cookie, 42u);
    check_against_reference(v1, rng, 500);
  }
}

}  // namespace
}  // namespace sockswitch::flowtable
