// tests/dataplane/poll_thread_test.cc: the poll loop on its own thread.
//
// Plan: two bridges joined by a patch pair (the seed dual layout's
// to-privacy/from-mesh), served by a real PollThread; frames injected at
// one bridge's port must come out of the other bridge's port; a flow change
// made while the thread runs is honoured after apply returns; an idle
// thread goes to sleep instead of spinning.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "dataplane/poll_thread.h"
#include "flowtable/flow_parser.h"
#include "ports/ring_port.h"
#include "tests/dataplane/frame_builder.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace sockswitch::dataplane {
namespace {

using namespace std::chrono_literals;

template <typename F>
bool wait_until(F&& done, std::chrono::milliseconds limit = 5000ms) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return done();
}

std::vector<flowtable::FlowMod> flows(const std::string& text, flowtable::PortMap& ports) {
  std::vector<flowtable::FlowMod> mods;
  const auto f = flowtable::parse_flow_file(text, "<test>", ports);
  for (const auto& e : f.errors)
    ADD_FAILURE() << e.what();
  for (const auto& p : f.flows)
    mods.push_back({flowtable::FlowModCommand::add, p.rule});
  return mods;
}

std::vector<std::uint8_t> frame(std::uint32_t dst_ip) {
  test::FrameBuilder b;
  b.eth(0x020000000002, 0x020000000001, flowtable::kEthTypeIpv4);
  b.ipv4({.proto = flowtable::kIpProtoUdp, .src = 0x0a640001, .dst = dst_ip});
  b.udp(1000, 2000);
  return b.build();
}

TEST(PollThread, DualBridgesThroughAPatchPair) {
  auto nm_privacy = std::make_unique<ports::RingPort>("nm-privacy");
  auto veth200 = std::make_unique<ports::RingPort>("veth200");
  auto veth102 = std::make_unique<ports::RingPort>("veth102");
  auto [to_privacy, from_mesh] = ports::RingPort::make_patch_pair("to-privacy", "from-mesh");

  Bridge mesh("mesh", 0), vmbr0("vmbr0", 1);
  flowtable::PortMap mesh_ports, vmbr0_ports;
  mesh_ports.add("nm-privacy", flowtable::PortNo{1});
  mesh_ports.add("to-privacy", flowtable::PortNo{2});
  mesh_ports.add("veth200", flowtable::PortNo{3});
  vmbr0_ports.add("from-mesh", flowtable::PortNo{1});
  vmbr0_ports.add("veth102", flowtable::PortNo{2});
  mesh.set_ports({{flowtable::PortNo{1}, nm_privacy.get()},
                  {flowtable::PortNo{2}, to_privacy.get()},
                  {flowtable::PortNo{3}, veth200.get()}});
  vmbr0.set_ports({{flowtable::PortNo{1}, from_mesh.get()}, {flowtable::PortNo{2}, veth102.get()}});
  mesh.apply_flows(
      flows("priority=100,ip,in_port=nm-privacy,nw_dst=10.0.0.0/24,actions=output:to-privacy\n"
            "priority=90,in_port=nm-privacy,actions=output:veth200\n",
            mesh_ports));
  vmbr0.apply_flows(flows("priority=100,in_port=from-mesh,actions=output:veth102\n", vmbr0_ports));

  PollThread thread({.index = 0, .idle_polls_before_sleep = 16, .max_sleep = 50ms},
                    {&mesh, &vmbr0});
  thread.start();

  ASSERT_TRUE(nm_privacy->inject(frame(0x0a000066)));  // 10.0.0.102: privacy, to vmbr0
  ASSERT_TRUE(nm_privacy->inject(frame(0x0a0100c8)));  // 10.1.0.200: management, stays
  std::vector<std::uint8_t> got;
  ASSERT_TRUE(wait_until([&] {
    if (auto f = veth102->take()) got = *f;
    return !got.empty();
  }));
  EXPECT_EQ(got, frame(0x0a000066));
  ASSERT_TRUE(wait_until([&] { return veth200->take().has_value(); }));
  EXPECT_FALSE(veth102->take().has_value());

  // Idle: the thread sleeps rather than spins.
  ASSERT_TRUE(wait_until([&] { return thread.stats().sleeps.get() >= 3; }));

  // A change while the thread runs is in force once apply returns.
  flowtable::FlowMod del{flowtable::FlowModCommand::del, {}};
  del.rule.table = flowtable::kAllTables;
  vmbr0.apply_flows(std::vector<flowtable::FlowMod>{del});
  ASSERT_TRUE(nm_privacy->inject(frame(0x0a000066)));
  ASSERT_TRUE(wait_until([&] { return thread.stats().dropped(Drop::no_match) >= 1; }));
  EXPECT_FALSE(veth102->take().has_value());
  thread.stop();
}

}  // namespace
}  // namespace sockswitch::dataplane
