// flowtable/flow_table.cc: flow-mod semantics and one publication per batch.
#include "flowtable/flow_table.h"

#include <fmt/format.h>

#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include "flowtable/classifier_builder.h"

namespace sockswitch::flowtable {
namespace {

const Classifier kEmptyClassifier;

bool cookie_selects(const FlowRule& request, const ClassifierRule& rule) noexcept {
  return (rule.flow.cookie & request.cookie_mask) == (request.cookie & request.cookie_mask);
}

bool is_strict(FlowModCommand c) noexcept {
  return c == FlowModCommand::modify_strict || c == FlowModCommand::del_strict;
}

// Checks the whole batch before anything changes; returns how many rules it
// may add, to check the id and seq spaces.
std::size_t validate(std::span<const FlowMod> batch) {
  std::size_t adds = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const FlowMod& mod = batch[i];
    const Match& m = mod.rule.match;
    if (masked(m.value, m.mask) != m.value)
      throw std::invalid_argument(
          fmt::format("flow mod {}: match value has bits outside its mask", i));
    switch (mod.command) {
      case FlowModCommand::add:
        if (mod.rule.table == kAllTables)
          throw std::invalid_argument(
              fmt::format("flow mod {}: add needs a table in 0..254, not 255 (all)", i));
        ++adds;
        break;
      case FlowModCommand::modify:
      case FlowModCommand::modify_strict:
      case FlowModCommand::del:
      case FlowModCommand::del_strict:
        break;
      default:
        throw std::invalid_argument(fmt::format("flow mod {}: unknown command", i));
    }
  }
  return adds;
}

}  // namespace

const Classifier& FlowTableVersion::table(std::uint8_t table) const noexcept {
  const Classifier* c = tables_[table].get();
  return c == nullptr ? kEmptyClassifier : *c;
}

FlowTable::FlowTable() : current_(std::make_shared<const FlowTableVersion>()) {}

std::vector<RemovedFlow> FlowTable::apply(std::span<const FlowMod> batch) {
  const std::size_t adds = validate(batch);
  if (adds > std::numeric_limits<std::uint32_t>::max() - next_id_ || next_seq_ + adds >= kSeqLimit)
    throw std::invalid_argument("flow table: rule id space exhausted");

  const std::shared_ptr<const FlowTableVersion> base = current();
  std::vector<std::unique_ptr<ClassifierBuilder>> builders(kTableCount);
  const auto builder_for = [&](std::uint8_t t) -> ClassifierBuilder& {
    if (!builders[t]) builders[t] = std::make_unique<ClassifierBuilder>(base->table(t));
    return *builders[t];
  };
  std::uint32_t next_id = next_id_;
  std::uint64_t next_seq = next_seq_;
  // Rules added by this batch and still present, with their counters.
  std::unordered_map<RuleId, std::shared_ptr<FlowCounters>> added;
  std::vector<RuleId> removed;  // ids of rules from `base` that went away
  const auto note_removed = [&](RuleId id) {
    if (added.erase(id) == 0) removed.push_back(id);
  };
  std::vector<RemovedFlow> reported;
  const auto report = [&](const ClassifierRule& r) {
    if (!r.flow.send_flow_removed) return;
    const std::optional<FlowStats> st = stats(r.id);
    reported.push_back({r.flow, st.value_or(FlowStats{})});
  };

  std::vector<const ClassifierRule*> selected;
  for (const FlowMod& mod : batch) {
    const FlowRule& req = mod.rule;
    if (mod.command == FlowModCommand::add) {
      ClassifierBuilder& b = builder_for(req.table);
      if (const ClassifierRule* old = b.find_strict(req.match, req.priority)) {
        const ClassifierRule stale = *old;  // identity only; `old` dies in remove
        note_removed(stale.id);
        b.remove(stale);
      }
      auto rule = std::make_shared<ClassifierRule>();
      rule->flow = req;
      rule->flow.cookie_mask = 0;
      rule->id = RuleId{next_id++};
      rule->seq = next_seq++;
      added.emplace(rule->id, rule->counters);
      b.insert(std::move(rule));
      continue;
    }

    // Selection for modify and delete, one table or all of them.
    const std::uint8_t first = req.table == kAllTables ? 0 : req.table;
    const std::uint8_t last = req.table == kAllTables ? kTableCount - 1 : req.table;
    for (unsigned t = first; t <= last; ++t) {
      const auto table = static_cast<std::uint8_t>(t);
      if (!builders[table] && base->table(table).empty()) continue;
      ClassifierBuilder& b = builder_for(table);
      selected.clear();
      if (is_strict(mod.command)) {
        const ClassifierRule* r = b.find_strict(req.match, req.priority);
        if (r != nullptr && cookie_selects(req, *r)) selected.push_back(r);
      } else {
        b.for_each_loose(req.match, [&](const ClassifierRule& r) {
          if (cookie_selects(req, r)) selected.push_back(&r);
        });
      }
      for (const ClassifierRule* r : selected) {
        if (mod.command == FlowModCommand::modify || mod.command == FlowModCommand::modify_strict) {
          auto updated = std::make_shared<ClassifierRule>(*r);
          updated->flow.actions = req.actions;
          b.replace(*r, std::move(updated));
        } else {
          const ClassifierRule stale = *r;
          report(stale);
          note_removed(stale.id);
          b.remove(stale);
        }
      }
    }
  }

  auto next = std::make_shared<FlowTableVersion>(*base);
  for (std::size_t t = 0; t < kTableCount; ++t) {
    if (!builders[t]) continue;
    Classifier c = builders[t]->build();
    next->tables_[t] = c.empty() ? nullptr : std::make_shared<const Classifier>(std::move(c));
  }
  next->size_ = 0;
  for (const auto& c : next->tables_)
    if (c) next->size_ += c->size();
  next->number_ = base->number_ + 1;

  // Commit: nothing below throws except on allocation of the new counters,
  // which is reserved first.
  stats_.reserve(stats_.size() + added.size());
  const auto now = std::chrono::steady_clock::now();
  for (RuleId id : removed)
    stats_.erase(id);
  for (const auto& [id, counters] : added)
    stats_.insert_or_assign(id, Counted{FlowStats{0, 0, now, now}, counters, 0});
  next_id_ = next_id;
  next_seq_ = next_seq;
  current_.store(std::move(next), std::memory_order_release);
  return reported;
}

std::optional<FlowStats> FlowTable::stats(RuleId id) const {
  const auto it = stats_.find(id);
  if (it == stats_.end()) return std::nullopt;
  FlowStats s = it->second.base;
  s.packets += it->second.counters->packets();
  s.bytes += it->second.counters->bytes();
  return s;
}

void FlowTable::note_use(std::chrono::steady_clock::time_point now) noexcept {
  for (auto& [id, c] : stats_) {
    const std::uint64_t packets = c.base.packets + c.counters->packets();
    if (packets == c.seen_packets) continue;
    c.seen_packets = packets;
    c.base.last_used = now;
  }
}

void FlowTable::add_stats(std::span<const FlowStatsDelta> deltas) noexcept {
  for (const FlowStatsDelta& d : deltas) {
    const auto it = stats_.find(d.id);
    if (it == stats_.end()) continue;
    it->second.base.packets += d.packets;
    it->second.base.bytes += d.bytes;
  }
}

}  // namespace sockswitch::flowtable
