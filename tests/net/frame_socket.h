// tests/net/frame_socket.h: a raw Ethernet socket on a device inside a namespace.
//
// The test's hands and eyes at a container's interface: send() puts a
// crafted frame on the wire as if the container had sent it, receive()
// collects every frame the device received (whatever its destination MAC:
// the kernel may drop a frame for another host, the socket still sees it),
// with its 802.1Q tag where it was on the wire.
// Own transmissions are not looped back (PACKET_IGNORE_OUTGOING). The
// socket is created inside the namespace and then used from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ports/fd.h"
#include "tests/net/netns.h"

namespace sockswitch::test::net {

using Frame = std::vector<std::uint8_t>;

class FrameSocket final {
 public:
  FrameSocket(const NetNamespace& ns, const std::string& device);

  // Throws std::runtime_error if the kernel does not take the whole frame.
  void send(std::span<const std::uint8_t> frame) const;
  // Every frame waiting now, without blocking.
  [[nodiscard]] std::vector<Frame> receive_ready() const;
  // Blocks up to `timeout` for at least one frame, then returns all waiting.
  [[nodiscard]] std::vector<Frame> receive(std::chrono::milliseconds timeout) const;

  [[nodiscard]] std::uint64_t mac() const noexcept { return mac_; }
  [[nodiscard]] const std::string& device() const noexcept { return device_; }

 private:
  std::string device_;
  ports::Fd sock_;
  std::uint64_t mac_ = 0;
};

}  // namespace sockswitch::test::net
