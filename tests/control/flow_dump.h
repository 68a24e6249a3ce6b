// tests/control/flow_dump.h: reading `dump-flows` output in tests.
#pragma once

#include <sstream>
#include <string>

namespace sockswitch::test {

// n_packets of the first line containing `flow` (match and actions as
// dump-flows prints them), or -1 when no line has it.
inline long long flow_counter(const std::string& dump, const std::string& flow,
                              const std::string& counter) {
  std::istringstream lines(dump);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(flow) == std::string::npos) continue;
    const auto at = line.find(counter + "=");
    return at == std::string::npos ? -1 : std::stoll(line.substr(at + counter.size() + 1));
  }
  return -1;
}
inline long long flow_packets(const std::string& dump, const std::string& flow) {
  return flow_counter(dump, flow, "n_packets");
}
// n_bytes: what a stream carried, whether its frames were cut or GSO frames
// kept whole (each counted as one packet, as the kernel counts them).
inline long long flow_bytes(const std::string& dump, const std::string& flow) {
  return flow_counter(dump, flow, "n_bytes");
}

// The dump without durations and idle ages, which change between two
// identical tables. (No std::regex: g++ 12 warns inside it under -fsanitize.)
inline std::string without_durations(std::string dump) {
  for (const std::string key : {"duration=", "idle_age="}) {
    for (std::size_t at = dump.find(key); at != std::string::npos; at = dump.find(key, at)) {
      const std::size_t end = dump.find(", ", at);
      if (end == std::string::npos) break;
      dump.erase(at, end + 2 - at);
    }
  }
  return dump;
}

}  // namespace sockswitch::test
