// tests/net/command.h: runs a program with a deadline and captures its output.
//
// Integration tests drive `ip`, `ping` and `ethtool`. Every run is bounded:
// the child is killed when its time is up, so a hung ping cannot hang the
// suite. fork/exec rather than system(): no shell quoting, and the child
// does nothing between fork and exec but redirect its output (the test
// process has other threads running).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace sockswitch::test::net {

struct CommandResult final {
  int exit_code = -1;  // -1 when killed or not started
  bool timed_out = false;
  std::string output;  // stdout and stderr, interleaved

  [[nodiscard]] bool ok() const noexcept { return exit_code == 0 && !timed_out; }
};

[[nodiscard]] CommandResult run_command(const std::vector<std::string>& argv,
                                        std::chrono::milliseconds timeout);
// Throws std::runtime_error with the command line and its output on failure.
void run_checked(const std::vector<std::string>& argv,
                 std::chrono::milliseconds timeout = std::chrono::seconds(5));

// Polls `done` until it holds or `timeout` passes; returns its last value.
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout);

// Whether a command's output (or any other text) holds `part`.
[[nodiscard]] inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace sockswitch::test::net
