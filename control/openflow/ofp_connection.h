// control/openflow/ofp_connection.h: one OpenFlow connection over a
// stream socket (unix or TCP, accepted or made), and the base of the things
// that hold connections (listeners, connectors).
//
// A StreamConnection runs a Session: bytes read go to it, its replies are
// written in order, a client that stops reading its replies is cut off
// (kMaxBacklog), and a run of flow mods is applied once the client pauses
// (kQuiet, re-armed by every read). Everything runs on the control thread's
// io_context; async handlers hold the connection alive.
#pragma once

#include <array>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "control/openflow/ofp_session.h"

namespace sockswitch::control::openflow {

namespace asio = boost::asio;

// A client that stops reading while replies pile up (a dump of a huge
// table) is cut off rather than buffered without bound.
inline constexpr std::size_t kMaxBacklog = 64u << 20;

class Connection {
 public:
  virtual ~Connection() = default;
  virtual void close() = 0;
  // Sends what `make` builds from this connection's session (nothing when
  // it builds nothing).
  virtual void send_unasked(
      const std::function<std::vector<std::uint8_t>(const Session&)>& make) = 0;
  // Open, with an OpenFlow version agreed.
  [[nodiscard]] virtual bool agreed() const noexcept = 0;
  // The version agreed (0: none yet).
  [[nodiscard]] virtual std::uint8_t version() const noexcept = 0;
  // When the peer last sent anything (inactivity probes).
  [[nodiscard]] virtual std::chrono::steady_clock::time_point last_heard() const noexcept = 0;
};

template <typename Protocol>
class StreamConnection final : public Connection,
                               public std::enable_shared_from_this<StreamConnection<Protocol>> {
 public:
  StreamConnection(typename Protocol::socket socket, Switch& sw, const std::string& bridge,
                   std::function<void()> on_close = {})
      : socket_(std::move(socket)),
        quiet_(socket_.get_executor()),
        session_(sw, bridge),
        on_close_(std::move(on_close)) {}

  void start() {
    send(session_.hello());
    read();
  }
  void close() override {
    boost::system::error_code ignored;
    socket_.close(ignored);
    quiet_.cancel();
    if (auto done = std::exchange(on_close_, nullptr)) done();
  }
  [[nodiscard]] bool agreed() const noexcept override {
    return socket_.is_open() && session_.version() != 0;
  }
  [[nodiscard]] std::uint8_t version() const noexcept override {
    return socket_.is_open() ? session_.version() : 0;
  }
  [[nodiscard]] std::chrono::steady_clock::time_point last_heard() const noexcept override {
    return last_heard_;
  }
  void send_unasked(const std::function<std::vector<std::uint8_t>(const Session&)>& make) override {
    if (closing_ || !socket_.is_open()) return;
    std::vector<std::uint8_t> bytes = make(session_);
    if (!bytes.empty()) send(std::move(bytes));
  }

 private:
  void read() {
    auto self = this->shared_from_this();
    socket_.async_read_some(
        asio::buffer(buffer_), [self](boost::system::error_code ec, std::size_t n) {
          std::vector<std::uint8_t> out;
          if (ec) {  // closed by the peer or by us: what it sent still counts
            self->session_.flush_run(out);
            self->close();
            return;
          }
          self->last_heard_ = std::chrono::steady_clock::now();
          const bool open =
              self->session_.receive(std::span<const std::uint8_t>(self->buffer_.data(), n), out);
          if (!out.empty()) self->send(std::move(out));
          if (open && self->session_.run_pending()) self->apply_when_quiet();
          if (!open) {
            spdlog::warn("openflow {}: connection closed: {}", self->session_.bridge(),
                         self->session_.close_reason());
            self->closing_ = true;
            if (self->queue_.empty()) self->close();
            return;
          }
          self->read();
        });
  }
  // Applies a pending run of flow mods once the client has sent nothing
  // for kQuiet (each read re-arms the timer, so a streamed `add-flows` is
  // one version, not one per read).
  void apply_when_quiet() {
    quiet_.expires_after(kQuiet);
    quiet_.async_wait([self = this->shared_from_this()](boost::system::error_code ec) {
      if (ec) return;  // re-armed by a later read, or closed
      std::vector<std::uint8_t> out;
      self->session_.flush_run(out);
      if (!out.empty()) self->send(std::move(out));
    });
  }
  void send(std::vector<std::uint8_t> bytes) {
    backlog_ += bytes.size();
    if (backlog_ > kMaxBacklog) {
      spdlog::warn("openflow {}: the client does not read its replies; connection closed",
                   session_.bridge());
      close();
      return;
    }
    queue_.push_back(std::move(bytes));
    if (queue_.size() == 1) write();
  }
  void write() {
    auto self = this->shared_from_this();
    asio::async_write(socket_, asio::buffer(queue_.front()),
                      [self](boost::system::error_code ec, std::size_t) {
                        if (ec) return;
                        self->backlog_ -= self->queue_.front().size();
                        self->queue_.pop_front();
                        if (!self->queue_.empty())
                          self->write();
                        else if (self->closing_)
                          self->close();
                      });
  }

  static constexpr std::chrono::milliseconds kQuiet{2};

  typename Protocol::socket socket_;
  asio::steady_timer quiet_;
  Session session_;
  std::function<void()> on_close_;  // once, when the connection ends
  std::chrono::steady_clock::time_point last_heard_ = std::chrono::steady_clock::now();
  std::array<std::uint8_t, 64 * 1024> buffer_{};
  std::deque<std::vector<std::uint8_t>> queue_;
  std::size_t backlog_ = 0;
  bool closing_ = false;
};

using Connections = std::vector<std::weak_ptr<Connection>>;

// One listening socket and the connections it accepted.
// What the Open vSwitch database's Controller row says of an endpoint
// (is_connected, status:state and status:last_error, as ovs-vswitchd
// writes them).
struct EndpointStatus {
  bool connected = false;
  std::string state;       // ACTIVE, BACKOFF, CONNECTING; LISTENING for a passive one
  std::string last_error;  // why the last attempt failed; empty when none did
};

class Endpoint {
 public:
  virtual ~Endpoint() = default;
  // A passive endpoint (a listener) is connected while a client is.
  [[nodiscard]] virtual EndpointStatus status() {
    const bool any = !connections().empty();
    return {any, any ? "ACTIVE" : "LISTENING", ""};
  }
  // For `ctl show`: "listening on unix:PATH", "controller tcp:A:P connected
  // (OpenFlow 1.3)".
  [[nodiscard]] virtual std::string describe() const = 0;
  // The connections still open.
  [[nodiscard]] virtual std::vector<std::shared_ptr<Connection>> connections() {
    std::vector<std::shared_ptr<Connection>> out;
    std::erase_if(connections_, [](const std::weak_ptr<Connection>& w) { return w.expired(); });
    for (const auto& w : connections_)
      if (auto c = w.lock()) out.push_back(std::move(c));
    return out;
  }

 protected:
  Connections connections_;
};

}  // namespace sockswitch::control::openflow
