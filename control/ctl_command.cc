// control/ctl_command.cc: one request, one response over the unix socket.
#include "control/ctl_command.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "control/control_commands.h"
#include "control/port_arguments.h"

namespace sockswitch::control {
namespace {

// Long enough for a reload of large flow tables (100 000 flows: about a
// second), short enough that a hook never hangs a boot on a stuck daemon.
constexpr int kReplySeconds = 60;

// Sends the line and reads until the daemon closes; throws naming the step.
std::string round_trip(const std::string& path, const std::string& line) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  const timeval limit{kReplySeconds, 0};
  (void)::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  (void)::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    ::close(fd);
    throw std::runtime_error(path + ": path too long");
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    ::close(fd);
    throw std::runtime_error(
        path + ": cannot connect (is `sockswitch run` running?): " + std::strerror(e));
  }
  std::size_t sent = 0;
  while (sent < line.size()) {
    // MSG_NOSIGNAL: a daemon that closed the socket is an error, not SIGPIPE.
    const ssize_t n = ::send(fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      const int e = errno;
      ::close(fd);
      throw std::runtime_error(path + ": cannot send the request: " + std::strerror(e));
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string reply;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      ::close(fd);
      throw std::runtime_error(path + ": no answer within " + std::to_string(kReplySeconds) + " s");
    }
    if (n <= 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
    if (!reply.empty() && reply.back() == '\n') break;
  }
  ::close(fd);
  return reply;
}

// One request and the daemon's parsed response.
nlohmann::json ask_daemon(const std::string& socket_path, const nlohmann::json& request) {
  const std::string reply = round_trip(socket_path, request.dump() + "\n");
  if (reply.empty()) throw std::runtime_error("the daemon closed the connection without answering");
  return nlohmann::json::parse(reply);
}

}  // namespace

std::string ctl_request(const std::string& socket_path, const std::string& command,
                        const std::vector<std::string>& args) {
  const nlohmann::json response =
      ask_daemon(socket_path, nlohmann::json{{"command", command}, {"args", args}});
  if (!response.value("ok", false))
    throw std::runtime_error(response.value("error", "unknown error"));
  return response.value("output", "");
}

int ctl(const std::string& socket_path, const std::vector<std::string>& words, std::ostream& out,
        std::ostream& err) {
  if (words.empty()) {
    err << "usage: sockswitch ctl COMMAND [ARGS...]\n";
    for (const ControlCommand& c : control_commands())
      err << "  " << c.usage << "\n";
    return 2;
  }
  if (words[0] == "trace" && std::find(words.begin(), words.end(), "--live") != words.end())
    return live_trace(socket_path, words, out, err);
  if (words[0] == "capture") return capture(socket_path, words, out, err);
  try {
    nlohmann::json request{{"command", words[0]},
                           {"args", std::vector<std::string>(words.begin() + 1, words.end())}};
    if ((words[0] == "add-flows" || words[0] == "replace-flows") && words.size() == 3)
      request["text"] = read_text_file(words[2]);
    const nlohmann::json response = ask_daemon(socket_path, request);
    if (response.value("ok", false)) {
      out << response.value("output", "");
      return 0;
    }
    err << response.value("error", "unknown error") << "\n";
    return 1;
  } catch (const std::exception& e) {
    err << e.what() << "\n";
    return 1;
  }
}

}  // namespace sockswitch::control
