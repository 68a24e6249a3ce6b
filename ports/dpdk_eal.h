// ports/dpdk_eal.h: DPDK's Environment Abstraction Layer, started once per process, on demand.
//
// The EAL is process-global state inside DPDK itself (it can be initialised
// once and never again after a failure), so this is the one place that
// owns it: the first DPDK port starts it, later ones reuse it, and a switch
// without DPDK ports never touches it (DESIGN.md: hugepages are never
// required for the default engine).
//
// Arguments: `--no-huge` unless asked (memory comes from anonymous mmap),
// `--no-pci` unless asked, `-l <core>` with one core the process may run on,
// `--file-prefix sockswitch-<pid>` and `--in-memory` (or, with --no-huge,
// which `--in-memory` refuses, `--no-shconf`) so that nothing is left in
// /var/run/dpdk and runs never meet, `--no-telemetry`, plus any extra
// arguments (e.g. `--vdev ...`). Devices for ports are not passed as
// --vdev: each DpdkPort hot-plugs its own (rte_dev_probe) and removes it on
// teardown, so ports can come and go after start (reload, tests).
//
// The EAL pins the thread that calls rte_eal_init to its main lcore; that is
// the control thread here, so its previous CPU affinity is put back.
//
// Threads: control thread only. The first call's options win; a failed
// start is remembered and reported again to every later caller.
#pragma once

#include <string>
#include <vector>

namespace sockswitch::ports {

struct EalOptions final {
  bool huge_pages = false;
  bool pci = false;
  std::vector<std::string> extra_args;
};

class DpdkEal final {
 public:
  // Starts the EAL if not yet started. Throws std::system_error with DPDK's
  // reason when rte_eal_init fails (now or on an earlier call).
  static void ensure_started(const EalOptions& options = {});
  // The arguments the EAL was (or would be) started with, for logs and tests.
  [[nodiscard]] static std::vector<std::string> arguments(const EalOptions& options);

  DpdkEal() = delete;
};

}  // namespace sockswitch::ports
