// ports/wireguard/wg_config.h: the wg-quick / `wg setconf` configuration file.
//
// What: parse_wg_config(text) -> WgConfig, the [Interface] and [Peer]
// sections of the INI format that `wg setconf` and wg-quick read, so a
// user's existing WARP or Netmaker file can be pointed at a native port.
//
// Accepted as `wg` accepts it: keys and section names case-insensitive,
// '#' comments to the end of a line, blank lines, spaces around '=' and
// around the items of comma lists, AllowedIPs repeated on several lines
// accumulating, host bits in an AllowedIP normalised (10.1.2.3/8 is
// 10.0.0.0/8), FwMark and PersistentKeepalive "off", Endpoint host names
// resolved with getaddrinfo while loading. The wg-quick-only keys (Address,
// DNS, MTU, Table, Pre/PostUp, Pre/PostDown, SaveConfig) are checked and
// kept in WgQuickSettings; this library does not act on them.
//
// Stricter than `wg`, because a line must mean exactly what it says: an
// unknown key or section, a key before any section, a second [Interface],
// a key given twice in one section (other than the accumulating ones), two
// peers with the same PublicKey, a peer without PublicKey, and values out
// of range are errors, each a WgConfigError naming file:line:column and the
// token. The parse returns a complete WgConfig or throws: a bad file changes
// nothing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ports/wireguard/endpoint.h"
#include "ports/wireguard/ip_prefix.h"
#include "ports/wireguard/key.h"
#include "ports/wireguard/wg_config_error.h"

namespace sockswitch::wireguard {

// Keys that only wg-quick reads; kept so that a file loads unchanged and the
// port or `sockswitch ctl` can show or use them (the L3 port's address).
struct WgQuickSettings {
  std::vector<IpPrefix> addresses;   // Address, host bits kept (10.0.0.2/24)
  std::vector<std::string> dns;      // DNS: servers or search domains
  std::optional<std::uint32_t> mtu;  // MTU
  std::optional<std::string> table;  // Table: "off", "auto" or a number/name
  std::vector<std::string> pre_up, post_up, pre_down, post_down;  // verbatim
  std::optional<bool> save_config;                                // SaveConfig
};

struct InterfaceConfig {
  std::optional<SecretKey> private_key;
  std::optional<std::uint16_t> listen_port;  // 0 = any port
  std::optional<std::uint32_t> fwmark;       // "off" is 0
  WgQuickSettings wg_quick;
};

struct PeerConfig {
  PublicKey public_key{};
  std::optional<SecretKey> preshared_key;
  std::optional<Endpoint> endpoint;
  // An Endpoint whose host name did not resolve while the file was read
  // (no DNS yet at boot): the peer starts without an endpoint, and the port
  // resolves this again until it does. Empty otherwise.
  std::string endpoint_host;
  std::vector<IpPrefix> allowed_ips;                  // masked, in file order, duplicates dropped
  std::optional<std::uint16_t> persistent_keepalive;  // seconds; "off" is 0
  int line = 0;                                       // of the [Peer] header
};

struct WgConfig {
  InterfaceConfig interface;
  std::vector<PeerConfig> peers;
};

// `file_name` is used only in error messages.
[[nodiscard]] WgConfig parse_wg_config(std::string_view text, std::string_view file_name);
// Reads and parses a file; an unreadable file is a WgConfigError at 1:1.
[[nodiscard]] WgConfig load_wg_config(const std::filesystem::path& path);

}  // namespace sockswitch::wireguard
