// tests/net/tcp_transfer.h: pushes bytes over TCP from one namespace to another.
//
// Proves a path carries a real TCP stream (handshake, segmentation, ACK
// clocking, FIN) and says how much arrived. Client and server are threads
// of the test process that enter the namespaces themselves, so there is no
// race with a listener started by a shell, and every wait has a deadline.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "tests/net/netns.h"

namespace sockswitch::test::net {

// Returns how many bytes the server read intact (each byte as the client's
// pattern has it at that offset; counting stops at the first wrong byte)
// before EOF or the deadline. The receiver's checksum check alone would not
// see corruption: a frame handed over with its checksum left to offload is
// taken on trust by a local receiver.
[[nodiscard]] std::size_t tcp_transfer(const NetNamespace& server_ns,
                                       const std::string& server_addr,
                                       const NetNamespace& client_ns, std::uint16_t port,
                                       std::size_t bytes, std::chrono::milliseconds timeout);

}  // namespace sockswitch::test::net
