// tests/control/control_server_test.cc: the control socket's limits, as a hostile client meets
// them.
//
// Plan: a Switch of pcap ports (no root), a ControlServer with small limits
// (2 connections, 1 KiB per request, 1.5 KiB buffered in all, 300 ms to
// send a request) on a unix socket in a temporary directory, its io_context
// on a thread of its own. Clients are plain blocking sockets. Each way of
// going over a limit must get a JSON error naming it (never a silent close),
// be counted as a refused request, and leave the server answering the next
// ordinary request.
#include "control/control_server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "control/config.h"
#include "ports/fd.h"

namespace sockswitch::control {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

constexpr const char* kControlServerConfig = R"toml(
[[bridge]]
name = "br"
flow = ["actions=normal"]
[[bridge.port]]
name = "p1"
driver = "pcap"
)toml";

struct Server {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("ctl-limits-" + std::to_string(::getpid()));
  std::string path = (dir / "ctl.sock").string();
  Switch sw{parse_config(kControlServerConfig, "<limits>")};
  asio::io_context io;
  ControlServer::Local::acceptor acceptor{io};
  std::unique_ptr<ControlServer> server;
  std::thread loop;

  Server() {
    std::filesystem::create_directories(dir);
    acceptor.open();
    acceptor.bind(ControlServer::Local::endpoint(path));
    acceptor.listen();
    server = std::make_unique<ControlServer>(
        acceptor, sw, [] { return std::string("reloaded\n"); }, nullptr,
        ControlLimits{.max_connections = 2,
                      .max_request = 1024,
                      .max_buffered = 1536,
                      .request_timeout = 300ms,
                      .reply_timeout = 1000ms});
    server->start();
    loop = std::thread([this] { io.run(); });
  }
  ~Server() {
    asio::post(io, [this] { acceptor.close(); });
    io.stop();
    loop.join();
    std::filesystem::remove_all(dir);
  }

  ports::Fd connect() const {
    ports::Fd s = ports::Fd::socket(AF_UNIX, SOCK_STREAM, 0, "unix");
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    EXPECT_EQ(::connect(s.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a), 0);
    timeval tv{3, 0};
    ::setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return s;
  }
  static void send(const ports::Fd& s, const std::string& bytes) {
    ASSERT_EQ(::send(s.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  // The whole reply (the server closes after it); "" when none came.
  static std::string reply(const ports::Fd& s) {
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::recv(s.get(), buf, sizeof buf, 0)) > 0;)
      out.append(buf, static_cast<std::size_t>(n));
    return out;
  }
  static nlohmann::json request(const std::string& command) {
    return {{"command", command}, {"args", nlohmann::json::array()}};
  }
  std::string error_of(const ports::Fd& s) const {
    const std::string r = reply(s);
    if (r.empty()) return "(no reply)";
    const auto j = nlohmann::json::parse(r);
    EXPECT_FALSE(j.value("ok", true)) << r;
    return j.value("error", "");
  }
  // An ordinary request still works.
  void still_answers() const {
    const ports::Fd s = connect();
    send(s, request("show").dump() + "\n");
    const auto j = nlohmann::json::parse(reply(s));
    EXPECT_TRUE(j.value("ok", false)) << j.dump();
  }
};

TEST(ControlServer, TooManyConnectionsAreToldSoAndCounted) {
  Server srv;
  const ports::Fd a = srv.connect(), b = srv.connect();  // idle, holding both slots
  std::this_thread::sleep_for(50ms);
  const ports::Fd c = srv.connect();
  EXPECT_NE(srv.error_of(c).find("2 control connections are open already"), std::string::npos);
  EXPECT_EQ(srv.server->refusals().busy, 1u);
  // The idle two are cut after the request timeout, with the reason.
  EXPECT_NE(srv.error_of(a).find("no complete request within 300 ms"), std::string::npos);
  EXPECT_NE(srv.error_of(b).find("no complete request within 300 ms"), std::string::npos);
  srv.still_answers();
  EXPECT_EQ(srv.server->refusals().timed_out, 2u);
  EXPECT_EQ(srv.sw.rejected_requests(), 3u);
}

TEST(ControlServer, AnOversizedRequestIsRefusedNotBuffered) {
  Server srv;
  const ports::Fd s = srv.connect();
  Server::send(s, std::string(1500, 'x'));  // no newline yet, over 1 KiB
  EXPECT_NE(srv.error_of(s).find("request larger than 1024 bytes"), std::string::npos);
  EXPECT_EQ(srv.server->refusals().too_large, 1u);
  srv.still_answers();
  EXPECT_EQ(srv.sw.rejected_requests(), 1u);
}

TEST(ControlServer, AllConnectionsTogetherBufferABoundedAmount) {
  Server srv;
  const ports::Fd a = srv.connect();
  Server::send(a, std::string(900, ' '));  // a request on its way, under its own limit
  std::this_thread::sleep_for(50ms);
  const ports::Fd b = srv.connect();
  Server::send(b, std::string(1000, ' '));  // together over 1.5 KiB
  EXPECT_NE(srv.error_of(b).find("holds 900 bytes of requests already"), std::string::npos);
  // The first one finishes its request and is answered.
  Server::send(a, Server::request("show").dump() + "\n");
  const auto j = nlohmann::json::parse(Server::reply(a));
  EXPECT_TRUE(j.value("ok", false)) << j.dump();
  EXPECT_EQ(srv.server->refusals().busy, 1u);
}

TEST(ControlServer, MalformedJsonIsAnsweredAndCountedAndChangesNothing) {
  Server srv;
  const std::size_t before = srv.sw.flow_entries("br").size();
  const ports::Fd s = srv.connect();
  Server::send(s, "{\"command\": \"del-flows\", \"args\": [\"br\"\n");
  EXPECT_NE(srv.error_of(s).find("bad request"), std::string::npos);
  EXPECT_EQ(srv.sw.flow_entries("br").size(), before);
  srv.still_answers();
  EXPECT_EQ(srv.sw.rejected_requests(), 1u);
}

}  // namespace
}  // namespace sockswitch::control
