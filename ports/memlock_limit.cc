// ports/memlock_limit.cc: RLIMIT_MEMLOCK, raised once for AF_XDP.
#include "ports/memlock_limit.h"

#include <sys/resource.h>

#include <spdlog/spdlog.h>

namespace sockswitch::ports {

void raise_memlock_limit() noexcept {
  rlimit r{RLIM_INFINITY, RLIM_INFINITY};
  if (::setrlimit(RLIMIT_MEMLOCK, &r) == 0) return;
  if (::getrlimit(RLIMIT_MEMLOCK, &r) == 0) {
    r.rlim_cur = r.rlim_max;
    (void)::setrlimit(RLIMIT_MEMLOCK, &r);
  }
  spdlog::debug("RLIMIT_MEMLOCK stays at {} bytes", r.rlim_cur);
}

}  // namespace sockswitch::ports
