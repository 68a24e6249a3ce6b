// control/main.cc: the sockswitch command line. Each subcommand lives in its
// own file; this one only wires CLI11 to them.
#include <iostream>

#include <CLI/CLI.hpp>

#include "control/ctl_command.h"
#include "control/daemon.h"
#include "control/flows_check_command.h"
#include "control/trace_command.h"

int main(int argc, char** argv) {
  using namespace sockswitch::control;
  CLI::App app{"sockswitch: a userspace OpenFlow switch"};
  app.set_version_flag("--version", std::string("sockswitch ") + SOCKSWITCH_VERSION);
  app.require_subcommand(1);

  CLI::App* flows = app.add_subcommand("flows", "Work with ovs-ofctl flow files offline");
  flows->require_subcommand(1);
  FlowsCheckRequest check;
  CLI::App* check_cmd = flows->add_subcommand(
      "check", "Parse flow files, print the canonical table, warn about overlaps and shadows");
  check_cmd->add_option("--port", check.ports,
                        "NAME=NUMBER (repeatable); without it names are numbered in order");
  check_cmd->add_option("files", check.files, "ovs-ofctl add-flows files")->required();

  TraceRequest trace_request;
  CLI::App* trace_cmd = app.add_subcommand(
      "trace", "Show what the switch does with a packet with the given headers, step by step");
  trace_cmd->add_option("--flows", trace_request.flows_file, "ovs-ofctl add-flows file")
      ->required();
  trace_cmd->add_option("--port", trace_request.ports, "NAME=NUMBER (repeatable)")->required();
  trace_cmd->add_flag("--json", trace_request.json, "Print one JSON object");
  trace_cmd
      ->add_option("packet", trace_request.packet,
                   "Packet headers in flow syntax, e.g. in_port=warp0,tcp,tp_dst=443")
      ->required();

  DaemonOptions daemon;
  CLI::App* run_cmd = app.add_subcommand("run", "Run the switch (foreground, logs to stderr)");
  run_cmd->add_option("--config", daemon.config_path, "TOML configuration file")->required();
  run_cmd->add_option("--control-socket", daemon.control_socket, "Override the config's socket");
  run_cmd->add_option("--ovsdb", daemon.ovsdb,
                      "Take bridges from this Open vSwitch database (unix:PATH or tcp:ADDR:PORT)");

  std::string socket_path = kDefaultControlSocket;
  CLI::App* ctl_cmd = app.add_subcommand("ctl", "Talk to the running switch (help: ctl help)");
  ctl_cmd->add_option("--socket", socket_path, "Control socket");
  ctl_cmd->prefix_command();

  CLI11_PARSE(app, argc, argv);

  if (*run_cmd) return run_daemon(daemon);
  if (*ctl_cmd) return ctl(socket_path, ctl_cmd->remaining(), std::cout, std::cerr);

  if (*check_cmd) return flows_check(check, std::cout, std::cerr);
  if (*trace_cmd) return trace(trace_request, std::cout, std::cerr);
  return 2;
}
