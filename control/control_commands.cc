// control/control_commands.cc: the command table and its dispatch.
#include "control/control_commands.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <set>

#include <fmt/format.h>

#include "control/port_option_text.h"
#include "control/switch.h"
#include "flowtable/value_text.h"

namespace sockswitch::control {
namespace {

constexpr std::size_t kAny = SIZE_MAX;

constexpr std::array<ControlCommand, 27> kCommands{{
    {"show", "show", "bridges, ports, link states and poll-thread statistics", 0, 0},
    {"dump-flows", "dump-flows BRIDGE", "flows with counters and durations (ovs-ofctl style)", 1,
     1},
    {"dump-ports", "dump-ports BRIDGE", "per-port packet, byte, drop and error counters", 1, 1},
    {"fdb-show", "fdb-show BRIDGE", "the MAC addresses NORMAL has learned: port, VLAN, MAC, age", 1,
     1},
    {"add-flow", "add-flow BRIDGE FLOW", "add one flow", 2, 2},
    {"add-flows", "add-flows BRIDGE FILE", "add every flow of an add-flows file", 2, 2},
    {"del-flows", "del-flows BRIDGE [FLOW] [--strict]", "delete matching flows (all without FLOW)",
     1, 3},
    {"mod-flows", "mod-flows BRIDGE FLOW [--strict]",
     "set the actions of matching flows (cookie=V/M selects); their counters stay", 2, 3},
    {"replace-flows", "replace-flows BRIDGE FILE",
     "make the table equal to FILE in one change; unchanged flows keep their counters", 2, 2},
    {"add-meter", "add-meter BRIDGE METER",
     "add a meter: meter=ID,kbps|pktps[,burst][,stats],bands=type=drop,rate=R[,burst_size=B]", 2,
     2},
    {"mod-meter", "mod-meter BRIDGE METER", "change a meter (its buckets start full again)", 2, 2},
    {"del-meters", "del-meters BRIDGE [meter=ID]",
     "delete meters (all without meter=ID) and the flows that use them", 1, 2},
    {"dump-meters", "dump-meters BRIDGE [meter=ID]", "the meters, in add-meter's syntax", 1, 2},
    {"meter-stats", "meter-stats BRIDGE [meter=ID]",
     "packets and bytes each meter saw, and each band dropped", 1, 2},
    {"add-port",
     "add-port BRIDGE NAME [driver=D] [ofport=N] [mac=M] [proxy=P,P] [queues=Q] [no_flood=1] "
     "[wg_config=F] "
     "[tag=V] [trunks=V,V] [vlan_mode=M]",
     "add a port (what a wg-quick PostUp calls)", 2, kAny},
    {"del-port", "del-port BRIDGE NAME", "remove a port (what a wg-quick PreDown calls)", 2, 2},
    {"dump-conntrack", "dump-conntrack [BRIDGE] [zone=N]",
     "tracked connections (the switch's one table; zone=N: that zone only)", 0, 2},
    {"flush-conntrack", "flush-conntrack [BRIDGE] [zone=N]",
     "forget tracked connections (zone=N: that zone only)", 0, 2},
    {"trace", "trace BRIDGE PACKET [--json] | trace --live BRIDGE MATCH [-c N] [--timeout S]",
     "what the bridge does with a packet with those headers, step by step; --live: the next N "
     "real packets that match, as they pass",
     2, 3},
    {"trace-live-start", "trace-live-start BRIDGE MATCH COUNT TIMEOUT_S",
     "arm a live trace (what `ctl trace --live` sends); prints its id", 4, 4},
    {"trace-live-read", "trace-live-read ID [--json] [--stop]",
     "a live trace's progress, and its report once done or stopped (JSON)", 1, 3},
    {"capture", "capture BRIDGE PORT [--rx|--tx|--both] [-c N] [-w FILE|-]",
     "the frames a port receives and sends, as pcap (`-w - | tcpdump -r -`); on AF_XDP ports "
     "the only way to see received ones",
     2, kAny},
    {"capture-start", "capture-start BRIDGE PORT rx|tx|both",
     "arm a capture (what `ctl capture` sends); prints its id", 3, 3},
    {"capture-read", "capture-read ID [--stop]",
     "the frames captured since the last read (JSON, base64); --stop: take it off", 1, 2},
    {"wg-show", "wg-show PORT",
     "a native wireguard port's peers, latest handshakes, transfer and drop counters", 1, 1},
    {"reload", "reload", "re-read the configuration file and apply the difference", 0, 0},
    {"help", "help", "this list", 0, 0},
}};

// A read hands over at most this many frames (about 700 KB of JSON), so a
// busy port cannot make one reply without bound; the ring holds 1024.
constexpr std::size_t kFramesPerRead = 256;

struct PortRequest {
  PortConfig port;
  std::set<std::string> given;  // the keys the request spelled out
};

// "10,20,30", as ovs-vsctl's trunks=.
std::vector<std::uint16_t> vlan_list(const std::string& value) {
  std::vector<std::uint16_t> out;
  std::size_t start = 0;
  while (start <= value.size()) {
    const std::size_t comma = std::min(value.find(',', start), value.size());
    out.push_back(static_cast<std::uint16_t>(
        number_option("trunks", value.substr(start, comma - start), 0, 4095)));
    start = comma + 1;
  }
  return out;
}

PortRequest port_from_args(std::span<const std::string> args) {
  PortRequest r;
  PortConfig& p = r.port;
  p.name = args[0];
  for (const std::string& a : args.subspan(1)) {
    const auto eq = a.find('=');
    if (eq == std::string::npos) throw std::invalid_argument("expected key=value, got '" + a + "'");
    const std::string key = a.substr(0, eq), value = a.substr(eq + 1);
    if (!r.given.insert(key).second)
      throw std::invalid_argument("port option '" + key + "' given twice");
    ports::PortOption o{};
    if (key == "driver")
      p.driver = value;
    else if (key == "ofport")
      p.ofport = flowtable::PortNo{number_option(key, value, 1, 0xfffe)};
    else if (key == "no_flood")
      p.no_flood = flag_option(key, value);
    else if (ports::parse_option_key(key, o))
      set_port_option(p, o, key, value);
    else if (key == "tag")
      p.vlan.tag = static_cast<std::uint16_t>(number_option(key, value, 0, 4095));
    else if (key == "trunks")
      p.vlan.trunks = vlan_list(value);
    else if (key == "vlan_mode") {
      p.vlan.mode = dataplane::parse_vlan_mode(value);
      if (!p.vlan.mode)
        throw std::invalid_argument("vlan_mode '" + value +
                                    "' is not access, trunk, native-tagged or native-untagged");
    } else
      throw std::invalid_argument("unknown port option '" + key + "'");
  }
  return r;
}

std::string usage_of(const std::string& cmd) {
  for (const ControlCommand& c : kCommands)
    if (c.name == cmd) return std::string(c.usage);
  return cmd;
}

std::string dispatch(Switch& sw, const std::string& cmd, std::vector<std::string> args,
                     const nlohmann::json& request, const std::function<std::string()>& reload) {
  if (cmd == "show") return sw.show();
  if (cmd == "dump-flows") return sw.dump_flows(args[0]);
  if (cmd == "dump-ports") return sw.dump_ports(args[0]);
  if (cmd == "fdb-show") return sw.fdb_show(args[0]);
  if (cmd == "add-flow") return sw.add_flows(args[0], args[1], "<add-flow>");
  if (cmd == "add-flows" || cmd == "replace-flows") {
    // The client sends the file's text; the daemon needs no access to it.
    const std::string text = request.value("text", "");
    return cmd == "add-flows" ? sw.add_flows(args[0], text, args[1])
                              : sw.replace_flows(args[0], text, args[1]);
  }
  if (cmd == "del-flows") {
    const bool strict = std::erase(args, std::string("--strict")) > 0;
    if (args.empty() || args.size() > 2) throw std::invalid_argument("usage: " + usage_of(cmd));
    return sw.del_flows(args[0], args.size() > 1 ? std::optional(args[1]) : std::nullopt, strict);
  }
  if (cmd == "mod-flows") {
    const bool strict = std::erase(args, std::string("--strict")) > 0;
    if (args.size() != 2) throw std::invalid_argument("usage: " + usage_of(cmd));
    return sw.mod_flows(args[0], args[1], strict);
  }
  if (cmd == "add-port") {
    PortRequest r = port_from_args(std::span(args).subspan(1));
    return sw.add_port(args[0], std::move(r.port), r.given);
  }
  if (cmd == "del-port") return sw.del_port(args[0], args[1]);
  if (cmd == "dump-conntrack" || cmd == "flush-conntrack") {
    std::string bridge;
    std::optional<std::uint16_t> zone;
    for (const std::string& a : args) {
      if (a.rfind("zone=", 0) == 0) {
        zone = static_cast<std::uint16_t>(number_option("zone", a.substr(5), 0, 0xffff));
      } else {
        bridge = a;
      }
    }
    if (!bridge.empty() && !sw.has_bridge(bridge))
      throw std::invalid_argument("no bridge named '" + bridge + "'");
    if (cmd == "flush-conntrack") return sw.flush_conntrack(zone);
    return sw.dump_conntrack(bridge, zone);
  }
  if (cmd == "add-meter") return sw.add_meter(args[0], args[1]);
  if (cmd == "mod-meter") return sw.mod_meter(args[0], args[1]);
  const std::string selector = args.size() > 1 ? args[1] : "";
  if (cmd == "del-meters") return sw.del_meters(args[0], selector);
  if (cmd == "dump-meters") return sw.dump_meters(args[0], selector);
  if (cmd == "meter-stats") return sw.meter_stats(args[0], selector);
  if (cmd == "trace") {
    const bool json = std::erase(args, std::string("--json")) > 0;
    if (args.size() != 2) throw std::invalid_argument("usage: " + usage_of(cmd));
    return sw.trace(args[0], args[1], json);
  }
  if (cmd == "trace-live-start") {
    const std::uint32_t count = number_option("COUNT", args[2], 1, 100);
    const std::uint32_t timeout = number_option("TIMEOUT_S", args[3], 1, 3600);
    return std::to_string(
               sw.start_live_trace(args[0], args[1], count, std::chrono::seconds(timeout))) +
           "\n";
  }
  if (cmd == "trace-live-read") {
    const bool json = std::erase(args, std::string("--json")) > 0;
    const bool stop = std::erase(args, std::string("--stop")) > 0;
    if (args.size() != 1) throw std::invalid_argument("usage: " + usage_of(cmd));
    const std::uint32_t id = number_option("ID", args[0], 1, 0xffffffff);
    return sw.read_live_trace(id, json, stop) + "\n";
  }
  if (cmd == "capture")
    throw std::invalid_argument(
        "capture runs in `sockswitch ctl`, which sends capture-start and capture-read");
  if (cmd == "capture-start") {
    const std::string& d = args[2];
    if (d != "rx" && d != "tx" && d != "both")
      throw std::invalid_argument("capture-start: direction '" + d + "' is not rx, tx or both");
    const auto directions = d == "rx"   ? ports::CaptureDirection::rx
                            : d == "tx" ? ports::CaptureDirection::tx
                                        : ports::CaptureDirection::both;
    return std::to_string(sw.start_capture(args[0], args[1], directions)) + "\n";
  }
  if (cmd == "capture-read") {
    const bool stop = std::erase(args, std::string("--stop")) > 0;
    if (args.size() != 1) throw std::invalid_argument("usage: " + usage_of(cmd));
    return sw.read_capture(number_option("ID", args[0], 1, 0xffffffff), kFramesPerRead, stop) +
           "\n";
  }
  if (cmd == "wg-show") return sw.wg_show(args[0]);
  if (cmd == "reload") return reload();
  std::string out;
  for (const ControlCommand& c : kCommands)
    out += fmt::format("  {:<70} {}\n", c.usage, c.help);
  return out;
}

}  // namespace

std::span<const ControlCommand> control_commands() noexcept {
  return kCommands;
}

nlohmann::json run_control_command(Switch& sw, const nlohmann::json& request,
                                   const std::function<std::string()>& reload,
                                   const std::function<std::string()>& sources) {
  try {
    const std::string cmd = request.at("command").get<std::string>();
    std::vector<std::string> args;
    if (request.contains("args")) args = request.at("args").get<std::vector<std::string>>();
    const ControlCommand* known = nullptr;
    for (const ControlCommand& c : kCommands)
      if (c.name == cmd) known = &c;
    if (known == nullptr) throw std::invalid_argument("unknown command '" + cmd + "'");
    if (args.size() < known->min_args || args.size() > known->max_args)
      throw std::invalid_argument(fmt::format("usage: {}", known->usage));
    if (cmd == "show" && sources) return {{"ok", true}, {"output", sw.show() + sources()}};
    return {{"ok", true}, {"output", dispatch(sw, cmd, std::move(args), request, reload)}};
  } catch (const std::exception& e) {
    sw.count_rejected();
    return {{"ok", false}, {"error", e.what()}};
  }
}

}  // namespace sockswitch::control
