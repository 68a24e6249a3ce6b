// dataplane/pipeline.cc: burst processing through the caches.
#include "dataplane/pipeline.h"

#include <x86intrin.h>

namespace sockswitch::dataplane {

Pipeline::Pipeline(std::size_t thread_index, PacketPool& pool, ThreadStats& stats,
                   const PipelineConfig& config)
    : thread_(thread_index),
      pool_(pool),
      stats_(stats),
      tx_(pool),
      executor_(thread_index, pool, tx_, stats) {
  for (BridgeCaches& c : caches_) {
    c.emc = std::make_unique<ExactMatchCache<RulePtr>>(config.emc_entries);
    c.megaflow = std::make_unique<MegaflowCache<RulePtr>>(config.megaflow_entries_per_mask);
  }
}

Pipeline::RulePtr Pipeline::decide(BridgeCaches& caches, const BridgeSnapshot& bridge,
                                   const flowtable::FlowKey& key) noexcept {
  const std::uint64_t h = hash_key(key);
  if (const RulePtr* hit = caches.emc->lookup(key, h)) {
    ++emc_hits_;
    return *hit;
  }
  RulePtr rule;
  if (const RulePtr* hit = caches.megaflow->lookup(key)) {
    ++megaflow_hits_;
    rule = *hit;
  } else {
    ++lookups_;
    flowtable::FlowMask consulted;
    rule = bridge.flows->lookup(0, key, consulted);
    // A table miss is cached too: it is as much a decision as a hit. The
    // megaflow insert may allocate the first time a thread meets a new mask
    // (slow path only; see MegaflowCache).
    caches.megaflow->insert(key, consulted, rule);
  }
  caches.emc->insert(key, h, rule);
  return rule;
}

void Pipeline::process(const BridgeSnapshot& bridge, std::span<Packet*> burst,
                       std::chrono::seconds now) noexcept {
  if (burst.empty()) return;
  const std::uint64_t start = __rdtsc();
  BridgeCaches& caches = caches_[bridge.bridge_index % caches_.size()];
  if (caches.generation != bridge.generation) {
    caches.emc->clear();
    caches.megaflow->clear();
    caches.generation = bridge.generation;
  }

  const std::size_t n = burst.size();
  extract_burst(burst, std::span(keys_).first(n), std::span(parsed_).first(n));
  for (std::size_t i = 0; i < n; ++i) {
    if (parsed_[i] != ParseResult::ok) stats_.parse[static_cast<std::size_t>(parsed_[i])].add(1);
    Packet* p = burst[i];
    const RulePtr rule = decide(caches, bridge, keys_[i]);
    if (rule == nullptr) {
      stats_.drop(Drop::no_match);
      pool_.free(p);
      continue;
    }
    rule->counters->count(thread_, 1, p->length());
    executor_.run(bridge, *rule, p, keys_[i], now);
  }

  stats_.packets.add(n);
  stats_.bursts.add(1);
  stats_.emc_hits.add(emc_hits_);
  stats_.megaflow_hits.add(megaflow_hits_);
  stats_.classifier_lookups.add(lookups_);
  emc_hits_ = megaflow_hits_ = lookups_ = 0;
  stats_.cycles.add(__rdtsc() - start);
}

}  // namespace sockswitch::dataplane
