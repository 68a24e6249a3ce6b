// control/openflow/controller_target.h: where a bridge meets its OpenFlow
// controllers, written as OVS writes controller targets:
//   ptcp:PORT[:ADDRESS]  listen on TCP (127.0.0.1 unless an address is given)
//   punix:PATH           listen on a unix socket
//   tcp:ADDRESS[:PORT]   connect to a controller (port 6653 by default)
//   unix:PATH            connect to a controller's unix socket
// `ssl:` and `pssl:` are refused with the reason (no TLS settings exist).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sockswitch::control::openflow {

struct ControllerTarget {
  enum class Kind : std::uint8_t { listen_tcp, listen_unix, connect_tcp, connect_unix };
  Kind kind = Kind::listen_tcp;
  std::string address;  // tcp: an IPv4 or IPv6 literal
  std::uint16_t port = 0;
  std::string path;  // unix

  // Connects out (a primary controller, in OVS's words) rather than listens.
  [[nodiscard]] bool active() const noexcept {
    return kind == Kind::connect_tcp || kind == Kind::connect_unix;
  }
  friend bool operator==(const ControllerTarget&, const ControllerTarget&) = default;
};

// Throws std::invalid_argument naming what is wrong.
[[nodiscard]] ControllerTarget parse_controller_target(std::string_view text);

}  // namespace sockswitch::control::openflow
