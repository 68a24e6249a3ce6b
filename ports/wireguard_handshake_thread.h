// ports/wireguard_handshake_thread.h: the thread a WireGuard port runs its slow work on.
//
// Forwarding must never wait for a handshake: a Noise handshake costs a few
// X25519 operations (tens of microseconds each), and a flood of initiations
// would otherwise stall every packet behind it. So the poll thread only
// queues handshake messages and returns to forwarding; this thread, owned
// by the port, does everything that is not a data packet:
//
//   * the handshake queue: when the poll thread queued messages it calls
//     notify() (an eventfd write, once per burst), and this thread runs
//     on_queue to process them;
//   * timers: on_tick every `tick` (a periodic timerfd, ~100 ms), for
//     rekey, retries, keepalives and key expiry;
//   * the UAPI socket (WireGuardUapiServer), so `wg show`/`wg set` are
//     answered here too and never touch the poll thread;
//   * tasks from the control thread (run()): state that only this thread
//     may touch (the protocol Device's peers) is read or changed here, with
//     the caller waiting for the result.
//
// It sleeps in poll() on those descriptors plus a stop eventfd: no work, no
// CPU. A hook that throws is logged and the loop carries on; the thread
// never dies while the port lives. Missed timer expirations (a slow hook)
// are folded into one tick, as the protocol's timers work on elapsed time.
//
// Threads: construct and destroy from the control thread; notify() from
// any thread (the poll thread); run() from any thread but this one; the
// hooks, tasks and the server run on this thread only. The destructor stops
// and joins it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "ports/fd.h"
#include "ports/wireguard_uapi_server.h"

namespace sockswitch::ports {

struct WireGuardThreadHooks final {
  std::function<void()> on_queue;  // handshake messages were queued
  std::function<void()> on_tick;   // the timer fired
};

class WireGuardHandshakeThread final {
 public:
  // `uapi` may be null (no UAPI socket); it must outlive this object.
  WireGuardHandshakeThread(std::string name, WireGuardThreadHooks hooks, WireGuardUapiServer* uapi,
                           std::chrono::milliseconds tick = std::chrono::milliseconds(100));
  ~WireGuardHandshakeThread();
  WireGuardHandshakeThread(const WireGuardHandshakeThread&) = delete;
  WireGuardHandshakeThread& operator=(const WireGuardHandshakeThread&) = delete;

  // Wakes the thread to run on_queue; cheap, never blocks.
  void notify() noexcept;

  // Runs `f` on the thread, waits, and returns what it returns (rethrows
  // what it throws). Never call it from the thread itself: it would wait
  // for itself.
  template <typename F>
  auto run(F&& f) -> std::invoke_result_t<F&> {
    std::packaged_task<std::invoke_result_t<F&>()> task(std::forward<F>(f));
    auto result = task.get_future();
    post([&task] { task(); });
    return result.get();
  }

  [[nodiscard]] std::uint64_t ticks() const noexcept {
    return ticks_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t queue_runs() const noexcept {
    return queue_runs_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t hook_errors() const noexcept {
    return hook_errors_.load(std::memory_order_relaxed);
  }

 private:
  void loop() noexcept;
  void post(std::function<void()> task);
  void run_tasks() noexcept;
  void call(const std::function<void()>& hook, const char* what) noexcept;

  std::string name_;
  WireGuardThreadHooks hooks_;
  WireGuardUapiServer* uapi_;
  Fd queue_event_, stop_event_, task_event_, timer_;
  std::mutex tasks_mutex_;
  std::vector<std::function<void()>> tasks_;
  std::atomic<std::uint64_t> ticks_{0}, queue_runs_{0}, hook_errors_{0};
  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace sockswitch::ports
