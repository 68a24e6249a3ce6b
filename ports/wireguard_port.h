// ports/wireguard_port.h: a native WireGuard interface as an L3 port of the bridge.
//
// The switch terminates the tunnel itself: datagrams go from the UDP socket
// through decryption straight into the flow table, with no kernel module,
// wireguard-go or tun device in between. Three pieces, each in its own file:
//
//   wireguard::Device           the protocol (ports/wireguard/device.h): keys,
//                               handshakes, timers, cryptokey routing, and
//                               in-place burst encryption/decryption
//   UdpBatchSocket              the underlay: recvmmsg/sendmmsg, GRO/GSO
//   WireGuardHandshakeThread    the slow work: handshake queue, timers
//                               (tick every 100 ms), the UAPI socket
//
// and, as for TunPort, an L3Ethernet adapter that makes the bare IP packets
// look like Ethernet frames from the port's own MAC and answers ARP/ND.
//
// Data path, one burst at a time on the poll thread, no allocation:
//   tx_burst: L3Ethernet strips the header -> Device::encrypt_burst writes
//     the 16-byte transport header into the headroom and the tag after the
//     packet -> one send_burst (GSO) to the peers' endpoints. Packets for a
//     peer without a session are copied into the Device's staging queue.
//   rx_burst: recv_burst into pool packets -> Device::decrypt_burst in
//     place -> L3Ethernet pushes the Ethernet header. Handshake messages are
//     copied into the Device's queue and the handshake thread is notified
//     (one eventfd write per burst); the poll thread never runs a handshake.
//
// Staged packets: when the handshake thread completes a handshake, packets
// waiting for it must leave even if the bridge sends nothing more. It sets
// a flag and writes an eventfd that is, with the UDP socket, in the epoll
// set wakeup_fd() returns, so a sleeping poll thread wakes and its next
// rx_burst sends them (Device::flush_staged, poll thread only).
//
// Control: the configuration is a wg-quick file (wireguard::WgConfig),
// applied like `wg setconf`. `wg show/set <name>` work through the UAPI
// socket, and show() formats the same snapshot for `sockswitch ctl`. Both run
// on the handshake thread, the only thread allowed to touch the Device's
// peers; control-thread callers wait for it (WireGuardHandshakeThread::run).
// The UDP port is bound once: a UAPI set of another listen_port is refused
// (EADDRINUSE is not at stake, the socket is; re-create the port instead).
//
// Threads: rx_burst/tx_burst on queue 0 from the owning poll thread; the
// rest from the control thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ports/fd.h"
#include "ports/l3_ethernet.h"
#include "ports/port.h"
#include "ports/udp_batch_socket.h"
#include "ports/wireguard/device.h"
#include "ports/wireguard/wg_config.h"
#include "ports/wireguard_handshake_thread.h"
#include "ports/wireguard_uapi_server.h"

namespace sockswitch::ports {

struct WireGuardPortOptions final {
  std::optional<packet::MacAddr> mac = std::nullopt;  // default: derived from the name
  wireguard::TimerDurations timers = {};              // shortened in rekey tests
  // Where the UAPI socket goes; empty: no UAPI socket (tests of the data path).
  std::string uapi_directory = "/var/run/wireguard";
  UdpSocketOptions socket = {};  // port and fwmark are taken from the file
  // How an Endpoint host name that did not resolve at load is looked up
  // again (getaddrinfo). It runs on a thread of its own, never the caller's:
  // a resolver that takes seconds must not stall the control thread.
  std::function<std::optional<wireguard::Endpoint>(const std::string& host, std::string& why)>
      resolve = [](const std::string& host, std::string& why) {
        return wireguard::Endpoint::resolve(host, why);
      };
};

class WireGuardPort final : public Port {
 public:
  static constexpr std::size_t kBurst = 32;
  static constexpr std::uint32_t kDefaultMtu = 1420;  // wg-quick's default

  // Binds the socket, applies the file, starts the handshake thread. Throws
  // std::system_error (socket, UAPI path) or std::invalid_argument (a file
  // the Device refuses, e.g. no private key).
  WireGuardPort(const std::string& name, const wireguard::WgConfig& config,
                WireGuardPortOptions options = {});
  ~WireGuardPort() override;

  [[nodiscard]] std::size_t rx_burst(std::uint16_t queue, packet::PacketPool& pool,
                                     std::span<packet::Packet*> out) noexcept override;
  void tx_burst(std::uint16_t queue, packet::PacketPool& pool,
                std::span<packet::Packet* const> packets) noexcept override;
  [[nodiscard]] int wakeup_fd(std::uint16_t) const noexcept override { return wakeup_.get(); }
  [[nodiscard]] std::string engine() const override { return "wireguard"; }
  // The L3 adapter's, then the protocol's (wg.rx.*, wg.tx.*).
  [[nodiscard]] std::vector<PortDrop> named_drops() override;
  [[nodiscard]] LinkState link_state() const noexcept override { return LinkState::up; }
  [[nodiscard]] std::uint32_t mtu() const noexcept override { return mtu_; }

  // Control path: applies a file as `wg setconf` does (every peer replaced).
  // Throws std::invalid_argument and then changes nothing, also when the
  // file asks for another ListenPort than the one bound.
  void reconfigure(const wireguard::WgConfig& config);
  // Control thread, about once a second: peers whose Endpoint host did not
  // resolve when the file was read are looked up again (back-off from 1 to
  // 60 s) in the background; a lookup that has finished with an address
  // gives its peer the endpoint. Never waits for a lookup. Returns how many
  // peers got theirs.
  std::size_t resolve_pending_endpoints();
  // Peers still waiting for their endpoint's name to resolve.
  [[nodiscard]] std::size_t pending_endpoints() const noexcept { return pending_.size(); }
  // The UAPI get snapshot (listen port and fwmark filled in from the socket).
  [[nodiscard]] wireguard::DeviceSnapshot snapshot();
  // `wg show`-style text: interface, then each peer with endpoint, allowed
  // ips, latest handshake and transfer; then the drop counters that are not zero.
  [[nodiscard]] std::string show();

  [[nodiscard]] L3Neighbors* l3_neighbors() noexcept override { return &neighbors_; }
  // The peers' AllowedIPs: what lies behind this port.
  [[nodiscard]] std::optional<std::vector<ClaimPrefix>> routed_prefixes() override;

  [[nodiscard]] packet::MacAddr mac() const noexcept { return mac_; }
  [[nodiscard]] std::uint16_t listen_port() const noexcept { return socket_.port(); }
  [[nodiscard]] const L3Ethernet& l3() const noexcept { return l3_; }
  [[nodiscard]] wireguard::DeviceCounters device_counters();
  [[nodiscard]] const WireGuardUapiServer* uapi() const noexcept { return uapi_.get(); }

 private:
  // Handshake thread.
  void process_handshakes();
  void tick();
  void send_outbox() noexcept;
  [[nodiscard]] std::string answer_uapi(std::string_view request);
  [[nodiscard]] wireguard::DeviceSnapshot snapshot_here() const;
  void apply_here(const wireguard::DeviceChange& change);
  // Poll thread.
  void send_staged(PortCounterCell& cnt) noexcept;
  void send_results(std::span<const wireguard::TxResult> results, PortCounterCell& cnt) noexcept;
  void tx_chunk(packet::PacketPool& pool, std::span<packet::Packet* const> packets,
                PortCounterCell& cnt) noexcept;

  packet::MacAddr mac_;
  std::uint32_t mtu_;
  L3Neighbors neighbors_;
  L3Ethernet l3_;
  UdpBatchSocket socket_;
  wireguard::Device device_;
  Fd wakeup_, staged_event_;  // epoll over {socket, staged_event_}; see above
  std::atomic<bool> staged_ready_{false};

  // Poll thread scratch, sized at construction.
  std::array<packet::Packet*, kBurst> rx_packets_{};
  std::array<RxDatagram, kBurst> rx_slots_{};
  std::array<wireguard::RxDatagram, kBurst> rx_in_{};
  std::array<wireguard::RxResult, kBurst> rx_results_{};
  std::array<packet::Packet*, kBurst> tx_packets_{};
  std::array<wireguard::TxPacket, kBurst> tx_in_{};
  std::array<wireguard::TxResult, kBurst> tx_results_{};
  std::array<TxDatagram, kBurst> tx_out_{};

  // Handshake thread.
  std::vector<wireguard::OutgoingDatagram> outbox_;
  std::uint64_t handshakes_seen_ = 0;

  std::unique_ptr<WireGuardUapiServer> uapi_;
  std::unique_ptr<WireGuardHandshakeThread> thread_;  // last: stops first
  // One lookup on its own detached thread; it owns a share of this, so
  // the port can go while a lookup still waits for an answer.
  struct Lookup {
    std::atomic<bool> done{false};
    std::optional<wireguard::Endpoint> result;  // written before done
    std::string why;
  };
  struct PendingEndpoint {
    wireguard::PublicKey peer{};
    std::string host;  // "name:port" as the file has it
    std::chrono::steady_clock::time_point retry_at{};
    std::chrono::seconds backoff{1};
    std::shared_ptr<Lookup> lookup;  // in flight, or finished and not yet taken
  };
  std::function<std::optional<wireguard::Endpoint>(const std::string&, std::string&)> resolve_;
  std::vector<PendingEndpoint> pending_;  // control thread
  void note_pending(const wireguard::WgConfig& config);
};

}  // namespace sockswitch::ports
