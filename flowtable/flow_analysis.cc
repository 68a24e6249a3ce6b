// flowtable/flow_analysis.cc: overlap and shadow detection over a flow list.
#include "flowtable/flow_analysis.h"

#include <algorithm>
#include <bit>

namespace sockswitch::flowtable {
namespace {

// Past this many pending cubes the shadow check gives up on a rule.
constexpr std::size_t kMaxCubes = 4096;

// Whether rule `w` wins over rule `r` for a packet both match.
bool wins_over(const FlowRule& w, std::size_t wi, const FlowRule& r, std::size_t ri) {
  return w.priority > r.priority || (w.priority == r.priority && wi < ri);
}

// Appends `cube` minus `hole` to `out` as disjoint cubes. Returns false when
// that would exceed the bound.
bool subtract(const Match& cube, const Match& hole, std::vector<Match>& out) {
  if (!overlaps(cube, hole)) {
    out.push_back(cube);
    return out.size() <= kMaxCubes;
  }
  if (covers(hole, cube)) return true;
  // The bits the hole fixes and the cube leaves free: for each in turn, the
  // part of the cube that agrees with the hole on the earlier ones and
  // disagrees on this one lies outside the hole.
  Match prefix = cube;
  for (std::size_t i = 0; i < kKeyWords; ++i) {
    std::uint64_t free_bits = hole.mask.w[i] & ~cube.mask.w[i];
    while (free_bits) {
      const std::uint64_t bit = free_bits & (~free_bits + 1);
      free_bits &= free_bits - 1;
      Match piece = prefix;
      piece.mask.w[i] |= bit;
      piece.value.w[i] = (piece.value.w[i] & ~bit) | (~hole.value.w[i] & bit);
      out.push_back(piece);
      if (out.size() > kMaxCubes) return false;
      prefix.mask.w[i] |= bit;
      prefix.value.w[i] = (prefix.value.w[i] & ~bit) | (hole.value.w[i] & bit);
    }
  }
  return true;
}

// Whether the union of `winners` covers `rule`; unknown (false) past the bound.
bool covered_by(const Match& rule, const std::vector<const Match*>& winners) {
  std::vector<Match> left{rule}, next;
  for (const Match* w : winners) {
    next.clear();
    for (const Match& cube : left)
      if (!subtract(cube, *w, next)) return false;
    left.swap(next);
    if (left.empty()) return true;
  }
  return left.empty();
}

}  // namespace

bool overlaps(const Match& a, const Match& b) noexcept {
  for (std::size_t i = 0; i < kKeyWords; ++i)
    if ((a.value.w[i] ^ b.value.w[i]) & a.mask.w[i] & b.mask.w[i]) return false;
  return true;
}

bool covers(const Match& outer, const Match& inner) noexcept {
  if (!outer.mask.subset_of(inner.mask)) return false;
  for (std::size_t i = 0; i < kKeyWords; ++i)
    if ((inner.value.w[i] & outer.mask.w[i]) != outer.value.w[i]) return false;
  return true;
}

FlowAnalysis analyze_flows(std::span<const FlowRule> rules) {
  FlowAnalysis result;
  for (std::size_t j = 0; j < rules.size(); ++j) {
    const FlowRule& r = rules[j];
    std::vector<const Match*> winners;
    std::vector<std::size_t> winner_index;
    for (std::size_t i = 0; i < rules.size(); ++i) {
      const FlowRule& w = rules[i];
      if (i == j || w.table != r.table || !overlaps(w.match, r.match)) continue;
      if (i < j && w.priority == r.priority) {
        Match witness;
        for (std::size_t k = 0; k < kKeyWords; ++k) {
          witness.mask.w[k] = w.match.mask.w[k] | r.match.mask.w[k];
          witness.value.w[k] = w.match.value.w[k] | r.match.value.w[k];
        }
        result.overlaps.push_back({i, j, witness});
      }
      if (wins_over(w, i, r, j)) {
        winners.push_back(&w.match);
        winner_index.push_back(i);
      }
    }
    if (winners.empty()) continue;
    // Most shadows are one broad rule hiding a narrower one; try the cheap
    // check before the general one.
    const auto single = std::find_if(winners.begin(), winners.end(),
                                     [&](const Match* w) { return covers(*w, r.match); });
    if (single != winners.end())
      result.shadows.push_back(
          {j, {winner_index[static_cast<std::size_t>(single - winners.begin())]}});
    else if (covered_by(r.match, winners))
      result.shadows.push_back({j, winner_index});
  }
  return result;
}

}  // namespace sockswitch::flowtable
