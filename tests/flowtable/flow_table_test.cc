// tests/flowtable/flow_table_test.cc: flow-mod semantics (ovs-ofctl add,
// mod-flows, del-flows, with and without --strict), counters, batches.
#include "flowtable/flow_table.h"

#include <gtest/gtest.h>

#include <vector>

namespace sockswitch::flowtable {
namespace {

ActionList output(std::uint32_t port) {
  return {Action{.kind = ActionKind::output, .port = PortNo{port}}};
}

FlowMod mod(FlowModCommand cmd, std::uint8_t table, std::uint16_t priority,
            std::initializer_list<std::pair<FieldId, std::uint64_t>> exact, ActionList actions = {},
            std::uint64_t cookie = 0, std::uint64_t cookie_mask = 0) {
  FlowMod m;
  m.command = cmd;
  m.rule.table = table;
  m.rule.priority = priority;
  for (auto [f, v] : exact)
    m.rule.match.set_exact(f, v);
  m.rule.actions = std::move(actions);
  m.rule.cookie = cookie;
  m.rule.cookie_mask = cookie_mask;
  return m;
}

FlowKey key(std::uint32_t in_port, std::uint16_t eth_type = kEthTypeIpv4) {
  FlowKey k;
  k.set(FieldId::in_port, in_port);
  k.set(FieldId::eth_type, eth_type);
  return k;
}

const ClassifierRule* lookup(const FlowTable& ft, std::uint8_t table, const FlowKey& k) {
  FlowMask consulted;
  return ft.current()->lookup(table, k, consulted);
}

using enum FlowModCommand;

TEST(FlowTable, AddInsertsAndReplacesIdenticalMatchAndPriority) {
  FlowTable ft;
  ft.apply(mod(add, 0, 100, {{FieldId::in_port, 1}}, output(2)));
  const RuleId first = lookup(ft, 0, key(1))->id;
  ft.add_stats(std::vector<FlowStatsDelta>{{first, 3, 300}});
  ft.apply(mod(add, 0, 200, {{FieldId::in_port, 1}}, output(3)));  // other priority: new rule
  EXPECT_EQ(ft.current()->size(), 2u);
  ft.apply(mod(add, 0, 100, {{FieldId::in_port, 1}}, output(4)));  // same: replaces
  EXPECT_EQ(ft.current()->size(), 2u);
  const ClassifierRule* replaced =
      ft.current()->table(0).find_strict(mod(add, 0, 100, {{FieldId::in_port, 1}}).rule.match, 100);
  ASSERT_NE(replaced, nullptr);
  EXPECT_NE(replaced->id, first);
  EXPECT_EQ(replaced->flow.actions, output(4));
  EXPECT_FALSE(ft.stats(first).has_value());
  EXPECT_EQ(ft.stats(replaced->id)->packets, 0u);  // counters reset
  EXPECT_EQ(lookup(ft, 0, key(1))->flow.priority, 200);
  EXPECT_EQ(lookup(ft, 1, key(1)), nullptr);  // other table empty
}

TEST(FlowTable, ModifyKeepsIdsAndCountersAndNeverAdds) {
  FlowTable ft;
  ft.apply(std::vector<FlowMod>{
      mod(add, 0, 100, {{FieldId::in_port, 1}, {FieldId::eth_type, kEthTypeIpv4}}, output(1), 0x10),
      mod(add, 0, 90, {{FieldId::in_port, 1}}, output(1), 0x20),
      mod(add, 0, 80, {{FieldId::in_port, 2}}, output(1), 0x10),
      mod(add, 3, 80, {{FieldId::in_port, 1}}, output(1), 0x10),
  });
  const RuleId id = lookup(ft, 0, key(1))->id;
  ft.add_stats(std::vector<FlowStatsDelta>{{id, 5, 500}});

  // Non-strict: in_port=1 selects both in_port=1 rules of table 0.
  ft.apply(mod(modify, 0, 0, {{FieldId::in_port, 1}}, output(9)));
  EXPECT_EQ(lookup(ft, 0, key(1))->flow.actions, output(9));
  EXPECT_EQ(lookup(ft, 0, key(1, kEthTypeArp))->flow.actions, output(9));
  EXPECT_EQ(lookup(ft, 0, key(2))->flow.actions, output(1));
  EXPECT_EQ(lookup(ft, 3, key(1))->flow.actions, output(1));
  EXPECT_EQ(lookup(ft, 0, key(1))->id, id);
  EXPECT_EQ(ft.stats(id)->packets, 5u);

  // Cookie mask: only cookie 0x10 rules, all tables.
  ft.apply(mod(modify, kAllTables, 0, {}, output(7), 0x10, 0xff));
  EXPECT_EQ(lookup(ft, 0, key(1))->flow.actions, output(7));
  EXPECT_EQ(lookup(ft, 0, key(1, kEthTypeArp))->flow.actions, output(9));  // cookie 0x20
  EXPECT_EQ(lookup(ft, 0, key(2))->flow.actions, output(7));
  EXPECT_EQ(lookup(ft, 3, key(1))->flow.actions, output(7));

  // Strict needs exact match and priority.
  ft.apply(mod(modify_strict, 0, 91, {{FieldId::in_port, 1}}, output(5)));
  EXPECT_EQ(lookup(ft, 0, key(1, kEthTypeArp))->flow.actions, output(9));
  ft.apply(mod(modify_strict, 0, 90, {{FieldId::in_port, 1}}, output(5)));
  EXPECT_EQ(lookup(ft, 0, key(1, kEthTypeArp))->flow.actions, output(5));

  // A modify that selects nothing adds nothing.
  ft.apply(mod(modify, 0, 0, {{FieldId::in_port, 42}}, output(5)));
  EXPECT_EQ(lookup(ft, 0, key(42)), nullptr);
  EXPECT_EQ(ft.current()->size(), 4u);
  EXPECT_EQ(ft.stats(id)->packets, 5u);
}

TEST(FlowTable, DeleteLooseAndStrict) {
  FlowTable ft;
  ft.apply(std::vector<FlowMod>{
      mod(add, 0, 100, {{FieldId::in_port, 1}, {FieldId::eth_type, kEthTypeIpv4}}, output(1), 1),
      mod(add, 0, 90, {{FieldId::in_port, 1}}, output(1), 2),
      mod(add, 0, 80, {{FieldId::in_port, 2}}, output(1), 1),
      mod(add, 5, 80, {{FieldId::in_port, 2}}, output(1), 1),
      mod(add, 5, 70, {}, output(1), 1),
  });
  const RuleId keep = lookup(ft, 0, key(2))->id;
  ft.add_stats(std::vector<FlowStatsDelta>{{keep, 1, 64}});

  // Strict with the wrong priority deletes nothing; loose ignores priority.
  ft.apply(mod(del_strict, 0, 99, {{FieldId::in_port, 1}, {FieldId::eth_type, kEthTypeIpv4}}));
  EXPECT_EQ(ft.current()->size(), 5u);
  ft.apply(mod(del, 0, 1, {{FieldId::in_port, 1}}, {}, 2, ~std::uint64_t{0}));  // cookie 2 only
  EXPECT_EQ(ft.current()->size(), 4u);
  EXPECT_EQ(lookup(ft, 0, key(1, kEthTypeArp)), nullptr);
  EXPECT_NE(lookup(ft, 0, key(1)), nullptr);

  ft.apply(mod(del_strict, 0, 100, {{FieldId::in_port, 1}, {FieldId::eth_type, kEthTypeIpv4}}));
  EXPECT_EQ(lookup(ft, 0, key(1)), nullptr);
  EXPECT_EQ(ft.stats(keep)->packets, 1u);  // unchanged rule keeps its counters

  // table=255: in_port=2 in every table; the catch-all of table 5 stays.
  ft.apply(mod(del, kAllTables, 0, {{FieldId::in_port, 2}}));
  EXPECT_EQ(ft.current()->size(), 1u);
  EXPECT_FALSE(ft.stats(keep).has_value());
  ft.apply(mod(del, kAllTables, 0, {}));
  EXPECT_EQ(ft.current()->size(), 0u);
}

TEST(FlowTable, BatchIsAllOrNothingAndOneVersion) {
  FlowTable ft;
  ft.apply(mod(add, 0, 100, {{FieldId::in_port, 1}}, output(1)));
  const auto before = ft.current();

  std::vector<FlowMod> bad{
      mod(del, kAllTables, 0, {}), mod(add, 0, 100, {{FieldId::in_port, 2}}, output(1)),
      mod(add, kAllTables, 100, {{FieldId::in_port, 3}}, output(1)),  // add to 255: invalid
  };
  EXPECT_THROW(ft.apply(bad), std::invalid_argument);
  FlowMod broken = mod(add, 0, 1, {});
  broken.rule.match.value.w[0] = 1;  // value outside mask
  EXPECT_THROW(ft.apply(broken), std::invalid_argument);
  EXPECT_EQ(ft.current(), before);

  // A valid batch: each mod sees the previous ones; published once.
  ft.apply(std::vector<FlowMod>{
      mod(add, 0, 50, {{FieldId::in_port, 2}}, output(1)),
      mod(modify, 0, 0, {{FieldId::in_port, 2}}, output(8)),
      mod(add, 1, 50, {{FieldId::in_port, 3}}, output(1)),
      mod(del, 1, 0, {}),
  });
  EXPECT_EQ(ft.current()->number(), before->number() + 1);
  EXPECT_EQ(lookup(ft, 0, key(2))->flow.actions, output(8));
  EXPECT_EQ(lookup(ft, 1, key(3)), nullptr);
  EXPECT_EQ(ft.current()->size(), 2u);
  // The old version a reader may still hold is untouched.
  FlowMask consulted;
  EXPECT_EQ(before->lookup(0, key(2), consulted), nullptr);
  EXPECT_EQ(before->size(), 1u);
}

TEST(FlowTable, StatsDeltasForUnknownRulesAreDropped) {
  FlowTable ft;
  ft.apply(mod(add, 0, 100, {{FieldId::in_port, 1}}, output(1)));
  const RuleId id = lookup(ft, 0, key(1))->id;
  ft.add_stats(std::vector<FlowStatsDelta>{{id, 2, 128}, {RuleId{9999}, 1, 1}, {id, 1, 64}});
  const auto s = ft.stats(id);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->packets, 3u);
  EXPECT_EQ(s->bytes, 192u);
  EXPECT_FALSE(ft.stats(RuleId{9999}).has_value());
}

}  // namespace
}  // namespace sockswitch::flowtable
