// tests/control/switch_thread.cc: the Switch's control thread for in-process tests.
#include "tests/control/switch_thread.h"

namespace sockswitch::test {

SwitchThread::SwitchThread(const net::NetNamespace& host, control::Config config) {
  std::promise<void> built;
  std::future<void> ready = built.get_future();
  thread_ = std::thread(
      [this, &host, &built, c = std::move(config)]() mutable { loop(host, std::move(c), built); });
  try {
    ready.get();
  } catch (...) {
    thread_.join();
    throw;
  }
}

SwitchThread::~SwitchThread() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void SwitchThread::post(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
}

void SwitchThread::loop(const net::NetNamespace& host, control::Config config,
                        std::promise<void>& built) {
  try {
    host.enter_this_thread();
    sw_ = std::make_unique<control::Switch>(std::move(config));
  } catch (...) {
    built.set_exception(std::current_exception());
    return;
  }
  built.set_value();
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) break;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
  sw_.reset();
}

}  // namespace sockswitch::test
