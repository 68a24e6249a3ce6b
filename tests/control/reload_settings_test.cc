// tests/control/reload_settings_test.cc: every setting a reload names is applied or refused.
//
// Plan. An in-process control::Switch on pcap and patch ports (no devices,
// no root), reloaded with edited configs. Verify: a new MAC table size and
// aging take effect (show); changing one side of a patch pair replaces the
// pair instead of being refused for a missing peer; a poll thread pinned to
// a CPU the machine lacks is refused and the running switch stays as it
// was; a reload with no change changes nothing, counters included; a
// failure while checking or opening (a missing CPU, a capture that cannot
// open for a new or a changed port) changes nothing either.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "control/config.h"
#include "control/switch.h"
#include "tests/control/flow_dump.h"
#include "tests/net/command.h"

namespace sockswitch::test {
namespace {

std::string settings_config_text(const std::string& bridge_extra, const std::string& p0_extra,
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

control::Config parse_settings(const std::string& text) {
  return control::parse_config(text, "<reload>");
}

using net::contains;

TEST(ReloadSettings, MacTableSizeAndAgingAreApplied) {
  control::Switch sw(parse_settings(settings_config_text("", "")));
  EXPECT_TRUE(contains(sw.show(), "bridge br0: 1 flows; MAC table of 8192 entries, aging 300 s"))
      << sw.show();
  sw.reload(parse_settings(settings_config_text("mac_aging = 60\nmac_table_size = 1024\n", "")));
  EXPECT_TRUE(contains(sw.show(), "bridge br0: 1 flows; MAC table of 1024 entries, aging 60 s"))
      << sw.show();
  EXPECT_TRUE(contains(sw.show(), "bridge br1: 1 flows; MAC table of 8192 entries, aging 300 s"))
      << "the other bridge is untouched\n"
      << sw.show();
}

TEST(ReloadSettings, ChangingOneSideOfAPatchPairReplacesThePair) {
  control::Switch sw(parse_settings(settings_config_text("", "")));
  sw.reload(parse_settings(settings_config_text("", "no_flood = true\n")));
  const std::string show = sw.show();
  EXPECT_TRUE(contains(show, "port 2 (patch): p0 up")) << show;
  EXPECT_TRUE(contains(show, "port 1 (patch): p1 up")) << show;
  EXPECT_EQ(sw.config().bridges.size(), 0u) << "running bridges keep their own config";
}

TEST(ReloadSettings, APollThreadOnACpuTheMachineLacksIsRefusedAndNothingChanges) {
  const std::string one_thread = "[[poll_thread]]\nbridges = []\n";
  control::Switch sw(parse_settings(settings_config_text("", "", one_thread)));
  const std::string before = sw.show();
  EXPECT_THROW(
      sw.reload(parse_settings(settings_config_text(
          "mac_aging = 60\n", "no_flood = true\n", "[[poll_thread]]\ncpu = 1000\nbridges = []\n"))),
      std::invalid_argument);
  const std::string after = sw.show();
  EXPECT_TRUE(contains(after, "aging 300 s")) << after;
  EXPECT_EQ(before.substr(0, before.find("control:")), after.substr(0, after.find("control:")));
}

// A reload is checked, then opens what is new, then commits: a failure in
// either of the first two phases must leave everything as it was, even when
// the same file also changes MAC settings and a patch pair that would have
// applied.
TEST(ReloadSettings, AFailureInEachPhaseBeforeTheCommitChangesNothing) {
  control::Switch sw(parse_settings(settings_config_text("", "")));
  auto state = [&] {
    const std::string show = sw.show();
    return show.substr(0, show.find("control:")) +
           without_durations(sw.dump_flows("br0") + sw.dump_flows("br1"));
  };
  const std::string before = state();
  const std::string changes = "mac_aging = 60\nmac_table_size = 1024\n";
  struct Failure {
    const char* phase;
    std::string text;
  };
  const std::vector<Failure> failures{
      {"checks: a CPU the machine lacks",
       settings_config_text(changes, "no_flood = true\n", "[[poll_thread]]\ncpu = 1000\n")},
      {"opening: a new port whose capture is missing",
       settings_config_text(changes,
                            "no_flood = true\n[[bridge.port]]\nname = \"c\"\ndriver = \"pcap\"\n"
                            "rx_pcap = \"/nonexistent/c.pcap\"\n")},
      {"opening: a changed port whose new capture is missing",
       [&] {
         std::string t = settings_config_text(changes, "no_flood = true\n");
         t.replace(t.find("name = \"a\"\ndriver = \"pcap\"\n"), 27,
                   "name = \"a\"\ndriver = \"pcap\"\nrx_pcap = \"/nonexistent/a.pcap\"\n");
         return t;
       }()},
  };
  for (const Failure& f : failures) {
    control::Config wanted = parse_settings(f.text);  // a good file: only the reload can refuse it
    EXPECT_ANY_THROW(sw.reload(std::move(wanted))) << f.phase;
    EXPECT_EQ(state(), before) << f.phase;
  }
  // And the same edits without the failure apply.
  sw.reload(parse_settings(settings_config_text(changes, "no_flood = true\n")));
  EXPECT_TRUE(contains(sw.show(), "aging 60 s")) << sw.show();
}

}  // namespace
}  // namespace sockswitch::test
