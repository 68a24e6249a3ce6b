// control/openflow/listen_target.h: where a bridge accepts OpenFlow
// connections besides its management socket, written as OVS writes
// passive controller targets: `ptcp:PORT[:ADDRESS]` (TCP, on 127.0.0.1
// unless an address is given) and `punix:PATH`.
//
// Active targets (`tcp:`, `unix:`: the switch connecting out to a
// controller) are recognised and refused with their reason: the switch does
// not connect out yet, and a target it would ignore must not look accepted.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sockswitch::control::openflow {

struct ListenTarget {
  enum class Kind : std::uint8_t { tcp, unix_socket };
  Kind kind = Kind::tcp;
  std::string address;  // tcp: an IPv4 or IPv6 literal
  std::uint16_t port = 0;
  std::string path;  // unix_socket

  friend bool operator==(const ListenTarget&, const ListenTarget&) = default;
};

// Throws std::invalid_argument naming what is wrong.
[[nodiscard]] ListenTarget parse_listen_target(std::string_view text);

}  // namespace sockswitch::control::openflow
