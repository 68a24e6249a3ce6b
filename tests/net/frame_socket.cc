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
    ::setsockopt(sock_.get(), SOL_PACKET, PACKET_AUXDATA, &one, sizeof one);
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
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(tpacket_auxdata))];
  for (;;) {
    iovec iov{buf.data(), buf.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(sock_.get(), &msg, MSG_DONTWAIT);
    if (n < 0) break;
    Frame f(buf.begin(), buf.begin() + n);
    // The kernel takes a received frame's 802.1Q tag out into metadata:
    // put it back, so the test sees the frame as it was on the wire.
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
      tpacket_auxdata aux;
      std::memcpy(&aux, CMSG_DATA(c), sizeof aux);
      if ((aux.tp_status & TP_STATUS_VLAN_VALID) == 0 || f.size() < 12) continue;
      const std::uint16_t tpid =
          (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) != 0 ? aux.tp_vlan_tpid : ETH_P_8021Q;
      const std::uint8_t tag[4] = {static_cast<std::uint8_t>(tpid >> 8),
                                   static_cast<std::uint8_t>(tpid),
                                   static_cast<std::uint8_t>(aux.tp_vlan_tci >> 8),
                                   static_cast<std::uint8_t>(aux.tp_vlan_tci)};
      f.insert(f.begin() + 12, tag, tag + 4);
    }
    frames.push_back(std::move(f));
  }
  return frames;
}

std::vector<Frame> FrameSocket::receive(std::chrono::milliseconds timeout) const {
  pollfd p{sock_.get(), POLLIN, 0};
  (void)::poll(&p, 1, static_cast<int>(timeout.count()));
  return receive_ready();
}

}  // namespace sockswitch::test::net
