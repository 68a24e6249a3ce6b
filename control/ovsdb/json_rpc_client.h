// control/ovsdb/json_rpc_client.h: one JSON-RPC 1.0 connection to ovsdb-server.
//
// Connects to "unix:PATH" or "tcp:ADDRESS:PORT", sends requests with
// numeric ids and routes replies to their callbacks, answers the server's
// `echo` (its inactivity probe) and hands every other notification
// (`update`, `locked`, `stolen`) to one handler. Messages are cut out of the
// stream by JsonStream. Any failure (refused connection, a broken stream, a
// malformed message) closes the connection once and says why; the owner
// makes a new client to reconnect. Runs on the control thread's io_context.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include <boost/asio.hpp>
#include <nlohmann/json.hpp>

#include "control/ovsdb/json_stream.h"

namespace sockswitch::control::ovsdb {

class JsonRpcClient final : public std::enable_shared_from_this<JsonRpcClient> {
 public:
  using Json = nlohmann::json;
  using Reply = std::function<void(const Json& result, const Json& error)>;
  using Notification = std::function<void(const std::string& method, const Json& params)>;
  using Closed = std::function<void(const std::string& why)>;

  // Throws std::invalid_argument for a remote that is neither form.
  JsonRpcClient(boost::asio::io_context& io, const std::string& remote);

  // Handlers are called on the io_context; after `closed`, none is.
  void start(std::function<void()> connected, Notification notification, Closed closed);
  void call(const std::string& method, Json params, Reply reply);
  void close(const std::string& why);
  [[nodiscard]] bool open() const noexcept { return open_; }

 private:
  void read();
  void dispatch(const Json& message);
  void send(const Json& message);
  void write_next();

  boost::asio::generic::stream_protocol::socket socket_;
  boost::asio::generic::stream_protocol::endpoint endpoint_;
  std::function<void()> connected_;
  Notification notification_;
  Closed closed_;
  JsonStream stream_;
  std::array<char, 65536> buffer_{};
  std::deque<std::string> out_;
  std::map<std::int64_t, Reply> pending_;
  std::int64_t next_id_ = 1;
  bool open_ = false;
  bool closed_once_ = false;
};

}  // namespace sockswitch::control::ovsdb
