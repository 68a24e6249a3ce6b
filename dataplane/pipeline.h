// dataplane/pipeline.h: what a poll thread does with one received burst.
//
//   parse -> flow key -> exact-match cache -hit-> actions
//                          | miss
//                          v
//                        megaflow cache -hit-> actions
//                          | miss
//                          v
//                        classifier (table 0) -> install megaflow + EMC entry
//   actions -> per-port transmit buffers -> flushed once per burst
//
// One Pipeline per poll thread, with one pair of caches per bridge (keys of
// different bridges may be equal: port numbers are per bridge). Cache entries
// point at rules of the snapshot they were built from, so a pipeline clears a
// bridge's caches the first time it sees a new snapshot of it. The control
// side returns from a change only after every poll thread has passed a
// quiescent point, and a thread checks the snapshot at the start of every
// burst, so after "installed" no packet is forwarded by an old decision.
//
// Per burst, not per packet: the snapshot check, the statistics, and the
// flow counters (consecutive packets of one flow are counted with one
// update). The extractor hashes each key as it builds it, and the burst's
// EMC slots are prefetched before the first lookup.
//
// Hot path: noexcept, no allocation, no locks; the only virtual calls are
// the ports' rx/tx, once per burst.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <span>

#include "dataplane/action_executor.h"
#include "dataplane/bridge.h"
#include "dataplane/exact_match_cache.h"
#include "dataplane/megaflow_cache.h"
#include "dataplane/thread_stats.h"
#include "dataplane/tx_batch.h"
#include "packet/packet_pool.h"

namespace sockswitch::dataplane {

struct PipelineConfig {
  std::size_t emc_entries = 8192;
  std::size_t megaflow_entries_per_mask = 4096;
};

class Pipeline final {
 public:
  Pipeline(std::size_t thread_index, packet::PacketPool& pool, ThreadStats& stats,
           const PipelineConfig& config = {});

  // Decides and queues every packet of `burst`, all received on one port of
  // `bridge` (their in_port already set). Consumes the packets.
  void process(const BridgeSnapshot& bridge, std::span<packet::Packet*> burst,
               std::chrono::seconds now) noexcept;

  // A PACKET_OUT: the frame, from `in.in_port`, through the flow table
  // (output:TABLE) or through its own actions. Consumes `p`, which holds
  // the frame already.
  void inject(const BridgeSnapshot& bridge, const InjectedPacket& in, packet::Packet* p,
              std::chrono::seconds now) noexcept;

  // Sends what process() queued. Call once per receive burst (or per loop).
  void flush() noexcept {
    tx_.flush();
    if (const std::uint64_t n = tx_.take_unsent()) [[unlikely]]
      stats_.drop(Drop::port_unknown, n);
  }

 private:
  using RulePtr = const flowtable::ClassifierRule*;

  struct BridgeCaches {
    std::uint64_t generation = 0;
    std::unique_ptr<ExactMatchCache<RulePtr>> emc;
    std::unique_ptr<MegaflowCache<RulePtr>> megaflow;
  };

  [[nodiscard]] RulePtr decide(BridgeCaches& caches, const BridgeSnapshot& bridge,
                               const flowtable::FlowKey& key, const KeyInfo& info) noexcept;
  // Slow path of decide(): the megaflow cache, then the classifier.
  [[nodiscard]] RulePtr decide_uncached(BridgeCaches& caches, const BridgeSnapshot& bridge,
                                        const flowtable::FlowKey& key,
                                        const KeyInfo& info) noexcept;

  // A packet the bridge's live trace wants goes through the executor's
  // trace mode (and is forwarded as usual); false when it is not wanted.
  bool trace_live(const BridgeSnapshot& bridge, packet::Packet* p, flowtable::FlowKey& key,
                  std::chrono::seconds now) noexcept;

  std::size_t thread_;
  packet::PacketPool& pool_;
  ThreadStats& stats_;
  TxBatch tx_;
  ActionExecutor executor_;
  std::array<BridgeCaches, TxBatch::kMaxBridges> caches_;
  std::array<flowtable::FlowKey, packet::kBurstSize> keys_{};
  std::array<KeyInfo, packet::kBurstSize> info_{};
  // Per-burst tallies, folded into stats_ once per burst.
  std::uint64_t emc_hits_ = 0, megaflow_hits_ = 0, lookups_ = 0;
};

}  // namespace sockswitch::dataplane
