// ports/dpdk_eal.cc: building the EAL command line and starting it once.
#include "ports/dpdk_eal.h"

#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <optional>
#include <system_error>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wvolatile"
#include <rte_eal.h>
#include <rte_errno.h>
#pragma GCC diagnostic pop

namespace sockswitch::ports {
namespace {

// One process, one EAL: what happened the first time, kept for later callers.
struct EalState {
  std::mutex mutex;
  bool attempted = false;
  std::optional<std::system_error> failure;
  std::vector<std::string> args;  // rte_eal_init may keep pointers into argv
  std::vector<char*> argv;
};

EalState& state() {
  static EalState s;
  return s;
}

int first_allowed_cpu(const cpu_set_t& set) {
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set)) return cpu;
  return 0;
}

}  // namespace

std::vector<std::string> DpdkEal::arguments(const EalOptions& options) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  (void)::sched_getaffinity(0, sizeof allowed, &allowed);
  std::vector<std::string> args{"sockswitch",
                                "-l",
                                std::to_string(first_allowed_cpu(allowed)),
                                "--file-prefix",
                                "sockswitch-" + std::to_string(::getpid()),
                                "--no-telemetry",
                                "--log-level=5"};  // warnings and worse
  // --in-memory (no files under /var/run/dpdk) conflicts with --no-huge,
  // which implies legacy memory mode; --no-shconf is its part that applies.
  if (options.huge_pages)
    args.emplace_back("--in-memory");
  else
    args.insert(args.end(), {"--no-huge", "-m", "256", "--no-shconf"});
  if (!options.pci) args.emplace_back("--no-pci");
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  return args;
}

void DpdkEal::ensure_started(const EalOptions& options) {
  EalState& s = state();
  const std::lock_guard lock(s.mutex);
  if (s.attempted) {
    if (s.failure) throw *s.failure;
    return;
  }
  s.attempted = true;
  s.args = arguments(options);
  for (std::string& a : s.args)
    s.argv.push_back(a.data());
  s.argv.push_back(nullptr);

  cpu_set_t before;
  CPU_ZERO(&before);
  const bool had_affinity = ::sched_getaffinity(0, sizeof before, &before) == 0;
  const int r = rte_eal_init(static_cast<int>(s.args.size()), s.argv.data());
  const int err = rte_errno;
  if (had_affinity) (void)::sched_setaffinity(0, sizeof before, &before);
  if (r < 0) {
    std::string cmd;
    for (const std::string& a : s.args)
      cmd += (cmd.empty() ? "" : " ") + a;
    s.failure.emplace(err, std::generic_category(),
                      "rte_eal_init(" + cmd + "): " + rte_strerror(err));
    throw *s.failure;
  }
}

}  // namespace sockswitch::ports
