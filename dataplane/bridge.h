// dataplane/bridge.h: one bridge as the dataplane sees it.
//
// A Bridge is owned by the control thread. What poll threads read is a
// BridgeSnapshot: the ports (with their OpenFlow numbers and which poll
// thread receives from them) and the flow-table version, immutable once
// published. Every change (a flow mod, a port added or removed) builds a new
// snapshot, publishes it with RCU and waits for the grace period before it
// returns, so that when it returns no poll thread uses the old one: that is
// the moment "flows installed" may be acknowledged.
//
// The MAC learning table behind NORMAL is the one mutable thing a poll
// thread writes. It belongs to the bridge and is written only by the poll
// thread that receives from the bridge's ports (all ports of a bridge are
// assigned to one poll thread; see PollThread), so it needs no lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dataplane/conntrack.h"
#include "dataplane/controller_queue.h"
#include "dataplane/mac_learning.h"
#include "dataplane/meter_table.h"
#include "dataplane/port_vlan.h"
#include "flowtable/flow_mod.h"
#include "flowtable/flow_table.h"
#include "packet/rcu.h"
#include "ports/port.h"

namespace sockswitch::dataplane {

class LiveTrace;

struct BridgePort {
  flowtable::PortNo no{0};
  ports::Port* port = nullptr;  // owned by the control side; outlives every snapshot naming it
  std::uint16_t rx_queue = 0;   // the first rx queue this bridge's thread polls
  std::uint16_t tx_queue = 0;
  bool no_flood = false;
  // How many rx queues from rx_queue on (a multi-queue device spreads flows
  // over its queues; every one must be polled or those flows vanish).
  std::uint16_t rx_queues = 1;
  PortVlan vlan{};  // its 802.1Q role in NORMAL
};

inline constexpr std::int16_t kNoPortIndex = -1;

struct BridgeSnapshot {
  std::vector<BridgePort> ports;       // index = the dataplane's output slot
  std::vector<std::int16_t> index_of;  // PortNo -> index into ports, kNoPortIndex if none
  std::shared_ptr<const flowtable::FlowTableVersion> flows;
  std::uint64_t generation = 0;  // differs between any two snapshots of one bridge
  std::uint8_t bridge_index = 0;
  MacLearningTable* mac = nullptr;
  // The latest ports removed from the bridge, for `mac`'s writer to forget
  // (MacLearningTable::apply_removals).
  std::vector<PortRemoval> removals;
  ControllerQueues* controller = nullptr;  // the bridge's; lives as long as it
  Conntrack* conntrack = nullptr;          // the switch's; outlives every bridge
  std::shared_ptr<const MeterSet> meters = std::make_shared<const MeterSet>();
  // OVS's fail-open: the controller it depends on is away, every packet
  // is switched by NORMAL and the flow table is not consulted.
  bool fail_open = false;
  // Some port has VLAN settings: NORMAL must place each frame in a VLAN
  // and tag it per output port (port_vlan.h). Without, frames pass as they are.
  bool vlans = false;
  // A client speaks OpenFlow 1.0, whose table misses go to the controller.
  bool miss_to_controller = false;
  // `ctl trace --live`: packets that match are traced as they pass
  // (live_trace.h). Owned by the control side, which takes it off before
  // freeing it.
  LiveTrace* live_trace = nullptr;

  [[nodiscard]] std::int16_t index(flowtable::PortNo no) const noexcept {
    const auto n = flowtable::to_u32(no);
    return n < index_of.size() ? index_of[n] : kNoPortIndex;
  }
};

class Bridge final {
 public:
  // `conntrack`: the switch's connection table (outlives the bridge), or
  // none: then ct() marks every packet +trk+inv.
  Bridge(std::string name, std::uint8_t index, const MacLearningConfig& mac = {},
         Conntrack* conntrack = nullptr);
  ~Bridge();
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] std::uint8_t index() const noexcept { return index_; }

  // The published snapshot, for poll threads (acquire load, between
  // quiescent points).
  [[nodiscard]] const BridgeSnapshot* published() const noexcept {
    return published_.load(std::memory_order_acquire);
  }

  // Control thread. Each publishes a new snapshot and returns after the
  // grace period. Throws (and changes nothing) on invalid input.
  void set_ports(std::vector<BridgePort> ports);
  // Ports and flow changes in one snapshot: no packet sees new ports with
  // old flows (whose output:N may name a port that went) or the reverse.
  void update(std::vector<BridgePort> ports, std::span<const flowtable::FlowMod> mods);
  // `port` has left the bridge for good (not a reopen): its learned MACs
  // are forgotten once the next snapshot is published.
  void note_removed(flowtable::PortNo port);
  // Returns the deleted flows that asked to be reported (FlowTable::apply).
  std::vector<flowtable::RemovedFlow> apply_flows(std::span<const flowtable::FlowMod> mods);
  // A MAC table of the new size and aging replaces the old one (whose
  // entries are forgotten: NORMAL floods until it learns again); the old is
  // freed after the grace period.
  void set_mac_config(const MacLearningConfig& mac);
  // Publishes a new set of meters (their flows are the caller's to check).
  void set_meters(MeterSet meters);
  [[nodiscard]] const MeterSet& meters() const noexcept { return *current_->meters; }
  [[nodiscard]] std::shared_ptr<const MeterSet> published_meters() const noexcept {
    return current_->meters;
  }
  // Publishes BridgeSnapshot::fail_open (no-op when it already is `on`).
  void set_fail_open(bool on);
  // Publishes BridgeSnapshot::miss_to_controller.
  void set_miss_to_controller(bool on);
  // Publishes BridgeSnapshot::live_trace (nullptr: none); when it returns,
  // no poll thread writes into the one it replaced.
  void set_live_trace(LiveTrace* trace);

  [[nodiscard]] const flowtable::FlowTable& flows() const noexcept { return flows_; }
  // Control thread: see FlowTable::note_use.
  void note_flow_use(std::chrono::steady_clock::time_point now) noexcept { flows_.note_use(now); }
  [[nodiscard]] std::span<const BridgePort> ports() const noexcept { return current_->ports; }
  // The latest snapshot, as published (control thread).
  [[nodiscard]] const BridgeSnapshot& snapshot() const noexcept { return *current_; }
  [[nodiscard]] MacLearningTable& mac_table() noexcept { return *mac_; }
  // The frames to and from the OpenFlow clients (control thread's side).
  [[nodiscard]] ControllerQueues& controller() noexcept { return *controller_; }

 private:
  void publish(std::unique_ptr<BridgeSnapshot> next);

  std::string name_;
  std::uint8_t index_;
  std::unique_ptr<MacLearningTable> mac_;
  std::unique_ptr<ControllerQueues> controller_;
  flowtable::FlowTable flows_;
  std::unique_ptr<BridgeSnapshot> current_;
  packet::RcuPointer<BridgeSnapshot> published_{nullptr};
  std::uint64_t generation_ = 0;
  std::vector<PortRemoval> removals_;  // the latest kRemovalsKept
  std::uint64_t removal_seq_ = 0;
};

}  // namespace sockswitch::dataplane
