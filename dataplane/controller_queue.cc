// dataplane/controller_queue.cc: the punt eventfd.
#include "dataplane/controller_queue.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace sockswitch::dataplane {

ControllerQueues::ControllerQueues() : punt_fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (punt_fd < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
}

ControllerQueues::~ControllerQueues() {
  ::close(punt_fd);
}

void ControllerQueues::signal_punt() const noexcept {
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t w = ::write(punt_fd, &one, sizeof one);
}

}  // namespace sockswitch::dataplane
