// tests/control/trace_differential_test.cc: sockswitch's trace verdict against
// ovs-vswitchd's `ofproto/trace`, packet by packet.
//
// Plan. Configure: a private ovsdb-server and ovs-vswitchd (userspace
// `netdev` datapath) in a namespace; for each flow table, one bridge whose
// ports (veths) are named and numbered as the table's, the table installed
// with ovs-ofctl. The tables: the four seed tables, and generated ones with
// rewrites, VLAN actions, dec_ttl, NORMAL and resubmit chains. Send: for
// each table, packet descriptions built from the values its flows name, to
// ovs-vswitchd's `ofproto/trace` (on its unixctl socket, as ovs-appctl)
// and to sockswitch's offline trace (the dataplane's executor). Verify: the
// same output ports, or both drop, for every packet; each difference is
// printed with both traces.
//
// Documented differences, left out of the comparison: OVS bridges have a
// local port (the bridge's own interface), which NORMAL and FLOOD reach;
// sockswitch bridges do not, so OVS's outputs to it are dropped before
// comparing. Equal-priority overlaps are left to the seed tables, where
// both are expected to let the flow added first win.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <future>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "control/flow_trace.h"
#include "control/ovsdb/json_stream.h"
#include "flowtable/flow_parser.h"
#include "flowtable/flow_table.h"
#include "ports/fd.h"
#include "tests/control/config_dir.h"
#include "tests/control/ovsdb_server.h"
#include "tests/control/vswitchd.h"
#include "tests/net/netns.h"
#include "tests/net/require_netns.h"
#include "tests/net/skip.h"

namespace sockswitch::test {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kPacketsPerTable = 430;  // 3 010 packets over the seven tables

struct Table {
  std::string name;
  std::vector<std::string> ports;  // numbered 1, 2, ... in this order
  std::string flows;
};

std::string read_config(const std::string& file) {
  std::ifstream in(std::string(SOCKSWITCH_SOURCE_DIR) + "/configs/" + file);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<Table> seed_tables() {
  return {
      {"vps", {"nm-server", "warp0", "veth102"}, read_config("vps-socket.flows")},
      {"home",
       {"nm-privacy", "veth200", "veth201", "veth202", "veth203", "veth204"},
       read_config("oo1424oo-socket.flows")},
      {"mesh",
       {"nm-privacy", "to-privacy", "veth200", "veth201"},
       read_config("oo1424oo-dual-mesh.flows")},
      {"vmbr0",
       {"from-mesh", "warp0", "veth100", "veth102"},
       read_config("oo1424oo-dual-vmbr0.flows")},
  };
}

// Tables 0..3, each flow with its own priority (overlaps of equal priority
// are where OpenFlow leaves the winner open); resubmits only go forward.
Table generated_table(int n, std::mt19937& rng) {
  auto pick = [&](auto const& v) {
    return v[std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng)];
  };
  auto chance = [&](int percent) {
    return std::uniform_int_distribution<int>(0, 99)(rng) < percent;
  };
  const std::vector<std::string> ports{"p1", "p2", "p3", "p4"};
  const std::vector<std::string> vlans{"5", "10"};
  const std::vector<std::string> nets{"10.0.0.0/8", "10.1.0.0/16", "10.1.2.3", "192.168.0.0/24"};
  const std::vector<std::string> tps{"22", "53", "443"};
  std::string flows;
  for (int table = 0; table < 4; ++table) {
    std::set<int> priorities;
    for (int i = 0; i < 12; ++i) {
      int priority;
      do {
        priority = std::uniform_int_distribution<int>(1, 500)(rng);
      } while (!priorities.insert(priority).second);
      std::string match;
      if (chance(40)) match += ",in_port=" + pick(ports);
      if (chance(25)) match += ",dl_vlan=" + pick(vlans);
      const bool ip = chance(60);
      std::string proto;
      if (ip) {
        proto = pick(std::vector<std::string>{"ip", "tcp", "udp"});
        match += "," + proto;
        if (chance(50)) match += ",nw_dst=" + pick(nets);
        if (proto != "ip" && chance(50)) match += ",tp_dst=" + pick(tps);
      }
      std::vector<std::string> actions;
      const int count = std::uniform_int_distribution<int>(0, 3)(rng);
      for (int a = 0; a < count; ++a) {
        switch (std::uniform_int_distribution<int>(0, 9)(rng)) {
          case 0:
            actions.push_back("output:" + pick(ports));
            break;
          case 1:
            actions.push_back("mod_vlan_vid:" + pick(vlans));
            break;
          case 2:
            actions.push_back("strip_vlan");
            break;
          case 3:
            if (ip) actions.push_back("mod_nw_dst:10.1.2.3");
            break;
          case 4:
            if (ip) actions.push_back("dec_ttl");
            break;
          case 5:
            if (table < 3) actions.push_back(fmt::format("resubmit(,{})", table + 1));
            break;
          case 6:
            actions.push_back("NORMAL");
            break;
          case 7:
            actions.push_back("in_port");
            break;
          case 8:
            if (proto == "tcp" || proto == "udp") actions.push_back("mod_tp_dst:443");
            break;
          default:
            actions.push_back("output:" + pick(ports));
            break;
        }
      }
      std::string list;
      for (const std::string& a : actions)
        list += (list.empty() ? "" : ",") + a;
      flows += fmt::format("table={},priority={}{},actions={}\n", table, priority, match,
                           list.empty() ? "drop" : list);
    }
  }
  return {"gen" + std::to_string(n), ports, flows};
}

// Packet descriptions from the values the table's flows name, all fields
// given (TTL, addresses, ports: the two traces' defaults differ).
std::vector<std::string> packets_for(const Table& t, std::size_t count, std::mt19937& rng) {
  std::map<std::string, std::vector<std::string>> seen{
      {"nw_dst", {"10.9.9.9"}}, {"nw_src", {"10.8.8.8"}}, {"tp_dst", {"9999"}},
      {"tp_src", {"40000"}},    {"dl_vlan", {}},
  };
  // (No std::regex: g++ 12 warns inside it under -fsanitize.)
  for (const std::string name : {"nw_dst", "nw_src", "tp_dst", "tp_src", "arp_tpa", "dl_vlan"}) {
    const std::string key = name + "=";
    for (auto at = t.flows.find(key); at != std::string::npos; at = t.flows.find(key, at + 1)) {
      const std::size_t from = at + key.size();
      std::size_t end = from;
      while (end < t.flows.size() &&
             (std::isdigit(static_cast<unsigned char>(t.flows[end])) || t.flows[end] == '.'))
        ++end;
      if (end > from)
        seen[name == "arp_tpa" ? "nw_dst" : name].push_back(t.flows.substr(from, end - from));
    }
  }
  auto pick = [&](const std::vector<std::string>& v) {
    return v[std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng)];
  };
  std::vector<std::string> packets;
  for (std::size_t i = 0; i < count; ++i) {
    std::string p = "in_port=" + pick(t.ports) + ",dl_src=02:00:00:00:00:01,dl_dst=" +
                    pick(std::vector<std::string>{"02:00:00:00:00:02", "ff:ff:ff:ff:ff:ff"});
    if (!seen["dl_vlan"].empty() && rng() % 3 == 0) p += ",dl_vlan=" + pick(seen["dl_vlan"]);
    const std::string proto = pick(std::vector<std::string>{"tcp", "udp", "icmp", "arp"});
    if (proto == "arp") {
      p += ",arp,arp_op=1,arp_spa=" + pick(seen["nw_src"]) + ",arp_tpa=" + pick(seen["nw_dst"]);
    } else {
      p += "," + proto + ",nw_src=" + pick(seen["nw_src"]) + ",nw_dst=" + pick(seen["nw_dst"]) +
           ",nw_ttl=" + pick(std::vector<std::string>{"1", "64"});
      if (proto == "icmp")
        p += ",icmp_type=8,icmp_code=0";
      else
        // OVS's exact-flow parser takes tp_src as tcp_src: name them per protocol.
        p += "," + proto + "_src=" + pick(seen["tp_src"]) + "," + proto +
             "_dst=" + pick(seen["tp_dst"]);
    }
    packets.push_back(std::move(p));
  }
  return packets;
}

// ovs-vswitchd's unixctl socket spoken directly: JSON-RPC 1.0, what
// ovs-appctl sends. A process per trace costs tens of milliseconds; a
// request on an open connection, well under one.
class Unixctl final {
 public:
  explicit Unixctl(const std::string& path)
      : fd_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    if (::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("cannot connect to " + path);
  }

  // The command's reply text (its error text when it failed); "" when no
  // whole reply came within 5 s.
  std::string call(const std::string& method, const std::vector<std::string>& params) {
    const std::string request =
        nlohmann::json{{"method", method}, {"params", params}, {"id", next_id_++}}.dump();
    for (std::size_t sent = 0; sent < request.size();) {
      const ssize_t n =
          ::send(fd_.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return "";
      sent += static_cast<std::size_t>(n);
    }
    // The same framing as OVSDB's: objects back to back on the stream.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    std::optional<nlohmann::json> reply;
    while (!(reply = stream_.next())) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{.fd = fd_.get(), .events = POLLIN, .revents = 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return "";
      char chunk[65536];
      const ssize_t n = ::read(fd_.get(), chunk, sizeof chunk);
      if (n <= 0) return "";
      stream_.feed(std::string_view(chunk, static_cast<std::size_t>(n)));
    }
    const nlohmann::json& j = *reply;
    for (const char* key : {"result", "error"})
      if (j.contains(key) && j[key].is_string()) return j[key].get<std::string>();
    return j.dump();
  }

 private:
  ports::Fd fd_;
  control::ovsdb::JsonStream stream_;
  int next_id_ = 0;
};

class OvsBridge final {
 public:
  OvsBridge(const OvsdbServer& db, const Vswitchd& vswitchd, const Table& t,
            const std::string& file)
      : db_(db), vswitchd_(vswitchd), name_(t.name) {
    std::vector<std::string> cmd{
        "add-br", name_, "--", "set", "bridge", name_, "datapath_type=netdev", "fail-mode=secure"};
    for (std::size_t i = 0; i < t.ports.size(); ++i) {
      for (const std::string& w : {std::string("--"), std::string("add-port"), name_, t.ports[i],
                                   std::string("--"), std::string("set"), std::string("Interface"),
                                   t.ports[i], "ofport_request=" + std::to_string(i + 1)})
        cmd.push_back(w);
    }
    (void)db_.vsctl_ok(cmd);
    const net::CommandResult add = net::run_command(
        {"ovs-ofctl", "add-flows", "unix:" + db_.dir() + "/" + name_ + ".mgmt", file}, 10s);
    EXPECT_TRUE(add.ok()) << add.output;
    const std::string dpif =
        net::run_command({"ovs-appctl", "-t", vswitchd_.control(), "dpif/show"}, 5s).output;
    // "    p1 1/3: (system)": name, OpenFlow port / datapath port.
    std::istringstream lines(dpif);
    for (std::string line; std::getline(lines, line);) {
      std::istringstream words(line);
      std::string name, numbers;
      if (!(words >> name >> numbers)) continue;
      const auto slash = numbers.find('/'), colon = numbers.find(':');
      if (slash == std::string::npos || colon == std::string::npos || colon < slash) continue;
      by_odp_[numbers.substr(slash + 1, colon - slash - 1)] = name;
    }
  }
  ~OvsBridge() { (void)db_.vsctl({"del-br", name_}); }

  // The output ports of `packet`'s datapath actions, sorted, without the
  // bridge's own port; the whole trace in `text`.
  std::vector<std::string> outputs(Unixctl& ovs, const std::string& packet,
                                   std::string& text) const {
    text = ovs.call("ofproto/trace", {name_, packet});
    const auto at = text.find("Datapath actions: ");
    std::vector<std::string> out;
    if (at == std::string::npos) {
      out.push_back("<no datapath actions>");
      return out;
    }
    const std::string actions = text.substr(at + 18, text.find('\n', at) - at - 18);
    int depth = 0;
    std::string token;
    auto take = [&] {
      if (!token.empty() && std::all_of(token.begin(), token.end(), ::isdigit)) {
        const auto it = by_odp_.find(token);
        const std::string name = it == by_odp_.end() ? "odp:" + token : it->second;
        if (name != name_) out.push_back(name);
      }
      token.clear();
    };
    for (char c : actions) {
      if (c == '(') ++depth;
      if (c == ')') --depth;
      if (c == ',' && depth == 0) {
        take();
        continue;
      }
      token += c;
    }
    take();
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  const OvsdbServer& db_;
  const Vswitchd& vswitchd_;
  std::string name_;
  std::map<std::string, std::string> by_odp_;
};

// The table installed once, traced by the dataplane's executor per packet.
class OurBridge final {
 public:
  explicit OurBridge(const Table& t) {
    for (std::size_t i = 0; i < t.ports.size(); ++i)
      ports_.add(t.ports[i], flowtable::PortNo{static_cast<std::uint32_t>(i + 1)});
    const flowtable::FlowFile file = flowtable::parse_flow_file(t.flows, t.name, ports_);
    EXPECT_TRUE(file.errors.empty()) << (file.errors.empty() ? "" : file.errors[0].what());
    std::vector<flowtable::FlowMod> mods;
    for (const flowtable::ParsedFlow& f : file.flows)
      mods.push_back({flowtable::FlowModCommand::add, f.rule});
    table_.apply(mods);
  }

  std::vector<std::string> outputs(const std::string& packet, std::string& text) {
    dataplane::MacLearningTable mac;  // empty for every packet, as OVS's trace leaves its own
    const dataplane::BridgeSnapshot bridge =
        control::offline_snapshot(table_.current(), ports_, mac);
    const flowtable::FlowRule p =
        flowtable::parse_flow(packet, ports_, flowtable::FlowSyntax::packet);
    const control::TraceResult result = control::trace_packet(bridge, p.match);
    text = control::trace_text(result, *table_.current(), ports_);
    std::vector<std::string> out;
    for (const dataplane::TraceEvent& e : result.events)
      if (e.kind == dataplane::TraceEvent::Kind::output)
        out.push_back(std::string(*ports_.name_of(e.port)));
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  flowtable::PortMap ports_;
  flowtable::FlowTable table_;
};

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v)
    s += (s.empty() ? "" : ",") + x;
  return s.empty() ? "drop" : s;
}

TEST(TraceDifferential, EveryPacketLeavesByTheSamePortsAsInOvsVswitchd) {
  SOCKSWITCH_REQUIRE_NETNS();
  if (const auto why = OvsdbServer::skip_reason()) SOCKSWITCH_SKIP(*why);
  if (::access(kVswitchd, X_OK) != 0) SOCKSWITCH_SKIP(std::string(kVswitchd) + " is missing");
  OvsdbServer db;
  net::NetNamespace ns;
  std::mt19937 rng(20261207);
  std::vector<Table> tables = seed_tables();
  for (int i = 0; i < 3; ++i)
    tables.push_back(generated_table(i, rng));
  std::set<std::string> devices;
  for (const Table& t : tables)
    for (const std::string& p : t.ports)
      if (devices.insert(p).second) {
        net::run_checked({"ip", "-n", ns.name(), "link", "add", p, "type", "veth", "peer", "name",
                          "x" + std::to_string(devices.size())});
        net::run_checked({"ip", "-n", ns.name(), "link", "set", p, "up"});
      }
  Vswitchd vswitchd(ns, db);
  ConfigDir dir{{}};

  std::size_t compared = 0, differ = 0;
  for (const Table& t : tables) {
    SCOPED_TRACE(t.name);
    dir.write(t.name + ".flows", t.flows);
    OvsBridge ovs(db, vswitchd, t, dir.path(t.name + ".flows"));
    OurBridge ours_bridge(t);
    const std::vector<std::string> packets = packets_for(t, kPacketsPerTable, rng);
    // Two connections, two at a time (the machine's cores).
    struct Answer {
      std::vector<std::string> outputs;
      std::string text;
    };
    auto ask_ovs = [&](std::size_t from, std::size_t to) {
      Unixctl channel(vswitchd.control());
      std::vector<Answer> answers;
      for (std::size_t i = from; i < to; ++i) {
        Answer a;
        a.outputs = ovs.outputs(channel, packets[i], a.text);
        answers.push_back(std::move(a));
      }
      return answers;
    };
    const std::size_t half = packets.size() / 2;
    auto first = std::async(std::launch::async, ask_ovs, 0, half);
    std::vector<Answer> theirs_all = ask_ovs(half, packets.size());
    std::vector<Answer> head = first.get();
    theirs_all.insert(theirs_all.begin(), std::make_move_iterator(head.begin()),
                      std::make_move_iterator(head.end()));
    for (std::size_t i = 0; i < packets.size(); ++i) {
      const std::string& packet = packets[i];
      std::string ours_text;
      const auto ours = ours_bridge.outputs(packet, ours_text);
      const auto& theirs = theirs_all[i].outputs;
      const std::string& theirs_text = theirs_all[i].text;
      ++compared;
      if (ours == theirs) continue;
      if (++differ <= 5)
        ADD_FAILURE() << "table " << t.name << ", packet " << packet
                      << "\n  sockswitch: " << joined(ours) << "\n  OVS:        " << joined(theirs)
                      << "\n--- sockswitch\n"
                      << ours_text << "--- OVS\n"
                      << theirs_text << "--- flows\n"
                      << t.flows;
    }
  }
  EXPECT_EQ(differ, 0u) << "of " << compared << " packets";
  EXPECT_EQ(compared, tables.size() * kPacketsPerTable);
}

}  // namespace
}  // namespace sockswitch::test
