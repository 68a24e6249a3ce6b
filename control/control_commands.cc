// control/control_commands.cc: the command table and its dispatch.
#include "control/control_commands.h"

#include <array>
#include <cstdint>

#include <fmt/format.h>

#include "control/switch.h"
#include "flowtable/value_text.h"

namespace sockswitch::control {
namespace {

constexpr std::size_t kAny = SIZE_MAX;

constexpr std::array<ControlCommand, 13> kCommands{{
    {"show", "show", "bridges, ports, link states and poll-thread statistics", 0, 0},
    {"dump-flows", "dump-flows BRIDGE", "flows with counters and durations (ovs-ofctl style)", 1,
     1},
    {"dump-ports", "dump-ports BRIDGE", "per-port packet, byte, drop and error counters", 1, 1},
    {"add-flow", "add-flow BRIDGE FLOW", "add one flow", 2, 2},
    {"add-flows", "add-flows BRIDGE FILE", "add every flow of an add-flows file", 2, 2},
    {"del-flows", "del-flows BRIDGE [FLOW] [--strict]", "delete matching flows (all without FLOW)",
     1, 3},
    {"replace-flows", "replace-flows BRIDGE FILE",
     "make the table equal to FILE in one change; unchanged flows keep their counters", 2, 2},
    {"add-port",
     "add-port BRIDGE NAME [driver=D] [ofport=N] [mac=M] [queues=Q] [no_flood=1] [wg_config=F]",
     "add a port (what a wg-quick PostUp calls)", 2, kAny},
    {"del-port", "del-port BRIDGE NAME", "remove a port (what a wg-quick PreDown calls)", 2, 2},
    {"trace", "trace BRIDGE PACKET [--json]", "the flows a packet with those headers hits", 2, 3},
    {"wg-show", "wg-show PORT",
     "a native wireguard port's peers, latest handshakes, transfer and drop counters", 1, 1},
    {"reload", "reload", "re-read the configuration file and apply the difference", 0, 0},
    {"help", "help", "this list", 0, 0},
}};

PortConfig port_from_args(std::span<const std::string> args) {
  PortConfig p;
  p.name = args[0];
  for (const std::string& a : args.subspan(1)) {
    const auto eq = a.find('=');
    if (eq == std::string::npos) throw std::invalid_argument("expected key=value, got '" + a + "'");
    const std::string key = a.substr(0, eq), value = a.substr(eq + 1);
    if (key == "driver")
      p.driver = value;
    else if (key == "ofport")
      p.ofport = flowtable::PortNo{static_cast<std::uint32_t>(std::stoul(value))};
    else if (key == "mac")
      p.mac = value;
    else if (key == "queues")
      p.queues = static_cast<std::uint16_t>(std::stoul(value));
    else if (key == "no_flood")
      p.no_flood = value == "1" || value == "true";
    else if (key == "create")
      p.create = value == "1" || value == "true";
    else if (key == "wg_config")
      p.wg_config = value;  // read by the daemon: give an absolute path
    else
      throw std::invalid_argument("unknown port option '" + key + "'");
  }
  return p;
}

std::string dispatch(Switch& sw, const std::string& cmd, std::vector<std::string> args,
                     const nlohmann::json& request, const std::function<std::string()>& reload) {
  if (cmd == "show") return sw.show();
  if (cmd == "dump-flows") return sw.dump_flows(args[0]);
  if (cmd == "dump-ports") return sw.dump_ports(args[0]);
  if (cmd == "add-flow") return sw.add_flows(args[0], args[1], "<add-flow>");
  if (cmd == "add-flows" || cmd == "replace-flows") {
    // The client sends the file's text; the daemon needs no access to it.
    const std::string text = request.value("text", "");
    return cmd == "add-flows" ? sw.add_flows(args[0], text, args[1])
                              : sw.replace_flows(args[0], text, args[1]);
  }
  if (cmd == "del-flows") {
    const bool strict = std::erase(args, std::string("--strict")) > 0;
    return sw.del_flows(args[0], args.size() > 1 ? std::optional(args[1]) : std::nullopt, strict);
  }
  if (cmd == "add-port") return sw.add_port(args[0], port_from_args(std::span(args).subspan(1)));
  if (cmd == "del-port") return sw.del_port(args[0], args[1]);
  if (cmd == "trace") {
    const bool json = std::erase(args, std::string("--json")) > 0;
    return sw.trace(args[0], args[1], json);
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
                                   const std::function<std::string()>& reload) {
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
    return {{"ok", true}, {"output", dispatch(sw, cmd, std::move(args), request, reload)}};
  } catch (const std::exception& e) {
    sw.count_rejected();
    return {{"ok", false}, {"error", e.what()}};
  }
}

}  // namespace sockswitch::control
