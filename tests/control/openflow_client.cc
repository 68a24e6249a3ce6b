// tests/control/openflow_client.cc: a bare OpenFlow client over a unix socket.
#include "tests/control/openflow_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace sockswitch::test {

std::vector<std::uint8_t> ofp_message(std::uint8_t version, std::uint8_t type, std::uint32_t xid,
                                      const std::vector<std::uint8_t>& body) {
  const std::size_t n = 8 + body.size();
  std::vector<std::uint8_t> m(n, 0);
  m[0] = version;
  m[1] = type;
  m[2] = static_cast<std::uint8_t>(n >> 8);
  m[3] = static_cast<std::uint8_t>(n);
  for (int i = 0; i < 4; ++i)
    m[4 + i] = static_cast<std::uint8_t>(xid >> (24 - 8 * i));
  std::copy(body.begin(), body.end(), m.begin() + 8);
  return m;
}

OpenFlowClient::OpenFlowClient(const std::string& path) {
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (fd_ < 0 || ::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0)
    throw std::runtime_error("cannot connect to " + path + ": " + std::strerror(errno));
}

OpenFlowClient::~OpenFlowClient() {
  if (fd_ >= 0) ::close(fd_);
}

void OpenFlowClient::send(const std::vector<std::uint8_t>& message) {
  std::size_t done = 0;
  while (done < message.size()) {
    const ssize_t n = ::send(fd_, message.data() + done, message.size() - done, MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error(std::string("send: ") + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
}

std::optional<std::vector<std::uint8_t>> OpenFlowClient::receive(
    std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (in_.size() >= 8) {
      const std::size_t len = std::size_t{in_[2]} << 8 | in_[3];
      if (len >= 8 && in_.size() >= len) {
        std::vector<std::uint8_t> m(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(len));
        in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(len));
        return m;
      }
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
    std::uint8_t buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return std::nullopt;
    in_.insert(in_.end(), buf, buf + n);
  }
}

std::vector<std::uint8_t> OpenFlowClient::hello(std::uint8_t version) {
  send(ofp_message(version, 0, xid_++, {}));
  auto m = receive();
  if (!m || (*m)[1] != 0) throw std::runtime_error("no HELLO from the switch");
  return *m;
}

std::vector<std::vector<std::uint8_t>> OpenFlowClient::barrier(std::uint8_t version,
                                                               std::chrono::milliseconds timeout) {
  const std::uint8_t request = version == 1 ? 18 : 20, reply = version == 1 ? 19 : 21;
  const std::uint32_t xid = xid_++;
  send(ofp_message(version, request, xid, {}));
  std::vector<std::vector<std::uint8_t>> got;
  for (;;) {
    auto m = receive(timeout);
    if (!m) throw std::runtime_error("no BARRIER reply");
    got.push_back(*m);
    if ((*m)[1] == reply) return got;
  }
}

}  // namespace sockswitch::test
