// tests/ports/wireguard_uapi_server_test.cc: the UAPI socket, its files and framing.
//
// Plan: a server runs on a thread polling fd() the way the port's handshake
// thread does, with a handler that records each request and answers from
// it. Clients are plain unix sockets: requests whole, pipelined and byte by
// byte reach the handler exactly as sent, and answers come back in order on
// one connection. Negatives: a bad operation (EINVAL), an oversized request
// (EMSGSIZE) and a throwing handler (EPROTO) are answered and counted; the
// first two close their connection, and the server keeps serving others;
// connections over the limit are closed at once. Files: directory 0755,
// socket 0600, stale socket replaced, live socket and non-socket files left
// alone, unlink on destruction. Last, Debian's `wg` talks to a server in
// /var/run/wireguard: `wg show` prints what the handler answers and `wg set`
// delivers its request.
#include "ports/wireguard_uapi_server.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tests/net/command.h"
#include "tests/net/skip.h"

namespace sockswitch::ports {
namespace {

using namespace std::chrono_literals;

// A fresh directory under /tmp, removed with everything in it.
class TempDir final {
 public:
  TempDir() {
    char name[] = "/tmp/ssw-uapi-XXXXXX";
    if (::mkdtemp(name) == nullptr) throw std::runtime_error("mkdtemp");
    path_ = name;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

// Records requests; answers get with a fixed listing, set with errno=0, and
// throws on a set that contains "throw".
class RecordingHandler final {
 public:
  std::string operator()(std::string_view request) {
    std::lock_guard lock(mutex_);
    requests_.emplace_back(request);
    if (request.find("throw") != std::string_view::npos)
      throw std::runtime_error("handler says no");
    if (request.starts_with("get=1")) return "listen_port=51820\nerrno=0\n\n";
    return "errno=0\n\n";
  }
  std::vector<std::string> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> requests_;
};

// The server on its own thread, as the handshake thread would run it.
class ServerLoop final {
 public:
  ServerLoop(const std::string& name, WireGuardUapiOptions options)
      : server_(
            name, [this](std::string_view r) { return handler_(r); }, std::move(options)),
        stop_(::eventfd(0, EFD_CLOEXEC)),
        thread_([this] { run(); }) {}
  ~ServerLoop() {
    const std::uint64_t one = 1;
    (void)::write(stop_.get(), &one, sizeof one);
    thread_.join();
  }
  WireGuardUapiServer& server() { return server_; }
  RecordingHandler& handler() { return handler_; }

 private:
  void run() {
    for (;;) {
      pollfd p[2] = {{server_.fd(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
      if (::poll(p, 2, 1000) < 0) continue;
      if (p[1].revents != 0) return;
      if (p[0].revents != 0) server_.handle_readable();
    }
  }

  RecordingHandler handler_;
  WireGuardUapiServer server_;
  Fd stop_;
  std::thread thread_;
};

Fd connect_to(const std::string& path) {
  Fd s = Fd::socket(AF_UNIX, SOCK_STREAM, 0, "AF_UNIX client");
  timeval tv{3, 0};
  ::setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0)
    throw_errno("connect(" + path + ")");
  return s;
}

void send_all(const Fd& s, std::string_view text) {
  while (!text.empty()) {
    const ssize_t w = ::send(s.get(), text.data(), text.size(), MSG_NOSIGNAL);
    if (w <= 0) return;  // the server closed: the test then checks what it read
    text.remove_prefix(static_cast<std::size_t>(w));
  }
}

// Reads `answers` answers (each ends with "errno=N\n\n"), or until EOF/timeout.
std::string read_answers(const Fd& s, int answers) {
  std::string got;
  char buf[4096];
  auto count = [&] {
    int n = 0;
    for (std::size_t at = 0; (at = got.find("errno=", at)) != std::string::npos; ++at)
      if (got.find("\n\n", at) != std::string::npos) ++n;
    return n;
  };
  while (count() < answers) {
    const ssize_t r = ::read(s.get(), buf, sizeof buf);
    if (r <= 0) break;
    got.append(buf, static_cast<std::size_t>(r));
  }
  return got;
}

bool closed_by_peer(const Fd& s) {
  char c;
  return ::read(s.get(), &c, 1) == 0;
}

TEST(WireGuardUapiServer, RequestsReachTheHandlerWholeAndAnswersComeBackInOrder) {
  TempDir dir;
  ServerLoop loop("wgt0", {.directory = dir.path()});
  Fd c = connect_to(loop.server().path());
  send_all(c, "get=1\n\n");
  EXPECT_EQ(read_answers(c, 1), "listen_port=51820\nerrno=0\n\n");
  send_all(c, "set=1\nlisten_port=7\nreplace_peers=true\n\n");
  EXPECT_EQ(read_answers(c, 1), "errno=0\n\n");
  // Pipelined: both in one write, answered in order.
  send_all(c, "set=1\nfwmark=3\n\nget=1\n\n");
  EXPECT_EQ(read_answers(c, 2), "errno=0\n\nlisten_port=51820\nerrno=0\n\n");
  // Byte by byte.
  for (const char ch : std::string("set=1\nfwmark=4\n\n"))
    send_all(c, std::string(1, ch));
  EXPECT_EQ(read_answers(c, 1), "errno=0\n\n");
  const auto r = loop.handler().requests();
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[0], "get=1\n\n");
  EXPECT_EQ(r[1], "set=1\nlisten_port=7\nreplace_peers=true\n\n");
  EXPECT_EQ(r[2], "set=1\nfwmark=3\n\n");
  EXPECT_EQ(r[3], "get=1\n\n");
  EXPECT_EQ(r[4], "set=1\nfwmark=4\n\n");
  EXPECT_EQ(loop.server().counters().requests, 5u);
}

TEST(WireGuardUapiServer, BadOperationIsAnsweredEinvalAndClosedOthersStillServed) {
  TempDir dir;
  ServerLoop loop("wgt1", {.directory = dir.path()});
  Fd bad = connect_to(loop.server().path());
  send_all(bad, "delete=1\n");  // judged on its first line, without waiting for more
  EXPECT_EQ(read_answers(bad, 1), "errno=-22\n\n");
  EXPECT_TRUE(closed_by_peer(bad));
  Fd blank = connect_to(loop.server().path());
  send_all(blank, "\n\n");
  EXPECT_EQ(read_answers(blank, 1), "errno=-22\n\n");
  Fd good = connect_to(loop.server().path());
  send_all(good, "get=1\n\n");
  EXPECT_EQ(read_answers(good, 1), "listen_port=51820\nerrno=0\n\n");
  EXPECT_EQ(loop.server().counters().malformed, 2u);
  EXPECT_TRUE(loop.handler().requests() == std::vector<std::string>{"get=1\n\n"});
}

TEST(WireGuardUapiServer, OversizedRequestIsAnsweredEmsgsizeAndClosed) {
  TempDir dir;
  ServerLoop loop("wgt2", {.directory = dir.path(), .max_request = 1024});
  Fd c = connect_to(loop.server().path());
  std::string big = "set=1\n";
  while (big.size() < 4000)
    big += "allowed_ip=10.0.0.0/8\n";
  send_all(c, big);  // never terminated: the server must not wait for the blank line
  EXPECT_EQ(read_answers(c, 1), "errno=-90\n\n");
  EXPECT_TRUE(closed_by_peer(c));
  EXPECT_EQ(loop.server().counters().oversized, 1u);
  EXPECT_TRUE(loop.handler().requests().empty());
  // One that fits is still served.
  Fd ok = connect_to(loop.server().path());
  send_all(ok, "set=1\nfwmark=1\n\n");
  EXPECT_EQ(read_answers(ok, 1), "errno=0\n\n");
}

TEST(WireGuardUapiServer, ThrowingHandlerIsAnsweredEprotoAndTheConnectionLivesOn) {
  TempDir dir;
  ServerLoop loop("wgt3", {.directory = dir.path()});
  Fd c = connect_to(loop.server().path());
  send_all(c, "set=1\nthrow=1\n\n");
  EXPECT_EQ(read_answers(c, 1), "errno=-71\n\n");
  send_all(c, "get=1\n\n");
  EXPECT_EQ(read_answers(c, 1), "listen_port=51820\nerrno=0\n\n");
  EXPECT_EQ(loop.server().counters().handler_errors, 1u);
}

TEST(WireGuardUapiServer, ConnectionsOverTheLimitAreClosedAtOnce) {
  TempDir dir;
  ServerLoop loop("wgt4", {.directory = dir.path(), .max_clients = 2});
  Fd a = connect_to(loop.server().path()), b = connect_to(loop.server().path());
  send_all(a, "get=1\n\n");
  send_all(b, "get=1\n\n");
  ASSERT_EQ(read_answers(a, 1), "listen_port=51820\nerrno=0\n\n");
  ASSERT_EQ(read_answers(b, 1), "listen_port=51820\nerrno=0\n\n");
  Fd third = connect_to(loop.server().path());
  EXPECT_TRUE(closed_by_peer(third));
  EXPECT_EQ(loop.server().counters().refused, 1u);
  // A slot freed by a client that leaves is reused.
  a.reset();
  ASSERT_TRUE(test::net::wait_until([&] { return loop.server().open_connections() == 1; }, 3s));
  Fd fourth = connect_to(loop.server().path());
  send_all(fourth, "get=1\n\n");
  EXPECT_EQ(read_answers(fourth, 1), "listen_port=51820\nerrno=0\n\n");
}

TEST(WireGuardUapiServer, FilesModesStaleAndLiveSockets) {
  TempDir dir;
  const std::string run = dir.path() + "/run/wireguard";
  const std::string path = run + "/wgt5.sock";
  {
    // A stale socket: bound, then its owner went away.
    std::filesystem::create_directories(run);
    Fd stale = Fd::socket(AF_UNIX, SOCK_STREAM, 0, "stale");
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    ASSERT_EQ(::bind(stale.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a), 0);
  }
  {
    ServerLoop loop("wgt5", {.directory = run});
    struct stat st;
    ASSERT_EQ(::stat(run.c_str(), &st), 0);
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    // A second server for the same name finds it alive and leaves it be.
    try {
      WireGuardUapiServer second("wgt5", [](std::string_view) { return std::string(); },
                                 {.directory = run});
      ADD_FAILURE() << "second server replaced a live socket";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code().value(), EADDRINUSE) << e.what();
    }
    Fd c = connect_to(path);
    send_all(c, "get=1\n\n");
    EXPECT_EQ(read_answers(c, 1), "listen_port=51820\nerrno=0\n\n");
  }
  EXPECT_FALSE(std::filesystem::exists(path));  // unlinked on destruction

  // A new directory gets 0755 whatever the umask.
  const std::string fresh = dir.path() + "/fresh";
  const mode_t old = ::umask(077);
  {
    WireGuardUapiServer s("wgt6", [](std::string_view) { return std::string(); },
                          {.directory = fresh});
  }
  ::umask(old);
  struct stat st;
  ASSERT_EQ(::stat(fresh.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);

  // A regular file in the way is not ours to remove.
  const std::string squatter = fresh + "/wgt7.sock";
  std::ofstream(squatter) << "not a socket";
  EXPECT_THROW(WireGuardUapiServer("wgt7", [](std::string_view) { return std::string(); },
                                   {.directory = fresh}),
               std::system_error);
  EXPECT_TRUE(std::filesystem::is_regular_file(squatter));
  EXPECT_THROW(WireGuardUapiServer("../x", [](std::string_view) { return std::string(); },
                                   {.directory = fresh}),
               std::system_error);
}

TEST(WireGuardUapiServer, WgToolTalksToTheSocket) {
  if (::geteuid() != 0) SOCKSWITCH_SKIP("needs root for /var/run/wireguard");
  if (!test::net::run_command({"wg", "--version"}, 3s).ok()) SOCKSWITCH_SKIP("no wg tool");
  const std::string name = "sswu" + std::to_string(::getpid() % 1000000);
  ServerLoop loop(name, {});
  EXPECT_EQ(loop.server().path(), "/var/run/wireguard/" + name + ".sock");
  auto r = test::net::run_command({"wg", "show", name, "listen-port"}, 5s);
  EXPECT_TRUE(r.ok()) << r.output;
  EXPECT_EQ(r.output, "51820\n");
  r = test::net::run_command({"wg", "show", "interfaces"}, 5s);
  EXPECT_NE(r.output.find(name), std::string::npos) << r.output;
  r = test::net::run_command({"wg", "set", name, "listen-port", "4242", "fwmark", "0x10"}, 5s);
  EXPECT_TRUE(r.ok()) << r.output;
  bool saw_set = false;
  for (const std::string& req : loop.handler().requests())
    if (req.starts_with("set=1\n") && req.find("listen_port=4242\n") != std::string::npos &&
        req.find("fwmark=16\n") != std::string::npos && req.ends_with("\n\n"))
      saw_set = true;
  EXPECT_TRUE(saw_set);
}

}  // namespace
}  // namespace sockswitch::ports
