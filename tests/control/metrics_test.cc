// tests/control/metrics_test.cc: the Prometheus endpoint, scraped as Prometheus scrapes it.
//
// Plan. Configure: the daemon in a host namespace, two containers on it,
// a flow that counts ICMP and one that drops UDP to port 9; the metrics
// endpoint on its default address. Send: pings, UDP to the dropping flow,
// then HTTP requests over TCP from the host namespace: GET /metrics, and
// the ones that must be refused (another path, another method, garbage).
// Verify: every line of the answer is valid text exposition (HELP and TYPE
// before a family's samples, each family once, names and labels well
// formed); the port counters equal `ctl dump-ports`; the flow and drop
// series counted exactly the packets sent; NORMAL's table holds the two
// containers; thread 0 was busy a little; the refused requests get 404,
// 405 and 400, and the next scrape still works.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "tests/control/config_dir.h"
#include "tests/control/daemon_process.h"
#include "tests/control/switch_host.h"
#include "tests/net/require_netns.h"

namespace sockswitch::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kMetricsConfig = R"([[bridge]]
name = "br0"
flow = ["priority=10,actions=normal",
        "priority=20,icmp,actions=normal",
        "priority=30,udp,tp_dst=9,actions=drop"]
[[bridge.port]]
name = "pm1"
[[bridge.port]]
name = "pm2"
)";

// The raw HTTP answer to `request`, sent to the endpoint from the host namespace.
std::string http(const SwitchHost& host, const std::string& request) {
  const net::CommandResult r = host.ns().exec(
      {"bash", "-c",
       "exec 3<>/dev/tcp/127.0.0.1/9477 && printf '%b' \"$0\" >&3 && timeout 5 cat <&3", request},
      10s);
  return r.output;
}

bool valid_name(std::string_view n) {
  if (n.empty() || std::isdigit(static_cast<unsigned char>(n[0]))) return false;
  for (const char c : n)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != ':') return false;
  return true;
}

// Checks the text exposition format; returns the samples as "name{labels}" -> value.
std::map<std::string, double> parse_exposition(const std::string& body) {
  std::map<std::string, double> samples;
  std::set<std::string> typed, seen_families;
  std::string current;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    SCOPED_TRACE(line);
    if (line.starts_with("# HELP ")) continue;
    if (line.starts_with("# TYPE ")) {
      std::istringstream t(line.substr(7));
      std::string name, type;
      t >> name >> type;
      EXPECT_TRUE(valid_name(name));
      EXPECT_TRUE(type == "counter" || type == "gauge");
      EXPECT_TRUE(typed.insert(name).second) << "family declared twice";
      current = name;
      continue;
    }
    const std::size_t brace = line.find('{'), space = line.rfind(' ');
    if (space == std::string::npos) {
      ADD_FAILURE() << "a sample without a value";
      continue;
    }
    const std::string name = line.substr(0, std::min(brace, space));
    EXPECT_TRUE(valid_name(name));
    EXPECT_EQ(name, current) << "a sample outside its family";
    if (brace != std::string::npos) {
      const std::string labels = line.substr(brace, space - brace);
      EXPECT_EQ(labels.back(), '}');
      EXPECT_NE(labels.find("=\""), std::string::npos);
    }
    if (name.ends_with("_total")) {
      EXPECT_NE(typed.count(name), 0u);
    }
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

std::string body_of(const std::string& answer) {
  const std::size_t at = answer.find("\r\n\r\n");
  return at == std::string::npos ? "" : answer.substr(at + 4);
}

TEST(Metrics, AScrapeIsValidExpositionAndCountsWhatCrossedTheSwitch) {
  SOCKSWITCH_REQUIRE_NETNS();
  SwitchHost host;
  Container& a = host.plug("pm1", "10.68.0.1/24");
  host.plug("pm2", "10.68.0.2/24");
  ConfigDir dir({});
  dir.write("sw.toml", "control_socket = \"" + dir.path("ctl.sock") + "\"\n" + kMetricsConfig);
  DaemonProcess daemon(host.ns(), dir.path("sw.toml"), dir.path("ctl.sock"), dir.path("d.log"));
  ASSERT_TRUE(a.ns->exec({"ping", "-c", "4", "-i", "0.2", "-W", "1", "10.68.0.2"}, 10s).ok())
      << daemon.log();
  for (int i = 0; i < 3; ++i)
    (void)a.ns->exec({"bash", "-c", "echo x >/dev/udp/10.68.0.2/9"}, 2s);
  // The MAC table's counts are published once a second by its poll thread.
  std::this_thread::sleep_for(1200ms);

  const std::string answer = http(host, "GET /metrics HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n");
  ASSERT_TRUE(answer.starts_with("HTTP/1.1 200 OK")) << answer << daemon.log();
  EXPECT_NE(answer.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  const std::map<std::string, double> m = parse_exposition(body_of(answer));

  const std::string ports = daemon.ctl_ok({"dump-ports", "br0"});
  const auto rx = [&](const char* port) {
    return m.at(std::string("sockswitch_port_rx_packets_total{bridge=\"br0\",port=\"") + port +
                "\"}");
  };
  EXPECT_GE(rx("pm1"), 7);  // 4 echo requests, 3 UDP, ARP
  EXPECT_NE(ports.find(fmt::format("rx pkts={:.0f},", rx("pm1"))), std::string::npos)
      << ports << "\n(scraped " << rx("pm1") << ")";
  EXPECT_EQ(m.at("sockswitch_flow_packets_total{bridge=\"br0\",table=\"0\",priority=\"30\","
                 "cookie=\"0x0\",match=\"udp,tp_dst=9\"}"),
            3);
  EXPECT_EQ(m.at("sockswitch_dropped_packets_total{reason=\"action_drop\"}"), 3);
  EXPECT_EQ(m.at("sockswitch_flows{bridge=\"br0\"}"), 3);
  EXPECT_EQ(m.at("sockswitch_port_up{bridge=\"br0\",port=\"pm2\"}"), 1);
  EXPECT_GT(m.at("process_resident_memory_bytes"), 1e6);
  // NORMAL learned the two containers (nothing else sends into br0).
  EXPECT_EQ(m.at("sockswitch_mac_table_entries{bridge=\"br0\"}"), 2);
  EXPECT_EQ(m.at("sockswitch_mac_table_capacity{bridge=\"br0\"}"), 8192);
  EXPECT_EQ(m.at("sockswitch_mac_table_evictions_total{bridge=\"br0\"}"), 0);
  const double busy = m.at("sockswitch_poll_thread_busy_seconds_total{thread=\"0\"}");
  EXPECT_GT(busy, 0) << "the pings kept thread 0 busy for a while";
  EXPECT_LT(busy, 5) << "an idle thread is not busy";

  // What is not a scrape is refused, and the endpoint goes on.
  EXPECT_TRUE(http(host, "GET / HTTP/1.1\\r\\n\\r\\n").starts_with("HTTP/1.1 404"));
  EXPECT_TRUE(http(host, "POST /metrics HTTP/1.1\\r\\nContent-Length: 0\\r\\n\\r\\n")
                  .starts_with("HTTP/1.1 405"));
  EXPECT_TRUE(http(host, "\\x01\\x02 garbage\\r\\n\\r\\n").starts_with("HTTP/1.1 400"));
  EXPECT_TRUE(http(host, "GET /metrics HTTP/1.0\\r\\n\\r\\n").starts_with("HTTP/1.1 200"));
  const std::string show = daemon.ctl_ok({"show"});
  EXPECT_NE(show.find("metrics: http://127.0.0.1:9477/metrics; 2 scrapes, 3 requests refused"),
            std::string::npos)
      << show;
}

}  // namespace
}  // namespace sockswitch::test
