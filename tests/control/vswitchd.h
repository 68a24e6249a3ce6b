// tests/control/vswitchd.h: a private ovs-vswitchd for the differential tests.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>

#include "tests/control/ovsdb_server.h"
#include "tests/net/command.h"
#include "tests/net/netns.h"

namespace sockswitch::test {

inline constexpr const char* kVswitchd = "/usr/sbin/ovs-vswitchd";

// ovs-vswitchd on `db`, inside `ns`, stopped with the test.
class Vswitchd final {
 public:
  Vswitchd(const net::NetNamespace& ns, const OvsdbServer& db)
      : pidfile_(db.dir() + "/vswitchd.pid"), control_(db.dir() + "/vswitchd.ctl") {
    // OVS_RUNDIR: its bridges' OpenFlow sockets go beside the database,
    // never into the system's /var/run/openvswitch.
    net::run_checked({"env", "OVS_RUNDIR=" + db.dir(), "ip", "netns", "exec", ns.name(), kVswitchd,
                      db.remote(), "--pidfile=" + pidfile_, "--unixctl=" + control_,
                      "--log-file=" + db.dir() + "/vswitchd.log", "--detach", "--no-chdir"},
                     std::chrono::seconds(10));
  }
  ~Vswitchd() {
    std::ifstream in(pidfile_);
    pid_t pid = 0;
    if (in >> pid && pid > 0) {
      ::kill(pid, SIGTERM);
      for (int i = 0; i < 200 && ::kill(pid, 0) == 0; ++i)
        ::usleep(10'000);
      if (::kill(pid, 0) == 0) ::kill(pid, SIGKILL);
    }
  }
  // Its unixctl socket, for ovs-appctl -t.
  [[nodiscard]] std::string control() const { return control_; }
  Vswitchd(const Vswitchd&) = delete;
  Vswitchd& operator=(const Vswitchd&) = delete;

 private:
  std::string pidfile_;
  std::string control_;
};

}  // namespace sockswitch::test
