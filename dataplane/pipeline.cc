// dataplane/pipeline.cc: burst processing through the caches.
#include "dataplane/pipeline.h"

#include "dataplane/cycle_counter.h"
#include "dataplane/live_trace.h"

namespace sockswitch::dataplane {

using packet::Packet;
using packet::PacketPool;

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

inline Pipeline::RulePtr Pipeline::decide(BridgeCaches& caches, const BridgeSnapshot& bridge,
                                          const flowtable::FlowKey& key,
                                          const KeyInfo& info) noexcept {
  if (const RulePtr* hit = caches.emc->lookup(key, info.hash, info.extent)) {
    ++emc_hits_;
    return *hit;
  }
  return decide_uncached(caches, bridge, key, info);
}

Pipeline::RulePtr Pipeline::decide_uncached(BridgeCaches& caches, const BridgeSnapshot& bridge,
                                            const flowtable::FlowKey& key,
                                            const KeyInfo& info) noexcept {
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
  caches.emc->insert(key, info.hash, rule, info.extent);
  return rule;
}

void Pipeline::process(const BridgeSnapshot& bridge, std::span<Packet*> burst,
                       std::chrono::seconds now) noexcept {
  if (burst.empty()) return;
  const std::uint64_t start = cycle_count();
  const std::uint64_t forwarded_before = executor_.forwarded();
  executor_.begin_burst();
  BridgeCaches& caches = caches_[bridge.bridge_index % caches_.size()];
  if (caches.generation != bridge.generation) {
    caches.emc->clear();
    caches.megaflow->clear();
    caches.generation = bridge.generation;
  }

  const std::size_t n = burst.size();
  extract_burst(burst, std::span(keys_).first(n), std::span(info_).first(n));
  if (bridge.fail_open) [[unlikely]] {
    static constexpr flowtable::Action kNormal{flowtable::ActionKind::normal};
    for (std::size_t i = 0; i < n; ++i) {
      if (bridge.live_trace != nullptr && trace_live(bridge, burst[i], keys_[i], now)) continue;
      executor_.run_list(bridge, std::span(&kNormal, 1), burst[i], keys_[i], now);
    }
    stats_.packets.add(n);
    stats_.forwarded.add(executor_.forwarded() - forwarded_before);
    stats_.bursts.add(1);
    return;
  }
  for (std::size_t i = 0; i < n; ++i)
    caches.emc->prefetch(info_[i].hash);

  // The flow being counted: packets of one flow in a row add up here and
  // reach its counters in one update.
  RulePtr counted = nullptr;
  std::uint64_t counted_packets = 0, counted_bytes = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (info_[i].result != ParseResult::ok)
      stats_.parse[static_cast<std::size_t>(info_[i].result)].add(1);
    Packet* p = burst[i];
    if (bridge.live_trace != nullptr) [[unlikely]]
      if (trace_live(bridge, p, keys_[i], now)) continue;
    const RulePtr rule = decide(caches, bridge, keys_[i], info_[i]);
    if (rule == nullptr) {
      const bool punt_lost =
          bridge.miss_to_controller && !executor_.punt_frame(bridge, *p, 0xffff, 0, 0, 0, true);
      stats_.drop(punt_lost ? Drop::controller_queue : Drop::no_match);
      pool_.free(p);
      continue;
    }
    if (rule != counted) {
      if (counted) counted->counters->count(thread_, counted_packets, counted_bytes);
      counted = rule;
      counted_packets = counted_bytes = 0;
    }
    ++counted_packets;
    counted_bytes += p->length();
    executor_.run(bridge, *rule, p, keys_[i], now);
  }
  if (counted) counted->counters->count(thread_, counted_packets, counted_bytes);

  stats_.packets.add(n);
  stats_.forwarded.add(executor_.forwarded() - forwarded_before);
  stats_.bursts.add(1);
  stats_.emc_hits.add(emc_hits_);
  stats_.megaflow_hits.add(megaflow_hits_);
  stats_.classifier_lookups.add(lookups_);
  emc_hits_ = megaflow_hits_ = lookups_ = 0;
  stats_.cycles.add(cycle_count() - start);
}

bool Pipeline::trace_live(const BridgeSnapshot& bridge, Packet* p, flowtable::FlowKey& key,
                          std::chrono::seconds now) noexcept {
  LiveTrace& trace = *bridge.live_trace;
  if (!trace.wants(key)) return false;
  LiveTrace::Slot* slot = trace.claim();
  if (slot == nullptr) return false;
  slot->packet = key;
  slot->flows = bridge.flows;  // no allocation: a reference count
  executor_.trace(bridge, p, key, now, slot->log);
  trace.release();
  return true;
}

void Pipeline::inject(const BridgeSnapshot& bridge, const InjectedPacket& in, Packet* p,
                      std::chrono::seconds now) noexcept {
  if (in.to_table) {
    Packet* one[1] = {p};
    process(bridge, one, now);
    return;
  }
  flowtable::FlowKey key;
  (void)extract_flow(*p, key);
  executor_.begin_burst();
  // Counted as processed like a received packet, so that packets =
  // forwarded + drops holds for everything the thread ran.
  const std::uint64_t forwarded_before = executor_.forwarded();
  executor_.run_list(bridge, std::span(in.actions).first(in.actions_len), p, key, now);
  stats_.packets.add(1);
  stats_.forwarded.add(executor_.forwarded() - forwarded_before);
}

}  // namespace sockswitch::dataplane
