// dataplane/bridge.cc: building and publishing bridge snapshots.
#include "dataplane/bridge.h"

#include <algorithm>
#include <stdexcept>

#include "packet/rcu.h"

namespace sockswitch::dataplane {

using packet::rcu_synchronize;

Bridge::Bridge(std::string name, std::uint8_t index, const MacLearningConfig& mac,
               Conntrack* conntrack)
    : name_(std::move(name)),
      index_(index),
      mac_(std::make_unique<MacLearningTable>(mac)),
      controller_(std::make_unique<ControllerQueues>()) {
  auto first = std::make_unique<BridgeSnapshot>();
  first->flows = flows_.current();
  first->bridge_index = index_;
  first->mac = mac_.get();
  first->controller = controller_.get();
  first->conntrack = conntrack;
  publish(std::move(first));
}

Bridge::~Bridge() {
  published_.store(nullptr, std::memory_order_release);
  rcu_synchronize();
}

void Bridge::set_ports(std::vector<BridgePort> ports) {
  update(std::move(ports), {});
}

void Bridge::update(std::vector<BridgePort> ports, std::span<const flowtable::FlowMod> mods) {
  std::uint32_t highest = 0;
  for (std::size_t i = 0; i < ports.size(); ++i) {
    if (ports[i].port == nullptr) throw std::invalid_argument("bridge port without a driver");
    highest = std::max(highest, flowtable::to_u32(ports[i].no));
  }
  if (ports.size() > 0x7fff) throw std::invalid_argument("too many ports on one bridge");
  auto next = std::make_unique<BridgeSnapshot>(*current_);
  next->index_of.assign(highest + 1, kNoPortIndex);
  for (std::size_t i = 0; i < ports.size(); ++i) {
    std::int16_t& slot = next->index_of[flowtable::to_u32(ports[i].no)];
    if (slot != kNoPortIndex)
      throw std::invalid_argument("port number " + std::to_string(flowtable::to_u32(ports[i].no)) +
                                  " used twice on bridge " + name_);
    slot = static_cast<std::int16_t>(i);
  }
  next->vlans = std::any_of(ports.begin(), ports.end(),
                            [](const BridgePort& p) { return !p.vlan.transparent(); });
  next->ports = std::move(ports);
  if (!mods.empty()) {
    flows_.apply(mods);  // throws before changing anything on a bad batch
    next->flows = flows_.current();
  }
  publish(std::move(next));
}

void Bridge::note_removed(flowtable::PortNo port) {
  // A poll thread applies the log at least once a loop; one that missed
  // more than this many removals forgets every MAC instead.
  constexpr std::size_t kRemovalsKept = 64;
  if (removals_.size() == kRemovalsKept) removals_.erase(removals_.begin());
  removals_.push_back({++removal_seq_, port});
}

std::vector<flowtable::RemovedFlow> Bridge::apply_flows(std::span<const flowtable::FlowMod> mods) {
  std::vector<flowtable::RemovedFlow> removed =
      flows_.apply(mods);  // throws before changing anything on a bad batch
  auto next = std::make_unique<BridgeSnapshot>(*current_);
  next->flows = flows_.current();
  publish(std::move(next));
  return removed;
}

void Bridge::set_mac_config(const MacLearningConfig& mac) {
  auto table = std::make_unique<MacLearningTable>(mac);  // throws before anything changes
  table->skip_removals_through(removal_seq_);
  auto next = std::make_unique<BridgeSnapshot>(*current_);
  next->mac = table.get();
  publish(std::move(next));
  mac_ = std::move(table);  // no poll thread holds the old one after the grace period
}

void Bridge::set_meters(MeterSet meters) {
  auto next = std::make_unique<BridgeSnapshot>(*current_);
  next->meters = std::make_shared<const MeterSet>(std::move(meters));
  publish(std::move(next));
}

void Bridge::set_fail_open(bool on) {
  if (current_->fail_open == on) return;
  auto next = std::make_unique<BridgeSnapshot>(*current_);
  next->fail_open = on;
  publish(std::move(next));
}

void Bridge::set_live_trace(LiveTrace* trace) {
  auto next = std::make_unique<BridgeSnapshot>(*current_);
  next->live_trace = trace;
  publish(std::move(next));
}

void Bridge::set_miss_to_controller(bool on) {
  if (current_->miss_to_controller == on) return;
  auto next = std::make_unique<BridgeSnapshot>(*current_);
  next->miss_to_controller = on;
  publish(std::move(next));
}

void Bridge::publish(std::unique_ptr<BridgeSnapshot> next) {
  next->generation = ++generation_;
  next->removals = removals_;
  published_.store(next.get(), std::memory_order_release);
  rcu_synchronize();
  current_ = std::move(next);  // the old snapshot is freed here, after the grace period
}

}  // namespace sockswitch::dataplane
