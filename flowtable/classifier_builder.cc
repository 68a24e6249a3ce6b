// flowtable/classifier_builder.cc: edits with copy-on-write of shared
// subtables, and the final sort that makes a version.
#include "flowtable/classifier_builder.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace sockswitch::flowtable {

std::size_t ClassifierBuilder::MaskHash::operator()(const FlowMask& m) const noexcept {
  std::uint64_t h = 0xcbf29ce484222325;
  for (std::uint64_t x : m.w) {
    h = (h ^ x) * 0x100000001b3;
    h ^= h >> 31;
  }
  return static_cast<std::size_t>(h);
}

ClassifierBuilder::ClassifierBuilder(const Classifier& base)
    : subtables_(base.subtables_),
      size_(base.size_),
      next_id_(base.next_id_),
      next_seq_(base.next_seq_) {
  by_mask_.reserve(subtables_.size());
  for (std::size_t i = 0; i < subtables_.size(); ++i)
    by_mask_.emplace(subtables_[i]->mask(), i);
}

const Subtable* ClassifierBuilder::subtable(const FlowMask& mask) const noexcept {
  const auto it = by_mask_.find(mask);
  return it == by_mask_.end() ? nullptr : subtables_[it->second].get();
}

Subtable* ClassifierBuilder::writable_subtable(const FlowMask& mask, bool create) {
  const auto it = by_mask_.find(mask);
  if (it == by_mask_.end()) {
    if (!create) return nullptr;
    subtables_.push_back(std::make_shared<Subtable>(mask));
    by_mask_.emplace(mask, subtables_.size() - 1);
    return subtables_.back().get();
  }
  std::shared_ptr<Subtable>& st = subtables_[it->second];
  // As for segments: a count of one means no published version holds it.
  if (st.use_count() > 1) st = std::make_shared<Subtable>(*st);
  return st.get();
}

const ClassifierRule& ClassifierBuilder::insert(FlowRule flow) {
  auto rule = std::make_shared<ClassifierRule>();
  rule->flow = std::move(flow);
  rule->id = RuleId{next_id_};
  rule->seq = next_seq_;
  const ClassifierRule& ref = *rule;
  insert(std::move(rule));
  return ref;
}

void ClassifierBuilder::insert(RulePtr rule) {
  const Match& m = rule->flow.match;
  if (masked(m.value, m.mask) != m.value)
    throw std::invalid_argument("classifier: match value has bits outside its mask");
  if (rule->seq >= kSeqLimit) throw std::invalid_argument("classifier: sequence number too large");
  const std::uint32_t id = to_u32(rule->id);
  const std::uint64_t seq = rule->seq;
  writable_subtable(m.mask, true)->insert(std::move(rule));
  ++size_;
  next_id_ = std::max(next_id_, id + 1);
  next_seq_ = std::max(next_seq_, seq + 1);
}

bool ClassifierBuilder::remove(const ClassifierRule& rule) {
  const Subtable* st = subtable(rule.flow.match.mask);
  if (st == nullptr) return false;
  const ClassifierRule* found = st->find_strict(rule.flow.match, rule.flow.priority);
  if (found == nullptr || found->id != rule.id) return false;
  if (!writable_subtable(rule.flow.match.mask, false)->remove(rule)) return false;
  --size_;
  return true;
}

bool ClassifierBuilder::replace(const ClassifierRule& old, RulePtr updated) {
  const Subtable* st = subtable(old.flow.match.mask);
  if (st == nullptr) return false;
  const ClassifierRule* found = st->find_strict(old.flow.match, old.flow.priority);
  if (found == nullptr || found->id != old.id) return false;
  return writable_subtable(old.flow.match.mask, false)->replace(old, std::move(updated));
}

const ClassifierRule* ClassifierBuilder::find_strict(const Match& match,
                                                     std::uint16_t priority) const noexcept {
  const Subtable* st = subtable(match.mask);
  return st == nullptr ? nullptr : st->find_strict(match, priority);
}

Classifier ClassifierBuilder::build() {
  Classifier c;
  std::erase_if(subtables_, [](const std::shared_ptr<Subtable>& st) { return st->size() == 0; });
  std::sort(subtables_.begin(), subtables_.end(),
            [](const auto& a, const auto& b) { return a->max_rank() > b->max_rank(); });
  c.plan_ = ProbePlan(subtables_);
  c.subtables_ = std::move(subtables_);
  c.size_ = size_;
  c.next_id_ = next_id_;
  c.next_seq_ = next_seq_;
  subtables_.clear();
  by_mask_.clear();
  size_ = 0;
  return c;
}

}  // namespace sockswitch::flowtable
