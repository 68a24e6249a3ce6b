// tests/dataplane/switch_harness.h: one bridge of ring ports driven by a
// Pipeline on the test thread, for in-process pipeline tests.
//
// Plan of a test: build the harness with port names, install flows in
// ovs-ofctl syntax, send frames into ports, run one poll pass, and read what
// each port transmitted.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/bridge.h"
#include "dataplane/pipeline.h"
#include "flowtable/flow_parser.h"
#include "ports/ring_port.h"

namespace sockswitch::dataplane {

class SwitchHarness {
 public:
  explicit SwitchHarness(const std::vector<std::string>& names, std::uint8_t bridge_index = 0)
      : pool_(4096), pipeline_(0, pool_, stats_), bridge_("br-test", bridge_index) {
    std::vector<BridgePort> bp;
    std::uint32_t no = 1;
    for (const std::string& n : names) {
      auto port = std::make_unique<ports::RingPort>(n);
      bp.push_back({flowtable::PortNo{no}, port.get()});
      ports_map_.add(n, flowtable::PortNo{no});
      ports_[n] = std::move(port);
      ++no;
    }
    bridge_.set_ports(std::move(bp));
  }

  // Replaces the table with `flows` (one per line, add-flows syntax).
  void install(const std::string& flows) {
    std::vector<flowtable::FlowMod> mods{{flowtable::FlowModCommand::del, {}}};
    mods[0].rule.table = flowtable::kAllTables;
    const flowtable::FlowFile f = flowtable::parse_flow_file(flows, "<test>", ports_map_);
    for (const auto& e : f.errors)
      ADD_FAILURE() << e.what();
    for (const auto& p : f.flows)
      mods.push_back({flowtable::FlowModCommand::add, p.rule});
    bridge_.apply_flows(mods);
  }
  void apply(std::vector<flowtable::FlowMod> mods) { bridge_.apply_flows(mods); }

  // Gives `port` VLAN settings (port_vlan.h) and publishes them.
  void set_vlan(const std::string& port, const VlanConfig& vlan) {
    std::vector<BridgePort> ports(bridge_.ports().begin(), bridge_.ports().end());
    for (BridgePort& p : ports)
      if (p.port->name() == port) p.vlan = PortVlan(vlan);
    bridge_.set_ports(std::move(ports));
  }

  void send(const std::string& port, const std::vector<std::uint8_t>& frame) {
    ASSERT_TRUE(ports_.at(port)->inject(frame));
  }

  // One poll pass over every port, then flush.
  void run() {
    const BridgeSnapshot* snap = bridge_.published();
    for (const BridgePort& bp : snap->ports) {
      packet::Burst burst;
      const std::size_t n = bp.port->rx_burst(bp.rx_queue, pool_, burst.storage());
      burst.set_size(n);
      for (packet::Packet* p : burst)
        p->set_in_port(bp.no);
      pipeline_.process(*snap, burst.packets(), now_);
    }
    pipeline_.flush();
  }

  // Everything `port` transmitted since the last call.
  std::vector<std::vector<std::uint8_t>> received(const std::string& port) {
    std::vector<std::vector<std::uint8_t>> out;
    while (auto f = ports_.at(port)->take())
      out.push_back(std::move(*f));
    return out;
  }
  // Ports that transmitted anything since the last call (and drains them).
  std::vector<std::string> receivers() {
    std::vector<std::string> who;
    for (auto& [name, port] : ports_)
      if (port->discard() > 0) who.push_back(name);
    return who;
  }

  void advance(std::chrono::seconds s) { now_ += s; }
  ThreadStats& stats() { return stats_; }
  Bridge& bridge() { return bridge_; }
  flowtable::PortMap& port_map() { return ports_map_; }
  packet::PacketPool& pool() { return pool_; }

 private:
  packet::PacketPool pool_;
  ThreadStats stats_;
  Pipeline pipeline_;
  Bridge bridge_;
  flowtable::PortMap ports_map_;
  std::map<std::string, std::unique_ptr<ports::RingPort>> ports_;
  std::chrono::seconds now_{1000};
};

}  // namespace sockswitch::dataplane
