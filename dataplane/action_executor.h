// dataplane/action_executor.h: runs a flow's actions on one packet.
//
// Actions apply in order. Outputs are not sent at once: the executor keeps
// the last output as "pending" and copies the packet only when something
// follows that still needs it (another output, a header rewrite), so the
// common single-output flow never copies and a flood of N ports copies N-1
// times. When the actions end, the packet itself goes to the pending output,
// or is freed and counted with the reason it died.
//
// NORMAL is the learning switch: it learns the source MAC on the ingress
// port (VLAN-aware) and sends to the port the destination was learned on,
// or floods when the destination is unknown, multicast or broadcast. When
// ports have VLAN settings (port_vlan.h) it switches within the frame's
// VLAN and tags the frame per output port; what follows NORMAL in the
// action list sees the frame as it was (OVS restores it the same way).
//
// ct() passes the packet through the switch's connection tracker
// (conntrack.h); with table=N a copy continues there with ct_state,
// ct_zone and ct_mark filled in.
//
// resubmit and goto_table look the packet up in another table of the same
// version (through an exact-match cache of their own) and run that flow's actions in place, bounded
// in depth. Rewrites update the packet's key, so later lookups see the
// packet as it now is.
//
// trace() runs one packet through the same code with a TraceLog: every step
// is written down. For a described packet, outputs are recorded and not
// sent, and nothing with a life beyond the packet is touched (meters are
// not charged, the OpenFlow clients get no copy, flow counters do not
// count); a live log (a real packet, live_trace.h) changes nothing but the
// writing down. Off, it costs a test of one pointer at each step, never
// per byte.
//
// Hot path: noexcept, no allocation (copies come from the thread's pool).
#pragma once

#include <chrono>
#include <cstdint>

#include "dataplane/bridge.h"
#include "dataplane/exact_match_cache.h"
#include "dataplane/thread_stats.h"
#include "dataplane/trace_log.h"
#include "dataplane/tx_batch.h"
#include "flowtable/classifier_rule.h"

namespace sockswitch::dataplane {

inline constexpr int kMaxResubmitDepth = 64;
// And in total: a table where each of 30 tables resubmits twice to the next
// would cost 2^30 lookups for one packet within the depth bound. OVS bounds
// both the same way.
inline constexpr std::uint32_t kMaxResubmitsPerPacket = 4096;

class ActionExecutor final {
 public:
  ActionExecutor(std::size_t thread_index, packet::PacketPool& pool, TxBatch& tx,
                 ThreadStats& stats)
      : thread_(thread_index),
        pool_(pool),
        tx_(tx),
        stats_(stats),
        later_tables_(std::make_unique<ExactMatchCache<TableDecision>>(kLaterTableEntries)) {}

  // Runs `rule`'s actions; consumes `p` (queued for transmit or freed).
  // The most common flow, a lone `output:PORT`, skips the interpreter: the
  // same checks as output_port() then settling the pending output, inline.
  void run(const BridgeSnapshot& bridge, const flowtable::ClassifierRule& rule, packet::Packet* p,
           flowtable::FlowKey& key, std::chrono::seconds now) noexcept {
    const flowtable::ActionList& actions = rule.flow.actions;
    if (actions.size() == 1 && actions.front().kind == flowtable::ActionKind::output) {
      const std::int16_t slot = bridge.index(actions.front().port);
      if (slot != kNoPortIndex && slot != bridge.index(p->in_port())) [[likely]] {
        tx_.enqueue(bridge.bridge_index, slot, bridge.ports[std::size_t(slot)], p);
        ++forwarded_;
        return;
      }
      stats_.drop(slot == kNoPortIndex ? Drop::port_unknown : Drop::reflect);
      pool_.free(p);
      return;
    }
    run_actions(bridge, rule, p, key, now);
  }
  // A copy of `p` (up to max_len) for the OpenFlow clients; `miss`: no
  // flow matched (OpenFlow 1.0's table miss, sent to 1.0 clients only).
  // False when the clients' queue was full (the caller counts it).
  bool punt_frame(const BridgeSnapshot& bridge, const packet::Packet& p, std::uint16_t max_len,
                  std::uint64_t cookie, std::uint8_t table, std::uint8_t reason,
                  bool miss) noexcept;
  // The whole decision for `p` (in_port set, `key` extracted from it) as
  // Pipeline::process makes it, written into `log`; consumes `p`. The
  // caller passes a snapshot whose MAC table and connection table are its
  // own: NORMAL learns and ct() tracks into them as they would live.
  void trace(const BridgeSnapshot& bridge, packet::Packet* p, flowtable::FlowKey& key,
             std::chrono::seconds now, TraceLog& log) noexcept;
  // Packets run() and run_list() queued to at least one port, since the
  // executor was made (the pipeline adds the difference per burst).
  [[nodiscard]] std::uint64_t forwarded() const noexcept { return forwarded_; }
  // A new receive burst: meters read the clock again (once, when needed).
  void begin_burst() noexcept { now_ns_ = 0; }
  // Runs a PACKET_OUT's actions on `p` (in_port already set); consumes it.
  void run_list(const BridgeSnapshot& bridge, std::span<const flowtable::Action> actions,
                packet::Packet* p, flowtable::FlowKey& key, std::chrono::seconds now) noexcept;

 private:
  struct PacketRun {
    const BridgeSnapshot* bridge;
    packet::Packet* packet;
    flowtable::FlowKey* key;
    std::chrono::seconds now;
    std::int16_t in_slot;
    std::int16_t pending = kNoPortIndex;
    std::uint32_t lookups = 0;        // resubmits and goto_tables so far
    Drop reason = Drop::action_drop;  // why it dies if nothing sends it
    bool dead = false;                // a rewrite failed: stop here
    bool sent = false;                // a copy went to some port
    // A copy was lost and counted (no buffer, no headroom for a tag, the
    // clients' queue full): if the packet then goes nowhere, that was its
    // drop, and it is not counted twice.
    bool counted = false;
    // The flow that sent it to the controller says so in the PACKET_IN.
    const flowtable::FlowRule* flow = nullptr;
    // NORMAL's per-port tagging: the frame's outer tag now (VID and
    // priority bits, 0 for none), or -1 while it is as the key says.
    std::int32_t wire_tci = -1;
  };

  void run_actions(const BridgeSnapshot& bridge, const flowtable::ClassifierRule& rule,
                   packet::Packet* p, flowtable::FlowKey& key, std::chrono::seconds now) noexcept;
  // The packet to its pending output, or freed and counted with its reason.
  void finish(PacketRun& r) noexcept;
  // Queues `p` for slot `slot`, or, tracing, records it as it leaves.
  void transmit(const BridgeSnapshot& bridge, std::int16_t slot, packet::Packet* p) noexcept;
  void drop(Drop reason) noexcept;
  // A copy of r's packet that could not be made or sent.
  void lose_copy(PacketRun& r, Drop reason) noexcept {
    drop(reason);
    r.counted = true;
  }
  // Tracing only (callers test trace_ first): one step into the log.
  void note(const TraceEvent& e) noexcept { trace_->add(e); }
  // ct(): tracks the packet and, with table=N, looks it up there tracked.
  // `last`: nothing follows in the flow's own list.
  void conntrack(PacketRun& r, const flowtable::Action& a, bool last, int depth) noexcept;
  static void set_ct_fields(flowtable::FlowKey& key, CtVerdict v, std::uint16_t zone) noexcept;
  // load: and move: (bits of a register, metadata or a header field).
  void load_bits(PacketRun& r, const flowtable::Action& a) noexcept;
  void execute(PacketRun& r, std::span<const flowtable::Action> actions, std::uint8_t table,
               int depth) noexcept;
  // A copy of the packet (up to max_len) for the OpenFlow clients.
  void punt(PacketRun& r, std::uint16_t max_len) noexcept;
  void lookup_and_execute(PacketRun& r, std::uint8_t table, int depth) noexcept;
  void output(PacketRun& r, std::int16_t slot) noexcept;
  void output_port(PacketRun& r, flowtable::PortNo port) noexcept;
  void flood(PacketRun& r, bool honour_no_flood) noexcept;
  // A meter's verdict; false when the packet is over its rate.
  [[nodiscard]] bool metered(PacketRun& r, std::uint32_t id) noexcept;
  // Learns the source in `vlan` and looks the destination up there: its
  // port's slot, or kNoPortIndex when it must be flooded (unknown,
  // multicast, or learned on a port the bridge no longer has).
  [[nodiscard]] std::int16_t learn_and_find(PacketRun& r, VlanId vlan) noexcept;
  void normal(PacketRun& r) noexcept;
  void normal_in_vlans(PacketRun& r) noexcept;
  // Makes the pending output with the frame retagged as `tci` (0: untagged).
  void output_tagged(PacketRun& r, std::int16_t slot, std::uint16_t tci) noexcept;
  // Sends the pending output a copy of the frame as it is now.
  void send_pending(PacketRun& r) noexcept;
  // send_pending, then undoes NORMAL's retagging: what follows sees the frame as it came.
  void settle_pending(PacketRun& r) noexcept;
  [[nodiscard]] packet::Packet* copy(const packet::Packet& p) noexcept;
  // The flow `key` hits in `table`, through later_tables_.
  [[nodiscard]] const flowtable::ClassifierRule* lookup_later(
      const BridgeSnapshot& bridge, std::uint8_t table, const flowtable::FlowKey& key) noexcept;

  // A lookup in a table reached by resubmit, goto_table or ct(table=N):
  // valid for one snapshot of one bridge (generations differ between any
  // two snapshots of a bridge), so stale entries simply miss.
  struct TableDecision {
    std::uint64_t generation = 0;
    const flowtable::ClassifierRule* rule = nullptr;
    std::uint8_t bridge = 0;
    std::uint8_t table = 0;
  };
  static constexpr std::size_t kLaterTableEntries = 2048;

  std::uint64_t forwarded_ = 0;  // a plain count: only the poll thread runs packets
  std::uint64_t now_ns_ = 0;     // the burst's clock for meters; 0: not read yet
  std::size_t thread_;
  packet::PacketPool& pool_;
  TxBatch& tx_;
  ThreadStats& stats_;
  std::unique_ptr<ExactMatchCache<TableDecision>> later_tables_;
  TraceLog* trace_ = nullptr;  // set for the length of one trace() only
};

}  // namespace sockswitch::dataplane
