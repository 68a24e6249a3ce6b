// tests/ports/wireguard_handshake_thread_test.cc: the WireGuard port's slow-work thread.
//
// Plan: start the thread with counting hooks and a UAPI server in a temp
// directory. Verify that ticks keep coming at the configured period (a few
// within a generous deadline, never a speed assertion), that notify() runs
// the queue hook, that a UAPI client is answered by the same thread, that a
// throwing hook is counted and the loop goes on, and that destruction
// wakes and joins the sleeping thread.
#include "ports/wireguard_handshake_thread.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <thread>

#include "tests/net/command.h"

namespace sockswitch::ports {
namespace {

using namespace std::chrono_literals;
using test::net::wait_until;

TEST(WireGuardHandshakeThread, TicksNotifiesServesUapiAndStops) {
  char dir[] = "/tmp/ssw-wgthread-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::atomic<int> ticks{0}, queued{0};
  std::atomic<std::thread::id> tick_thread{}, uapi_thread{};
  {
    WireGuardUapiServer uapi("wgh0",
                             [&](std::string_view) {
                               uapi_thread = std::this_thread::get_id();
                               return std::string("errno=0\n\n");
                             },
                             {.directory = dir});
    auto t = std::make_unique<WireGuardHandshakeThread>(
        "wgh0",
        WireGuardThreadHooks{.on_queue = [&] { ++queued; },
                             .on_tick =
                                 [&] {
                                   tick_thread = std::this_thread::get_id();
                                   ++ticks;
                                 }},
        &uapi, 20ms);
    EXPECT_TRUE(wait_until([&] { return ticks >= 3; }, 3s));
    EXPECT_EQ(queued, 0);
    t->notify();
    t->notify();  // two notifies before the thread wakes may be one run
    EXPECT_TRUE(wait_until([&] { return queued >= 1; }, 3s));
    EXPECT_GE(t->queue_runs(), 1u);

    const int c = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, uapi.path().c_str(), sizeof a.sun_path - 1);
    ASSERT_EQ(::connect(c, reinterpret_cast<const sockaddr*>(&a), sizeof a), 0);
    timeval tv{3, 0};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ASSERT_EQ(::write(c, "get=1\n\n", 7), 7);
    char buf[32] = {};
    EXPECT_EQ(::read(c, buf, sizeof buf), 9);
    EXPECT_STREQ(buf, "errno=0\n\n");
    ::close(c);
    // Everything ran on the port's thread, not on ours.
    EXPECT_EQ(tick_thread.load(), uapi_thread.load());
    EXPECT_NE(tick_thread.load(), std::this_thread::get_id());

    t.reset();  // joins: must return although the thread sleeps in poll()
  }
  std::filesystem::remove_all(dir);
}

TEST(WireGuardHandshakeThread, RunExecutesOnTheThreadAndReturnsOrRethrows) {
  std::atomic<std::thread::id> tick_thread{};
  WireGuardHandshakeThread t(
      "wgh2", {.on_queue = {}, .on_tick = [&] { tick_thread = std::this_thread::get_id(); }},
      nullptr, 10ms);
  ASSERT_TRUE(wait_until([&] { return tick_thread.load() != std::thread::id{}; }, 3s));
  EXPECT_EQ(t.run([] { return std::this_thread::get_id(); }), tick_thread.load());
  EXPECT_EQ(t.run([] { return 6 * 7; }), 42);
  EXPECT_THROW(t.run([]() -> int { throw std::invalid_argument("no such peer"); }),
               std::invalid_argument);
  EXPECT_EQ(t.hook_errors(), 0u);  // the task's exception went to its caller
}

TEST(WireGuardHandshakeThread, ThrowingHookIsCountedAndTheLoopGoesOn) {
  std::atomic<int> ticks{0};
  WireGuardHandshakeThread t(
      "wgh1",
      {.on_queue = [] { throw std::runtime_error("bad handshake"); }, .on_tick = [&] { ++ticks; }},
      nullptr, 20ms);
  t.notify();
  EXPECT_TRUE(wait_until([&] { return t.hook_errors() == 1; }, 3s));
  const int before = ticks;
  EXPECT_TRUE(wait_until([&] { return ticks >= before + 2; }, 3s));
  t.notify();
  EXPECT_TRUE(wait_until([&] { return t.hook_errors() == 2; }, 3s));
}

}  // namespace
}  // namespace sockswitch::ports
