// tests/net/frame_socket.cc: AF_PACKET send and non-blocking receive.
#include "tests/net/frame_socket.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "tests/net/in_namespace.h"

namespace sockswitch::test::net {

FrameSocket::FrameSocket(const NetNamespace& ns, const std::string& device) : device_(device) {
  in_namespace(ns, [&] {
    // Protocol 0: receives nothing until bound to the one device.
    sock_ = ports::Fd::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, "AF_PACKET");
    const int one = 1, rcvbuf = 4 << 20;
    ::setsockopt(sock_.get(), SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
    ::setsockopt(sock_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, device.c_str(), IFNAMSIZ - 1);
    if (::ioctl(sock_.get(), SIOCGIFHWADDR, &ifr) != 0)
      throw std::system_error(errno, std::generic_category(), "SIOCGIFHWADDR " + device);
    for (int i = 0; i < 6; ++i)
      mac_ = mac_ << 8 | static_cast<std::uint8_t>(ifr.ifr_hwaddr.sa_data[i]);
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ALL);
    addr.sll_ifindex = static_cast<int>(::if_nametoindex(device.c_str()));
    if (addr.sll_ifindex == 0 ||
        ::bind(sock_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
      throw std::system_error(errno, std::generic_category(), "bind AF_PACKET " + device);
  });
}

void FrameSocket::send(std::span<const std::uint8_t> frame) const {
  for (int attempt = 0;; ++attempt) {
    const ssize_t n = ::send(sock_.get(), frame.data(), frame.size(), 0);
    if (n == static_cast<ssize_t>(frame.size())) return;
    if (n < 0 && (errno == EAGAIN || errno == ENOBUFS) && attempt < 100) {
      pollfd p{sock_.get(), POLLOUT, 0};
      (void)::poll(&p, 1, 10);
      continue;
    }
    throw std::runtime_error("send on " + device_ + ": " +
                             (n < 0 ? std::strerror(errno) : "short write"));
  }
}

std::vector<Frame> FrameSocket::receive_ready() const {
  std::vector<Frame> frames;
  Frame buf(65536);
  for (;;) {
    const ssize_t n = ::recv(sock_.get(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0) break;
    frames.emplace_back(buf.begin(), buf.begin() + n);
  }
  return frames;
}

std::vector<Frame> FrameSocket::receive(std::chrono::milliseconds timeout) const {
  pollfd p{sock_.get(), POLLIN, 0};
  (void)::poll(&p, 1, static_cast<int>(timeout.count()));
  return receive_ready();
}

}  // namespace sockswitch::test::net
