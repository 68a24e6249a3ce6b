// tests/net/wireguard_go.cc: the wireguard-go child process, keys, and `wg show dump` parsing.
#include "tests/net/wireguard_go.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tests/net/child_process.h"
#include "tests/net/command.h"

namespace sockswitch::test::net {
namespace {

using namespace std::chrono_literals;

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

std::string checked_output(const std::vector<std::string>& argv) {
  const CommandResult r = run_command(argv, 3s);
  if (!r.ok()) throw std::runtime_error(argv[0] + " " + argv[1] + ": " + r.output);
  return trimmed(r.output);
}

}  // namespace

std::optional<std::string> wireguard_go_missing() {
  for (const char* tool : {"wireguard-go", "wg"})
    if (!run_command({"sh", "-c", std::string("command -v ") + tool}, 3s).ok())
      return std::string(tool) +
             " is not installed (Debian: wireguard-go, wireguard-tools; scripts/install-deps.sh)";
  if (!std::filesystem::exists("/dev/net/tun")) return "/dev/net/tun is missing";
  return std::nullopt;
}

WgKeyPair make_wg_keys() {
  WgKeyPair k;
  k.private_key = checked_output({"wg", "genkey"});
  k.public_key = checked_output({"sh", "-c", "printf '%s' \"$0\" | wg pubkey", k.private_key});
  return k;
}

std::string make_wg_psk() {
  return checked_output({"wg", "genpsk"});
}

SecretFile::SecretFile(const std::string& text) {
  char name[] = "/tmp/sockswitch-wg-XXXXXX";
  const int fd = ::mkstemp(name);  // 0600
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  path_ = name;
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write " + path_);
}

SecretFile::~SecretFile() {
  std::filesystem::remove(path_);
}

std::string SecretFile::read() const {
  std::ifstream in(path_);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<WgPeerStatus> parse_wg_dump(const std::string& dump) {
  std::vector<WgPeerStatus> peers;
  std::istringstream lines(dump);
  std::string line;
  bool first = true;
  while (std::getline(lines, line)) {
    if (first) {  // private-key public-key listen-port fwmark
      first = false;
      continue;
    }
    std::vector<std::string> f;
    std::istringstream fields(line);
    for (std::string x; std::getline(fields, x, '\t');)
      f.push_back(x);
    if (f.size() != 8) continue;
    WgPeerStatus p{f[0], f[1], f[2], f[3], std::stoll(f[4]), std::stoull(f[5]), std::stoull(f[6]),
                   f[7]};
    peers.push_back(std::move(p));
  }
  return peers;
}

WireguardGo::WireguardGo(const NetNamespace& ns, std::string name)
    : ns_(ns), name_(std::move(name)), log_("") {
  const std::vector<std::string> argv{
      "ip", "netns", "exec", ns.name(), "env", "WG_PROCESS_FOREGROUND=1", "wireguard-go", name_};
  pid_ = spawn_with_log(argv, log_.path());
}

WireguardGo::~WireguardGo() {
  if (pid_ <= 0 || exited()) return;
  ::kill(pid_, SIGTERM);
  if (!wait_until([&] { return exited(); }, 3s)) {
    ::kill(pid_, SIGKILL);
    int s = 0;
    ::waitpid(pid_, &s, 0);
  }
}

bool WireguardGo::exited() {
  if (status_) return true;
  int s = 0;
  if (::waitpid(pid_, &s, WNOHANG) != pid_) return false;
  status_ = s;
  return true;
}

std::optional<std::string> WireguardGo::wait_ready(std::chrono::milliseconds timeout) {
  const bool ready = wait_until(
      [&] {
        return exited() || (ns_.exec({"ip", "link", "show", name_}, 2s).ok() &&
                            ns_.exec({"wg", "show", name_}, 2s).ok());
      },
      timeout);
  if (ready && !exited()) return std::nullopt;
  return "wireguard-go cannot run here (" + std::string(exited() ? "exited" : "no UAPI") +
         "): " + log();
}

void WireguardGo::set(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"wg", "set", name_};
  argv.insert(argv.end(), args.begin(), args.end());
  ns_.exec_checked(argv);
}

std::vector<WgPeerStatus> WireguardGo::peers() const {
  const CommandResult r = ns_.exec({"wg", "show", name_, "dump"}, 3s);
  if (!r.ok()) return {};
  return parse_wg_dump(r.output);
}

}  // namespace sockswitch::test::net
