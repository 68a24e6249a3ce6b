// bench/reload_blip.cc: what a reload costs the traffic of a port it reopens.
//
// End to end, root: a host namespace runs an in-process control::Switch
// (bridge br0, `actions=normal`) over two `auto` veth ports (pa, pb:
// AF_XDP, native) whose inner ends are containers A (10.66.0.1) and B
// (10.66.0.2). A paced, numbered UDP stream runs from A to B (10 kpps for
// 3 s, tests/net/udp_stream); one second in, the switch is reloaded with
// one change, and the datagrams B never received are the change's blip.
//
// Scenarios: the same file again (nothing may be lost); pa's `no_flood`
// changed (pa's device cannot be held twice: closed, then opened); br0
// moved to a second poll thread (both ports reopen over that thread's
// buffers); a flow added (the table changes, the ports do not).
//
// Usage: reload_blip [rounds]   (default 3). Run it under the benchmark lock.
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/blip_round.h"
#include "control/config.h"
#include "control/switch.h"
#include "tests/net/command.h"
#include "tests/net/netns.h"
#include "tests/net/udp_stream.h"

namespace {

using namespace std::chrono_literals;
namespace net = sockswitch::test::net;
namespace control = sockswitch::control;

std::string config(const std::string& threads, const std::string& pa_extra,
                   const std::string& extra_flow) {
  return fmt::format(R"({}
[[bridge]]
name = "br0"
flow = ["priority=10,actions=normal"{}]
[[bridge.port]]
name = "pa"
{}
[[bridge.port]]
name = "pb"
)",
                     threads, extra_flow, pa_extra);
}

struct Scenario {
  const char* name;
  std::string wanted;
};

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 3;
  net::NetNamespace host, a, b;
  for (const auto& [port, ns, addr] :
       {std::tuple{"pa", &a, "10.66.0.1/24"}, std::tuple{"pb", &b, "10.66.0.2/24"}}) {
    net::run_checked({"ip", "-n", host.name(), "link", "add", port, "type", "veth", "peer", "name",
                      "eth0", "netns", ns->name()});
    net::run_checked({"ip", "-n", host.name(), "link", "set", port, "up"});
    net::configure_link(*ns, "eth0", {addr});
  }
  const std::string base = config("", "", "");
  const std::vector<Scenario> scenarios{
      {"same file (no change)", base},
      {"pa no_flood (AF_XDP port reopened)", config("", "no_flood = true", "")},
      {"br0 to a second poll thread (both reopened)",
       config("[[poll_thread]]\n[[poll_thread]]\nbridges = [\"br0\"]\n", "", "")},
      {"a flow added (no port touched)",
       config("", "", ", \"priority=20,udp,tp_dst=7,actions=drop\"")},
  };

  // The switch lives on a thread inside the host namespace: it opens its
  // ports by name there, and its poll threads inherit the namespace.
  std::mutex mutex;
  std::condition_variable wake;
  std::function<void(control::Switch&)> job;
  bool quit = false;
  std::thread owner([&] {
    host.enter_this_thread();
    control::Switch sw(control::parse_config(base, "<blip>"));
    std::unique_lock lock(mutex);
    for (;;) {
      wake.wait(lock, [&] { return job || quit; });
      if (quit) return;
      job(sw);
      job = nullptr;
      wake.notify_all();
    }
  });
  auto on_switch = [&](std::function<void(control::Switch&)> f) {
    std::unique_lock lock(mutex);
    job = std::move(f);
    wake.notify_all();
    wake.wait(lock, [&] { return !job; });
  };

  sockswitch::bench::print_blip_header();
  for (const Scenario& s : scenarios) {
    for (int r = 0; r < rounds; ++r) {
      on_switch([&](control::Switch& sw) { sw.reload(control::parse_config(base, "<blip>")); });
      sockswitch::bench::blip_round(s.name, r + 1, a, b, "10.66.0.2", [&] {
        on_switch(
            [&](control::Switch& sw) { sw.reload(control::parse_config(s.wanted, "<blip>")); });
      });
    }
  }
  {
    std::lock_guard lock(mutex);
    quit = true;
  }
  wake.notify_all();
  owner.join();
  return 0;
}
