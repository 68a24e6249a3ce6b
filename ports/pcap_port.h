// ports/pcap_port.h: a port backed by capture files (libpcap).
//
// Receive replays a capture file as if its frames arrived on the port (once,
// a given number of times, or forever); transmit appends every frame the switch sends
// to another capture file. It needs no network, so tests and benchmarks can
// drive the switch with real recorded traffic and inspect what came out
// with tcpdump or Wireshark.
//
// libpcap's offline reader returns pointers into its own buffer and its
// dumper writes through stdio buffering, so neither allocates per packet.
#pragma once

#include <pcap/pcap.h>

#include <memory>
#include <optional>
#include <string>

#include "ports/port.h"

namespace sockswitch::ports {

struct PcapPortOptions {
  std::optional<std::string> rx_file;  // capture to replay; none: the port never receives
  std::optional<std::string>
      tx_file;               // capture to write; none: transmitted frames are counted and dropped
  std::uint32_t repeat = 1;  // times to replay the capture; 0: forever
};

class PcapPort final : public Port {
 public:
  // Throws std::runtime_error naming the file and libpcap's reason.
  PcapPort(std::string name, PcapPortOptions options);
  ~PcapPort() override;

  [[nodiscard]] std::size_t rx_burst(std::uint16_t queue, packet::PacketPool& pool,
                                     std::span<packet::Packet*> out) noexcept override;
  void tx_burst(std::uint16_t queue, packet::PacketPool& pool,
                std::span<packet::Packet* const> packets) noexcept override;
  [[nodiscard]] int wakeup_fd(std::uint16_t) const noexcept override { return -1; }
  [[nodiscard]] std::string engine() const override { return "pcap"; }
  [[nodiscard]] LinkState link_state() const noexcept override { return LinkState::up; }
  [[nodiscard]] std::uint32_t mtu() const noexcept override { return 1500; }

  // Writes buffered frames to the tx file (control thread; e.g. before reading it).
  void flush();
  // Whether the replay reached the end of its last round (never, forever).
  [[nodiscard]] bool replay_done() const noexcept { return done_.load(std::memory_order_acquire); }

 private:
  void open_rx();

  PcapPortOptions options_;
  pcap_t* rx_ = nullptr;
  pcap_t* tx_handle_ = nullptr;  // a dead handle that gives the dumper its link type
  pcap_dumper_t* dumper_ = nullptr;
  std::atomic<bool> done_{false};
  std::uint32_t rounds_ = 0;  // replays finished (poll thread)
};

}  // namespace sockswitch::ports
