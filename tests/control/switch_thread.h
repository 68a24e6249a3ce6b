// tests/control/switch_thread.h: an in-process Switch living inside a namespace.
//
// A Switch opens its ports by name in the namespace of the thread that
// builds it, and refresh_ports() looks devices up the same way, so every
// call must come from a thread inside the host namespace. SwitchThread owns
// that thread: it enters the namespace, builds the Switch from the config,
// runs each call() there (the test waits for the answer; exceptions come
// back to the caller), and destroys the Switch there. The poll threads the
// Switch starts inherit the namespace.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>

#include "control/config.h"
#include "control/switch.h"
#include "tests/net/netns.h"

namespace sockswitch::test {

class SwitchThread final {
 public:
  SwitchThread(const net::NetNamespace& host, control::Config config);
  ~SwitchThread();
  SwitchThread(const SwitchThread&) = delete;
  SwitchThread& operator=(const SwitchThread&) = delete;

  template <typename F>
  auto call(F&& f) -> std::invoke_result_t<F&, control::Switch&> {
    using R = std::invoke_result_t<F&, control::Switch&>;
    auto task = std::make_shared<std::packaged_task<R()>>([this, &f]() -> R { return f(*sw_); });
    std::future<R> result = task->get_future();
    post([task] { (*task)(); });
    return result.get();
  }

 private:
  void post(std::function<void()> job);
  void loop(const net::NetNamespace& host, control::Config config, std::promise<void>& built);

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::unique_ptr<control::Switch> sw_;
  std::thread thread_;
};

}  // namespace sockswitch::test
