// tests/control/daemon_process.cc: fork/exec of the daemon, ctl, signals, reaping.
#include "tests/control/daemon_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>

#include "tests/net/child_process.h"

namespace sockswitch::test {

using namespace std::chrono_literals;

DaemonProcess::DaemonProcess(const net::NetNamespace& host, std::string config_path,
                             std::string socket_path, std::string log_path)
    : socket_(std::move(socket_path)), log_(std::move(log_path)) {
  // The OpenFlow sockets go beside the control socket, not into the
  // machine's /var/run/openvswitch.
  const std::string rundir = socket_.substr(0, socket_.rfind('/'));
  const std::vector<std::string> argv{"env",
                                      "OVS_RUNDIR=" + rundir,
                                      "ip",
                                      "netns",
                                      "exec",
                                      host.name(),
                                      SOCKSWITCH_BINARY,
                                      "run",
                                      "--config",
                                      config_path,
                                      "--control-socket",
                                      socket_};
  pid_ = net::spawn_with_log(argv, log_);
  const bool up =
      net::wait_until([&] { return wait_exit(0ms).has_value() || ctl({"show"}).ok(); }, 10s);
  if (!up || status_) {
    const std::string why = status_ ? "exited " + std::to_string(*status_) : "did not answer";
    throw std::runtime_error("sockswitch run " + why + "; log:\n" + log());
  }
}

DaemonProcess::~DaemonProcess() {
  // A daemon the test let run must stop cleanly on SIGTERM; one that the
  // test saw exit was checked by the test.
  if (!status_) {
    signal(SIGTERM);
    if (!wait_exit(5s)) {
      ::kill(pid_, SIGKILL);
      int s = 0;
      ::waitpid(pid_, &s, 0);
      ADD_FAILURE() << "sockswitch run did not stop within 5 s of SIGTERM";
    } else if (*status_ != 0) {
      ADD_FAILURE() << "sockswitch run exited " << *status_ << " on SIGTERM; log:\n" << log();
    }
  }
  // Whatever else the test checked, a sanitizer report in the daemon's log
  // fails it (the sanitizer build of `make test` runs these daemons).
  const std::string text = log();
  for (const char* report :
       {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", ": runtime error: "})
    if (text.find(report) != std::string::npos)
      ADD_FAILURE() << "the daemon's log holds a sanitizer report:\n" << text;
}

net::CommandResult DaemonProcess::ctl(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{SOCKSWITCH_BINARY, "ctl", "--socket", socket_};
  argv.insert(argv.end(), args.begin(), args.end());
  return net::run_command(argv, 5s);
}

std::string DaemonProcess::ctl_ok(const std::vector<std::string>& args) const {
  const net::CommandResult r = ctl(args);
  if (!r.ok()) ADD_FAILURE() << "ctl " << (args.empty() ? "" : args[0]) << ": " << r.output;
  return r.output;
}

void DaemonProcess::signal(int sig) const {
  if (!status_) ::kill(pid_, sig);
}

std::optional<int> DaemonProcess::wait_exit(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  net::wait_until(
      [&] {
        int s = 0;
        if (::waitpid(pid_, &s, WNOHANG) != pid_) return false;
        status_ = WIFEXITED(s) ? WEXITSTATUS(s) : 128 + WTERMSIG(s);
        return true;
      },
      timeout);
  return status_;
}

std::string DaemonProcess::log() const {
  std::ifstream in(log_);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace sockswitch::test
