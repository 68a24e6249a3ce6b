// dataplane/poll_thread.cc: the poll loop, RCU quiescent points, adaptive sleep.
#include "dataplane/poll_thread.h"

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "packet/rcu.h"

namespace sockswitch::dataplane {

using packet::Burst;
using packet::Packet;
using packet::PacketPool;
using packet::RcuReader;

PollThread::PollThread(PollThreadConfig config, std::vector<const Bridge*> bridges)
    : config_(std::move(config)), bridges_(std::move(bridges)) {
  if (config_.index >= flowtable::kMaxPollThreads)
    throw std::invalid_argument("poll thread index out of range");
  pool_ = config_.pool ? config_.pool : std::make_shared<PacketPool>(config_.pool_packets);
  pipeline_ = std::make_unique<Pipeline>(config_.index, *pool_, stats_, config_.pipeline);
  kick_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (kick_fd_ < 0 || epoll_fd_ < 0)
    throw std::system_error(errno, std::generic_category(), "eventfd/epoll_create1");
  seen_generation_.assign(bridges_.size(), ~std::uint64_t{0});
}

PollThread::~PollThread() {
  stop();
  ::close(kick_fd_);
  ::close(epoll_fd_);
}

void PollThread::start() {
  stop_.store(false);
  thread_ = std::thread([this] { run(); });
  if (config_.cpu) pin(config_.cpu);
}

void PollThread::pin(std::optional<int> cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (cpu) {
    CPU_SET(static_cast<std::size_t>(*cpu), &set);
  } else {
    for (std::size_t c = 0; c < CPU_SETSIZE; ++c)
      CPU_SET(c, &set);
  }
  if (int e = pthread_setaffinity_np(thread_.native_handle(), sizeof set, &set))
    throw std::system_error(e, std::generic_category(), "pthread_setaffinity_np");
  config_.cpu = cpu;
}

void PollThread::stop() noexcept {
  if (!thread_.joinable()) return;
  stop_.store(true);
  kick();
  thread_.join();
}

void PollThread::kick() noexcept {
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t w = ::write(kick_fd_, &one, sizeof one);
}

void PollThread::run() noexcept {
  RcuReader rcu;
  std::uint32_t idle = 0;
  auto last_aging = std::chrono::steady_clock::now();
  auto last_clock = last_aging;
  bool busy = false;
  while (!stop_.load(std::memory_order_relaxed)) {
    const auto clock = std::chrono::steady_clock::now();
    // The pass that just ended, counted busy when it moved packets (the
    // clock is read here anyway): the busy ratio is its rate.
    if (busy)
      stats_.busy_ns.add(static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(clock - last_clock).count()));
    last_clock = clock;
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(clock.time_since_epoch());
    busy = poll_once(now);
    for (const Bridge* b : bridges_)  // `fdb-show` asks the table's writer
      if (const BridgeSnapshot* s = b->published(); s != nullptr && s->mac->copy_wanted())
        s->mac->write_copy(now);
    if (clock - last_aging >= std::chrono::seconds(1)) {
      for (const Bridge* b : bridges_)
        if (const BridgeSnapshot* s = b->published()) {
          s->mac->expire(now, 1024);
          s->mac->publish_counts();
        }
      last_aging = clock;
    }
    RcuReader::quiescent();
    idle = busy ? 0 : idle + 1;
    if (idle >= config_.idle_polls_before_sleep) {
      sleep();
      idle = 0;
    }
  }
}

bool PollThread::poll_once(std::chrono::seconds now) noexcept {
  bool busy = false;
  for (const Bridge* b : bridges_) {
    const BridgeSnapshot* snap = b->published();
    if (snap == nullptr) continue;
    if (!snap->removals.empty() && snap->removals.back().seq > snap->mac->removals_applied())
      snap->mac->apply_removals(snap->removals);
    busy |= inject(*snap, now);
    for (const BridgePort& bp : snap->ports) {
      for (std::uint16_t q = bp.rx_queue; q < bp.rx_queue + bp.rx_queues; ++q) {
        Burst burst;
        const std::size_t n = bp.port->rx_burst(q, *pool_, burst.storage());
        if (n == 0) continue;
        burst.set_size(n);
        if (ports::PortCapture* c = bp.port->capture()) [[unlikely]]
          c->record(ports::CaptureDirection::rx, burst.packets());
        for (Packet* p : burst)
          p->set_in_port(bp.no);
        pipeline_->process(*snap, burst.packets(), now);
        busy = true;
      }
    }
  }
  pipeline_->flush();
  pool_->reclaim();
  return busy;
}

bool PollThread::inject(const BridgeSnapshot& snap, std::chrono::seconds now) noexcept {
  if (snap.controller == nullptr) return false;
  bool any = false;
  while (const InjectedPacket* in = snap.controller->injected.front()) {
    Packet* p = pool_->alloc();
    if (p == nullptr) break;  // no buffer now: it waits for the next pass
    std::uint8_t* to = p->append(in->len);
    if (to != nullptr) {
      std::memcpy(to, in->data.data(), in->len);
      p->set_in_port(flowtable::PortNo{in->in_port});
      pipeline_->inject(snap, *in, p, now);
    } else {
      pool_->free(p);  // larger than a buffer: the control side never sends one
    }
    snap.controller->injected.pop();
    any = true;
  }
  return any;
}

void PollThread::rebuild_wakeup_set() noexcept {
  ::close(epoll_fd_);
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  has_untimed_port_ = false;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = kick_fd_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, kick_fd_, &ev);
  for (std::size_t i = 0; i < bridges_.size(); ++i) {
    const BridgeSnapshot* snap = bridges_[i]->published();
    seen_generation_[i] = snap ? snap->generation : 0;
    if (snap == nullptr) continue;
    for (const BridgePort& bp : snap->ports) {
      for (std::uint16_t q = bp.rx_queue; q < bp.rx_queue + bp.rx_queues; ++q) {
        const int fd = bp.port->wakeup_fd(q);
        if (fd < 0) {
          has_untimed_port_ = true;
          continue;
        }
        // EEXIST: two queues or ports sharing one fd; once is enough.
        ev.data.fd = fd;
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
      }
    }
  }
}

void PollThread::sleep() noexcept {
  bool changed = false;
  for (std::size_t i = 0; i < bridges_.size(); ++i) {
    const BridgeSnapshot* snap = bridges_[i]->published();
    changed |= (snap ? snap->generation : 0) != seen_generation_[i];
  }
  if (changed) rebuild_wakeup_set();

  const int timeout_ms = has_untimed_port_ ? 1 : static_cast<int>(config_.max_sleep.count());
  stats_.sleeps.add(1);
  RcuReader::offline();
  epoll_event events[8];
  const int n = ::epoll_wait(epoll_fd_, events, 8, timeout_ms);
  RcuReader::online();
  for (int i = 0; i < n; ++i) {
    if (events[i].data.fd == kick_fd_) {
      std::uint64_t v;
      [[maybe_unused]] const ssize_t r = ::read(kick_fd_, &v, sizeof v);
    }
  }
}

}  // namespace sockswitch::dataplane
