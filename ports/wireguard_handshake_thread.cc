// ports/wireguard_handshake_thread.cc: poll() over the queue eventfd, the timerfd and the UAPI
// socket.
#include "ports/wireguard_handshake_thread.h"
#include "packet/single_writer_counter.h"

#include <poll.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>

#include <exception>

namespace sockswitch::ports {
namespace {

Fd make_eventfd(const char* what) {
  Fd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!fd) throw_errno(std::string("eventfd(") + what + ")");
  return fd;
}

void drain(const Fd& fd) noexcept {
  std::uint64_t v;
  while (::read(fd.get(), &v, sizeof v) > 0) {
  }
}

}  // namespace

WireGuardHandshakeThread::WireGuardHandshakeThread(std::string name, WireGuardThreadHooks hooks,
                                                   WireGuardUapiServer* uapi,
                                                   std::chrono::milliseconds tick)
    : name_(std::move(name)),
      hooks_(std::move(hooks)),
      uapi_(uapi),
      queue_event_(make_eventfd("handshake queue")),
      stop_event_(make_eventfd("handshake stop")),
      task_event_(make_eventfd("handshake tasks")),
      timer_(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) {
  if (!timer_) throw_errno("timerfd_create");
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(tick).count();
  itimerspec spec{};
  spec.it_interval.tv_sec = ns / 1'000'000'000;
  spec.it_interval.tv_nsec = ns % 1'000'000'000;
  spec.it_value = spec.it_interval;
  if (ns <= 0 || ::timerfd_settime(timer_.get(), 0, &spec, nullptr) != 0)
    throw_errno("timerfd_settime", ns <= 0 ? EINVAL : errno);
  thread_ = std::thread([this] { loop(); });
  // "wg:" + the port name, cut to the kernel's 15 characters: shows in top -H.
  (void)::pthread_setname_np(thread_.native_handle(), ("wg:" + name_).substr(0, 15).c_str());
}

WireGuardHandshakeThread::~WireGuardHandshakeThread() {
  const std::uint64_t one = 1;
  (void)::write(stop_event_.get(), &one, sizeof one);
  thread_.join();
}

void WireGuardHandshakeThread::notify() noexcept {
  const std::uint64_t one = 1;
  (void)::write(queue_event_.get(), &one, sizeof one);
}

void WireGuardHandshakeThread::call(const std::function<void()>& hook, const char* what) noexcept {
  if (!hook) return;
  try {
    hook();
  } catch (const std::exception& e) {
    packet::single_writer_add(hook_errors_);
    spdlog::error("wireguard port {}: {} failed: {}", name_, what, e.what());
  }
}

void WireGuardHandshakeThread::post(std::function<void()> task) {
  {
    std::lock_guard lock(tasks_mutex_);
    tasks_.push_back(std::move(task));
  }
  const std::uint64_t one = 1;
  (void)::write(task_event_.get(), &one, sizeof one);
}

void WireGuardHandshakeThread::run_tasks() noexcept {
  drain(task_event_);
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(tasks_mutex_);
    tasks.swap(tasks_);
  }
  for (auto& t : tasks)
    call(t, "control task");  // run()'s packaged_task keeps its own exception
}

void WireGuardHandshakeThread::loop() noexcept {
  pollfd fds[5] = {{stop_event_.get(), POLLIN, 0},
                   {queue_event_.get(), POLLIN, 0},
                   {timer_.get(), POLLIN, 0},
                   {task_event_.get(), POLLIN, 0},
                   {uapi_ != nullptr ? uapi_->fd() : -1, POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 5, -1) < 0) continue;  // EINTR
    if (fds[0].revents != 0) return;
    // Queue first: a waiting handshake is what traffic is stalled on.
    if (fds[1].revents != 0) {
      drain(queue_event_);
      packet::single_writer_add(queue_runs_);
      call(hooks_.on_queue, "handshake queue");
    }
    if (fds[2].revents != 0) {
      drain(timer_);
      packet::single_writer_add(ticks_);
      call(hooks_.on_tick, "timer tick");
    }
    if (fds[3].revents != 0) run_tasks();
    if (fds[4].revents != 0) uapi_->handle_readable();
  }
}

}  // namespace sockswitch::ports
