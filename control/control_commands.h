// control/control_commands.h: what `sockswitch ctl` can ask the daemon.
//
// One table (BESS style) names every command, its arguments and its help;
// the daemon dispatches through it and the client prints it as usage. All
// commands run on the control thread, so none needs to be marked safe or
// unsafe against the poll threads: they only change the dataplane through
// published snapshots.
//
// Wire format: one JSON object per line each way over the unix socket.
//   request:  {"command":"dump-flows","args":["socket"]}
//   response: {"ok":true,"output":"..."} or {"ok":false,"error":"..."}
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace sockswitch::control {

class Switch;

struct ControlCommand {
  std::string_view name;
  std::string_view usage;
  std::string_view help;
  std::size_t min_args;
  std::size_t max_args;  // SIZE_MAX: any
};

[[nodiscard]] std::span<const ControlCommand> control_commands() noexcept;

// Runs one request against the switch; never throws (errors become
// {"ok":false}). `reload` is how the daemon re-reads its config file;
// `sources`, when given, adds the config sources' state to `show` (the
// Open vSwitch database session).
[[nodiscard]] nlohmann::json run_control_command(Switch& sw, const nlohmann::json& request,
                                                 const std::function<std::string()>& reload,
                                                 const std::function<std::string()>& sources = {});

}  // namespace sockswitch::control
