// tests/net/in_namespace.h: runs one function on a thread inside a namespace.
//
// A socket belongs to the namespace it was created in for its whole life,
// whichever thread later uses it. So tests create their sockets here (a
// short-lived thread that enters the namespace, makes the socket, and
// exits) and then use them from the test's own thread: no per-namespace
// worker threads, and the test thread never leaves the root namespace.
#pragma once

#include <future>
#include <thread>
#include <type_traits>
#include <utility>

#include "tests/net/netns.h"

namespace sockswitch::test::net {

// Returns what `f` returns; rethrows what it throws.
template <typename F>
auto in_namespace(const NetNamespace& ns, F&& f) -> std::invoke_result_t<F&> {
  using R = std::invoke_result_t<F&>;
  std::packaged_task<R()> task([&ns, &f]() -> R {
    ns.enter_this_thread();
    return f();
  });
  std::future<R> result = task.get_future();
  std::thread(std::move(task)).join();
  return result.get();
}

}  // namespace sockswitch::test::net
