// tests/control/reload_devices_test.cc: reloads that change how devices are held.
//
// Plan. An in-process control::Switch (SwitchThread) in a fresh host
// namespace, one bridge `br0` with `actions=normal`: two `auto` veth ports
// (pa, pb: AF_XDP, native) whose inner ends are containers on
// 10.64.0.0/24, a tun port it creates (tun9) and a native WireGuard port
// bound to a fixed UDP port (wg9). Reload it three times: moving br0 to a
// second poll thread (every port over the new thread's buffers), changing
// pa's flooding (a new port on a device one XDP program holds) and the
// WireGuard ListenPort (a socket that cannot be bound twice), and back to
// one thread. Verify after each: every port is open and up on the engine
// it started with (AF_XDP stays AF_XDP, never a silent AF_PACKET), the tun
// and WireGuard ports are open (their devices and sockets were freed before
// they were taken again), and pings cross the bridge.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "control/config.h"
#include "tests/control/switch_host.h"
#include "tests/control/switch_thread.h"
#include "tests/net/require_netns.h"

namespace sockswitch::test {
namespace {

using namespace std::chrono_literals;

std::string wg_file(const std::string& dir, int listen_port) {
  const std::string path = fmt::format("{}/wg9-{}.conf", dir, listen_port);
  std::FILE* f = std::fopen(path.c_str(), "w");
  std::fprintf(f,
               "[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n"
               "ListenPort = %d\n",
               listen_port);
  std::fclose(f);
  return path;
}

std::string devices_config_text(const std::string& threads, const std::string& pa_extra,
                                const std::string& wg_conf, const std::string& run_dir) {
  return fmt::format(R"(wireguard_run_dir = "{}"
{}
[[bridge]]
name = "br0"
flow = ["actions=normal"]
[[bridge.port]]
name = "pa"
driver = "af_xdp"
{}
[[bridge.port]]
name = "pb"
driver = "af_xdp"
[[bridge.port]]
name = "tun9"
driver = "tun"
[[bridge.port]]
name = "wg9"
driver = "wireguard"
wg_config = "{}"
)",
                     run_dir, threads, pa_extra, wg_conf);
}

bool ping(const net::NetNamespace& ns, const std::string& addr) {
  for (int i = 0; i < 5; ++i)
    if (ns.exec({"ping", "-c", "1", "-W", "1", addr}, 3s).ok()) return true;
  return false;
}

TEST(ReloadDevices, PortsThatCannotBeHeldTwiceAreReopenedOnTheirEngineNeverDowngraded) {
  SOCKSWITCH_REQUIRE_NETNS();
  SwitchHost host;
  Container& a = host.plug("pa", "10.64.0.1/24");
  host.plug("pb", "10.64.0.2/24");
  const std::string dir =
      (std::filesystem::temp_directory_path() / fmt::format("reload-devices-{}", ::getpid()))
          .string();
  std::filesystem::create_directories(dir);
  const std::string wg_a = wg_file(dir, 45123), wg_b = wg_file(dir, 45124);
  const std::string one = "";
  const std::string two = "[[poll_thread]]\n[[poll_thread]]\nbridges = [\"br0\"]\n";

  SwitchThread sw(host.ns(), control::parse_config(devices_config_text(one, "", wg_a, dir), "<a>"));
  auto check = [&](const std::string& step) {
    const std::string show = sw.call([](control::Switch& s) { return s.show(); });
    for (const std::string p : {"pa", "pb"})
      EXPECT_NE(show.find(fmt::format("(af_xdp, af_xdp native): {} up", p)), std::string::npos)
          << step << ": " << p << " is not AF_XDP and up:\n"
          << show;
    EXPECT_NE(show.find("(tun): tun9 "), std::string::npos) << step << ":\n" << show;
    EXPECT_EQ(show.find("cannot open"), std::string::npos) << step << ":\n" << show;
    EXPECT_EQ(show.find(" missing"), std::string::npos) << step << ":\n" << show;
    EXPECT_NO_THROW(sw.call([](control::Switch& s) { return s.wg_show("wg9"); })) << step;
    EXPECT_TRUE(ping(*a.ns, "10.64.0.2")) << step << ": no ping across br0\n" << show;
  };
  check("start");

  sw.call([&](control::Switch& s) {
    s.reload(control::parse_config(devices_config_text(two, "", wg_a, dir), "<b>"));
  });
  check("br0 moved to a second poll thread");

  sw.call([&](control::Switch& s) {
    s.reload(control::parse_config(devices_config_text(two, "no_flood = true", wg_b, dir), "<c>"));
  });
  check("pa and wg9 changed");
  const std::string wg = sw.call([](control::Switch& s) { return s.wg_show("wg9"); });
  EXPECT_NE(wg.find("45124"), std::string::npos) << wg;

  sw.call([&](control::Switch& s) {
    s.reload(control::parse_config(devices_config_text(one, "", wg_a, dir), "<a again>"));
  });
  check("back to one poll thread");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sockswitch::test
