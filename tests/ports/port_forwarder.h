// tests/ports/port_forwarder.h: a two-port "switch" for integration tests.
//
// Moves every frame from port A to port B and back on its own thread, with
// its own pool, until stopped: the smallest poll loop that turns two ports
// into a wire, so a test can ping and run TCP through real drivers. It
// sleeps on the ports' wakeup fds when a pass received nothing (the rule
// l3_ethernet.h relies on for ARP/ND replies), with a short poll timeout so
// that stop() is prompt.
#pragma once

#include <poll.h>

#include <array>
#include <atomic>
#include <thread>

#include "dataplane/burst.h"
#include "dataplane/packet_pool.h"
#include "ports/port.h"

namespace sockswitch::test {

class PortForwarder final {
 public:
  PortForwarder(ports::Port& a, ports::Port& b) : a_(a), b_(b) {
    thread_ = std::thread([this] { run(); });
  }
  ~PortForwarder() { stop(); }
  PortForwarder(const PortForwarder&) = delete;
  PortForwarder& operator=(const PortForwarder&) = delete;

  void stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::size_t pass(ports::Port& from, ports::Port& to) {
    dataplane::Burst burst;
    burst.set_size(from.rx_burst(0, pool_, burst.storage()));
    if (!burst.empty()) to.tx_burst(0, pool_, burst.packets());
    return burst.size();
  }

  void run() {
    while (!stop_.load(std::memory_order_relaxed)) {
      if (pass(a_, b_) + pass(b_, a_) > 0) continue;
      std::array<pollfd, 2> fds{{{a_.wakeup_fd(0), POLLIN, 0}, {b_.wakeup_fd(0), POLLIN, 0}}};
      (void)::poll(fds.data(), fds.size(), 10);
    }
  }

  ports::Port& a_;
  ports::Port& b_;
  dataplane::PacketPool pool_{1024};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace sockswitch::test
