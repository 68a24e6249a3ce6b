// tests/dataplane/recording_port.h: a port that keeps what it is sent, burst by burst.
//
// For the tests of what reaches a port's tx_burst (TxBatch's batching and
// GSO cutting): it holds the packets as a device would until they are read,
// and the size of every burst it was handed.
#pragma once

#include <vector>

#include "packet/packet_pool.h"
#include "ports/port.h"

namespace sockswitch::dataplane::test {

class RecordingPort final : public ports::Port {
 public:
  explicit RecordingPort(bool takes_gso, std::string name = "rec")
      : Port(std::move(name)), takes_gso_(takes_gso) {}
  std::size_t rx_burst(std::uint16_t, packet::PacketPool&,
                       std::span<packet::Packet*>) noexcept override {
    return 0;
  }
  void tx_burst(std::uint16_t queue, packet::PacketPool&,
                std::span<packet::Packet* const> packets) noexcept override {
    sent.insert(sent.end(), packets.begin(), packets.end());
    bursts.push_back(packets.size());
    queues.push_back(queue);
  }
  int wakeup_fd(std::uint16_t) const noexcept override { return -1; }
  bool takes_gso() const noexcept override { return takes_gso_; }
  ports::LinkState link_state() const noexcept override { return ports::LinkState::up; }
  std::uint32_t mtu() const noexcept override { return 1500; }

  std::vector<packet::Packet*> sent;
  std::vector<std::size_t> bursts;    // the size of each tx_burst call
  std::vector<std::uint16_t> queues;  // the queue of each

 private:
  bool takes_gso_;
};

}  // namespace sockswitch::dataplane::test
