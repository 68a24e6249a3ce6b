// tests/control/l3_wireguard_switch_test.cc: a real WireGuard interface (wireguard-go) as an
// L3 port of the running switch.
//
// Plan. Configure: a fresh host namespace runs an in-process control::Switch
// (SwitchThread). Container A (eth0 10.62.0.1/24, MTU 1420 to fit the
// tunnel, route to 198.51.100.0/24 via 10.62.0.254) hangs off the host's
// veth "veth-a". A WireGuard link joins the host and namespace B: each side
// runs wireguard-go (WG_PROCESS_FOREGROUND=1, in the background, killed at
// the end and on the test's death), configured with `wg set` and `ip link
// set up`, over a UDP underlay on a veth between host (192.0.2.1/30) and B
// (192.0.2.2/30). The host's wg interface (standing for the seed's warp0,
// with a per-run name so that concurrent runs do not share a UAPI socket in
// /var/run/wireguard) has no address and AllowedIPs 198.51.100.1/32; B's
// holds 198.51.100.1/32, AllowedIPs 10.62.0.0/24 and a route back to A's
// subnet. Both veth-a and the wg interface are bridge ports with driver
// "auto": the veth gets AF_XDP, the wg interface (link type none) must fall
// back to AF_PACKET in L3 mode, answering A's ARP for its gateway and adding
// or stripping the Ethernet header. Flows: (a) `actions=normal`; (b) only
// `in_port=veth-a,actions=output:WG` and `in_port=WG,actions=output:veth-a`.
// Send: 3 pings (-W 1) from A to 198.51.100.1, then a 1 MB TCP stream from A
// to B. Verify: every ping answered, every byte counted by B's server, and
// the wg port's counters saw the traffic both ways.
// Skips (with the reason) when wireguard-go, wg or /dev/net/tun is missing
// or wireguard-go cannot bring its interface up here.
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include "control/config.h"
#include "tests/control/switch_host.h"
#include "tests/control/switch_thread.h"
#include "tests/net/require_netns.h"
#include "tests/net/tcp_transfer.h"

namespace sockswitch::test {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kBytes = 1'000'000;

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

// A temporary file holding `text` (mode 0600), removed on destruction.
class TempFile final {
 public:
  explicit TempFile(const std::string& text) {
    char name[] = "/tmp/sockswitch-wg-XXXXXX";
    const int fd = ::mkstemp(name);
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    path_ = name;
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    if (!ok) throw std::runtime_error("cannot write " + path_);
  }
  ~TempFile() { std::filesystem::remove(path_); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] std::string read() const {
    std::ifstream in(path_);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  std::string path_;
};

// `wireguard-go NAME` in the foreground of a background child inside `ns`.
// The child dies with the test process (PR_SET_PDEATHSIG: `ip netns exec`
// execs without forking, so the signal reaches wireguard-go itself), so a
// crashed run leaves no daemon pinning its namespace.
class WireguardGo final {
 public:
  WireguardGo(const net::NetNamespace& ns, std::string name) : name_(std::move(name)), log_("") {
    const std::vector<std::string> argv{
        "ip", "netns", "exec", ns.name(), "env", "WG_PROCESS_FOREGROUND=1", "wireguard-go", name_};
    std::vector<char*> args;
    for (const auto& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int log_fd = ::open(log_.path().c_str(), O_WRONLY | O_CLOEXEC);
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (log_fd < 0 || null_fd < 0) throw std::runtime_error("cannot open " + log_.path());
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(1);
      ::dup2(null_fd, 0);
      ::dup2(log_fd, 1);
      ::dup2(log_fd, 2);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::close(log_fd);
    ::close(null_fd);
    if (pid_ < 0) throw std::runtime_error("fork failed");
  }
  ~WireguardGo() {
    if (pid_ <= 0 || exited()) return;
    ::kill(pid_, SIGTERM);
    if (!net::wait_until([&] { return exited(); }, 3s)) {
      ::kill(pid_, SIGKILL);
      int s = 0;
      ::waitpid(pid_, &s, 0);
    }
  }
  WireguardGo(const WireguardGo&) = delete;
  WireguardGo& operator=(const WireguardGo&) = delete;

  [[nodiscard]] bool exited() {
    if (status_) return true;
    int s = 0;
    if (::waitpid(pid_, &s, WNOHANG) != pid_) return false;
    status_ = s;
    return true;
  }
  [[nodiscard]] std::string log() const { return log_.read(); }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 private:
  std::string name_;
  TempFile log_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

struct WgKeys {
  std::string priv, pub;
};

WgKeys make_keys() {
  const auto gen = net::run_command({"wg", "genkey"}, 3s);
  if (!gen.ok()) throw std::runtime_error("wg genkey: " + gen.output);
  WgKeys k{trimmed(gen.output), ""};
  const auto pub = net::run_command({"sh", "-c", "printf '%s' \"$0\" | wg pubkey", k.priv}, 3s);
  if (!pub.ok()) throw std::runtime_error("wg pubkey: " + pub.output);
  k.pub = trimmed(pub.output);
  return k;
}

std::optional<std::string> wireguard_missing() {
  for (const char* tool : {"wireguard-go", "wg"})
    if (!net::run_command({"sh", "-c", std::string("command -v ") + tool}, 3s).ok())
      return std::string(tool) +
             " is not installed (Debian: wireguard-go, wireguard-tools; scripts/install-deps.sh)";
  if (!std::filesystem::exists("/dev/net/tun")) return "/dev/net/tun is missing";
  return std::nullopt;
}

// The host (switch) side of the tunnel and namespace B behind it.
class WireguardLink final {
 public:
  explicit WireguardLink(const SwitchHost& host) : host_(host.ns()) {
    disable_ipv6(b_);
    net::run_checked({"ip", "-n", host_.name(), "link", "add", "ul0", "type", "veth", "peer",
                      "name", "ul1", "netns", b_.name()});
    net::configure_link(host_, "ul0", {"192.0.2.1/30"});
    net::configure_link(b_, "ul1", {"192.0.2.2/30"});
    here_ = std::make_unique<WireguardGo>(host_, net::unique_link_name('w'));
    there_ = std::make_unique<WireguardGo>(b_, net::unique_link_name('w'));
  }

  // Waits for both interfaces and configures them; the reason on failure.
  std::optional<std::string> configure() {
    using Side = std::pair<WireguardGo*, const net::NetNamespace*>;
    for (const Side& side : {Side{here_.get(), &host_}, Side{there_.get(), &b_}}) {
      WireguardGo& wg = *side.first;
      const net::NetNamespace& ns = *side.second;
      const bool ready = net::wait_until(
          [&] {
            return wg.exited() || (ns.exec({"ip", "link", "show", wg.name()}, 2s).ok() &&
                                   ns.exec({"wg", "show", wg.name()}, 2s).ok());
          },
          5s);
      if (!ready || wg.exited())
        return "wireguard-go cannot run here (" + std::string(wg.exited() ? "exited" : "no UAPI") +
               "): " + wg.log();
    }
    const WgKeys mine = make_keys(), theirs = make_keys();
    const TempFile my_key(mine.priv), their_key(theirs.priv);
    host_.exec_checked({"wg", "set", here_->name(), "private-key", my_key.path(), "listen-port",
                        "51821", "peer", theirs.pub, "endpoint", "192.0.2.2:51820", "allowed-ips",
                        "198.51.100.1/32"});
    host_.exec_checked({"ip", "link", "set", here_->name(), "up"});
    b_.exec_checked({"wg", "set", there_->name(), "private-key", their_key.path(), "listen-port",
                     "51820", "peer", mine.pub, "allowed-ips", "10.62.0.0/24"});
    net::configure_link(b_, there_->name(), {"198.51.100.1/32"});
    b_.exec_checked({"ip", "route", "add", "10.62.0.0/24", "dev", there_->name()});
    return std::nullopt;
  }

  [[nodiscard]] const std::string& port() const noexcept { return here_->name(); }
  [[nodiscard]] const net::NetNamespace& b() const noexcept { return b_; }
  [[nodiscard]] std::string logs() const {
    return "wireguard-go (host):\n" + here_->log() + "wireguard-go (B):\n" + there_->log();
  }

 private:
  const net::NetNamespace& host_;
  net::NetNamespace b_;
  std::unique_ptr<WireguardGo> here_, there_;
};

// "rx pkts=N, bytes=M / tx pkts=..." of `port` in dump-ports text.
std::pair<std::uint64_t, std::uint64_t> rx_tx_packets(const std::string& dump,
                                                      const std::string& port) {
  const std::size_t at = dump.find(": " + port + " (");
  if (at == std::string::npos) return {0, 0};
  unsigned long long rx = 0, tx = 0;
  const std::size_t r = dump.find("rx pkts=", at), t = dump.find("tx pkts=", at);
  if (r == std::string::npos || t == std::string::npos) return {0, 0};
  std::sscanf(dump.c_str() + r, "rx pkts=%llu", &rx);
  std::sscanf(dump.c_str() + t, "tx pkts=%llu", &tx);
  return {rx, tx};
}

void expect_a_reaches_b(const std::function<std::string(const std::string& wg)>& flows) {
  SOCKSWITCH_REQUIRE_NETNS();
  if (auto why = wireguard_missing()) GTEST_SKIP() << *why;
  SwitchHost host;
  Container& a = host.plug("veth-a", "10.62.0.1/24");
  a.ns->exec_checked({"ip", "link", "set", "eth0", "mtu", "1420"});  // the tunnel's MTU
  a.ns->exec_checked({"ip", "route", "add", "198.51.100.0/24", "via", "10.62.0.254"});
  WireguardLink wg(host);
  if (auto why = wg.configure()) GTEST_SKIP() << *why;

  const std::string toml = fmt::format(
      "[[bridge]]\nname = \"br0\"\nflow = [{}]\n"
      "[[bridge.port]]\nname = \"veth-a\"\n"
      "[[bridge.port]]\nname = \"{}\"\n",
      flows(wg.port()), wg.port());
  SwitchThread sw(host.ns(), control::parse_config(toml, "<wireguard>"));
  const std::string show = sw.call([](control::Switch& s) { return s.show(); });
  ASSERT_EQ(show.find(" down"), std::string::npos) << show << wg.logs();

  const auto ping = a.ns->exec({"ping", "-c", "3", "-i", "0.2", "-W", "1", "198.51.100.1"}, 6s);
  EXPECT_TRUE(ping.ok()) << ping.output << show << wg.logs();
  EXPECT_EQ(net::tcp_transfer(wg.b(), "198.51.100.1", *a.ns, 5003, kBytes, 10s), kBytes)
      << wg.logs();

  const std::string dump = sw.call([](control::Switch& s) { return s.dump_ports("br0"); });
  const auto [rx, tx] = rx_tx_packets(dump, wg.port());
  EXPECT_GT(tx, 700u) << "the stream (MTU-sized segments) leaves through the wg port\n" << dump;
  EXPECT_GT(rx, 3u) << "pings answered and ACKs come back through it\n" << dump;
}

TEST(L3WireguardSwitch, NormalCarriesPingAndTcpOverWireguardGo) {
  expect_a_reaches_b([](const std::string&) { return std::string("\"actions=normal\""); });
}

TEST(L3WireguardSwitch, ExplicitFlowsCarryPingAndTcpOverWireguardGo) {
  expect_a_reaches_b([](const std::string& port) {
    return fmt::format(
        "\"in_port=veth-a,actions=output:{0}\", \"in_port={0},actions=output:veth-a\"", port);
  });
}

}  // namespace
}  // namespace sockswitch::test
