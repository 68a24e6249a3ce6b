// control/openflow/controller_target.cc: OVS's controller target syntax.
#include "control/openflow/controller_target.h"

#include <arpa/inet.h>

#include <charconv>
#include <stdexcept>

namespace sockswitch::control::openflow {
namespace {

bool ip_literal(const std::string& s) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

std::uint16_t port_number(std::string_view text, const std::string& whole) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > 65535)
    throw std::invalid_argument("'" + whole + "': the port must be 1..65535");
  return static_cast<std::uint16_t>(value);
}

std::string address_of(std::string a, const std::string& whole) {
  if (a.size() > 2 && a.front() == '[' && a.back() == ']') a = a.substr(1, a.size() - 2);
  if (!ip_literal(a))
    throw std::invalid_argument("'" + whole + "': '" + a + "' is not an IP address");
  return a;
}

}  // namespace

ControllerTarget parse_controller_target(std::string_view text) {
  const std::string t(text);
  if (text.starts_with("ssl:") || text.starts_with("pssl:"))
    throw std::invalid_argument("'" + t +
                                "': TLS targets need certificates sockswitch has no "
                                "settings for (use tcp:, ptcp:, unix: or punix:)");
  ControllerTarget out;
  if (text.starts_with("punix:") || text.starts_with("unix:")) {
    const bool listen = text.starts_with("punix:");
    out.kind = listen ? ControllerTarget::Kind::listen_unix : ControllerTarget::Kind::connect_unix;
    out.path = t.substr(listen ? 6 : 5);
    if (out.path.empty() || out.path.front() != '/')
      throw std::invalid_argument("'" + t + "': needs an absolute path");
    return out;
  }
  if (text.starts_with("ptcp:")) {
    out.kind = ControllerTarget::Kind::listen_tcp;
    const std::string_view rest = text.substr(5);
    const std::size_t colon = rest.find(':');
    out.port = port_number(rest.substr(0, colon), t);
    out.address = colon == std::string_view::npos
                      ? "127.0.0.1"
                      : address_of(std::string(rest.substr(colon + 1)), t);
    return out;
  }
  if (text.starts_with("tcp:")) {
    out.kind = ControllerTarget::Kind::connect_tcp;
    std::string_view rest = text.substr(4);
    // tcp:ADDRESS[:PORT], the address in brackets when it is IPv6
    std::string address;
    if (rest.starts_with("[")) {
      const std::size_t close = rest.find(']');
      if (close == std::string_view::npos)
        throw std::invalid_argument("'" + t + "': an IPv6 address needs its closing ']'");
      address = std::string(rest.substr(1, close - 1));
      rest = rest.substr(close + 1);
    } else {
      const std::size_t colon = rest.find(':');
      address = std::string(rest.substr(0, colon));
      rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon);
    }
    out.address = address_of(address, t);
    out.port = rest.empty() ? 6653 : port_number(rest.substr(1), t);
    return out;
  }
  throw std::invalid_argument("'" + t +
                              "' is not tcp:ADDRESS[:PORT], unix:PATH, ptcp:PORT[:ADDRESS] or "
                              "punix:PATH");
}

}  // namespace sockswitch::control::openflow
