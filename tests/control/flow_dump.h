// tests/control/flow_dump.h: reading `dump-flows` output in tests.
#pragma once

#include <regex>
#include <sstream>
#include <string>

namespace sockswitch::test {

// n_packets of the first line containing `flow` (match and actions as
// dump-flows prints them), or -1 when no line has it.
inline long long flow_packets(const std::string& dump, const std::string& flow) {
  std::istringstream lines(dump);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(flow) == std::string::npos) continue;
    const auto at = line.find("n_packets=");
    return at == std::string::npos ? -1 : std::stoll(line.substr(at + 10));
  }
  return -1;
}

// The dump without durations, which change between two identical tables.
inline std::string without_durations(const std::string& dump) {
  return std::regex_replace(dump, std::regex("duration=[0-9.]+s, "), "");
}

}  // namespace sockswitch::test
