// control/openflow/ofp_listener.cc: unix and TCP listeners and connections.
#include "control/openflow/ofp_listener.h"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <functional>
#include <set>

#include <spdlog/spdlog.h>

#include "control/openflow/listen_target.h"
#include "control/openflow/ofp_port_description.h"
#include "control/openflow/ofp_session.h"
#include "control/switch.h"

namespace sockswitch::control::openflow {
namespace {

namespace asio = boost::asio;
using Local = asio::local::stream_protocol;
using Tcp = asio::ip::tcp;

// A client that stops reading while replies pile up (a dump of a huge
// table) is cut off rather than buffered without bound.
constexpr std::size_t kMaxBacklog = 64u << 20;

class Connection {
 public:
  virtual ~Connection() = default;
  virtual void close() = 0;
  // Sends what `make` builds from this connection's session (nothing when
  // it builds nothing).
  virtual void send_unasked(
      const std::function<std::vector<std::uint8_t>(const Session&)>& make) = 0;
};

template <typename Protocol>
class StreamConnection final : public Connection,
                               public std::enable_shared_from_this<StreamConnection<Protocol>> {
 public:
  StreamConnection(typename Protocol::socket socket, Switch& sw, const std::string& bridge)
      : socket_(std::move(socket)), quiet_(socket_.get_executor()), session_(sw, bridge) {}

  void start() {
    send(session_.hello());
    read();
  }
  void close() override {
    boost::system::error_code ignored;
    socket_.close(ignored);
    quiet_.cancel();
  }
  void send_unasked(const std::function<std::vector<std::uint8_t>(const Session&)>& make) override {
    if (closing_ || !socket_.is_open()) return;
    std::vector<std::uint8_t> bytes = make(session_);
    if (!bytes.empty()) send(std::move(bytes));
  }

 private:
  void read() {
    auto self = this->shared_from_this();
    socket_.async_read_some(
        asio::buffer(buffer_), [self](boost::system::error_code ec, std::size_t n) {
          std::vector<std::uint8_t> out;
          if (ec) {  // closed by the peer or by us: what it sent still counts
            self->session_.flush_run(out);
            return;
          }
          const bool open =
              self->session_.receive(std::span<const std::uint8_t>(self->buffer_.data(), n), out);
          if (!out.empty()) self->send(std::move(out));
          if (open && self->session_.run_pending()) self->apply_when_quiet();
          if (!open) {
            spdlog::warn("openflow {}: connection closed: {}", self->session_.bridge(),
                         self->session_.close_reason());
            self->closing_ = true;
            if (self->queue_.empty()) self->close();
            return;
          }
          self->read();
        });
  }
  // Applies a pending run of flow mods once the client has sent nothing
  // for kQuiet (each read re-arms the timer, so a streamed `add-flows` is
  // one version, not one per read).
  void apply_when_quiet() {
    quiet_.expires_after(kQuiet);
    quiet_.async_wait([self = this->shared_from_this()](boost::system::error_code ec) {
      if (ec) return;  // re-armed by a later read, or closed
      std::vector<std::uint8_t> out;
      self->session_.flush_run(out);
      if (!out.empty()) self->send(std::move(out));
    });
  }
  void send(std::vector<std::uint8_t> bytes) {
    backlog_ += bytes.size();
    if (backlog_ > kMaxBacklog) {
      spdlog::warn("openflow {}: the client does not read its replies; connection closed",
                   session_.bridge());
      close();
      return;
    }
    queue_.push_back(std::move(bytes));
    if (queue_.size() == 1) write();
  }
  void write() {
    auto self = this->shared_from_this();
    asio::async_write(socket_, asio::buffer(queue_.front()),
                      [self](boost::system::error_code ec, std::size_t) {
                        if (ec) return;
                        self->backlog_ -= self->queue_.front().size();
                        self->queue_.pop_front();
                        if (!self->queue_.empty())
                          self->write();
                        else if (self->closing_)
                          self->close();
                      });
  }

  static constexpr std::chrono::milliseconds kQuiet{2};

  typename Protocol::socket socket_;
  asio::steady_timer quiet_;
  Session session_;
  std::array<std::uint8_t, 64 * 1024> buffer_{};
  std::deque<std::vector<std::uint8_t>> queue_;
  std::size_t backlog_ = 0;
  bool closing_ = false;
};

// Whether some process accepts connections on `path`.
bool answered(const std::string& path) {
  asio::io_context io;
  Local::socket s(io);
  boost::system::error_code ec;
  s.connect(Local::endpoint(path), ec);
  return !ec;
}

using Connections = std::vector<std::weak_ptr<Connection>>;

// One listening socket and the connections it accepted.
class Endpoint {
 public:
  virtual ~Endpoint() = default;
  // The connections still open.
  [[nodiscard]] std::vector<std::shared_ptr<Connection>> connections() {
    std::vector<std::shared_ptr<Connection>> out;
    std::erase_if(connections_, [](const std::weak_ptr<Connection>& w) { return w.expired(); });
    for (const auto& w : connections_)
      if (auto c = w.lock()) out.push_back(std::move(c));
    return out;
  }

 protected:
  Connections connections_;
};

template <typename Protocol>
class Acceptor final : public Endpoint {
 public:
  Acceptor(asio::io_context& io, Switch& sw, std::string bridge)
      : acceptor_(io), sw_(sw), bridge_(std::move(bridge)) {}
  ~Acceptor() override {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (const auto& weak : this->connections_)
      if (auto c = weak.lock()) c->close();
    // Only our own socket file: another process may have replaced it.
    struct stat st {};
    if (!path_.empty() && ::stat(path_.c_str(), &st) == 0 && st.st_ino == inode_)
      ::unlink(path_.c_str());
  }

  // Throws on failure (the address is in use, no such address).
  void listen(const typename Protocol::endpoint& at, const std::string& unix_path = {}) {
    acceptor_.open(at.protocol());
    if constexpr (std::is_same_v<Protocol, Tcp>)
      acceptor_.set_option(typename Protocol::acceptor::reuse_address(true));
    const mode_t old_mask = ::umask(0077);  // unix sockets: 0600
    boost::system::error_code ec;
    acceptor_.bind(at, ec);
    ::umask(old_mask);
    if (ec) throw boost::system::system_error(ec);
    acceptor_.listen();
    path_ = unix_path;
    struct stat st {};
    if (!path_.empty() && ::stat(path_.c_str(), &st) == 0) inode_ = st.st_ino;
    accept();
  }

 private:
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, typename Protocol::socket s) {
      if (ec) return;  // closed
      auto c = std::make_shared<StreamConnection<Protocol>>(std::move(s), sw_, bridge_);
      std::erase_if(this->connections_,
                    [](const std::weak_ptr<Connection>& w) { return w.expired(); });
      this->connections_.push_back(c);
      c->start();
      accept();
    });
  }

  typename Protocol::acceptor acceptor_;
  Switch& sw_;
  std::string bridge_;
  std::string path_;
  ino_t inode_ = 0;
};

// A unix socket at `path`, unless another live process serves it.
std::unique_ptr<Endpoint> listen_unix(asio::io_context& io, Switch& sw, const std::string& bridge,
                                      const std::string& path) {
  std::error_code dir_error;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), dir_error);
  if (std::filesystem::exists(path)) {
    if (answered(path)) {
      spdlog::warn(
          "openflow {}: {} is served by another process (an ovs-vswitchd?); not "
          "listening there",
          bridge, path);
      return nullptr;
    }
    ::unlink(path.c_str());  // left by a process that is gone
  }
  auto a = std::make_unique<Acceptor<Local>>(io, sw, bridge);
  a->listen(Local::endpoint(path), path);
  spdlog::info("openflow {}: listening on {}", bridge, path);
  return a;
}

std::unique_ptr<Endpoint> listen_tcp(asio::io_context& io, Switch& sw, const std::string& bridge,
                                     const ListenTarget& t) {
  auto a = std::make_unique<Acceptor<Tcp>>(io, sw, bridge);
  a->listen(Tcp::endpoint(asio::ip::make_address(t.address), t.port));
  spdlog::info("openflow {}: listening on tcp {}:{}", bridge, t.address, t.port);
  return a;
}

}  // namespace

struct Listeners::Bridge {
  explicit Bridge(asio::io_context& io) : punts(io) {}

  std::vector<std::string> targets;  // what these endpoints were opened for
  std::vector<std::unique_ptr<Endpoint>> endpoints;
  // The bridge's punt eventfd (a dup: asio closes its own), and which one.
  asio::posix::stream_descriptor punts;
  int punt_fd = -1;
  // The ports as clients last heard of them (empty while none is connected).
  std::vector<PortDescription> ports;
  bool ports_known = false;

  [[nodiscard]] std::vector<std::shared_ptr<Connection>> connections() {
    std::vector<std::shared_ptr<Connection>> out;
    for (const auto& e : endpoints)
      if (e)
        for (auto& c : e->connections())
          out.push_back(std::move(c));
    return out;
  }
};

Listeners::Listeners(asio::io_context& io, Switch& sw, std::string rundir)
    : io_(io), sw_(sw), rundir_(std::move(rundir)) {}

Listeners::~Listeners() = default;

std::string Listeners::default_rundir() {
  if (const char* env = std::getenv("OVS_RUNDIR"); env != nullptr && *env != '\0') return env;
  return "/var/run/openvswitch";
}

void Listeners::sync() {
  const std::vector<std::string> names = sw_.bridge_names();
  const std::set<std::string> wanted(names.begin(), names.end());
  std::erase_if(bridges_, [&](const auto& kv) {
    return !wanted.contains(kv.first) || kv.second->targets != sw_.controllers(kv.first) ||
           kv.second->punt_fd != sw_.punt_fd(kv.first);
  });
  for (const std::string& name : wanted) {
    if (bridges_.contains(name)) continue;
    auto b = std::make_unique<Bridge>(io_);
    b->targets = sw_.controllers(name);
    b->punt_fd = sw_.punt_fd(name);
    b->punts.assign(::dup(b->punt_fd));
    watch_punts(*b, name);
    const std::string mgmt = rundir_ + "/" + name + ".mgmt";
    try {
      if (auto e = listen_unix(io_, sw_, name, mgmt)) b->endpoints.push_back(std::move(e));
    } catch (const std::exception& e) {
      spdlog::warn("openflow {}: cannot listen on {}: {}", name, mgmt, e.what());
    }
    for (const std::string& text : b->targets) {
      try {
        const ListenTarget t = parse_listen_target(text);
        b->endpoints.push_back(t.kind == ListenTarget::Kind::tcp
                                   ? listen_tcp(io_, sw_, name, t)
                                   : listen_unix(io_, sw_, name, t.path));
      } catch (const std::exception& e) {
        // Not retried until the bridge's listeners change: a port in use
        // stays in use, and the log says so once.
        spdlog::warn("openflow {}: cannot listen on {}: {}", name, text, e.what());
      }
    }
    bridges_.emplace(name, std::move(b));
  }
}

void Listeners::flow_removed(const std::string& bridge, const flowtable::RemovedFlow& flow,
                             std::uint8_t reason) {
  const auto it = bridges_.find(bridge);
  if (it == bridges_.end()) return;
  for (const auto& c : it->second->connections())
    c->send_unasked([&](const Session& s) { return s.flow_removed(flow, reason); });
}

void Listeners::watch_punts(Bridge& b, const std::string& name) {
  b.punts.async_wait(
      asio::posix::stream_descriptor::wait_read, [this, &b, name](boost::system::error_code ec) {
        if (ec) return;  // the bridge's listeners went
        std::uint64_t signals = 0;
        [[maybe_unused]] const ssize_t r =
            ::read(b.punts.native_handle(), &signals, sizeof signals);
        // A bounded share per wake-up: other handlers (ctl,
        // flow mods) run between shares of a flood.
        constexpr std::size_t kShare = 256;
        const std::vector<dataplane::PuntedPacket> punts = sw_.take_punts(name, kShare);
        const auto clients = b.connections();
        for (const dataplane::PuntedPacket& p : punts)
          for (const auto& c : clients)
            c->send_unasked([&](const Session& s) { return s.packet_in(p); });
        if (punts.size() == kShare) {  // more wait, and no new signal comes
          const std::uint64_t one = 1;
          [[maybe_unused]] const ssize_t w = ::write(b.punts.native_handle(), &one, sizeof one);
        }
        watch_punts(b, name);
      });
}

void Listeners::watch_ports() {
  constexpr std::uint8_t kAdd = 0, kDelete = 1, kModify = 2;
  for (auto& [name, b] : bridges_) {
    const std::vector<std::shared_ptr<Connection>> clients = b->connections();
    if (clients.empty()) {
      b->ports_known = false;
      continue;
    }
    std::vector<PortDescription> now;
    try {
      now = describe_ports(sw_, name);
    } catch (const std::exception&) {
      continue;  // the bridge is going away
    }
    if (b->ports_known) {
      auto same_no = [](const PortDescription& a, const PortDescription& c) {
        return a.no == c.no;
      };
      auto send = [&](std::uint8_t reason, const PortDescription& p) {
        for (const auto& c : clients)
          c->send_unasked([&](const Session& s) { return s.port_status(reason, p); });
      };
      for (const PortDescription& was : b->ports) {
        const auto it = std::find_if(now.begin(), now.end(),
                                     [&](const PortDescription& p) { return same_no(p, was); });
        if (it == now.end())
          send(kDelete, was);
        else if (it->name != was.name || it->mac != was.mac || it->link_down != was.link_down ||
                 it->admin_down != was.admin_down)
          send(kModify, *it);
      }
      for (const PortDescription& p : now)
        if (std::none_of(b->ports.begin(), b->ports.end(),
                         [&](const PortDescription& was) { return same_no(p, was); }))
          send(kAdd, p);
    }
    b->ports = std::move(now);
    b->ports_known = true;
  }
}

}  // namespace sockswitch::control::openflow
