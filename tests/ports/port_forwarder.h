// tests/ports/port_forwarder.h: a two-port "switch" for integration tests.
//
// Moves every frame from port A to port B and back on its own thread, with
// its own pool (or the one AF_XDP ports were built over), until stopped,
// polling every rx queue of each port: the smallest poll loop that turns two ports
// into a wire, so a test can ping and run TCP through real drivers. It
// sleeps on the ports' wakeup fds when a pass received nothing (the rule
// l3_ethernet.h relies on for ARP/ND replies), with a short poll timeout so
// that stop() is prompt. Frames go out through a TxBatch, as the poll
// thread sends them, so a GSO frame reaches a port that takes none cut.
#pragma once

#include <poll.h>
#include <pthread.h>
#include <time.h>

#include <array>
#include <atomic>
#include <memory>
#include <thread>

#include "dataplane/bridge.h"
#include "dataplane/tx_batch.h"
#include "packet/burst.h"
#include "packet/packet_pool.h"
#include "ports/port.h"

namespace sockswitch::test {

class PortForwarder final {
 public:
  PortForwarder(
      ports::Port& a, ports::Port& b,
      std::shared_ptr<packet::PacketPool> pool = std::make_shared<packet::PacketPool>(4096))
      : a_(a), b_(b), pool_(std::move(pool)) {
    thread_ = std::thread([this] { run(); });
  }
  ~PortForwarder() { stop(); }
  PortForwarder(const PortForwarder&) = delete;
  PortForwarder& operator=(const PortForwarder&) = delete;

  // CPU time the forwarding thread has used (user + system: the drivers'
  // syscalls, and the kernel copies they make, count).
  [[nodiscard]] double cpu_seconds() {
    clockid_t clock;
    timespec ts{};
    if (pthread_getcpuclockid(thread_.native_handle(), &clock) != 0 ||
        clock_gettime(clock, &ts) != 0)
      return 0;
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  }

  void stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::size_t pass(ports::Port& from, ports::Port& to) {
    std::size_t n = 0;
    const dataplane::BridgePort out{flowtable::PortNo{&to == &a_ ? 1u : 2u}, &to};
    for (std::uint16_t q = 0; q < from.queue_count(); ++q) {
      packet::Burst burst;
      burst.set_size(from.rx_burst(q, *pool_, burst.storage()));
      for (packet::Packet* p : burst.packets())
        tx_.enqueue(0, &to == &a_ ? 0 : 1, out, p);
      tx_.flush();
      n += burst.size();
    }
    return n;
  }

  void run() {
    while (!stop_.load(std::memory_order_relaxed)) {
      pool_->reclaim();
      if (pass(a_, b_) + pass(b_, a_) > 0) continue;
      std::array<pollfd, 2> fds{{{a_.wakeup_fd(0), POLLIN, 0}, {b_.wakeup_fd(0), POLLIN, 0}}};
      (void)::poll(fds.data(), fds.size(), 10);
    }
  }

  ports::Port& a_;
  ports::Port& b_;
  std::shared_ptr<packet::PacketPool> pool_;
  dataplane::TxBatch tx_{*pool_};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace sockswitch::test
