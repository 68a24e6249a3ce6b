// control/openflow/ofp_connector.h: a bridge's connection to a controller
// that listens (`tcp:ADDRESS[:PORT]`, `unix:PATH`), kept up.
//
// It connects, and connects again after a failure or a loss with back-off
// (1, 2, 4, 8 s), as ovs-vswitchd does. An inactivity probe sends
// ECHO_REQUEST after 5 s without a word from the controller and drops the
// connection after 15 s (the reconnection follows). `changed` is called
// whenever the connection comes up (OpenFlow version agreed) or goes
// away, for the bridge's fail mode.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "control/openflow/controller_target.h"
#include "control/openflow/ofp_connection.h"

namespace sockswitch::control {
class Switch;
}

namespace sockswitch::control::openflow {

class Connector final : public Endpoint {
 public:
  Connector(boost::asio::io_context& io, Switch& sw, std::string bridge, ControllerTarget target,
            std::function<void()> changed);
  ~Connector() override;

  // Open with a version agreed.
  [[nodiscard]] bool connected() const;
  [[nodiscard]] std::vector<std::shared_ptr<Connection>> connections() override;
  [[nodiscard]] std::string describe() const override;
  [[nodiscard]] EndpointStatus status() override;

  struct State;  // shared with the async handlers, which may outlive this

 private:
  std::shared_ptr<State> state_;
};

}  // namespace sockswitch::control::openflow
