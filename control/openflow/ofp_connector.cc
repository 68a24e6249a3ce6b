// control/openflow/ofp_connector.cc: connecting out, back-off, probes.
#include "control/openflow/ofp_connector.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <spdlog/spdlog.h>

namespace sockswitch::control::openflow {
namespace {

using Local = asio::local::stream_protocol;
using Tcp = asio::ip::tcp;

constexpr std::chrono::seconds kMaxBackoff{8};
constexpr std::chrono::seconds kProbeIdle{5};      // no word for this long: ECHO_REQUEST
constexpr std::chrono::seconds kProbeTimeout{15};  // no word for this long: reconnect

std::string describe_target(const ControllerTarget& t) {
  return t.kind == ControllerTarget::Kind::connect_unix
             ? "unix:" + t.path
             : "tcp:" + t.address + ":" + std::to_string(t.port);
}

}  // namespace

struct Connector::State : std::enable_shared_from_this<Connector::State> {
  State(asio::io_context& io_, Switch& sw_, std::string bridge_, ControllerTarget target_,
        std::function<void()> changed_)
      : io(io_),
        sw(sw_),
        bridge(std::move(bridge_)),
        target(std::move(target_)),
        changed(std::move(changed_)),
        retry(io_),
        probe(io_) {}

  asio::io_context& io;
  Switch& sw;
  std::string bridge;
  ControllerTarget target;
  std::function<void()> changed;
  asio::steady_timer retry, probe;
  std::chrono::seconds backoff{1};
  std::shared_ptr<Connection> current;
  bool stopped = false;
  bool was_up = false;
  std::string last_error;

  void connect() {
    if (stopped) return;
    if (target.kind == ControllerTarget::Kind::connect_unix)
      connect_with<Local>(Local::endpoint(target.path));
    else
      connect_with<Tcp>(Tcp::endpoint(asio::ip::make_address(target.address), target.port));
  }

  template <typename Protocol>
  void connect_with(const typename Protocol::endpoint& at) {
    auto socket = std::make_shared<typename Protocol::socket>(io);
    socket->async_connect(at, [self = shared_from_this(), socket](boost::system::error_code ec) {
      if (self->stopped) return;
      if (ec) {
        if (ec.message() != self->last_error)
          spdlog::warn("openflow {}: controller {}: {}; trying again", self->bridge,
                       describe_target(self->target), ec.message());
        self->last_error = ec.message();
        self->again(self->backoff);
        self->backoff = std::min(self->backoff * 2, kMaxBackoff);
        return;
      }
      self->last_error.clear();
      self->backoff = std::chrono::seconds(1);
      spdlog::info("openflow {}: connected to controller {}", self->bridge,
                   describe_target(self->target));
      std::weak_ptr<State> weak = self;
      auto c = std::make_shared<StreamConnection<Protocol>>(std::move(*socket), self->sw,
                                                            self->bridge, [weak] {
                                                              if (auto s = weak.lock()) s->lost();
                                                            });
      self->current = c;
      c->start();
      self->watch();
    });
  }

  // The connection ended: tell, and connect again.
  void lost() {
    current.reset();
    if (stopped) return;
    spdlog::warn("openflow {}: controller {} disconnected", bridge, describe_target(target));
    report();
    again(std::chrono::seconds(1));
  }

  void again(std::chrono::seconds after) {
    retry.expires_after(after);
    retry.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->connect();
    });
  }

  // Calls `changed` when up/down flips.
  void report() {
    const bool up = current && current->agreed();
    if (up == was_up) return;
    was_up = up;
    if (changed) changed();
  }

  // Once a second: up/down for the fail mode, and the inactivity probe.
  void watch() {
    probe.expires_after(std::chrono::seconds(1));
    probe.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->stopped || !self->current) return;
      self->report();
      const auto quiet = std::chrono::steady_clock::now() - self->current->last_heard();
      if (quiet > kProbeTimeout) {
        spdlog::warn("openflow {}: controller {} silent for {} s; reconnecting", self->bridge,
                     describe_target(self->target), kProbeTimeout.count());
        const std::shared_ptr<Connection> c = self->current;
        c->close();  // lost() follows
        return;
      }
      if (quiet > kProbeIdle)
        self->current->send_unasked([](const Session& s) { return s.echo_request(); });
      self->watch();
    });
  }
};

Connector::Connector(asio::io_context& io, Switch& sw, std::string bridge, ControllerTarget target,
                     std::function<void()> changed)
    : state_(std::make_shared<State>(io, sw, std::move(bridge), std::move(target),
                                     std::move(changed))) {
  state_->connect();
}

Connector::~Connector() {
  state_->stopped = true;
  state_->retry.cancel();
  state_->probe.cancel();
  if (auto c = std::exchange(state_->current, nullptr)) c->close();
}

bool Connector::connected() const {
  return state_->current && state_->current->agreed();
}

std::vector<std::shared_ptr<Connection>> Connector::connections() {
  if (state_->current) return {state_->current};
  return {};
}

EndpointStatus Connector::status() {
  if (connected()) return {true, "ACTIVE", ""};
  // Between attempts after a failure; else the first attempt, or the
  // version exchange of an open connection, is under way.
  return {false, state_->last_error.empty() ? "CONNECTING" : "BACKOFF", state_->last_error};
}

std::string Connector::describe() const {
  const std::string what = "controller " + describe_target(state_->target);
  if (const auto& c = state_->current; c && c->agreed())
    return what +
           (c->version() == kVersion10 ? " connected (OpenFlow 1.0)" : " connected (OpenFlow 1.3)");
  return what + " not connected" +
         (state_->last_error.empty() ? "" : " (" + state_->last_error + ")");
}

}  // namespace sockswitch::control::openflow
