// Plan: Debian's `wg` (wireguard-tools) talks to a socket in
// /var/run/wireguard/ whose answers come from this library's UAPI text
// layer: `wg setconf` of a WARP-like file must arrive as the DeviceChange
// the file parses to, `wg set ... remove` as a removal, a malformed-value
// reply must make `wg` fail, and `wg show dump` / `wg showconf` must print
// a DeviceSnapshot's values. Root only (the directory is root's); each run
// uses its own socket name and removes it; every wg run has a deadline.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "ports/wireguard/uapi_protocol.h"
#include "tests/net/command.h"
#include "tests/net/skip.h"

namespace sockswitch::wireguard {
namespace {

using namespace std::chrono_literals;
using test::net::run_command;

// A one-thread UAPI endpoint for one test: answers get with `snapshot` and
// records each parsed set.
class UapiTestSocket final {
 public:
  UapiTestSocket(std::string name, DeviceSnapshot snapshot)
      : path_("/var/run/wireguard/" + name + ".sock"), snapshot_(std::move(snapshot)) {
    std::filesystem::create_directories("/var/run/wireguard");
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path_.c_str());
    ::unlink(path_.c_str());
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        ::listen(fd_, 8) != 0)
      throw std::runtime_error("cannot listen on " + path_);
    thread_ = std::thread([this] { serve(); });
  }
  ~UapiTestSocket() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
    ::unlink(path_.c_str());
  }

  std::vector<std::variant<DeviceChange, UapiError>> sets() {
    std::lock_guard lock(mutex_);
    return std::move(sets_);
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      timeval tv{2, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      std::string buf;
      char chunk[4096];
      for (;;) {
        if (auto n = complete_request_length(buf)) {
          const std::string request = buf.substr(0, *n);
          buf.erase(0, *n);
          const std::string reply = answer(request);
          if (::send(c, reply.data(), reply.size(), MSG_NOSIGNAL) < 0) break;
          continue;
        }
        const ssize_t got = ::recv(c, chunk, sizeof chunk, 0);
        if (got <= 0) break;  // `wg` also connects once just to see the socket
        buf.append(chunk, static_cast<std::size_t>(got));
      }
      ::close(c);
    }
  }

  std::string answer(const std::string& request) {
    switch (operation_of(request)) {
      case UapiOperation::get:
        return request == "get=1\n\n" ? format_get_response(snapshot_)
                                      : format_errno_response(EINVAL);
      case UapiOperation::set: {
        auto r = parse_set_request(request);
        const int e = std::holds_alternative<UapiError>(r) ? std::get<UapiError>(r).error : 0;
        std::lock_guard lock(mutex_);
        sets_.push_back(std::move(r));
        return format_errno_response(e);
      }
      case UapiOperation::invalid:
        break;
    }
    return format_errno_response(EPROTO);
  }

  std::string path_;
  DeviceSnapshot snapshot_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::variant<DeviceChange, UapiError>> sets_;
};

class UapiWgTool : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) SOCKSWITCH_SKIP("needs root for /var/run/wireguard");
    if (!std::filesystem::exists("/usr/bin/wg")) SOCKSWITCH_SKIP("wireguard-tools not installed");
  }
  // Short enough for an interface name: "sswu<pid%100000><n>".
  static std::string unique_name() {
    static int n = 0;
    return "sswu" + std::to_string(::getpid() % 100000) + "x" + std::to_string(n++);
  }
};

constexpr const char* kFile =
    "[Interface]\n"
    "PrivateKey = OM8NGMd4moqYYN39qZ7pcmgVORXXRq1Vu0nuGgLFwEA=\n"
    "ListenPort = 51820\n"
    "FwMark = 0x10\n"
    "Address = 172.16.0.2/32\n"
    "[Peer]\n"
    "PublicKey = A1+4fgNoFOzczY4QcQULFhuP8FjjlAxapb9ETfvYFW4=\n"
    "PresharedKey = PgnOyOowZierFmg1Nqx1PoBAGNfLCX6LvaNL8iBhERo=\n"
    "Endpoint = 162.159.192.1:2408\n"
    "AllowedIPs = 0.0.0.0/0, ::/0\n"
    "PersistentKeepalive = 25\n";

TEST_F(UapiWgTool, WgSetconfArrivesAsTheParsedFile) {
  const std::string name = unique_name();
  UapiTestSocket sock(name, {});
  // wg itself does not know wg-quick's Address: give it the stripped file.
  const std::string path = ::testing::TempDir() + "/" + name + ".conf";
  const WgConfig config = parse_wg_config(kFile, "warp0.conf");
  {
    std::ofstream out(path);
    std::string text = kFile;
    text.erase(text.find("Address"), std::string("Address = 172.16.0.2/32\n").size());
    out << text;
  }
  const auto r = run_command({"/usr/bin/wg", "setconf", name, path}, 10s);
  std::filesystem::remove(path);
  ASSERT_TRUE(r.ok()) << r.output;
  auto sets = sock.sets();
  ASSERT_EQ(sets.size(), 1u);
  const auto& got = std::get<DeviceChange>(sets[0]);
  // Same request text as the conversion of our own parse of the file.
  EXPECT_EQ(format_set_request(got), format_set_request(to_device_change(config)));

  const auto rm = run_command({"/usr/bin/wg", "set", name, "peer",
                               "A1+4fgNoFOzczY4QcQULFhuP8FjjlAxapb9ETfvYFW4=", "remove"},
                              10s);
  ASSERT_TRUE(rm.ok()) << rm.output;
  sets = sock.sets();
  ASSERT_EQ(sets.size(), 1u);
  EXPECT_TRUE(std::get<DeviceChange>(sets[0]).peers.at(0).remove);
}

TEST_F(UapiWgTool, WgReportsAnErrnoAnswer) {
  const std::string name = unique_name();
  UapiTestSocket sock(name, {});
  // `wg` sends port 0 through; an endpoint without a port is rejected here
  // with EINVAL, and wg must report it and fail.
  const auto r =
      run_command({"/usr/bin/wg", "set", name, "peer",
                   "A1+4fgNoFOzczY4QcQULFhuP8FjjlAxapb9ETfvYFW4=", "endpoint", "192.0.2.1:0"},
                  10s);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.output.find("Invalid argument"), std::string::npos) << r.output;
  auto sets = sock.sets();
  ASSERT_EQ(sets.size(), 1u);
  EXPECT_EQ(std::get<UapiError>(sets[0]).error, EINVAL);

  const auto ok = run_command({"/usr/bin/wg", "set", name, "listen-port", "1234"}, 10s);
  EXPECT_TRUE(ok.ok()) << ok.output;
  sets = sock.sets();
  ASSERT_EQ(sets.size(), 1u);
  EXPECT_EQ(std::get<DeviceChange>(sets[0]).listen_port, 1234);
}

TEST_F(UapiWgTool, WgShowPrintsTheSnapshot) {
  DeviceSnapshot d;
  d.private_key = SecretKey(*key_from_base64("OM8NGMd4moqYYN39qZ7pcmgVORXXRq1Vu0nuGgLFwEA="));
  d.listen_port = 51820;
  d.fwmark = 16;
  PeerSnapshot p;
  p.public_key = *key_from_base64("A1+4fgNoFOzczY4QcQULFhuP8FjjlAxapb9ETfvYFW4=");
  p.endpoint = Endpoint::parse("[2001:db8::5]:2408");
  p.last_handshake_sec = 1700000000;
  p.tx_bytes = 1234;
  p.rx_bytes = 5678;
  p.persistent_keepalive_interval = 25;
  p.allowed_ips = {*IpPrefix::parse("0.0.0.0/0"), *IpPrefix::parse("::/0")};
  d.peers = {p};
  const std::string name = unique_name();
  UapiTestSocket sock(name, d);

  const auto dump = run_command({"/usr/bin/wg", "show", name, "dump"}, 10s);
  ASSERT_TRUE(dump.ok()) << dump.output;
  // Interface line: private key, public key (wg derives it), port, fwmark.
  EXPECT_NE(dump.output.find("OM8NGMd4moqYYN39qZ7pcmgVORXXRq1Vu0nuGgLFwEA=\t"
                             "Pbr1/Pf4eLGlP8kFsbkA2lYwSjI6tKZM3tMh64DLAz8=\t51820\t0x10\n"),
            std::string::npos)
      << dump.output;
  EXPECT_NE(dump.output.find("A1+4fgNoFOzczY4QcQULFhuP8FjjlAxapb9ETfvYFW4=\t(none)\t"
                             "[2001:db8::5]:2408\t0.0.0.0/0,::/0\t1700000000\t5678\t1234\t25\n"),
            std::string::npos)
      << dump.output;

  const auto conf = run_command({"/usr/bin/wg", "showconf", name}, 10s);
  ASSERT_TRUE(conf.ok()) << conf.output;
  // What `wg showconf` prints is a file we load back to the same values.
  const WgConfig back = parse_wg_config(conf.output, "showconf");
  EXPECT_EQ(back.interface.listen_port, 51820);
  EXPECT_EQ(back.interface.fwmark, 16u);
  ASSERT_EQ(back.peers.size(), 1u);
  EXPECT_EQ(back.peers[0].public_key, p.public_key);
  EXPECT_EQ(back.peers[0].endpoint, p.endpoint);
  EXPECT_EQ(back.peers[0].allowed_ips, p.allowed_ips);
  EXPECT_EQ(back.peers[0].persistent_keepalive, 25);
}

}  // namespace
}  // namespace sockswitch::wireguard
