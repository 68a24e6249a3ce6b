// tests/control/reload_settings_test.cc: every setting a reload names is applied or refused.
//
// Plan. An in-process control::Switch on pcap and patch ports (no devices,
// no root), reloaded with edited configs. Verify: a new MAC table size and
// aging take effect (show); changing one side of a patch pair replaces the
// pair instead of being refused for a missing peer; a poll thread pinned to
// a CPU the machine lacks is refused and the running switch stays as it
// was; a reload with no change changes nothing, counters included.
#include <gtest/gtest.h>

#include <string>

#include "control/config.h"
#include "control/switch.h"

namespace sockswitch::test {
namespace {

std::string config_text(const std::string& bridge_extra, const std::string& p0_extra,
                        const std::string& head = "") {
  return head + R"([[bridge]]
name = "br0"
flow = ["actions=normal"]
)" + bridge_extra +
         R"([[bridge.port]]
name = "a"
driver = "pcap"
[[bridge.port]]
name = "p0"
driver = "patch"
peer = "p1"
)" + p0_extra +
         R"([[bridge]]
name = "br1"
flow = ["actions=normal"]
[[bridge.port]]
name = "p1"
driver = "patch"
peer = "p0"
[[bridge.port]]
name = "b"
driver = "pcap"
)";
}

control::Config parse(const std::string& text) {
  return control::parse_config(text, "<reload>");
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(ReloadSettings, MacTableSizeAndAgingAreApplied) {
  control::Switch sw(parse(config_text("", "")));
  EXPECT_TRUE(contains(sw.show(), "bridge br0: 1 flows; MAC table of 8192 entries, aging 300 s"))
      << sw.show();
  sw.reload(parse(config_text("mac_aging = 60\nmac_table_size = 1024\n", "")));
  EXPECT_TRUE(contains(sw.show(), "bridge br0: 1 flows; MAC table of 1024 entries, aging 60 s"))
      << sw.show();
  EXPECT_TRUE(contains(sw.show(), "bridge br1: 1 flows; MAC table of 8192 entries, aging 300 s"))
      << "the other bridge is untouched\n"
      << sw.show();
}

TEST(ReloadSettings, ChangingOneSideOfAPatchPairReplacesThePair) {
  control::Switch sw(parse(config_text("", "")));
  sw.reload(parse(config_text("", "no_flood = true\n")));
  const std::string show = sw.show();
  EXPECT_TRUE(contains(show, "port 2 (patch): p0 up")) << show;
  EXPECT_TRUE(contains(show, "port 1 (patch): p1 up")) << show;
  EXPECT_EQ(sw.config().bridges.size(), 0u) << "running bridges keep their own config";
}

TEST(ReloadSettings, APollThreadOnACpuTheMachineLacksIsRefusedAndNothingChanges) {
  const std::string one_thread = "[[poll_thread]]\nbridges = []\n";
  control::Switch sw(parse(config_text("", "", one_thread)));
  const std::string before = sw.show();
  EXPECT_THROW(sw.reload(parse(config_text("mac_aging = 60\n", "no_flood = true\n",
                                           "[[poll_thread]]\ncpu = 1000\nbridges = []\n"))),
               std::invalid_argument);
  const std::string after = sw.show();
  EXPECT_TRUE(contains(after, "aging 300 s")) << after;
  EXPECT_EQ(before.substr(0, before.find("control:")), after.substr(0, after.find("control:")));
}

}  // namespace
}  // namespace sockswitch::test
