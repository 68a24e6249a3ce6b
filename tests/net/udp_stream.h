// tests/net/udp_stream.h: a paced, sequence-numbered UDP stream between namespaces.
//
// Proves a path loses nothing while something else happens (a reload): the
// sender numbers every datagram and paces them at a fixed interval, the
// receiver records each number it gets. First a probe is repeated until one
// arrives (ARP resolved, path up), so the stream itself measures only loss.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/net/netns.h"

namespace sockswitch::test::net {

struct UdpStreamResult final {
  bool path_up = false;             // the probe got through before the stream
  std::size_t sent = 0;             // datagrams of the stream
  std::size_t received = 0;         // distinct sequence numbers received
  std::vector<std::uint32_t> lost;  // the missing numbers (first 20)
};

struct UdpStreamSpec final {
  std::string to_addr;  // IPv4 address in `to`
  std::uint16_t port = 5555;
  std::size_t count = 2000;
  std::chrono::microseconds interval{500};  // 2 kpps
  std::chrono::milliseconds timeout{10000};
  std::atomic<std::size_t>* progress = nullptr;  // if set: datagrams sent so far
};

[[nodiscard]] UdpStreamResult udp_stream(const NetNamespace& from, const NetNamespace& to,
                                         const UdpStreamSpec& spec);

}  // namespace sockswitch::test::net
