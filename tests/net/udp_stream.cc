// tests/net/udp_stream.cc: a paced sender and a deadline-bound receiver.
#include "tests/net/udp_stream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstring>
#include <thread>

#include "ports/fd.h"
#include "tests/net/in_namespace.h"

namespace sockswitch::test::net {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::uint32_t kProbe = 0xffffffff;

ports::Fd udp_socket(const NetNamespace& ns, const sockaddr_in* bind_to) {
  return in_namespace(ns, [&] {
    ports::Fd s = ports::Fd::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, "UDP");
    const int buf = 4 << 20;
    ::setsockopt(s.get(), SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf);
    if (bind_to != nullptr &&
        ::bind(s.get(), reinterpret_cast<const sockaddr*>(bind_to), sizeof *bind_to) != 0)
      throw std::runtime_error(std::string("bind UDP: ") + std::strerror(errno));
    return s;
  });
}

// Reads every waiting datagram's sequence number into `seen`; true if the
// probe was among them.
bool drain(int fd, std::vector<bool>& seen, std::size_t& distinct) {
  bool probe = false;
  std::uint32_t seq = 0;
  while (::recv(fd, &seq, sizeof seq, MSG_DONTWAIT) == sizeof seq) {
    if (seq == kProbe) {
      probe = true;
    } else if (seq < seen.size() && !seen[seq]) {
      seen[seq] = true;
      ++distinct;
    }
  }
  return probe;
}

bool wait_readable(int fd, Clock::time_point until) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(std::max<long>(left.count(), 0))) > 0;
}

}  // namespace

UdpStreamResult udp_stream(const NetNamespace& from, const NetNamespace& to,
                           const UdpStreamSpec& spec) {
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(spec.port);
  if (::inet_pton(AF_INET, spec.to_addr.c_str(), &dst.sin_addr) != 1)
    throw std::invalid_argument("bad address " + spec.to_addr);
  const ports::Fd rx = udp_socket(to, &dst);
  const ports::Fd tx = udp_socket(from, nullptr);
  const auto deadline = Clock::now() + spec.timeout;
  const auto send_seq = [&](std::uint32_t seq) {
    return ::sendto(tx.get(), &seq, sizeof seq, 0, reinterpret_cast<const sockaddr*>(&dst),
                    sizeof dst) == sizeof seq;
  };

  UdpStreamResult result;
  std::vector<bool> seen(spec.count, false);
  std::size_t distinct = 0;
  // The probe: once per 100 ms until it arrives (the first ones may wait on ARP).
  while (!result.path_up && Clock::now() < deadline) {
    send_seq(kProbe);
    if (wait_readable(rx.get(), Clock::now() + std::chrono::milliseconds(100)))
      result.path_up = drain(rx.get(), seen, distinct);
  }
  if (!result.path_up) return result;

  std::thread receiver([&] {
    while (distinct < spec.count && wait_readable(rx.get(), deadline))
      drain(rx.get(), seen, distinct);
  });
  auto next = Clock::now();
  for (std::uint32_t seq = 0; seq < spec.count && Clock::now() < deadline; ++seq) {
    std::this_thread::sleep_until(next);  // pacing, not synchronisation
    next += spec.interval;
    if (send_seq(seq)) ++result.sent;
    if (spec.progress != nullptr) spec.progress->store(seq + 1);
  }
  receiver.join();
  result.received = distinct;
  for (std::uint32_t seq = 0; seq < spec.count && result.lost.size() < 20; ++seq)
    if (!seen[seq]) result.lost.push_back(seq);
  return result;
}

}  // namespace sockswitch::test::net
