// flowtable/classifier.cc: the control-side queries of a published version.
#include "flowtable/classifier.h"

#include <algorithm>
#include <utility>

#include "flowtable/classifier_builder.h"

namespace sockswitch::flowtable {

const ClassifierRule* Classifier::find_strict(const Match& match,
                                              std::uint16_t priority) const noexcept {
  for (const auto& st : subtables_)
    if (st->mask() == match.mask) return st->find_strict(match, priority);
  return nullptr;
}

std::vector<const ClassifierRule*> Classifier::rules() const {
  std::vector<const ClassifierRule*> out;
  out.reserve(size_);
  for (const auto& st : subtables_)
    st->for_each([&](const ClassifierRule& r) { out.push_back(&r); });
  std::sort(out.begin(), out.end(), [](const ClassifierRule* a, const ClassifierRule* b) {
    return rank_of(*a) > rank_of(*b);
  });
  return out;
}

Classifier Classifier::with_added(FlowRule flow) const {
  ClassifierBuilder b(*this);
  b.insert(std::move(flow));
  return b.build();
}

Classifier Classifier::with_removed(const ClassifierRule& rule) const {
  ClassifierBuilder b(*this);
  b.remove(rule);
  return b.build();
}

}  // namespace sockswitch::flowtable
