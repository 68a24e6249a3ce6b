// control/ctl_live_trace.cc: the client of a live trace. The daemon never
// waits for packets inside a request (its control thread must keep
// answering), so the client arms the trace and asks for it again every
// 100 ms; a client that goes away leaves a trace the daemon takes off once
// its timeout has passed.
#include <chrono>
#include <ostream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "control/ctl_command.h"

namespace sockswitch::control {
namespace {

struct LiveTraceRequest {
  std::string bridge;
  std::string match;
  std::string count = "1";
  std::string timeout = "10";
  bool json = false;
};

LiveTraceRequest parse_request(const std::vector<std::string>& words) {
  LiveTraceRequest r;
  std::vector<std::string> positional;
  for (std::size_t i = 1; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w == "--live") continue;
    if (w == "--json") {
      r.json = true;
    } else if ((w == "-c" || w == "--timeout") && i + 1 < words.size()) {
      (w == "-c" ? r.count : r.timeout) = words[++i];
    } else if (w.starts_with("-")) {
      throw std::invalid_argument("trace --live: unknown option '" + w + "'");
    } else {
      positional.push_back(w);
    }
  }
  if (positional.size() != 2)
    throw std::invalid_argument("usage: trace --live BRIDGE MATCH [-c N] [--timeout S] [--json]");
  r.bridge = positional[0];
  r.match = positional[1];
  return r;
}

}  // namespace

int live_trace(const std::string& socket_path, const std::vector<std::string>& words,
               std::ostream& out, std::ostream& err) {
  try {
    const LiveTraceRequest r = parse_request(words);
    const std::string id_line =
        ctl_request(socket_path, "trace-live-start", {r.bridge, r.match, r.count, r.timeout});
    const std::string id = id_line.substr(0, id_line.find('\n'));
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(std::stoul(r.timeout));
    std::vector<std::string> read{id};
    if (r.json) read.push_back("--json");
    nlohmann::json status;
    for (;;) {
      const bool late = std::chrono::steady_clock::now() >= deadline;
      if (late) read.push_back("--stop");
      status = nlohmann::json::parse(ctl_request(socket_path, "trace-live-read", read));
      if (status.value("done", false)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    out << status.value("report", "");
    const auto recorded = status.value("recorded", 0u), wanted = status.value("wanted", 0u);
    if (recorded < wanted) {
      err << "trace --live: " << recorded << " of " << wanted << " packets matched within "
          << r.timeout << " s\n";
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    err << e.what() << "\n";
    return 1;
  }
}

}  // namespace sockswitch::control
