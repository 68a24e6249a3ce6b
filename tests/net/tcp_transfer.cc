// tests/net/tcp_transfer.cc: a deadline-bound TCP server and client on two threads.
#include "tests/net/tcp_transfer.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <thread>
#include <vector>

namespace sockswitch::test::net {
namespace {

using Clock = std::chrono::steady_clock;

int ms_left(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

bool wait_fd(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, ms_left(deadline)) > 0;
}

// The address as a sockaddr (IPv4 or IPv6 by its spelling).
socklen_t make_addr(const std::string& addr, std::uint16_t port, sockaddr_storage& out) {
  out = {};
  if (addr.find(':') != std::string::npos) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&out);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    ::inet_pton(AF_INET6, addr.c_str(), &a->sin6_addr);
    return sizeof *a;
  }
  auto* a = reinterpret_cast<sockaddr_in*>(&out);
  a->sin_family = AF_INET;
  a->sin_port = htons(port);
  ::inet_pton(AF_INET, addr.c_str(), &a->sin_addr);
  return sizeof *a;
}

// The byte at stream offset `at`: a pattern with period 65 536 that no
// reordering of aligned blocks or of segments would reproduce.
char pattern_at(std::size_t at) {
  const std::size_t i = at % 65536;
  return static_cast<char>(i * 7 + 3 + (i >> 8));
}

}  // namespace

std::size_t tcp_transfer(const NetNamespace& server_ns, const std::string& server_addr,
                         const NetNamespace& client_ns, std::uint16_t port, std::size_t bytes,
                         std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  sockaddr_storage sa;
  const socklen_t sa_len = make_addr(server_addr, port, sa);
  std::promise<bool> listening;
  auto ready = listening.get_future();
  std::size_t received = 0;

  std::thread server([&] {
    int ls = -1, cs = -1;
    try {
      server_ns.enter_this_thread();
    } catch (...) {
      listening.set_value(false);
      return;
    }
    ls = ::socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    const bool ok = ls >= 0 && ::bind(ls, reinterpret_cast<sockaddr*>(&sa), sa_len) == 0 &&
                    ::listen(ls, 1) == 0;
    listening.set_value(ok);
    if (ok && wait_fd(ls, POLLIN, deadline)) cs = ::accept4(ls, nullptr, nullptr, SOCK_NONBLOCK);
    std::vector<char> buf(65536);
    bool intact = true;
    while (intact && cs >= 0 && wait_fd(cs, POLLIN, deadline)) {
      const ssize_t n = ::read(cs, buf.data(), buf.size());
      if (n <= 0) break;
      for (ssize_t i = 0; i < n; ++i, ++received)
        if (buf[static_cast<std::size_t>(i)] != pattern_at(received)) {
          intact = false;  // what arrived after a wrong byte does not count
          break;
        }
    }
    if (cs >= 0) ::close(cs);
    if (ls >= 0) ::close(ls);
  });

  std::thread client([&] {
    if (!ready.get()) return;
    try {
      client_ns.enter_this_thread();
    } catch (...) {
      return;
    }
    const int s = ::socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) return;
    if (::connect(s, reinterpret_cast<sockaddr*>(&sa), sa_len) != 0 && errno != EINPROGRESS) {
      ::close(s);
      return;
    }
    std::vector<char> chunk(65536);
    for (std::size_t i = 0; i < chunk.size(); ++i)
      chunk[i] = pattern_at(i);
    std::size_t sent = 0;
    while (sent < bytes && wait_fd(s, POLLOUT, deadline)) {
      const std::size_t from = sent % chunk.size();
      const std::size_t want = std::min(chunk.size() - from, bytes - sent);
      const ssize_t n = ::write(s, chunk.data() + from, want);
      if (n < 0 && errno != EAGAIN) break;
      if (n > 0) sent += static_cast<std::size_t>(n);
    }
    ::shutdown(s, SHUT_WR);
    // Wait for the server's FIN so that close does not reset unread data.
    char c;
    while (wait_fd(s, POLLIN, deadline) && ::read(s, &c, 1) > 0) {
    }
    ::close(s);
  });

  client.join();
  server.join();
  return received;
}

}  // namespace sockswitch::test::net
