// ports/wireguard_uapi_server.h: the WireGuard cross-platform UAPI socket of one port.
//
// `wg show`, `wg set` and `wg showconf` talk to a userspace WireGuard
// implementation over a unix stream socket at /var/run/wireguard/<name>.sock
// (https://www.wireguard.com/xplatform/). This class owns that socket and
// its connections and frames the requests; what a request means is the
// handler's business (the port's UAPI text protocol, ports/wireguard/).
//
// Framing, as wireguard-go serves it: a request is an operation line
// ("get=1" or "set=1") and, for set, key=value lines, ended by a blank line;
// the answer is whatever the handler returns (the get listing or nothing,
// then "errno=N" and a blank line). A connection may carry any number of
// requests, one after the other. A request is handed to the handler whole,
// blank line included, so the handler sees exactly what the client sent.
//
// Hostile or broken clients cannot hurt the switch: a request longer than
// max_request bytes, or one whose operation is neither get nor set, is
// answered "errno=-N" (EMSGSIZE, EINVAL; negative as wireguard-go sends it)
// and its connection closed, since the framing can no longer be trusted;
// both are counted. At most max_clients connections are open; more are
// accepted and closed at once (counted). A handler that throws is answered with EPROTO (counted)
// and the connection lives on. Replies the client does not read are buffered per connection, and
// that connection's further requests wait until they are written.
//
// Files: the directory is created 0755 when missing, the socket is 0600 (so
// only root talks to it, as with wireguard-go). A socket file left by a dead
// process (connect refused) is removed; one that a live process answers is
// not, and construction fails with EADDRINUSE; a non-socket file in the way
// fails with EEXIST. The destructor unlinks the path only while it is still
// this server's socket (same inode), so a successor's socket survives.
//
// Threads: driven by one external poll loop (the port's handshake thread):
// fd() is a single descriptor (an epoll set over the listener and every
// connection) that is readable when there is work, and handle_readable()
// does that work without ever blocking. counters() may be read anywhere.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "packet/single_writer_counter.h"
#include "ports/fd.h"

namespace sockswitch::ports {

struct WireGuardUapiOptions final {
  std::string directory = "/var/run/wireguard";
  std::size_t max_request = 1 << 20;  // a `wg setconf` of a few thousand peers fits
  std::size_t max_clients = 16;
};

struct WireGuardUapiCounters final {
  std::uint64_t connections = 0;  // accepted and served
  std::uint64_t requests = 0;     // handed to the handler
  std::uint64_t malformed = 0;    // operation neither get nor set
  std::uint64_t oversized = 0;    // longer than max_request
  std::uint64_t refused = 0;      // over max_clients
  std::uint64_t handler_errors = 0;
};

class WireGuardUapiServer final {
 public:
  // The request (operation line to blank line) -> the complete answer.
  using Handler = std::function<std::string(std::string_view request)>;

  // Creates the socket; throws std::system_error naming the call and path.
  WireGuardUapiServer(const std::string& name, Handler handler, WireGuardUapiOptions options = {});
  ~WireGuardUapiServer();
  WireGuardUapiServer(const WireGuardUapiServer&) = delete;
  WireGuardUapiServer& operator=(const WireGuardUapiServer&) = delete;

  [[nodiscard]] int fd() const noexcept { return epoll_.get(); }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

  // Accepts, reads, answers and closes whatever is ready; never blocks.
  void handle_readable() noexcept;

  [[nodiscard]] std::size_t open_connections() const noexcept { return clients_.size(); }
  [[nodiscard]] WireGuardUapiCounters counters() const noexcept;

 private:
  struct Client;

  void accept_all() noexcept;
  // false when the connection is finished and must be closed
  [[nodiscard]] bool serve(Client& c, std::uint32_t events) noexcept;
  [[nodiscard]] bool answer_complete_requests(Client& c);
  [[nodiscard]] bool flush(Client& c) noexcept;
  void close_client(int fd) noexcept;
  static void bump(std::atomic<std::uint64_t>& c) noexcept { packet::single_writer_add(c); }

  Handler handler_;
  WireGuardUapiOptions options_;
  std::string path_;
  Fd listener_, epoll_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  std::vector<std::unique_ptr<Client>> clients_;
  std::atomic<std::uint64_t> connections_{0}, requests_{0}, malformed_{0}, oversized_{0};
  std::atomic<std::uint64_t> refused_{0}, handler_errors_{0};
};

}  // namespace sockswitch::ports
