// flowtable/subtable.cc: control-side edits of a subtable, copy-on-write
// per segment.
#include "flowtable/subtable.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace sockswitch::flowtable {
namespace {

// Rules per segment we aim for: small enough that copying one on an edit is
// cheap (microseconds), large enough that the segment array stays small.
constexpr std::size_t kSegmentRules = 512;

}  // namespace

Subtable::Subtable(const FlowMask& mask) : mask_(mask) {
  for (std::size_t i = 0; i < kKeyWords; ++i) {
    if (mask.w[i] == 0) continue;
    words_[word_count_] = static_cast<std::uint8_t>(i);
    mask_words_[word_count_] = mask.w[i];
    ++word_count_;
  }
  segments_.push_back(std::make_shared<SubtableSegment>(word_count_));
}

Subtable::Located Subtable::locate(const FlowKey& value) const noexcept {
  Located l{};
  for (std::size_t i = 0; i < word_count_; ++i)
    l.masked[i] = value.w[words_[i]] & mask_words_[i];
  l.hash = subtable_hash::hash_words(l.masked.data(), word_count_);
  return l;
}

SubtableSegment& Subtable::writable_segment(std::uint64_t hash) {
  std::shared_ptr<SubtableSegment>& seg = segments_[subtable_hash::segment_of(hash, segment_mask_)];
  // Published versions only ever hold these pointers; none takes a new
  // reference while we edit, so a count of one means the segment is ours.
  if (seg.use_count() > 1) seg = std::make_shared<SubtableSegment>(*seg);
  return *seg;
}

const ClassifierRule* Subtable::find_strict(const Match& match,
                                            std::uint16_t priority) const noexcept {
  if (match.mask != mask_) return nullptr;
  const Located l = locate(match.value);
  return segments_[subtable_hash::segment_of(l.hash, segment_mask_)]->find_strict(
      l.hash, l.masked.data(), priority);
}

void Subtable::insert(RulePtr rule) {
  if (rule->flow.match.mask != mask_)
    throw std::invalid_argument("subtable: rule mask differs from the subtable's");
  if (size_ + 1 > segments_.size() * kSegmentRules * 2) resegment(segments_.size() * 4);
  const Located l = locate(rule->flow.match.value);
  const std::uint64_t rank = rank_of(*rule);
  writable_segment(l.hash).insert(l.hash, l.masked.data(), std::move(rule));
  ++size_;
  max_rank_ = std::max(max_rank_, rank);
}

bool Subtable::remove(const ClassifierRule& rule) {
  if (rule.flow.match.mask != mask_) return false;
  const Located l = locate(rule.flow.match.value);
  const SubtableSegment& seg = *segments_[subtable_hash::segment_of(l.hash, segment_mask_)];
  if (seg.find_strict(l.hash, l.masked.data(), rule.flow.priority) == nullptr) return false;
  // `rule` may be freed by the removal: take what we need first.
  const std::uint64_t rank = rank_of(rule);
  if (!writable_segment(l.hash).remove(l.hash, l.masked.data(), rule)) return false;
  --size_;
  if (rank == max_rank_) recompute_max_rank();
  return true;
}

bool Subtable::replace(const ClassifierRule& old, RulePtr updated) {
  if (old.flow.match != updated->flow.match || old.flow.priority != updated->flow.priority ||
      old.seq != updated->seq)
    throw std::invalid_argument("subtable: replace must keep match, priority and seq");
  if (old.flow.match.mask != mask_) return false;
  const Located l = locate(old.flow.match.value);
  const SubtableSegment& seg = *segments_[subtable_hash::segment_of(l.hash, segment_mask_)];
  if (seg.find_strict(l.hash, l.masked.data(), old.flow.priority) == nullptr) return false;
  return writable_segment(l.hash).replace(l.hash, l.masked.data(), old, std::move(updated));
}

void Subtable::resegment(std::size_t segment_count) {
  std::vector<std::shared_ptr<SubtableSegment>> fresh;
  fresh.reserve(segment_count);
  for (std::size_t i = 0; i < segment_count; ++i)
    fresh.push_back(std::make_shared<SubtableSegment>(word_count_, size_ / segment_count + 1));
  const std::uint64_t new_mask = segment_count - 1;
  for (const auto& s : segments_) {
    s->for_each_owned([&](const RulePtr& r) {
      const Located l = locate(r->flow.match.value);
      fresh[subtable_hash::segment_of(l.hash, new_mask)]->insert(l.hash, l.masked.data(), r);
    });
  }
  segments_ = std::move(fresh);
  segment_mask_ = new_mask;
}

void Subtable::recompute_max_rank() noexcept {
  max_rank_ = 0;
  for (const auto& s : segments_)
    max_rank_ = std::max(max_rank_, s->max_rank());
}

}  // namespace sockswitch::flowtable
