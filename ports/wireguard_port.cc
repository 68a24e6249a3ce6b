// ports/wireguard_port.cc: bursts between the bridge, the WireGuard Device and the UDP socket.
#include "ports/wireguard_port.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>
#include <utility>
#include <variant>

#include "ports/wireguard/key.h"
#include "ports/wireguard/uapi_protocol.h"
#include "ports/wireguard/x25519.h"

namespace sockswitch::ports {
namespace {

using wireguard::TimerClock;

wireguard::Endpoint to_wireguard(const UdpEndpoint& e) noexcept {
  wireguard::Endpoint w;
  const sockaddr_in6& sa = e.sockaddr6();
  if (e.is_v4()) {
    w.address =
        wireguard::IpAddress::v4(std::span<const std::uint8_t, 4>(&sa.sin6_addr.s6_addr[12], 4));
  } else {
    w.address =
        wireguard::IpAddress::v6(std::span<const std::uint8_t, 16>(sa.sin6_addr.s6_addr, 16));
    w.scope_id = sa.sin6_scope_id;
  }
  w.port = e.port();
  return w;
}

UdpEndpoint to_udp(const wireguard::Endpoint& w) noexcept {
  const auto b = w.address.bytes();
  if (w.address.is_v4()) {
    std::uint32_t a;
    std::memcpy(&a, b.data(), 4);
    return UdpEndpoint::ipv4(a, w.port);
  }
  in6_addr a6;
  std::memcpy(&a6, b.data(), 16);
  return UdpEndpoint::ipv6(a6, w.port, w.scope_id);
}

UdpSocketOptions socket_options(const wireguard::WgConfig& config, UdpSocketOptions base) {
  base.port = config.interface.listen_port.value_or(0);
  base.fwmark = config.interface.fwmark.value_or(0);
  return base;
}

wireguard::DeviceOptions device_options(const WireGuardPortOptions& options) {
  wireguard::DeviceOptions d;
  d.timers = options.timers;
  return d;
}

void drain_eventfd(int fd) noexcept {
  std::uint64_t v;
  while (::read(fd, &v, sizeof v) > 0) {
  }
}

std::string ago(std::int64_t unix_seconds) {
  if (unix_seconds == 0) return "never";
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return fmt::format("{} seconds ago", std::max<std::int64_t>(0, now - unix_seconds));
}

}  // namespace

WireGuardPort::WireGuardPort(const std::string& name, const wireguard::WgConfig& config,
                             WireGuardPortOptions options)
    : Port(name),
      mac_(options.mac.value_or(L3Ethernet::mac_for_name(name))),
      mtu_(config.interface.wg_quick.mtu.value_or(kDefaultMtu)),
      l3_(mac_, neighbors_),
      socket_(socket_options(config, options.socket)),
      device_(device_options(options)),
      resolve_(std::move(options.resolve)) {
  // Before the handshake thread exists, this thread may stand in for it.
  device_.apply(wireguard::to_device_change(config), TimerClock::now());
  staged_event_ = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  wakeup_ = Fd(::epoll_create1(EPOLL_CLOEXEC));
  if (!staged_event_ || !wakeup_) throw_errno("eventfd/epoll_create1 (wireguard port)");
  for (const int fd : {socket_.fd(), staged_event_.get()}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (::epoll_ctl(wakeup_.get(), EPOLL_CTL_ADD, fd, &ev) != 0)
      throw_errno("epoll_ctl (wireguard port)");
  }
  outbox_.reserve(64);
  if (!options.uapi_directory.empty())
    uapi_ = std::make_unique<WireGuardUapiServer>(
        name, [this](std::string_view r) { return answer_uapi(r); },
        WireGuardUapiOptions{.directory = options.uapi_directory});
  thread_ = std::make_unique<WireGuardHandshakeThread>(
      name,
      WireGuardThreadHooks{.on_queue = [this] { process_handshakes(); },
                           .on_tick = [this] { tick(); }},
      uapi_.get());
  note_pending(config);
}

WireGuardPort::~WireGuardPort() = default;

// --- poll thread -------------------------------------------------------------

std::size_t WireGuardPort::rx_burst(std::uint16_t queue, packet::PacketPool& pool,
                                    std::span<packet::Packet*> out) noexcept {
  PortCounterCell& cnt = queue_counters(queue);
  if (staged_ready_.load(std::memory_order_acquire)) {
    staged_ready_.store(false, std::memory_order_relaxed);
    drain_eventfd(staged_event_.get());
    send_staged(cnt);
  }
  std::size_t n = l3_.take_replies(pool, out);
  const auto now = TimerClock::now();
  bool queued_handshake = false;
  std::uint64_t delivered_bytes = 0, delivered = 0, dropped = 0, bad = 0;
  // A pass that delivers nothing (all handshakes, say) must not leave GRO
  // segments staged in the socket: the poll thread would sleep on them.
  for (int pass = 0; pass < 4 && n < out.size(); ++pass) {
    const std::size_t room = std::min(out.size() - n, kBurst);
    const std::size_t have = pool.alloc_burst(std::span(rx_packets_).first(room));
    if (have == 0) break;
    for (std::size_t i = 0; i < have; ++i) {
      packet::Packet* p = rx_packets_[i];
      rx_slots_[i] = RxDatagram{p->data(), p->tailroom(), p, 0, {}};
    }
    const std::size_t got = socket_.recv_burst(std::span(rx_slots_).first(have));
    for (std::size_t i = got; i < have; ++i)
      pool.free(static_cast<packet::Packet*>(rx_slots_[i].user));
    if (got == 0) break;
    for (std::size_t i = 0; i < got; ++i)
      rx_in_[i] = {rx_slots_[i].data, rx_slots_[i].length, to_wireguard(rx_slots_[i].from)};
    device_.decrypt_burst(std::span(rx_in_).first(got), std::span(rx_results_).first(got), now);
    for (std::size_t i = 0; i < got; ++i) {
      auto* p = static_cast<packet::Packet*>(rx_slots_[i].user);
      const wireguard::RxResult& r = rx_results_[i];
      if (r.verdict == wireguard::RxResult::Verdict::deliver) {
        (void)p->append(rx_slots_[i].length);
        const auto skip = static_cast<std::uint32_t>(r.packet - p->data());
        if (p->pull_front(skip) != nullptr && p->trim(p->length() - r.packet_size) &&
            l3_.to_bridge(*p)) {
          out[n++] = p;
          ++delivered;
          delivered_bytes += p->length();
          continue;
        }
        ++bad;
      } else if (r.verdict == wireguard::RxResult::Verdict::consumed) {
        queued_handshake = true;
      } else {
        ++dropped;
      }
      pool.free(p);
    }
    if (n > 0 || !socket_.has_pending()) break;
  }
  if (queued_handshake) thread_->notify();
  if (delivered) {
    PortCounterCell::add(cnt.rx_packets, delivered);
    PortCounterCell::add(cnt.rx_bytes, delivered_bytes);
  }
  if (dropped) PortCounterCell::add(cnt.rx_dropped, dropped);
  if (bad) PortCounterCell::add(cnt.rx_errors, bad);
  return n;
}

void WireGuardPort::tx_burst(std::uint16_t queue, packet::PacketPool& pool,
                             std::span<packet::Packet* const> packets) noexcept {
  PortCounterCell& cnt = queue_counters(queue);
  while (!packets.empty()) {
    const std::size_t chunk = std::min(packets.size(), kBurst);
    tx_chunk(pool, packets.first(chunk), cnt);
    packets = packets.subspan(chunk);
  }
}

void WireGuardPort::tx_chunk(packet::PacketPool& pool, std::span<packet::Packet* const> packets,
                             PortCounterCell& cnt) noexcept {
  std::size_t k = 0;
  std::uint64_t dropped = 0;
  for (packet::Packet* p : packets) {
    const L3Ethernet::TxAction a = l3_.to_device(*p);
    // The transport header goes into the headroom, padding and tag after the packet.
    if (a == L3Ethernet::TxAction::send && p->headroom() >= wireguard::kTxHeadroom &&
        p->tailroom() >= wireguard::kTxTailroom) {
      tx_packets_[k] = p;
      tx_in_[k++] = {p->data(), p->length()};
      continue;
    }
    if (a != L3Ethernet::TxAction::consumed) ++dropped;
    pool.free(p);
  }
  if (dropped) PortCounterCell::add(cnt.tx_dropped, dropped);
  if (k == 0) return;
  device_.encrypt_burst(std::span(tx_in_).first(k), std::span(tx_results_).first(k),
                        TimerClock::now());
  send_results(std::span(tx_results_).first(k), cnt);
  pool.free_burst(std::span(tx_packets_).first(k));  // sendmmsg copied them
}

void WireGuardPort::send_results(std::span<const wireguard::TxResult> results,
                                 PortCounterCell& cnt) noexcept {
  std::size_t m = 0;
  std::uint64_t dropped = 0;
  for (const wireguard::TxResult& r : results) {
    if (r.verdict == wireguard::TxResult::Verdict::send)
      tx_out_[m++] = TxDatagram{r.datagram, r.datagram_size, to_udp(r.endpoint)};
    else if (r.verdict == wireguard::TxResult::Verdict::drop)
      ++dropped;  // staged packets are neither sent nor lost yet
  }
  const UdpSendResult s = socket_.send_burst(std::span(tx_out_).first(m));
  PortCounterCell::add(cnt.tx_packets, s.sent);
  PortCounterCell::add(cnt.tx_bytes, s.sent_bytes);
  if (dropped + s.dropped) PortCounterCell::add(cnt.tx_dropped, dropped + s.dropped);
  if (s.errors) PortCounterCell::add(cnt.tx_errors, s.errors);
}

void WireGuardPort::send_staged(PortCounterCell& cnt) noexcept {
  const auto now = TimerClock::now();
  for (;;) {
    const std::size_t k = device_.flush_staged(tx_results_, now);
    if (k == 0) return;
    send_results(std::span(tx_results_).first(k), cnt);
    if (k < tx_results_.size()) return;
  }
}

// --- handshake thread --------------------------------------------------------

void WireGuardPort::send_outbox() noexcept {
  for (const wireguard::OutgoingDatagram& d : outbox_)
    (void)socket_.send_one(d.bytes.data(), d.size,
                           to_udp(d.to));  // lost ones are retried by timers
  outbox_.clear();
}

void WireGuardPort::process_handshakes() {
  device_.process_handshakes(TimerClock::now(), outbox_);
  send_outbox();
  const std::uint64_t done = device_.counters().handshakes_completed;
  if (done != handshakes_seen_) {
    // A session is ready: packets staged for it leave on the poll thread.
    handshakes_seen_ = done;
    staged_ready_.store(true, std::memory_order_release);
    const std::uint64_t one = 1;
    (void)::write(staged_event_.get(), &one, sizeof one);
  }
}

void WireGuardPort::tick() {
  device_.tick(TimerClock::now(), outbox_);
  send_outbox();
}

wireguard::DeviceSnapshot WireGuardPort::snapshot_here() const {
  wireguard::DeviceSnapshot s = device_.snapshot();
  s.listen_port = socket_.port();
  s.fwmark = socket_.fwmark();
  return s;
}

void WireGuardPort::apply_here(const wireguard::DeviceChange& change) {
  if (change.listen_port && *change.listen_port != 0 && *change.listen_port != socket_.port())
    throw std::invalid_argument(fmt::format(
        "listen port {} requested, but port {} is bound to {}; re-create the port to change it",
        *change.listen_port, name(), socket_.port()));
  device_.apply(change, TimerClock::now());
  // After the Device accepted the change: a refused mark then leaves the
  // peers changed but reports the error.
  if (change.fwmark && *change.fwmark != socket_.fwmark()) socket_.set_fwmark(*change.fwmark);
}

std::string WireGuardPort::answer_uapi(std::string_view request) {
  using wireguard::UapiOperation;
  switch (wireguard::operation_of(request)) {
    case UapiOperation::get:
      return wireguard::format_get_response(snapshot_here());
    case UapiOperation::set: {
      auto parsed = wireguard::parse_set_request(request);
      if (const auto* e = std::get_if<wireguard::UapiError>(&parsed)) {
        spdlog::warn("wireguard port {}: uapi set refused: {}", name(), e->message);
        return wireguard::format_errno_response(e->error);
      }
      try {
        apply_here(std::get<wireguard::DeviceChange>(parsed));
      } catch (const std::system_error& e) {
        spdlog::warn("wireguard port {}: uapi set: {}", name(), e.what());
        return wireguard::format_errno_response(e.code().value());
      } catch (const std::invalid_argument& e) {
        spdlog::warn("wireguard port {}: uapi set refused: {}", name(), e.what());
        return wireguard::format_errno_response(EINVAL);
      }
      return wireguard::format_errno_response(0);
    }
    case UapiOperation::invalid:
      break;
  }
  return wireguard::format_errno_response(EINVAL);
}

// --- control thread ----------------------------------------------------------

void WireGuardPort::reconfigure(const wireguard::WgConfig& config) {
  const wireguard::DeviceChange change = wireguard::to_device_sync(config);
  thread_->run([&] { apply_here(change); });
  note_pending(config);
}

void WireGuardPort::note_pending(const wireguard::WgConfig& config) {
  pending_.clear();
  for (const wireguard::PeerConfig& p : config.peers)
    if (!p.endpoint_host.empty()) {
      spdlog::warn("wireguard port {}: peer {} endpoint {} does not resolve yet; retrying", name(),
                   wireguard::to_base64(p.public_key), p.endpoint_host);
      pending_.push_back({p.public_key, p.endpoint_host, std::chrono::steady_clock::now(),
                          std::chrono::seconds(1), nullptr});
    }
}

std::size_t WireGuardPort::resolve_pending_endpoints() {
  const auto now = std::chrono::steady_clock::now();
  std::size_t resolved = 0;
  std::erase_if(pending_, [&](PendingEndpoint& p) {
    if (!p.lookup) {
      if (now < p.retry_at) return false;
      p.lookup = std::make_shared<Lookup>();
      std::thread([lookup = p.lookup, host = p.host, resolve = resolve_] {
        lookup->result = resolve(host, lookup->why);
        lookup->done.store(true, std::memory_order_release);
      }).detach();
      return false;
    }
    if (!p.lookup->done.load(std::memory_order_acquire)) return false;
    const std::shared_ptr<Lookup> lookup = std::exchange(p.lookup, nullptr);
    if (!lookup->result) {
      p.backoff = std::min(p.backoff * 2, std::chrono::seconds(60));
      p.retry_at = now + p.backoff;
      return false;
    }
    wireguard::DeviceChange change;
    wireguard::PeerChange pc;
    pc.public_key = p.peer;
    pc.update_only = true;  // a peer removed meanwhile stays removed
    pc.endpoint = *lookup->result;
    change.peers.push_back(std::move(pc));
    thread_->run([&] { apply_here(change); });
    spdlog::info("wireguard port {}: peer {} endpoint {} resolved to {}", name(),
                 wireguard::to_base64(p.peer), p.host, lookup->result->to_string());
    ++resolved;
    return true;
  });
  return resolved;
}

wireguard::DeviceSnapshot WireGuardPort::snapshot() {
  return thread_->run([this] { return snapshot_here(); });
}

std::optional<std::vector<ClaimPrefix>> WireGuardPort::routed_prefixes() {
  return thread_->run([this] {
    std::vector<ClaimPrefix> out;
    for (const wireguard::PeerSnapshot& peer : snapshot_here().peers)
      for (const wireguard::IpPrefix& p : peer.allowed_ips)
        out.push_back(ClaimPrefix::of(p.address.bytes().data(), p.address.is_v4(), p.length));
    return out;
  });
}

wireguard::DeviceCounters WireGuardPort::device_counters() {
  return thread_->run([this] { return device_.counters(); });
}

std::string WireGuardPort::show() {
  const wireguard::DeviceSnapshot s = snapshot();
  const wireguard::DeviceCounters c = device_counters();
  std::string out = fmt::format("interface: {}\n", name());
  if (!s.private_key.is_zero())
    if (auto pub = wireguard::public_key_of(s.private_key))
      out += fmt::format("  public key: {}\n", wireguard::to_base64(*pub));
  out += fmt::format("  listening port: {}\n", s.listen_port);
  if (s.fwmark != 0) out += fmt::format("  fwmark: {:#x}\n", s.fwmark);
  out += fmt::format("  handshakes completed: {}\n", c.handshakes_completed);
  for (const wireguard::PeerSnapshot& p : s.peers) {
    out += fmt::format("peer: {}\n", wireguard::to_base64(p.public_key));
    if (!p.preshared_key.is_zero()) out += "  preshared key: (hidden)\n";
    if (p.endpoint) out += fmt::format("  endpoint: {}\n", p.endpoint->to_string());
    std::string ips;
    for (const wireguard::IpPrefix& a : p.allowed_ips)
      ips += (ips.empty() ? "" : ", ") + a.to_string();
    out += fmt::format("  allowed ips: {}\n", ips.empty() ? "(none)" : ips);
    out += fmt::format("  latest handshake: {}\n", ago(p.last_handshake_sec));
    out += fmt::format("  transfer: {} B received, {} B sent\n", p.rx_bytes, p.tx_bytes);
    if (p.persistent_keepalive_interval != 0)
      out += fmt::format("  persistent keepalive: every {} seconds\n",
                         p.persistent_keepalive_interval);
  }
  for (std::size_t i = 1; i < c.rx_drops.size(); ++i)
    if (c.rx_drops[i] != 0)
      out += fmt::format("  rx drop {}: {}\n",
                         wireguard::to_string(static_cast<wireguard::RxDrop>(i)), c.rx_drops[i]);
  for (std::size_t i = 1; i < c.tx_drops.size(); ++i)
    if (c.tx_drops[i] != 0)
      out += fmt::format("  tx drop {}: {}\n",
                         wireguard::to_string(static_cast<wireguard::TxDrop>(i)), c.tx_drops[i]);
  return out;
}

std::vector<PortDrop> WireGuardPort::named_drops() {
  const L3Ethernet* adapter = &l3_;
  std::vector<PortDrop> out = L3Ethernet::named_drops(std::span(&adapter, 1));
  const wireguard::DeviceCounters c = device_counters();
  for (std::size_t i = 1; i < c.rx_drops.size(); ++i) {
    const auto why = wireguard::to_string(static_cast<wireguard::RxDrop>(i));
    out.push_back({fmt::format("wg.{}", why),  // why: "rx.forged"
                   fmt::format("datagrams from peers dropped: {}", why.substr(3)), c.rx_drops[i]});
  }
  for (std::size_t i = 1; i < c.tx_drops.size(); ++i) {
    const auto why = wireguard::to_string(static_cast<wireguard::TxDrop>(i));
    out.push_back({fmt::format("wg.{}", why),
                   fmt::format("packets for peers dropped: {}", why.substr(3)), c.tx_drops[i]});
  }
  return out;
}

}  // namespace sockswitch::ports
