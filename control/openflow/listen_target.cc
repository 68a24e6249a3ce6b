// control/openflow/listen_target.cc: `ptcp:` and `punix:` targets.
#include "control/openflow/listen_target.h"

#include <arpa/inet.h>

#include <charconv>
#include <stdexcept>

namespace sockswitch::control::openflow {
namespace {

bool ip_literal(const std::string& s) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

}  // namespace

ListenTarget parse_listen_target(std::string_view text) {
  const std::string t(text);
  if (text.starts_with("tcp:") || text.starts_with("unix:") || text.starts_with("ssl:"))
    throw std::invalid_argument(
        "'" + t +
        "' is an active controller target: sockswitch does not connect out to controllers yet "
        "(it listens: ptcp:PORT[:ADDRESS] or punix:PATH)");
  ListenTarget out;
  if (text.starts_with("punix:")) {
    out.kind = ListenTarget::Kind::unix_socket;
    out.path = t.substr(6);
    if (out.path.empty() || out.path.front() != '/')
      throw std::invalid_argument("'" + t + "': punix: needs an absolute path");
    return out;
  }
  if (!text.starts_with("ptcp:"))
    throw std::invalid_argument("'" + t + "' is not ptcp:PORT[:ADDRESS] or punix:PATH");
  std::string_view rest = text.substr(5);
  const std::size_t colon = rest.find(':');
  const std::string_view port = rest.substr(0, colon);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535)
    throw std::invalid_argument("'" + t + "': the port must be 1..65535");
  out.port = static_cast<std::uint16_t>(value);
  out.address = colon == std::string_view::npos ? "127.0.0.1" : std::string(rest.substr(colon + 1));
  if (out.address.size() > 2 && out.address.front() == '[' && out.address.back() == ']')
    out.address = out.address.substr(1, out.address.size() - 2);
  if (!ip_literal(out.address))
    throw std::invalid_argument("'" + t + "': '" + out.address + "' is not an IP address");
  return out;
}

}  // namespace sockswitch::control::openflow
