// tests/flowtable/classifier_test.cc: the classifier's contract on small,
// hand-written tables: priority, ties, masks, emptiness, versions.
#include "flowtable/classifier.h"

#include <gtest/gtest.h>

#include "flowtable/classifier_builder.h"

namespace sockswitch::flowtable {
namespace {

FlowRule rule(std::uint16_t priority,
              std::initializer_list<std::pair<FieldId, std::uint64_t>> exact,
              std::uint32_t out_port = 1) {
  FlowRule r;
  r.priority = priority;
  for (auto [f, v] : exact)
    r.match.set_exact(f, v);
  r.actions.push_back(Action{.kind = ActionKind::output, .port = PortNo{out_port}});
  return r;
}

FlowKey packet(std::initializer_list<std::pair<FieldId, std::uint64_t>> fields) {
  FlowKey k;
  for (auto [f, v] : fields)
    k.set(f, v);
  return k;
}

TEST(Classifier, EmptyTableMatchesNothingAndConsultsNothing) {
  const Classifier c;
  FlowMask consulted;
  EXPECT_EQ(c.lookup(packet({{FieldId::in_port, 1}}), consulted), nullptr);
  EXPECT_TRUE(consulted.empty());
  EXPECT_EQ(c.size(), 0u);
  EXPECT_TRUE(c.rules().empty());
}

TEST(Classifier, HighestPriorityWins) {
  ClassifierBuilder b;
  b.insert(rule(10, {{FieldId::in_port, 1}}, 10));
  b.insert(rule(30, {{FieldId::eth_type, 0x800}}, 30));
  b.insert(rule(20, {{FieldId::in_port, 1}, {FieldId::eth_type, 0x800}}, 20));
  const Classifier c = b.build();
  FlowMask consulted;
  const ClassifierRule* r =
      c.lookup(packet({{FieldId::in_port, 1}, {FieldId::eth_type, 0x800}}), consulted);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->flow.priority, 30);
  // The eth_type subtable ranks first and matched; nothing else can beat it.
  EXPECT_EQ(consulted, full_mask(FieldId::eth_type));

  consulted = {};
  r = c.lookup(packet({{FieldId::in_port, 1}, {FieldId::eth_type, 0x806}}), consulted);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->flow.priority, 10);
  FlowMask all = full_mask(FieldId::eth_type);
  all |= full_mask(FieldId::in_port);
  EXPECT_EQ(consulted, all);
}

TEST(Classifier, EqualPriorityFirstAddedWins) {
  ClassifierBuilder b;
  const RuleId first = b.insert(rule(5, {{FieldId::in_port, 1}})).id;
  b.insert(rule(5, {{FieldId::eth_type, 0x800}}));
  b.insert(rule(5, {{FieldId::ip_proto, 6}}));
  const Classifier c = b.build();
  FlowMask consulted;
  const FlowKey k =
      packet({{FieldId::in_port, 1}, {FieldId::eth_type, 0x800}, {FieldId::ip_proto, 6}});
  const ClassifierRule* r = c.lookup(k, consulted);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->id, first);

  // Still true when the first one is added to a subtable created later.
  ClassifierBuilder b2;
  b2.insert(rule(5, {{FieldId::ip_proto, 6}}));
  b2.insert(rule(5, {{FieldId::in_port, 1}}));
  const Classifier c2 = b2.build();
  EXPECT_EQ(c2.lookup(k, consulted)->flow.match, rule(5, {{FieldId::ip_proto, 6}}).match);
}

TEST(Classifier, MaskedFieldsAndShadowedRules) {
  ClassifierBuilder b;
  FlowRule net = rule(100, {{FieldId::eth_type, 0x800}});
  net.match.set_masked(FieldId::ipv4_dst, 0x0a000000, 0xff000000);  // 10.0.0.0/8
  b.insert(net);
  FlowRule lower = net;  // same match, lower priority: shadowed
  lower.priority = 50;
  b.insert(lower);
  EXPECT_THROW(b.insert(net), std::invalid_argument);  // same match and priority
  FlowRule bad = net;
  bad.priority = 7;
  bad.match.value.w[3] |= 1;  // value bit outside the mask
  EXPECT_THROW(b.insert(bad), std::invalid_argument);
  const Classifier c = b.build();
  EXPECT_EQ(c.size(), 2u);

  FlowMask consulted;
  const ClassifierRule* hit =
      c.lookup(packet({{FieldId::eth_type, 0x800}, {FieldId::ipv4_dst, 0x0a010203}}), consulted);
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->flow.priority, 100);
  EXPECT_EQ(consulted.get(FieldId::ipv4_dst), 0xff000000u);
  EXPECT_EQ(
      c.lookup(packet({{FieldId::eth_type, 0x800}, {FieldId::ipv4_dst, 0x0b010203}}), consulted),
      nullptr);

  // Removing the head promotes the shadowed rule.
  const Classifier c2 = c.with_removed(*c.find_strict(net.match, 100));
  hit = c2.lookup(packet({{FieldId::eth_type, 0x800}, {FieldId::ipv4_dst, 0x0a000001}}), consulted);
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->flow.priority, 50);
  EXPECT_EQ(c2.find_strict(net.match, 100), nullptr);
  EXPECT_NE(c2.find_strict(net.match, 50), nullptr);
}

TEST(Classifier, CatchAllRuleMatchesEverything) {
  ClassifierBuilder b;
  b.insert(rule(0, {}));
  const Classifier c = b.build();
  FlowMask consulted;
  ASSERT_NE(c.lookup(packet({{FieldId::in_port, 77}}), consulted), nullptr);
  EXPECT_TRUE(consulted.empty());
}

TEST(Classifier, VersionsAreImmutable) {
  ClassifierBuilder b;
  for (std::uint32_t p = 1; p <= 2000; ++p)
    b.insert(rule(100, {{FieldId::in_port, p}}, p));
  const Classifier v1 = b.build();
  const FlowKey k = packet({{FieldId::in_port, 7}});
  FlowMask consulted;
  const ClassifierRule* old = v1.lookup(k, consulted);
  ASSERT_NE(old, nullptr);

  const Classifier v2 = v1.with_removed(*old);
  Classifier v3 = v2.with_added(rule(200, {{FieldId::eth_type, 0x800}}, 999));
  ClassifierBuilder edit(v3);
  auto changed = std::make_shared<ClassifierRule>(
      *v3.find_strict(rule(0, {{FieldId::in_port, 8}}).match, 100));
  changed->flow.actions.clear();
  ASSERT_TRUE(edit.replace(*v3.find_strict(changed->flow.match, 100), changed));
  const Classifier v4 = edit.build();

  EXPECT_EQ(v1.lookup(k, consulted), old);  // the old version still sees its rule
  EXPECT_EQ(v1.size(), 2000u);
  EXPECT_EQ(v2.lookup(k, consulted), nullptr);
  EXPECT_EQ(v2.size(), 1999u);
  EXPECT_EQ(v3.size(), 2000u);
  const FlowKey k8 = packet({{FieldId::in_port, 8}});
  EXPECT_FALSE(v3.lookup(k8, consulted)->flow.actions.empty());
  EXPECT_TRUE(v4.lookup(k8, consulted)->flow.actions.empty());
  EXPECT_EQ(v4.lookup(k8, consulted)->id, v3.lookup(k8, consulted)->id);
  // Untouched rules are the same objects in every version.
  const FlowKey k9 = packet({{FieldId::in_port, 9}});
  EXPECT_EQ(v1.lookup(k9, consulted), v4.lookup(k9, consulted));
}

TEST(Classifier, RulesInPriorityOrderAndLooseSelection) {
  ClassifierBuilder b;
  b.insert(rule(1, {{FieldId::in_port, 1}}));
  b.insert(rule(3, {{FieldId::in_port, 2}, {FieldId::eth_type, 0x800}}));
  b.insert(rule(3, {{FieldId::in_port, 3}}));
  b.insert(rule(2, {}));
  const Classifier c = b.build();
  const auto rules = c.rules();
  ASSERT_EQ(rules.size(), 4u);
  EXPECT_EQ(rules[0]->flow.priority, 3);
  EXPECT_EQ(rules[1]->flow.priority, 3);
  EXPECT_LT(rules[0]->seq, rules[1]->seq);
  EXPECT_EQ(rules[2]->flow.priority, 2);
  EXPECT_EQ(rules[3]->flow.priority, 1);

  int n = 0;
  c.for_each_loose(rule(0, {{FieldId::in_port, 2}}).match, [&](const ClassifierRule&) { ++n; });
  EXPECT_EQ(n, 1);
  n = 0;
  c.for_each_loose(Match{}, [&](const ClassifierRule&) { ++n; });
  EXPECT_EQ(n, 4);
}

}  // namespace
}  // namespace sockswitch::flowtable
