// control/control_server.h: the control socket (`sockswitch ctl`), bounded.
//
// One JSON request per connection, one JSON reply (control_commands.h).
// A control socket is reachable by every root process on the host, and by a
// hook that hangs: nothing a client does may grow the daemon without bound
// or tie up the control thread. So every way a client can take resources
// has a limit, and going over it is answered with an error (never a silent
// close) and counted with the refused requests:
//   * connections open at once (a client that opens many and sends nothing),
//   * bytes of one request (a flow file is the largest legitimate one),
//   * bytes buffered by all connections together,
//   * time to send a complete request (an idle or trickling client), and
//     to take the reply (a client that stops reading holds no slot forever).
// The defaults allow replace-flows of a few hundred thousand flows.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include <utility>

#include <boost/asio.hpp>

#include "control/switch.h"

namespace sockswitch::control {

struct ControlLimits {
  std::size_t max_connections = 16;
  std::size_t max_request = 64 << 20;    // one request, bytes
  std::size_t max_buffered = 128 << 20;  // all connections together, bytes
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds reply_timeout{60'000};  // `ctl` waits as long
};

class ControlServer final {
 public:
  using Local = boost::asio::local::stream_protocol;
  using Hook = std::function<std::string()>;

  // Serves `acceptor` (bound and listening) on its executor's thread.
  ControlServer(Local::acceptor& acceptor, Switch& sw, Hook reload, Hook sources,
                ControlLimits limits = {});
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  void start();

  // What the limits refused so far (also counted in Switch::rejected_requests).
  struct Refusals {
    std::size_t busy = 0, too_large = 0, timed_out = 0;
  };
  [[nodiscard]] Refusals refusals() const noexcept;
  [[nodiscard]] std::size_t open_connections() const noexcept;

 private:
  class Session;
  struct Shared;
  void accept();

  Local::acceptor& acceptor_;
  std::shared_ptr<Shared> shared_;  // outlives the server while sessions hold it
};

}  // namespace sockswitch::control
