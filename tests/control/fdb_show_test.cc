// tests/control/fdb_show_test.cc: `ctl fdb-show` lists what NORMAL learned, as ovs-appctl fdb/show.
//
// Plan. Rootless: a bridge of two pcap ports whose first replays one
// broadcast frame from 02:00:00:00:00:01; the poll thread learns it, and
// fdb-show (through the control command, as `sockswitch ctl` sends it)
// prints exactly OVS's header and that one row. In namespaces: two
// containers on access ports of VLAN 10 ping each other; fdb-show then
// lists each container's own MAC on its own port in VLAN 10, young, and
// nothing else. An unknown bridge is refused.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "control/config.h"
#include "control/control_commands.h"
#include "control/switch.h"
#include "flowtable/value_text.h"
#include "tests/control/broadcast_pcap.h"
#include "tests/control/switch_host.h"
#include "tests/control/switch_thread.h"
#include "tests/net/require_netns.h"

namespace sockswitch::test {
namespace {

using namespace std::chrono_literals;

nlohmann::json fdb_show(control::Switch& sw, const std::string& bridge) {
  return control::run_control_command(sw, {{"command", "fdb-show"}, {"args", {bridge}}},
                                      [] { return std::string(); });
}

template <typename F>
bool eventually(F done) {
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

TEST(FdbShow, ListsALearnedAddressAsOvsDoes) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("fdb-show-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string frames = (dir / "p1.pcap").string();
  write_broadcast_pcap(frames);
  control::Switch sw(control::parse_config(fmt::format(R"([[bridge]]
name = "br"
flow = ["priority=10,actions=normal"]
[[bridge.port]]
name = "p1"
driver = "pcap"
rx_pcap = "{}"
[[bridge.port]]
name = "p2"
driver = "pcap"
)",
                                                       frames),
                                           "<fdb-show>"));
  std::string out;
  EXPECT_TRUE(eventually([&] {
    const nlohmann::json r = fdb_show(sw, "br");
    out = r.value("output", r.dump());
    return out.find("02:00:00:00:00:01") != std::string::npos;
  })) << out;
  EXPECT_TRUE(out ==
                  " port  VLAN  MAC                Age\n"
                  "    1     0  02:00:00:00:00:01    0\n" ||
              out ==
                  " port  VLAN  MAC                Age\n"
                  "    1     0  02:00:00:00:00:01    1\n")
      << out;

  const nlohmann::json refused = fdb_show(sw, "nope");
  EXPECT_FALSE(refused.value("ok", true)) << refused.dump();
  std::filesystem::remove_all(dir);
}

TEST(FdbShow, ContainersThatPingedAreListedOnTheirPortsInTheirVlan) {
  SOCKSWITCH_REQUIRE_NETNS();
  SwitchHost host;
  Container& a = host.plug("fda", "10.65.0.1/24");
  Container& b = host.plug("fdb", "10.65.0.2/24");
  SwitchThread sw(host.ns(), control::parse_config(R"([[bridge]]
name = "br0"
flow = ["actions=normal"]
[[bridge.port]]
name = "fda"
tag = 10
[[bridge.port]]
name = "fdb"
tag = 10
)",
                                                   "<fdb-show netns>"));
  bool pinged = false;
  for (int i = 0; i < 5 && !pinged; ++i)
    pinged = a.ns->exec({"ping", "-c", "1", "-W", "1", "10.65.0.2"}, 3s).ok();
  ASSERT_TRUE(pinged) << sw.call([](control::Switch& s) { return s.show(); });

  const std::string out = sw.call([](control::Switch& s) { return s.fdb_show("br0"); });
  const std::string header = " port  VLAN  MAC                Age\n";
  ASSERT_EQ(out.substr(0, header.size()), header) << out;
  const std::string row_a = fmt::format("    1    10  {}  ", flowtable::format_mac(a.mac()));
  const std::string row_b = fmt::format("    2    10  {}  ", flowtable::format_mac(b.mac()));
  EXPECT_NE(out.find(row_a), std::string::npos) << out;
  EXPECT_NE(out.find(row_b), std::string::npos) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 3) << "only the two containers:\n" << out;
  for (const std::string& row : {row_a, row_b}) {
    const std::size_t at = out.find(row);
    if (at == std::string::npos) continue;
    EXPECT_LE(std::stoi(out.substr(at + row.size(), 3)), 10) << out;
  }
}

}  // namespace
}  // namespace sockswitch::test
