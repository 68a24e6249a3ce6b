// tests/net/wireguard_go.h: Debian's wireguard-go and `wg` as the reference peer of a test.
//
// Interop tests put a wireguard-go interface in a namespace the test made,
// configure it with `wg set`, and read back what it saw with `wg show
// <if> dump`. Everything here is bounded: the daemon runs in the
// foreground of a child that dies with the test process (PR_SET_PDEATHSIG,
// and `ip netns exec` execs without forking so the signal reaches
// wireguard-go itself), and every command has a deadline.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tests/net/netns.h"

namespace sockswitch::test::net {

// Why wireguard-go interop cannot run here (tools or /dev/net/tun missing), or nullopt.
[[nodiscard]] std::optional<std::string> wireguard_go_missing();

struct WgKeyPair {
  std::string private_key, public_key;  // base64, as `wg genkey` / `wg pubkey` print them
};
// A fresh key pair from `wg genkey` / `wg pubkey`.
[[nodiscard]] WgKeyPair make_wg_keys();
// A fresh preshared key from `wg genpsk`.
[[nodiscard]] std::string make_wg_psk();

// A file holding `text` (mode 0600, as wg wants key files), removed on destruction.
class SecretFile final {
 public:
  explicit SecretFile(const std::string& text);
  ~SecretFile();
  SecretFile(const SecretFile&) = delete;
  SecretFile& operator=(const SecretFile&) = delete;
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] std::string read() const;

 private:
  std::string path_;
};

// One peer line of `wg show <if> dump`.
struct WgPeerStatus {
  std::string public_key, preshared_key, endpoint, allowed_ips;
  std::int64_t latest_handshake = 0;  // unix seconds, 0 = never
  std::uint64_t rx_bytes = 0, tx_bytes = 0;
  std::string persistent_keepalive;  // "off" or seconds
};
// Parses the peer lines of `wg show <if> dump` output (the first line is the interface).
[[nodiscard]] std::vector<WgPeerStatus> parse_wg_dump(const std::string& dump);

// `wireguard-go <name>` in the foreground of a background child inside `ns`.
class WireguardGo final {
 public:
  WireguardGo(const NetNamespace& ns, std::string name);
  ~WireguardGo();  // SIGTERM, then SIGKILL after 3 s
  WireguardGo(const WireguardGo&) = delete;
  WireguardGo& operator=(const WireguardGo&) = delete;

  // Waits until the interface and its UAPI socket exist; the reason (with
  // the daemon's log) when it did not come up.
  [[nodiscard]] std::optional<std::string> wait_ready(
      std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // `wg set <name> <args...>` in the namespace; throws with the output on failure.
  void set(const std::vector<std::string>& args) const;
  // The peers of `wg show <name> dump`.
  [[nodiscard]] std::vector<WgPeerStatus> peers() const;

  [[nodiscard]] bool exited();
  [[nodiscard]] std::string log() const { return log_.read(); }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 private:
  const NetNamespace& ns_;
  std::string name_;
  SecretFile log_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

}  // namespace sockswitch::test::net
