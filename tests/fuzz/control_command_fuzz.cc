// tests/fuzz/control_command_fuzz.cc: the control protocol (`sockswitch ctl`) on arbitrary
// commands.
//
// A control::Switch of two bridges joined by a patch pair, with pcap ports
// that need no device and no root (as tests/control/runtime_ports_test.cc
// builds it). The input is a list of lines, each one request:
//   * a line starting with '{' is the request's JSON as the daemon reads it
//     off its socket;
//   * otherwise the words (split at spaces) are the command and its
//     arguments, and what follows a tab, if anything, is the request's
//     "text" (add-flows, replace-flows), with further tabs as line breaks.
// Requests whose strings are not UTF-8 are dropped: the daemon's JSON parser
// refuses them before any command runs. add-port requests always get
// driver=pcap (other drivers would open real devices of this host, or
// sockets), and lose wg_config=.
//
// One switch serves every input (building one costs tens of milliseconds:
// its packet pools and caches). After each input it is brought back to its
// config with the commands an operator would use: the ports the input added
// are deleted, meters deleted, the config reloaded (the file's flows replace
// the table, the file's ports come back) and connections flushed. That
// reset is itself checked: the flow tables read back as they did at start.
//
// Checks: run_control_command answers every request with {"ok":true,
// "output":...} or {"ok":false,"error":...} and never throws; the answer
// serialises as the daemon sends it (dump() throws on text that is not
// UTF-8: the daemon would lose the client and the rest of its loop); after
// the input, show, dump-flows and dump-ports of both bridges still work.
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/config.h"
#include "control/control_commands.h"
#include "control/switch.h"

namespace ctl = sockswitch::control;
using nlohmann::json;

namespace {

constexpr const char* kConfig = R"(openflow = false
metrics = false
ct_max = 512

[[bridge]]
name = "br"
flow = ["priority=10,in_port=p1,actions=output:p2", "priority=1,actions=normal"]
[[bridge.port]]
name = "p1"
driver = "pcap"
[[bridge.port]]
name = "p2"
driver = "pcap"
tag = 10
[[bridge.port]]
name = "to-br2"
driver = "patch"
peer = "to-br"

[[bridge]]
name = "br2"
flow = ["actions=normal"]
[[bridge.port]]
name = "q1"
driver = "pcap"
[[bridge.port]]
name = "to-br"
driver = "patch"
peer = "to-br2"
)";

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "control_command_fuzz: %s: %s\n", what, detail.c_str());
  __builtin_trap();
}

ctl::Config config() {
  return ctl::parse_config(kConfig, "<control_command_fuzz>");
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t end = std::min(s.find(sep, start), s.size());
    if (end > start) out.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// The request a line stands for, or none when the daemon would refuse it
// before running a command (not JSON, not UTF-8).
std::optional<json> request_of(std::string_view line) {
  json r;
  if (!line.empty() && line.front() == '{') {
    r = json::parse(line, nullptr, false);
    if (r.is_discarded()) return std::nullopt;
  } else {
    const std::size_t tab = line.find('\t');
    std::vector<std::string> words = split(line.substr(0, tab), ' ');
    if (words.empty()) return std::nullopt;
    r["command"] = words.front();
    r["args"] = std::vector<std::string>(words.begin() + 1, words.end());
    if (tab != std::string_view::npos) {
      std::string text(line.substr(tab + 1));
      for (char& c : text)
        if (c == '\t') c = '\n';
      r["text"] = text;
    }
    try {
      (void)r.dump();  // what the client sends must be JSON: UTF-8 only
    } catch (const json::exception&) {
      return std::nullopt;
    }
  }
  // add-port opens real devices for every driver but pcap and patch.
  if (r.is_object() && r.contains("command") && r["command"] == "add-port") {
    if (!r.contains("args") || !r["args"].is_array()) return r;
    json args = json::array();
    for (const json& a : r["args"]) {
      if (!a.is_string()) return r;  // refused by run_control_command as it is
      const std::string& s = a.get_ref<const std::string&>();
      if (s.starts_with("driver=") || s.starts_with("wg_config=")) continue;
      args.push_back(s);
    }
    if (args.size() >= 2) args.push_back("driver=pcap");
    r["args"] = args;
  }
  return r;
}

json run(ctl::Switch& sw, const json& request) {
  const json response = run_control_command(sw, request, [&sw] {
    sw.reload(config());
    return std::string("reloaded\n");
  });
  if (!response.is_object() || !response.contains("ok") || !response["ok"].is_boolean())
    fail("answer without ok", response.dump());
  const char* field = response["ok"].get<bool>() ? "output" : "error";
  if (!response.contains(field) || !response[field].is_string())
    fail("answer without its text", response.dump());
  try {
    (void)response.dump();
  } catch (const json::exception& e) {
    fail("the daemon cannot send this answer", e.what());
  }
  return response;
}

std::string must_work(ctl::Switch& sw, const json& request) {
  const json r = run(sw, request);
  if (!r["ok"].get<bool>()) fail("an ordinary command fails after the input", r.dump());
  return r["output"].get<std::string>();
}

// dump-flows without what changes with time (duration, idle_age).
std::string flows_of(ctl::Switch& sw, const char* bridge) {
  std::string out;
  for (const std::string& line :
       split(must_work(sw, {{"command", "dump-flows"}, {"args", {bridge}}}), '\n')) {
    std::string kept;
    for (const std::string& field : split(line, ' '))
      if (!field.starts_with("duration=") && !field.starts_with("idle_age=")) kept += field + " ";
    out += kept + "\n";
  }
  return out;
}

struct Rig {
  ctl::Switch sw{config()};
  std::string flows[2] = {flows_of(sw, "br"), flows_of(sw, "br2")};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Rig* rig = new Rig;
  ctl::Switch& sw = rig->sw;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::pair<std::string, std::string>> added;
  for (const std::string& line : split(text, '\n')) {
    const auto r = request_of(line);
    if (!r) continue;
    (void)run(sw, *r);
    if (r->is_object() && r->value("command", json()) == "add-port" && r->contains("args") &&
        (*r)["args"].is_array() && (*r)["args"].size() >= 2 && (*r)["args"][0].is_string() &&
        (*r)["args"][1].is_string())
      added.emplace_back((*r)["args"][0].get<std::string>(), (*r)["args"][1].get<std::string>());
  }
  must_work(sw, {{"command", "show"}});
  for (const char* b : {"br", "br2"})
    must_work(sw, {{"command", "dump-ports"}, {"args", {b}}});

  for (const auto& [bridge, port] : added)
    (void)run(sw, {{"command", "del-port"}, {"args", {bridge, port}}});
  for (const char* b : {"br", "br2"})
    must_work(sw, {{"command", "del-meters"}, {"args", {b}}});
  must_work(sw, {{"command", "reload"}});
  must_work(sw, {{"command", "flush-conntrack"}});
  if (flows_of(sw, "br") != rig->flows[0] || flows_of(sw, "br2") != rig->flows[1])
    fail("after a reload the tables are not the file's", flows_of(sw, "br") + flows_of(sw, "br2"));
  return 0;
}
