// ports/wireguard/uapi_protocol.cc: get responses, set requests and framing
// of the cross-platform UAPI.
#include "ports/wireguard/uapi_protocol.h"

#include <cerrno>
#include <charconv>

namespace sockswitch::wireguard {
namespace {

constexpr std::string_view kGet = "get=1\n";
constexpr std::string_view kSet = "set=1\n";

void line(std::string& out, std::string_view key, std::string_view value) {
  out.append(key);
  out.push_back('=');
  out.append(value);
  out.push_back('\n');
}

template <typename Int>
void number(std::string& out, std::string_view key, Int value) {
  line(out, key, std::to_string(value));
}

void hex_key(std::string& out, std::string_view key, std::span<const std::uint8_t, kKeySize> k) {
  std::string text = to_hex(k);
  line(out, key, text);
  wipe(text.data(), text.size());
}

// Decimal digits only, as Go's strconv.ParseUint(value, 10, bits) reads them.
template <typename Int>
std::optional<Int> parse_uint(std::string_view text, std::uint64_t max) noexcept {
  std::uint64_t v = 0;
  if (text.empty() || text.front() == '+' || text.front() == '-') return std::nullopt;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v > max) return std::nullopt;
  return static_cast<Int>(v);
}

class SetParser {
 public:
  std::variant<DeviceChange, UapiError> parse(std::string_view request) {
    if (!request.starts_with(kSet)) return error(EPROTO, "request does not start with set=1");
    std::string_view rest = request.substr(kSet.size());
    int line_no = 1;
    for (;;) {
      ++line_no;
      const std::size_t nl = rest.find('\n');
      if (nl == std::string_view::npos)
        return error(EPROTO, "request does not end with a blank line");
      const std::string_view text = rest.substr(0, nl);
      rest.remove_prefix(nl + 1);
      if (text.empty()) break;
      const std::size_t eq = text.find('=');
      if (eq == std::string_view::npos)
        return error(EPROTO,
                     "line " + std::to_string(line_no) + ": no '=' in '" + std::string(text) + "'");
      if (auto bad = apply(text.substr(0, eq), text.substr(eq + 1))) {
        bad->message = "line " + std::to_string(line_no) + ": " + bad->message;
        return *bad;
      }
    }
    if (!rest.empty()) return error(EPROTO, "data after the blank line that ends the request");
    return std::move(change_);
  }

 private:
  static UapiError error(int e, std::string message) { return UapiError{e, std::move(message)}; }
  static std::optional<UapiError> invalid(std::string_view key, std::string_view value) {
    return UapiError{EINVAL, "invalid value for " + std::string(key) + ": '" +
                                 std::string(value.substr(0, 80)) + "'"};
  }

  std::optional<UapiError> apply(std::string_view key, std::string_view value) {
    if (key == "public_key") {
      const auto k = key_from_hex(value);
      if (!k) return invalid(key, value);
      change_.peers.push_back(PeerChange{});
      change_.peers.back().public_key = *k;
      return std::nullopt;
    }
    return change_.peers.empty() ? device_key(key, value) : peer_key(key, value);
  }

  std::optional<UapiError> device_key(std::string_view key, std::string_view value) {
    if (key == "private_key") {
      auto k = key_from_hex(value);
      if (!k) return invalid(key, "(hidden)");
      change_.private_key = SecretKey(*k);
      wipe(k->data(), k->size());
    } else if (key == "listen_port") {
      const auto p = parse_uint<std::uint16_t>(value, 65535);
      if (!p) return invalid(key, value);
      change_.listen_port = *p;
    } else if (key == "fwmark") {
      const auto m = parse_uint<std::uint32_t>(value, 0xffffffffu);
      if (!m) return invalid(key, value);
      change_.fwmark = *m;
    } else if (key == "replace_peers") {
      if (value != "true") return invalid(key, value);
      change_.replace_peers = true;
    } else {
      return UapiError{EINVAL, "unknown device key '" + std::string(key.substr(0, 80)) + "'"};
    }
    return std::nullopt;
  }

  std::optional<UapiError> peer_key(std::string_view key, std::string_view value) {
    PeerChange& p = change_.peers.back();
    if (key == "update_only") {
      if (value != "true") return invalid(key, value);
      p.update_only = true;
    } else if (key == "remove") {
      if (value != "true") return invalid(key, value);
      p.remove = true;
    } else if (key == "preshared_key") {
      auto k = key_from_hex(value);
      if (!k) return invalid(key, "(hidden)");
      p.preshared_key = SecretKey(*k);
      wipe(k->data(), k->size());
    } else if (key == "endpoint") {
      const auto e = Endpoint::parse(value);
      if (!e) return invalid(key, value);
      p.endpoint = *e;
    } else if (key == "persistent_keepalive_interval") {
      const auto s = parse_uint<std::uint16_t>(value, 65535);
      if (!s) return invalid(key, value);
      p.persistent_keepalive_interval = *s;
    } else if (key == "replace_allowed_ips") {
      if (value != "true") return invalid(key, value);
      p.replace_allowed_ips = true;
    } else if (key == "allowed_ip") {
      // The length is required here, as in wireguard-go (netip.ParsePrefix).
      const auto prefix = IpPrefix::parse(value);
      if (!prefix || value.find('/') == std::string_view::npos) return invalid(key, value);
      p.allowed_ips.push_back(prefix->masked());
    } else if (key == "protocol_version") {
      if (value != "1") return invalid(key, value);
    } else {
      return UapiError{EINVAL, "unknown peer key '" + std::string(key.substr(0, 80)) + "'"};
    }
    return std::nullopt;
  }

  DeviceChange change_;
};

}  // namespace

std::string format_get_response(const DeviceSnapshot& device) {
  std::string out;
  if (!device.private_key.is_zero()) hex_key(out, "private_key", device.private_key.span());
  if (device.listen_port != 0) number(out, "listen_port", device.listen_port);
  if (device.fwmark != 0) number(out, "fwmark", device.fwmark);
  for (const PeerSnapshot& p : device.peers) {
    hex_key(out, "public_key", p.public_key);
    hex_key(out, "preshared_key", p.preshared_key.span());
    line(out, "protocol_version", "1");
    if (p.endpoint) line(out, "endpoint", p.endpoint->to_string());
    number(out, "last_handshake_time_sec", p.last_handshake_sec);
    number(out, "last_handshake_time_nsec", p.last_handshake_nsec);
    number(out, "tx_bytes", p.tx_bytes);
    number(out, "rx_bytes", p.rx_bytes);
    number(out, "persistent_keepalive_interval", p.persistent_keepalive_interval);
    for (const IpPrefix& a : p.allowed_ips)
      line(out, "allowed_ip", a.to_string());
  }
  out += format_errno_response(0);
  return out;
}

std::variant<DeviceChange, UapiError> parse_set_request(std::string_view request) {
  return SetParser().parse(request);
}

std::string format_set_request(const DeviceChange& change) {
  std::string out(kSet);
  if (change.private_key) hex_key(out, "private_key", change.private_key->span());
  if (change.listen_port) number(out, "listen_port", *change.listen_port);
  if (change.fwmark) number(out, "fwmark", *change.fwmark);
  if (change.replace_peers) line(out, "replace_peers", "true");
  for (const PeerChange& p : change.peers) {
    hex_key(out, "public_key", p.public_key);
    if (p.remove) line(out, "remove", "true");
    if (p.update_only) line(out, "update_only", "true");
    if (p.preshared_key) hex_key(out, "preshared_key", p.preshared_key->span());
    if (p.endpoint) line(out, "endpoint", p.endpoint->to_string());
    if (p.persistent_keepalive_interval)
      number(out, "persistent_keepalive_interval", *p.persistent_keepalive_interval);
    if (p.replace_allowed_ips) line(out, "replace_allowed_ips", "true");
    for (const IpPrefix& a : p.allowed_ips)
      line(out, "allowed_ip", a.to_string());
  }
  out.push_back('\n');
  return out;
}

UapiOperation operation_of(std::string_view buffer) noexcept {
  if (buffer.starts_with(kGet)) return UapiOperation::get;
  if (buffer.starts_with(kSet)) return UapiOperation::set;
  return UapiOperation::invalid;
}

std::optional<std::size_t> complete_request_length(std::string_view buffer) noexcept {
  if (buffer.starts_with('\n')) return 1;  // an empty request: invalid, but complete
  const std::size_t end = buffer.find("\n\n");
  if (end == std::string_view::npos) return std::nullopt;
  return end + 2;
}

std::string format_errno_response(int error) {
  // wireguard-go sends the negated errno.
  return error == 0 ? std::string("errno=0\n\n") : "errno=" + std::to_string(-error) + "\n\n";
}

DeviceChange to_device_change(const WgConfig& config) {
  // What `wg setconf` sends: every device value (absent ones as zero), all
  // peers replaced, and per peer only what the file sets.
  DeviceChange c;
  c.private_key = config.interface.private_key.value_or(SecretKey{});
  c.listen_port = config.interface.listen_port.value_or(0);
  c.fwmark = config.interface.fwmark.value_or(0);
  c.replace_peers = true;
  for (const PeerConfig& p : config.peers) {
    PeerChange pc;
    pc.public_key = p.public_key;
    pc.preshared_key = p.preshared_key;
    pc.endpoint = p.endpoint;
    pc.persistent_keepalive_interval = p.persistent_keepalive;
    pc.replace_allowed_ips = true;
    pc.allowed_ips = p.allowed_ips;
    c.peers.push_back(std::move(pc));
  }
  return c;
}

DeviceChange to_device_sync(const WgConfig& config) {
  DeviceChange c = to_device_change(config);
  c.keep_listed_peers = true;
  for (PeerChange& pc : c.peers) {
    if (!pc.preshared_key) pc.preshared_key = SecretKey{};
    if (!pc.persistent_keepalive_interval) pc.persistent_keepalive_interval = 0;
  }
  return c;
}

}  // namespace sockswitch::wireguard
