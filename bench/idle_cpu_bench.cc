// bench/idle_cpu_bench.cc: what an idle switch costs.
//
// A poll thread serving one bridge of four in-memory ports (each with a
// wake-up fd, as real ports have) and no traffic, measured over 10 s of wall
// time: `cpu_percent` is the process's CPU time over that window as a
// percentage of one core. Adaptive polling should make it well under 1%.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <time.h>

#include <thread>

#include "dataplane/poll_thread.h"
#include "ports/ring_port.h"

namespace sockswitch::dataplane {
namespace {

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void BM_IdleSwitchCpu(benchmark::State& state) {
  std::vector<std::unique_ptr<ports::RingPort>> ports;
  std::vector<BridgePort> bp;
  Bridge bridge("idle", 0);
  for (std::uint32_t i = 1; i <= 4; ++i) {
    ports.push_back(std::make_unique<ports::RingPort>(fmt::format("p{}", i)));
    bp.push_back({flowtable::PortNo{i}, ports.back().get()});
  }
  bridge.set_ports(std::move(bp));
  PollThread thread({}, {&bridge});
  thread.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // settle into sleep
  for (auto _ : state) {
    const double cpu0 = process_cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(10));
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    state.counters["cpu_percent"] = 100.0 * (process_cpu_seconds() - cpu0) / wall;
    state.counters["sleeps_per_s"] = static_cast<double>(thread.stats().sleeps.get()) / wall;
  }
  thread.stop();
}

BENCHMARK(BM_IdleSwitchCpu)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

}  // namespace
}  // namespace sockswitch::dataplane

BENCHMARK_MAIN();
