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

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "control/openflow/controller_target.h"
#include "control/openflow/ofp_connection.h"
#include "control/openflow/ofp_connector.h"
#include "control/openflow/ofp_port_description.h"
#include "control/openflow/ofp_session.h"
#include "control/switch.h"

namespace sockswitch::control::openflow {
namespace {

using Local = asio::local::stream_protocol;
using Tcp = asio::ip::tcp;

// Whether some process accepts connections on `path`.
bool answered(const std::string& path) {
  asio::io_context io;
  Local::socket s(io);
  boost::system::error_code ec;
  s.connect(Local::endpoint(path), ec);
  return !ec;
}

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
    if constexpr (std::is_same_v<Protocol, Tcp>)
      where_ = fmt::format("tcp:{}:{}", at.address().to_string(), at.port());
    else
      where_ = "unix:" + unix_path;
    accept();
  }
  [[nodiscard]] std::string describe() const override { return "listening on " + where_; }

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
  std::string where_;
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
                                     const ControllerTarget& t) {
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
  std::vector<const Connector*> connectors;  // the active ones among them
  // Each controller target's endpoint, or why it has none.
  std::map<std::string, Endpoint*> by_target;
  std::map<std::string, std::string> failed;
  // The bridge's punt eventfd (a dup: asio closes its own), and which one.
  asio::posix::stream_descriptor punts;
  int punt_fd = -1;
  // PACKET_IN rate limit (a token bucket) and what it let through or not.
  double tokens = kPacketInBurst;
  std::chrono::steady_clock::time_point refilled = std::chrono::steady_clock::now();
  std::uint64_t packet_ins = 0, limited = 0;
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
        const ControllerTarget t = parse_controller_target(text);
        if (t.active()) {
          auto c = std::make_unique<Connector>(io_, sw_, name, t,
                                               [this, name] { update_fail_open(name); });
          b->connectors.push_back(c.get());
          b->endpoints.push_back(std::move(c));
        } else {
          b->endpoints.push_back(t.kind == ControllerTarget::Kind::listen_tcp
                                     ? listen_tcp(io_, sw_, name, t)
                                     : listen_unix(io_, sw_, name, t.path));
        }
        b->by_target[text] = b->endpoints.back().get();
      } catch (const std::exception& e) {
        // Not retried until the bridge's listeners change: a port in use
        // stays in use, and the log says so once.
        spdlog::warn("openflow {}: cannot listen on {}: {}", name, text, e.what());
        b->failed[text] = e.what();
      }
    }
    bridges_.emplace(name, std::move(b));
    update_fail_open(name);
  }
}

std::optional<EndpointStatus> Listeners::controller_status(const std::string& bridge,
                                                           const std::string& target) {
  const auto it = bridges_.find(bridge);
  if (it == bridges_.end()) return std::nullopt;
  Bridge& b = *it->second;
  if (const auto e = b.by_target.find(target); e != b.by_target.end() && e->second)
    return e->second->status();
  if (const auto f = b.failed.find(target); f != b.failed.end())
    return EndpointStatus{false, "", f->second};
  return std::nullopt;
}

void Listeners::update_fail_open(const std::string& name) {
  const auto it = bridges_.find(name);
  if (it == bridges_.end() || !sw_.has_bridge(name)) return;
  // OpenFlow 1.0's table miss goes to the controller: on while a 1.0
  // client is connected.
  const auto clients = it->second->connections();
  sw_.set_miss_to_controller(name, std::any_of(clients.begin(), clients.end(), [](const auto& c) {
                               return c->version() == kVersion10;
                             }));
  const std::vector<const Connector*>& connectors = it->second->connectors;
  const bool away =
      !connectors.empty() && std::none_of(connectors.begin(), connectors.end(),
                                          [](const Connector* c) { return c->connected(); });
  sw_.set_fail_open(name, away && sw_.fail_mode(name) == "standalone");
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
        const auto now = std::chrono::steady_clock::now();
        b.tokens = std::min(
            kPacketInBurst,
            b.tokens + kPacketInRate * std::chrono::duration<double>(now - b.refilled).count());
        b.refilled = now;
        for (const dataplane::PuntedPacket& p : punts) {
          if (b.tokens < 1) {
            ++b.limited;
            continue;
          }
          b.tokens -= 1;
          ++b.packet_ins;
          for (const auto& c : clients)
            c->send_unasked([&](const Session& s) { return s.packet_in(p); });
        }
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
    update_fail_open(name);  // and the 1.0 table miss, as clients come and go
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

std::string Listeners::state() const {
  std::string out;
  for (const auto& [name, b] : bridges_) {
    out += fmt::format("openflow {}:", name);
    std::size_t clients = 0;
    for (const auto& e : b->endpoints) {
      if (!e) continue;
      out += fmt::format(" {};", e->describe());
      clients += e->connections().size();
    }
    out += fmt::format(" {} clients; {} packet-ins sent, {} over the rate limit ({}/s)\n", clients,
                       b->packet_ins, b->limited, kPacketInRate);
  }
  return out;
}

}  // namespace sockswitch::control::openflow
