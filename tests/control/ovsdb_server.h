// tests/control/ovsdb_server.h: a private ovsdb-server for a test, and the real ovs-vsctl on it.
//
// Creates a database from Debian's vswitch.ovsschema in a temporary
// directory, runs ovsdb-server on a unix socket there (never the system's
// /var/run/openvswitch), and initialises it as `ovs-vsctl init` does.
// vsctl() runs ovs-vsctl against it, bounded, waiting for the switch as a
// user's hook does unless the arguments say --no-wait. The destructor stops
// the server and removes the directory.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "tests/net/command.h"

namespace sockswitch::test {

class OvsdbServer final {
 public:
  OvsdbServer();
  ~OvsdbServer();
  OvsdbServer(const OvsdbServer&) = delete;
  OvsdbServer& operator=(const OvsdbServer&) = delete;

  // Why the tests cannot run here (no ovsdb-server, no schema), or nullopt.
  [[nodiscard]] static std::optional<std::string> skip_reason();

  [[nodiscard]] std::string remote() const { return "unix:" + socket_; }
  [[nodiscard]] const std::string& socket_path() const noexcept { return socket_; }
  [[nodiscard]] const std::string& dir() const noexcept { return dir_; }
  [[nodiscard]] net::CommandResult vsctl(
      const std::vector<std::string>& args,
      std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  // The output of ovs-vsctl that must succeed (ADD_FAILURE otherwise).
  std::string vsctl_ok(const std::vector<std::string>& args) const;
  // Stops the server and starts it again on the same database and socket.
  void restart();
  void stop();
  void start();

 private:
  std::string dir_, socket_;
  pid_t pid_ = -1;
};

}  // namespace sockswitch::test
