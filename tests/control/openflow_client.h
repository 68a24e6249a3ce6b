// tests/control/openflow_client.h: a bare OpenFlow client for the requests
// ovs-ofctl will not send (it checks prerequisites itself): raw bytes to a
// bridge's management socket, replies read back with a deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sockswitch::test {

class OpenFlowClient final {
 public:
  // `path` is the socket file (no "unix:"). Throws when it cannot connect.
  explicit OpenFlowClient(const std::string& path);
  ~OpenFlowClient();
  OpenFlowClient(const OpenFlowClient&) = delete;
  OpenFlowClient& operator=(const OpenFlowClient&) = delete;

  // Sends a HELLO of `version` (no version bitmap) and reads the switch's.
  // Returns the switch's HELLO.
  std::vector<std::uint8_t> hello(std::uint8_t version);
  void send(const std::vector<std::uint8_t>& message);
  // The next whole message, or nullopt after `timeout`.
  std::optional<std::vector<std::uint8_t>> receive(
      std::chrono::milliseconds timeout = std::chrono::seconds(3));
  // Sends a BARRIER request and returns every message up to its reply
  // (the reply itself last), or throws after `timeout`.
  std::vector<std::vector<std::uint8_t>> barrier(
      std::uint8_t version, std::chrono::milliseconds timeout = std::chrono::seconds(3));

 private:
  int fd_ = -1;
  std::vector<std::uint8_t> in_;
  std::uint32_t xid_ = 100;
};

// A message with its header (length patched): version, type, xid, body.
std::vector<std::uint8_t> ofp_message(std::uint8_t version, std::uint8_t type, std::uint32_t xid,
                                      const std::vector<std::uint8_t>& body);

}  // namespace sockswitch::test
