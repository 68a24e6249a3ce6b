// flowtable/probe_plan.cc: flattening a version's subtables for lookup.
#include "flowtable/probe_plan.h"

namespace sockswitch::flowtable {

ProbePlan::ProbePlan(const std::vector<std::shared_ptr<Subtable>>& by_rank) {
  probes_.reserve(by_rank.size());
  std::size_t segments = 0;
  for (const auto& st : by_rank)
    segments += st->segment_count();
  views_.reserve(segments);
  unions_.reserve(by_rank.size());
  FlowMask so_far;
  for (const auto& st : by_rank) {
    Probe p{};
    p.max_rank = st->max_rank();
    p.view_base = static_cast<std::uint32_t>(views_.size());
    p.segment_mask = static_cast<std::uint32_t>(st->segment_count() - 1);
    p.word_count = static_cast<std::uint8_t>(st->word_count());
    for (std::size_t i = 0; i < st->word_count(); ++i) {
      p.words[i] = st->word(i);
      p.mask_words[i] = st->mask_word(i);
    }
    probes_.push_back(p);
    for (std::size_t i = 0; i < st->segment_count(); ++i)
      views_.push_back(st->segment_view(i));
    so_far |= st->mask();
    unions_.push_back(so_far);
  }
}

}  // namespace sockswitch::flowtable
