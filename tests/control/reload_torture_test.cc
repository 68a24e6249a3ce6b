// tests/control/reload_torture_test.cc: 200 random config edits, each equal to a fresh start.
//
// Plan. A running control::Switch (pcap and patch ports: no devices, no
// root) is reloaded 200 times with random edits of one config: ports come
// and go, change their options and numbers, a patch pair appears, changes
// one side or goes, a bridge comes and goes, MAC table settings and flows
// change, poll threads are re-pinned or re-assigned. One edit in five is broken: a file the loader
// refuses, or a poll thread on a CPU the machine lacks, which only the
// reload can refuse. All the while, traffic runs through a flow every
// edit keeps: br0's `src` replays a capture forever, and
// `in_port=src,actions=output:sink` carries it to `sink`. Verify after
// each: a good edit leaves `show` and `dump-flows` (counters aside) equal
// to those of a fresh switch built from the same file; a broken one is
// refused and leaves them exactly as they were; and at the end every frame
// `src` received has left through `sink` (but for the one burst a poll
// thread may hold between the two counters). Under AddressSanitizer (make
// test) this is also the use-after-free check of every reload path.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <pcap/pcap.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "control/config.h"
#include "control/switch.h"
#include "packet/burst.h"
#include "tests/control/flow_dump.h"

namespace sockswitch::test {
namespace {

// What a fresh start and a reload must agree on: ports, numbers, links,
// MAC settings and flows, not counters or thread statistics. Flows as a
// sorted set: among equal priorities a flow that stays keeps its place
// before newer ones, where a fresh start lists them in file order (which
// decides only between overlapping flows of equal priority, the case
// `flows check` warns about).
std::string without_counters(std::string dump) {
  for (const std::string key : {"n_packets=", "n_bytes="}) {
    for (std::size_t at = dump.find(key); at != std::string::npos; at = dump.find(key, at)) {
      const std::size_t end = dump.find(", ", at);
      if (end == std::string::npos) break;
      dump.erase(at, end + 2 - at);
    }
  }
  return dump;
}

std::string state(control::Switch& sw) {
  const std::string show = sw.show();
  std::string out = show.substr(0, show.find("control:"));
  for (const std::string b : {"br0", "br1", "br2"}) {
    if (!sw.running_config().bridge(b)) continue;
    std::vector<std::string> lines;
    std::istringstream dump(without_counters(without_durations(sw.dump_flows(b))));
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
  ConfigGenerator(unsigned seed, std::string frames) : rng_(seed), frames_(std::move(frames)) {}

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
      if (b == 0) {  // the traffic's path, in every edit
        e.text += ", \"priority=1000,in_port=src,actions=output:sink\"";
        ports += fmt::format(
            "[[bridge.port]]\nname = \"src\"\ndriver = \"pcap\"\nofport = 100\n"
            "rx_pcap = \"{}\"\nrx_pcap_repeat = 0\n"
            "[[bridge.port]]\nname = \"sink\"\ndriver = \"pcap\"\nofport = 101\n",
            frames_);
      }
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
  std::string frames_;
};

// 32 UDP frames from one host to another, for `src` to replay.
std::string write_frames(const std::string& path) {
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
  pcap_dumper_t* out = pcap_dump_open(dead, path.c_str());
  if (out == nullptr) throw std::runtime_error(pcap_geterr(dead));
  for (std::uint8_t i = 0; i < 32; ++i) {
    std::uint8_t frame[60] = {0x02, 0,    0,    0, 0, 0x02, 0x02, 0, 0, 0, 0,  0x01,
                              0x08, 0x00, 0x45, 0, 0, 46,   0,    i, 0, 0, 64, 17};
    frame[26] = 10, frame[29] = 1, frame[30] = 10, frame[33] = 2;  // 10.0.0.1 -> 10.0.0.2
    frame[35] = 9, frame[37] = 9, frame[39] = 26;                  // UDP 9 -> 9, 26 bytes
    pcap_pkthdr h{};
    h.caplen = h.len = sizeof frame;
    pcap_dump(reinterpret_cast<u_char*>(out), &h, frame);
  }
  pcap_dump_close(out);
  pcap_close(dead);
  return path;
}

ports::PortCounters counters(control::Switch& sw, const std::string& port) {
  for (const auto& p : sw.port_statuses("br0"))
    if (p.name == port) return p.counters;
  throw std::runtime_error("no port " + port);
}

TEST(ReloadTorture, TwoHundredRandomEditsEachEqualAFreshStartOrChangeNothing) {
  const std::string frames = write_frames(
      (std::filesystem::temp_directory_path() / fmt::format("torture-{}.pcap", ::getpid()))
          .string());
  ConfigGenerator gen(20261206, frames);
  Edit first = gen.next();
  while (first.broken)
    first = gen.next();
  control::Switch sw(control::parse_config(first.text, "torture.toml"));
  const std::uint64_t received_before = counters(sw, "src").rx_packets;
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
  // The receive counter first: whatever is forwarded after it is read
  // only adds to the transmit side.
  const std::uint64_t received = counters(sw, "src").rx_packets;
  const std::uint64_t sent = counters(sw, "sink").tx_dropped;  // no tx file: counted, dropped
  EXPECT_GT(received - received_before, 10'000u) << "too little traffic during the edits";
  EXPECT_LE(received, sent + packet::kBurstSize)
      << received - sent << " frames of the unchanged flow were lost";
  std::filesystem::remove(frames);
  EXPECT_GT(applied, 100u);
  EXPECT_GT(refused, 20u);
  EXPECT_GT(bridge_set_changes, 20u);
}

}  // namespace
}  // namespace sockswitch::test
