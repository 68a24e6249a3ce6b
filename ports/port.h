// ports/port.h: the one small interface every port driver implements.
//
// A port moves whole bursts of frames between a device and the poll thread
// that owns its queues. Inside a bridge every packet is an Ethernet frame;
// an L3 driver adds or strips the header at this boundary.
//
// Buffers: the poll thread owns one PacketPool and lends it to every call.
// rx_burst fills packets from that pool; tx_burst takes ownership of every
// packet it is given and returns each to the pool when the device is done
// with it (at once for copying drivers, on completion for AF_XDP), freeing
// and counting as tx drops the ones it could not send. The caller never
// touches a packet after tx_burst.
//
// Dispatch is one virtual call per burst, never per packet (STYLE.md).
// Counters are written only by the owning poll thread (relaxed stores, no
// read-modify-write) and read by the control thread.
//
// Threads: rx_burst/tx_burst/poll_wakeup on queue q only from the thread
// that owns q; everything else from the control thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "packet/packet.h"
#include "packet/packet_pool.h"
#include "packet/single_writer_counter.h"
#include "ports/neighbor_claims.h"
#include "ports/port_capture.h"

namespace sockswitch::ports {

enum class LinkState : std::uint8_t { down, up };

struct PortCounters {
  std::uint64_t rx_packets = 0, rx_bytes = 0, rx_dropped = 0, rx_errors = 0;
  std::uint64_t tx_packets = 0, tx_bytes = 0, tx_dropped = 0, tx_errors = 0;
  // Offloads the sender left to the device (see
  // wire/checksum_completion.h): checksums finished and GSO frames
  // received whole, and segments cut from other ports' GSO frames because
  // this port takes none.
  std::uint64_t rx_checksums_completed = 0, rx_gso_whole = 0, tx_segments = 0;
};

// A port's own reasons to free (or to keep) a frame that is neither
// received into the bridge nor sent, named as dataplane/drop_reason.h names
// the pipeline's: for `show`, `dump-ports` and metrics.
struct PortDrop {
  std::string name;  // "l3.non_ip", "wg.rx.forged"
  std::string help;
  std::uint64_t count = 0;
};

// One writer (the owning poll thread), many readers: plain relaxed stores.
class PortCounterCell final {
 public:
  static void add(std::atomic<std::uint64_t>& c, std::uint64_t n) noexcept {
    packet::single_writer_add(c, n);
  }
  std::atomic<std::uint64_t> rx_packets{0}, rx_bytes{0}, rx_dropped{0}, rx_errors{0};
  std::atomic<std::uint64_t> tx_packets{0}, tx_bytes{0}, tx_dropped{0}, tx_errors{0};
  std::atomic<std::uint64_t> rx_checksums_completed{0}, rx_gso_whole{0}, tx_segments{0};

  [[nodiscard]] PortCounters read() const noexcept {
    auto r = [](const std::atomic<std::uint64_t>& c) { return c.load(std::memory_order_relaxed); };
    return {r(rx_packets),   r(rx_bytes),   r(rx_dropped),
            r(rx_errors),    r(tx_packets), r(tx_bytes),
            r(tx_dropped),   r(tx_errors),  r(rx_checksums_completed),
            r(rx_gso_whole), r(tx_segments)};
  }
};

class Port {
 public:
  explicit Port(std::string name) : name_(std::move(name)) {}
  Port(const Port&) = delete;
  Port& operator=(const Port&) = delete;
  virtual ~Port() = default;

  [[nodiscard]] const std::string& name() const noexcept { return name_; }

  // Receives up to out.size() frames into packets from `pool`; returns how
  // many. Never blocks.
  [[nodiscard]] virtual std::size_t rx_burst(std::uint16_t queue, packet::PacketPool& pool,
                                             std::span<packet::Packet*> out) noexcept = 0;
  // Takes ownership of every packet (see above). Never blocks. A GSO
  // super-frame (Packet::is_gso) comes only to a port that takes_gso().
  virtual void tx_burst(std::uint16_t queue, packet::PacketPool& pool,
                        std::span<packet::Packet* const> packets) noexcept = 0;
  // Whether tx_burst passes GSO super-frames on whole (with the metadata
  // that lets the device or the receiver finish them); for any other port
  // the poll thread cuts them first (dataplane/tx_batch.h). Asked once per
  // burst that holds one.
  [[nodiscard]] virtual bool takes_gso() const noexcept { return false; }
  // Poll thread of `queue`: GSO frames cut into `segments` for this port,
  // and frames lost in the cutting (no free packet, or a malformed frame).
  void count_cut_to_send(std::uint16_t queue, std::uint64_t segments, std::uint64_t lost) noexcept {
    PortCounterCell& c = queue_counters(queue);
    if (segments) PortCounterCell::add(c.tx_segments, segments);
    if (lost) PortCounterCell::add(c.tx_dropped, lost);
  }

  // A descriptor that becomes readable when queue `queue` has frames, for
  // the poll thread to sleep on when idle; -1 when the driver has none (the
  // thread then polls it on a timer).
  [[nodiscard]] virtual int wakeup_fd(std::uint16_t queue) const noexcept = 0;
  [[nodiscard]] virtual std::uint16_t queue_count() const noexcept { return 1; }

  // Control path: re-reads the device behind the port (the daemon calls it on
  // netlink link events). A driver whose device vanished marks itself down
  // (rx returns 0, tx frees and counts drops) and re-attaches when a device
  // of that name is back. May reopen descriptors, so wakeup_fd() must be
  // read again afterwards, and it must not run while a poll thread is inside
  // rx_burst/tx_burst of this port (call it with the port's queues parked).
  // Throws std::system_error for failures other than the device's absence.
  virtual void refresh() {}

  // Control path: false while the port would lose frames its device hands
  // it because its poll thread has not served it yet (AF_XDP: the fill
  // rings, which only the poll thread fills from its pool, are still
  // empty). The switch waits for this after publishing a port, so that a
  // port is receiving by the time adding it is acknowledged.
  [[nodiscard]] virtual bool ready() const noexcept { return true; }

  // Control path, for `show`: what the port does about offloads its
  // device's senders use (checksums left partial, GSO frames); empty when
  // nothing reaches it unfinished.
  [[nodiscard]] virtual std::string offload_handling() const { return {}; }

  // Control path: the port's named drops (every one, zero or not); empty
  // for a port whose only losses are rx_dropped/tx_dropped.
  [[nodiscard]] virtual std::vector<PortDrop> named_drops() { return {}; }

  // Control path, for `show`: how the port moves frames ("af_xdp native",
  // "af_packet L3"), so what `auto` chose is visible and testable.
  [[nodiscard]] virtual std::string engine() const { return {}; }

  // Control path: an L3 port's neighbours (the control thread publishes in
  // them what the port answers ARP/ND for); nullptr for an Ethernet port.
  [[nodiscard]] virtual L3Neighbors* l3_neighbors() noexcept { return nullptr; }
  [[nodiscard]] const L3Neighbors* l3_neighbors() const noexcept {
    return const_cast<Port*>(this)->l3_neighbors();  // one override serves both
  }
  // Control path: the prefixes the port routes itself (a native WireGuard
  // port's AllowedIPs); nullopt when its device's routes are the kernel's.
  [[nodiscard]] virtual std::optional<std::vector<ClaimPrefix>> routed_prefixes() {
    return std::nullopt;
  }

  [[nodiscard]] virtual LinkState link_state() const noexcept = 0;
  [[nodiscard]] virtual std::uint32_t mtu() const noexcept = 0;
  // Summed over queues: each queue's cell has exactly one writer.
  [[nodiscard]] virtual PortCounters counters() const noexcept {
    PortCounters sum;
    for (const PortCounterCell& q : queue_counters_) {
      const PortCounters c = q.read();
      sum.rx_packets += c.rx_packets, sum.rx_bytes += c.rx_bytes;
      sum.rx_dropped += c.rx_dropped, sum.rx_errors += c.rx_errors;
      sum.tx_packets += c.tx_packets, sum.tx_bytes += c.tx_bytes;
      sum.tx_dropped += c.tx_dropped, sum.tx_errors += c.tx_errors;
      sum.rx_checksums_completed += c.rx_checksums_completed, sum.rx_gso_whole += c.rx_gso_whole;
      sum.tx_segments += c.tx_segments;
    }
    return sum;
  }

  static constexpr std::uint16_t kMaxQueues = 16;

  // The capture armed on the port (port_capture.h), or nullptr: the poll
  // threads copy each burst into it as it is received or sent. The control
  // thread sets it, and frees a capture it took off only after the poll
  // threads' grace period.
  [[nodiscard]] PortCapture* capture() const noexcept {
    return capture_.load(std::memory_order_acquire);
  }
  void set_capture(PortCapture* c) noexcept { capture_.store(c, std::memory_order_release); }

 protected:
  [[nodiscard]] PortCounterCell& queue_counters(std::uint16_t queue) noexcept {
    return queue_counters_[queue % kMaxQueues];
  }

 private:
  std::array<PortCounterCell, kMaxQueues> queue_counters_;
  std::string name_;
  std::atomic<PortCapture*> capture_{nullptr};
};

}  // namespace sockswitch::ports
