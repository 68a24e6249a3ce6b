// dataplane/poll_thread.h: a poll-mode thread that owns bridges' receive work.
//
// The loop (DPDK l2fwd shape): for every bridge it serves, read the
// published snapshot, receive a burst from each port, run it through the
// Pipeline, flush transmit buffers; then report an RCU quiescent state.
//
// Every rx queue of a port is polled (BridgePort::rx_queues). Packets an
// AF_XDP port gives back when it closes (PacketPool::hand_back) are
// reclaimed once per pass.
//
// Adaptive polling: while packets arrive the thread busy-polls. After
// `idle_polls_before_sleep` consecutive empty passes it goes RCU-offline and
// sleeps in epoll_wait on its ports' wake-up descriptors (and its own kick
// eventfd), so an idle switch costs almost no CPU: the VPS also runs Xray.
// A port without a wake-up fd makes the sleep a short timed one instead.
//
// Assignment: a thread serves whole bridges (all their ports), because the
// MAC learning table of a bridge is written without locks by exactly one
// thread. Several bridges may share a thread.
//
// Threads: construct, start, stop and read stats from the control thread;
// everything else runs on the poll thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "dataplane/bridge.h"
#include "dataplane/pipeline.h"

namespace sockswitch::dataplane {

struct PollThreadConfig {
  std::size_t index = 0;              // also the flow-counter slot; < kMaxPollThreads
  std::optional<int> cpu;             // pin to this CPU when set
  std::uint32_t pool_packets = 8192;  // buffers owned by the thread, when `pool` is not given
  // The thread's buffers. Given by the switch when AF_XDP ports are built
  // over it (their UMEM); the thread is its only allocating user.
  std::shared_ptr<packet::PacketPool> pool;
  std::uint32_t idle_polls_before_sleep = 256;
  std::chrono::milliseconds max_sleep{100};  // bounds how late stop() and aging are noticed
  PipelineConfig pipeline;
};

class PollThread final {
 public:
  PollThread(PollThreadConfig config, std::vector<const Bridge*> bridges);
  ~PollThread();
  PollThread(const PollThread&) = delete;
  PollThread& operator=(const PollThread&) = delete;

  void start();
  void stop() noexcept;  // joins
  // Control thread, while running: pins the thread to `cpu`, or lets it run
  // on every CPU. Throws std::system_error when the kernel refuses.
  void pin(std::optional<int> cpu);
  // Wakes the thread if it sleeps (e.g. after ports changed).
  void kick() noexcept;

  [[nodiscard]] const ThreadStats& stats() const noexcept { return stats_; }
  [[nodiscard]] std::size_t index() const noexcept { return config_.index; }

 private:
  void run() noexcept;
  [[nodiscard]] bool poll_once(std::chrono::seconds now) noexcept;
  // Runs the bridge's PACKET_OUT frames; true when there were any.
  bool inject(const BridgeSnapshot& snap, std::chrono::seconds now) noexcept;
  void sleep() noexcept;
  void rebuild_wakeup_set() noexcept;

  PollThreadConfig config_;
  std::vector<const Bridge*> bridges_;
  std::shared_ptr<packet::PacketPool> pool_;
  ThreadStats stats_;
  std::unique_ptr<Pipeline> pipeline_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  int kick_fd_ = -1;
  int epoll_fd_ = -1;
  // Snapshot generations the wake-up set was built from, one per bridge.
  std::vector<std::uint64_t> seen_generation_;
  bool has_untimed_port_ = false;  // a port without a wake-up fd
};

}  // namespace sockswitch::dataplane
