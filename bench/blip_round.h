// bench/blip_round.h: one round of a reload blip bench (reload_blip.cc,
// wireguard_reload_blip.cc): a paced, numbered UDP stream of 30 000
// datagrams at 10 kpps, one change made a second in, and the datagrams the
// receiver never got (× 0.1 ms: how long the path was gone) printed as one
// row of the table.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <future>
#include <string>
#include <thread>

#include "tests/net/netns.h"
#include "tests/net/udp_stream.h"

namespace sockswitch::bench {

inline void print_blip_header() {
  std::printf("%-46s %6s %8s %8s %10s\n", "reload", "round", "sent", "lost", "blip (ms)");
}

inline void blip_round(const char* name, int round, const test::net::NetNamespace& from,
                       const test::net::NetNamespace& to, const std::string& to_addr,
                       const std::function<void()>& change) {
  using namespace std::chrono_literals;
  std::atomic<std::size_t> progress{0};
  test::net::UdpStreamSpec spec;
  spec.to_addr = to_addr;
  spec.count = 30'000;
  spec.interval = 100us;
  spec.progress = &progress;
  auto stream =
      std::async(std::launch::async, [&] { return test::net::udp_stream(from, to, spec); });
  while (progress.load() < 10'000)
    std::this_thread::sleep_for(1ms);
  const auto t0 = std::chrono::steady_clock::now();
  change();
  const double change_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const test::net::UdpStreamResult res = stream.get();
  const std::size_t lost = res.sent - res.received;
  std::printf("%-46s %6d %8zu %8zu %10.1f   (reload took %.1f ms%s)\n", name, round, res.sent, lost,
              static_cast<double>(lost) * 0.1, change_ms, res.path_up ? "" : "; path not up");
  std::fflush(stdout);
}

}  // namespace sockswitch::bench
