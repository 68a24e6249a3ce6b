// tests/control/reload_torture_test.cc: 200 random config edits, each equal to a fresh start.
//
// Plan. A running control::Switch (pcap and patch ports: no devices, no
// root) is reloaded 200 times with random edits of one config: ports come
// and go, change their options and numbers, a patch pair appears, changes
// one side or goes, a bridge comes and goes, MAC table settings and flows
// change, poll threads are re-pinned or re-assigned. One edit in five is broken: a file the loader
// refuses, or a poll thread on a CPU the machine lacks, which only the
// reload can refuse. Verify after each: a good edit leaves `show` and
// `dump-flows` equal to those of a fresh switch built from the same file;
// a broken one is refused and leaves them exactly as they were. Under
// AddressSanitizer (make test) this is also the use-after-free check of
// every reload path.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "control/config.h"
#include "control/switch.h"
#include "tests/control/flow_dump.h"

namespace sockswitch::test {
namespace {

// What a fresh start and a reload must agree on: ports, numbers, links,
// MAC settings and flows, not counters or thread statistics. Flows as a
// sorted set: among equal priorities a flow that stays keeps its place
// before newer ones, where a fresh start lists them in file order (which
// decides only between overlapping flows of equal priority, the case
// `flows check` warns about).
std::string state(control::Switch& sw) {
  const std::string show = sw.show();
  std::string out = show.substr(0, show.find("control:"));
  for (const std::string b : {"br0", "br1", "br2"}) {
    if (!sw.running_config().bridge(b)) continue;
    std::vector<std::string> lines;
    std::istringstream dump(without_durations(sw.dump_flows(b)));
    for (std::string line; std::getline(dump, line);)
      lines.push_back(line);
    std::sort(lines.begin(), lines.end());
    for (const std::string& l : lines)
      out += b + l + "\n";
  }
  return out;
}

struct Edit {
  std::string text;
  bool broken = false;
};

class ConfigGenerator {
 public:
  explicit ConfigGenerator(unsigned seed) : rng_(seed) {}

  Edit next() {
    Edit e;
    const bool patch = coin(2);
    const bool two_threads = coin(4);
    e.broken = coin(5);
    const int broken_kind = pick(4);
    if (two_threads || (e.broken && broken_kind == 3)) {
      const bool bad_cpu = e.broken && broken_kind == 3;
      e.text += fmt::format("[[poll_thread]]\nbridges = [\"br0\"]\n{}", bad_cpu   ? "cpu = 1000\n"
                                                                        : coin(2) ? "cpu = 0\n"
                                                                                  : "");
      e.text += "[[poll_thread]]\nbridges = [\"br1\"]\n";
    }
    // A third bridge comes and goes (with the default thread only: the
    // two-thread layout names br0 and br1).
    const bool third = !two_threads && !(e.broken && broken_kind == 3) && coin(2);
    for (int b = 0; b < (third ? 3 : 2); ++b) {
      // TOML: the bridge's own keys come before its [[bridge.port]] tables.
      std::string ports;
      std::vector<std::string> names;
      for (int p = 0; p < 4; ++p) {
        if (!coin(2)) continue;
        const std::string name = fmt::format("b{}p{}", b, p);
        names.push_back(name);
        ports += fmt::format("[[bridge.port]]\nname = \"{}\"\ndriver = \"pcap\"\n", name);
        if (coin(4)) ports += fmt::format("ofport = {}\n", 10 + p + 10 * b);
        if (coin(3)) ports += "no_flood = true\n";
      }
      if (patch && b < 2) {
        ports += fmt::format("[[bridge.port]]\nname = \"patch{}\"\ndriver = \"patch\"\n", b);
        ports += fmt::format("peer = \"patch{}\"\n", 1 - b);
        if (coin(3)) ports += "no_flood = true\n";
        names.push_back(fmt::format("patch{}", b));
      }
      e.text += fmt::format("[[bridge]]\nname = \"br{}\"\n", b);
      if (coin(3)) e.text += fmt::format("mac_aging = {}\n", 30 + pick(600));
      if (coin(3)) e.text += fmt::format("mac_table_size = {}\n", 16 << pick(8));
      e.text += "flow = [\"priority=1,actions=normal\"";
      for (const std::string& n : names)
        if (coin(2))
          e.text += fmt::format(", \"priority={},in_port={},actions={}\"", 100 + pick(3), n,
                                coin(2) ? "drop" : "normal");
      if (coin(2)) e.text += fmt::format(", \"priority=50,udp,tp_dst={},actions=drop\"", pick(3));
      e.text += "]\n" + ports;
    }
    if (e.broken) {
      if (broken_kind == 0) e.text += "[[bridge]]\nname = \"br0\"\n";  // a second br0
      if (broken_kind == 1) e.text += "bogus_key = 1\n";
      if (broken_kind == 2)
        e.text +=
            "[[bridge]]\nname = \"br2\"\nflow = [\"priority=5,in_port=nosuch,actions=drop\"]\n";
    }
    return e;
  }

 private:
  bool coin(int one_in) { return pick(one_in) == 0; }
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  std::mt19937 rng_;
};

TEST(ReloadTorture, TwoHundredRandomEditsEachEqualAFreshStartOrChangeNothing) {
  ConfigGenerator gen(20261206);
  Edit first = gen.next();
  while (first.broken)
    first = gen.next();
  control::Switch sw(control::parse_config(first.text, "torture.toml"));
  std::size_t applied = 0, refused = 0, bridge_set_changes = 0;
  for (int i = 0; i < 200; ++i) {
    const Edit e = gen.next();
    const std::string before = state(sw);
    const std::size_t bridges_before = sw.running_config().bridges.size();
    bool ok = true;
    try {
      sw.reload(control::parse_config(e.text, "torture.toml"));
    } catch (const std::exception& ex) {
      ok = false;
      EXPECT_TRUE(e.broken) << "edit " << i << " refused: " << ex.what() << "\n" << e.text;
    }
    if (!ok) {
      ++refused;
      EXPECT_EQ(state(sw), before) << "a refused edit changed something (edit " << i << ")\n"
                                   << e.text;
      continue;
    }
    EXPECT_FALSE(e.broken) << "edit " << i << " was accepted:\n" << e.text;
    ++applied;
    bridge_set_changes += sw.running_config().bridges.size() != bridges_before;
    control::Switch fresh(control::parse_config(e.text, "torture.toml"));
    EXPECT_EQ(state(sw), state(fresh)) << "edit " << i << "\n" << e.text;
    if (::testing::Test::HasFailure()) break;  // one diff says enough
  }
  EXPECT_GT(applied, 100u);
  EXPECT_GT(refused, 20u);
  EXPECT_GT(bridge_set_changes, 20u);
}

}  // namespace
}  // namespace sockswitch::test
