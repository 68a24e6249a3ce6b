// tests/control/ovsdb_server.cc: ovsdb-tool, ovsdb-server and ovs-vsctl for a test.
#include "tests/control/ovsdb_server.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include <gtest/gtest.h>

#include "tests/net/child_process.h"

namespace sockswitch::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kSchema = "/usr/share/openvswitch/vswitch.ovsschema";
constexpr const char* kServer = "/usr/sbin/ovsdb-server";

}  // namespace

std::optional<std::string> OvsdbServer::skip_reason() {
  for (const char* path : {kSchema, kServer, "/usr/bin/ovsdb-tool", "/usr/bin/ovs-vsctl"})
    if (::access(path, R_OK) != 0)
      return std::string(path) +
             " is missing (scripts/install-deps.sh installs openvswitch-switch)";
  return std::nullopt;
}

OvsdbServer::OvsdbServer() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "ssw-ovsdb-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  socket_ = dir_ + "/db.sock";
  net::run_checked({"ovsdb-tool", "create", dir_ + "/conf.db", kSchema});
  start();
  net::run_checked({"ovs-vsctl", "--db=" + remote(), "--no-wait", "init"});
}

OvsdbServer::~OvsdbServer() {
  stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void OvsdbServer::start() {
  pid_ = net::spawn_with_log({kServer, dir_ + "/conf.db", "--remote=punix:" + socket_,
                              "--unixctl=" + dir_ + "/ovsdb-server.ctl", "--no-chdir"},
                             dir_ + "/ovsdb-server.log");
  const bool up = net::wait_until(
      [&] {
        struct stat st {};
        return ::stat(socket_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
      },
      5s);
  if (!up)
    throw std::runtime_error("ovsdb-server did not start; see " + dir_ + "/ovsdb-server.log");
}

void OvsdbServer::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 200 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i)
    ::usleep(10'000);
  if (::waitpid(pid_, &status, WNOHANG) == 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  ::unlink(socket_.c_str());
}

void OvsdbServer::restart() {
  stop();
  start();
}

net::CommandResult OvsdbServer::vsctl(const std::vector<std::string>& args,
                                      std::chrono::milliseconds timeout) const {
  std::vector<std::string> argv{
      "ovs-vsctl", "--db=" + remote(),
      "--timeout=" + std::to_string(std::max<long>(1, long(timeout.count() / 1000)))};
  argv.insert(argv.end(), args.begin(), args.end());
  return net::run_command(argv, timeout + 2s);
}

std::string OvsdbServer::vsctl_ok(const std::vector<std::string>& args) const {
  const net::CommandResult r = vsctl(args);
  if (!r.ok()) {
    std::string line;
    for (const auto& a : args)
      line += " " + a;
    ADD_FAILURE() << "ovs-vsctl" << line << " failed (" << r.exit_code << "): " << r.output;
  }
  return r.output;
}

}  // namespace sockswitch::test
