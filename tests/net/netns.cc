// tests/net/netns.cc: `ip netns` / `ip link` wrappers with cleanup and a crash sweep.
#include "tests/net/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace sockswitch::test::net {
namespace {

using namespace std::chrono_literals;

std::atomic<unsigned> next_id{0};

bool pid_alive(long pid) {
  return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

// The pid in "ssw-<pid>-<n>" or "ssw<pid><letter><n>", or -1.
long pid_in(const std::string& name) {
  if (name.rfind("ssw", 0) != 0) return -1;
  std::size_t i = name[3] == '-' ? 4 : 3;
  long pid = 0;
  std::size_t digits = 0;
  for (; i < name.size() && name[i] >= '0' && name[i] <= '9'; ++i, ++digits)
    pid = pid * 10 + (name[i] - '0');
  return digits > 0 && i < name.size() ? pid : -1;
}

}  // namespace

std::optional<std::string> skip_reason() {
  if (::geteuid() != 0) return "network namespace tests need root";
  const CommandResult r = run_command({"ip", "netns", "list"}, 3s);
  if (!r.ok()) return "`ip netns` is unavailable: " + r.output;
  return std::nullopt;
}

void sweep_leftovers() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::istringstream ns(run_command({"ip", "netns", "list"}, 3s).output);
    for (std::string line; std::getline(ns, line);) {
      const std::string name = line.substr(0, line.find(' '));
      const long pid = pid_in(name);
      if (pid > 0 && !pid_alive(pid)) (void)run_command({"ip", "netns", "del", name}, 3s);
    }
    std::istringstream links(run_command({"ip", "-o", "link", "show"}, 3s).output);
    for (std::string line; std::getline(links, line);) {
      // "7: sswNNNav0@sswNNNbv0: <...": the name sits between ": " and '@' or ':'.
      const std::size_t start = line.find(": ");
      if (start == std::string::npos) continue;
      const std::size_t end = line.find_first_of("@:", start + 2);
      const std::string name = line.substr(start + 2, end - start - 2);
      const long pid = pid_in(name);
      if (pid > 0 && !pid_alive(pid)) (void)run_command({"ip", "link", "del", name}, 3s);
    }
  });
}

std::string unique_link_name(char kind) {
  std::string name = "ssw" + std::to_string(::getpid()) + kind + std::to_string(next_id++);
  if (name.size() > 15) throw std::logic_error("link name too long: " + name);
  return name;
}

NetNamespace::NetNamespace()
    : name_("ssw-" + std::to_string(::getpid()) + "-" + std::to_string(next_id++)) {
  run_checked({"ip", "netns", "add", name_});
  exec_checked({"ip", "link", "set", "lo", "up"});
}

NetNamespace::~NetNamespace() {
  (void)run_command({"ip", "netns", "del", name_}, 5s);
}

CommandResult NetNamespace::exec(const std::vector<std::string>& argv,
                                 std::chrono::milliseconds timeout) const {
  std::vector<std::string> full{"ip", "netns", "exec", name_};
  full.insert(full.end(), argv.begin(), argv.end());
  return run_command(full, timeout);
}

void NetNamespace::exec_checked(const std::vector<std::string>& argv) const {
  std::vector<std::string> full{"ip", "netns", "exec", name_};
  full.insert(full.end(), argv.begin(), argv.end());
  run_checked(full);
}

void NetNamespace::enter_this_thread() const {
  const int fd = ::open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open netns " + name_);
  const int r = ::setns(fd, CLONE_NEWNET);
  const int err = errno;
  ::close(fd);
  if (r != 0) throw std::system_error(err, std::generic_category(), "setns " + name_);
}

VethPair::VethPair(unsigned queues)
    : VethPair(unique_link_name('a'), unique_link_name('b'), queues) {}

VethPair::VethPair(std::string outer, std::string inner, unsigned queues)
    : outer_(std::move(outer)), inner_(std::move(inner)) {
  const std::string q = std::to_string(queues);
  run_checked({"ip", "link", "add", outer_, "numtxqueues", q, "numrxqueues", q, "type", "veth",
               "peer", "name", inner_, "numtxqueues", q, "numrxqueues", q});
  alive_ = true;
}

VethPair::~VethPair() {
  remove();
}

void VethPair::remove() {
  if (!alive_) return;
  alive_ = false;
  (void)run_command({"ip", "link", "del", outer_}, 5s);
}

void configure_link(const NetNamespace& ns, const std::string& dev,
                    const std::vector<std::string>& cidrs) {
  for (const std::string& c : cidrs) {
    std::vector<std::string> cmd{"ip", "addr", "add", c, "dev", dev};
    if (c.find(':') != std::string::npos) cmd.push_back("nodad");
    ns.exec_checked(cmd);
  }
  ns.exec_checked({"ip", "link", "set", dev, "up"});
}

void VethPair::plug_into(const NetNamespace& ns, const std::vector<std::string>& cidrs) {
  run_checked({"ip", "link", "set", inner_, "netns", ns.name()});
  configure_link(ns, inner_, cidrs);
  run_checked({"ip", "link", "set", outer_, "up"});
}

void VethPair::sender_offloads_off(const NetNamespace& ns) const {
  ns.exec_checked({"ethtool", "-K", inner_, "tx", "off"});
}

}  // namespace sockswitch::test::net
