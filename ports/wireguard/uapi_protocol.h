// ports/wireguard/uapi_protocol.h: the text of WireGuard's cross-platform
// configuration protocol (https://www.wireguard.com/xplatform/), the one
// `wg show`, `wg set` and `wg showconf` speak over /var/run/wireguard/<if>.sock.
//
// Only the text lives here; the socket server (ports/) frames requests with
// complete_request_length(), calls parse_set_request() or
// format_get_response(), and applies a DeviceChange through the Device.
//
//   get=1\n\n            -> format_get_response(DeviceSnapshot), which ends
//                           with errno=0\n\n.
//   set=1\nkey=value\n...\n -> parse_set_request() -> DeviceChange, or a
//                           UapiError carrying the errno to answer.
//
// Unlike wireguard-go, which applies each line as it reads it and so leaves
// half a request applied when a later line is bad, a request is parsed
// whole first: a bad request answers errno and changes nothing. The errno
// values follow wireguard-go (EPROTO for a line without '=', EINVAL for an
// unknown key or a bad value), and so does the sign on the wire: errno=-22.
//
// Values follow the protocol: keys in lowercase hex, an all-zero
// private_key or preshared_key means "remove it", "true" is the only value
// of the boolean keys, numbers are decimal, endpoints numeric.
//
// to_device_change(WgConfig) turns a file into the request `wg setconf`
// sends (captured from wireguard-tools v1.0.20210914): replace_peers, and per peer
// replace_allowed_ips, so a file load and a UAPI set take one apply path.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ports/wireguard/endpoint.h"
#include "ports/wireguard/ip_prefix.h"
#include "ports/wireguard/key.h"
#include "ports/wireguard/wg_config.h"

namespace sockswitch::wireguard {

// --- get ---------------------------------------------------------------------

struct PeerSnapshot {
  PublicKey public_key{};
  SecretKey preshared_key;  // zero when none
  std::optional<Endpoint> endpoint;
  std::int64_t last_handshake_sec = 0;  // wall clock, 0 when never
  std::int64_t last_handshake_nsec = 0;
  std::uint64_t tx_bytes = 0;
  std::uint64_t rx_bytes = 0;
  std::uint16_t persistent_keepalive_interval = 0;  // seconds, 0 = off
  std::vector<IpPrefix> allowed_ips;                // printed in this order
};

struct DeviceSnapshot {
  SecretKey private_key;          // zero when none (then not printed)
  std::uint16_t listen_port = 0;  // 0 = not bound (not printed)
  std::uint32_t fwmark = 0;       // 0 = off (not printed)
  std::vector<PeerSnapshot> peers;
};

// The whole answer to get=1, through the final "errno=0\n\n".
[[nodiscard]] std::string format_get_response(const DeviceSnapshot& device);

// --- set ---------------------------------------------------------------------

struct PeerChange {
  PublicKey public_key{};
  bool remove = false;
  bool update_only = false;                // do not create the peer if it does not exist
  std::optional<SecretKey> preshared_key;  // zero = remove
  std::optional<Endpoint> endpoint;
  std::optional<std::uint16_t> persistent_keepalive_interval;
  bool replace_allowed_ips = false;   // drop the old set before adding these
  std::vector<IpPrefix> allowed_ips;  // masked, in request order
};

struct DeviceChange {
  std::optional<SecretKey> private_key;  // zero = remove
  std::optional<std::uint16_t> listen_port;
  std::optional<std::uint32_t> fwmark;  // 0 = off
  bool replace_peers = false;           // remove every peer before applying `peers`
  // With replace_peers, as `wg syncconf`: the peers `peers` lists stay with
  // their sessions (only what the change sets is set), the others go.
  bool keep_listed_peers = false;
  std::vector<PeerChange> peers;  // in request order; a key may repeat
};

struct UapiError {
  int error = 0;        // positive errno: EINVAL, EPROTO
  std::string message;  // for the log: what was wrong, with the line
};

// `request` starts with "set=1\n" and ends with the blank line.
[[nodiscard]] std::variant<DeviceChange, UapiError> parse_set_request(std::string_view request);

// The request `wg set` would send for `change`; the inverse of
// parse_set_request (tests, and the CLI's own client).
[[nodiscard]] std::string format_set_request(const DeviceChange& change);

// --- framing -----------------------------------------------------------------

enum class UapiOperation : std::uint8_t { get, set, invalid };

// The operation named by the first line of `buffer` (get=1 or set=1).
[[nodiscard]] UapiOperation operation_of(std::string_view buffer) noexcept;
// The length of the first complete request in `buffer` (through its blank
// line), or nullopt while it is still incomplete. The server bounds how much
// it buffers while this says nullopt (a peer's AllowedIPs make requests
// long, so allow megabytes, not kilobytes).
[[nodiscard]] std::optional<std::size_t> complete_request_length(std::string_view buffer) noexcept;
// "errno=0\n\n" or, for a positive errno e, the "errno=-e\n\n" wireguard-go sends.
[[nodiscard]] std::string format_errno_response(int error);

// --- files -------------------------------------------------------------------

// A loaded file as `wg setconf` applies it: the private key, listen port
// and fwmark always (zero where the file has none), all peers replaced, and
// per peer what the file sets, with its AllowedIPs replaced.
[[nodiscard]] DeviceChange to_device_change(const WgConfig& config);
// The same file as `wg syncconf` applies it to a running device (a reload):
// peers the file keeps keep their sessions, and what the file leaves out
// of them (a preshared key, a keepalive) is reset; an endpoint they roamed
// to stays when the file names none.
[[nodiscard]] DeviceChange to_device_sync(const WgConfig& config);

}  // namespace sockswitch::wireguard
