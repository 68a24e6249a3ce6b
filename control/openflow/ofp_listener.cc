// control/openflow/ofp_listener.cc: unix listeners and connections.
#include "control/openflow/ofp_listener.h"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <set>

#include <spdlog/spdlog.h>

#include "control/openflow/ofp_session.h"
#include "control/switch.h"

namespace sockswitch::control::openflow {
namespace {

namespace asio = boost::asio;
using Local = asio::local::stream_protocol;

// A client that stops reading while replies pile up (a dump of a huge
// table) is cut off rather than buffered without bound.
constexpr std::size_t kMaxBacklog = 64u << 20;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Local::socket socket, Switch& sw, const std::string& bridge)
      : socket_(std::move(socket)), session_(sw, bridge) {}

  void start() {
    send(session_.hello());
    read();
  }
  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  void read() {
    auto self = shared_from_this();
    socket_.async_read_some(
        asio::buffer(buffer_), [self](boost::system::error_code ec, std::size_t n) {
          if (ec) return;  // closed by the peer or by us
          std::vector<std::uint8_t> out;
          const bool open =
              self->session_.receive(std::span<const std::uint8_t>(self->buffer_.data(), n), out);
          if (!out.empty()) self->send(std::move(out));
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
    auto self = shared_from_this();
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

  Local::socket socket_;
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

}  // namespace

struct Listeners::Bridge {
  Bridge(asio::io_context& io, std::string p) : acceptor(io), path(std::move(p)) {}
  ~Bridge() {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    for (const auto& weak : connections)
      if (auto c = weak.lock()) c->close();
    // Only our own socket file: another process may have replaced it.
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && st.st_ino == inode) ::unlink(path.c_str());
  }
  void accept(Switch& sw, const std::string& name) {
    acceptor.async_accept([this, &sw, name](boost::system::error_code ec, Local::socket s) {
      if (ec) return;  // closed
      auto c = std::make_shared<Connection>(std::move(s), sw, name);
      connections.push_back(c);
      std::erase_if(connections, [](const std::weak_ptr<Connection>& w) { return w.expired(); });
      c->start();
      accept(sw, name);
    });
  }

  Local::acceptor acceptor;
  std::string path;
  ino_t inode = 0;
  std::vector<std::weak_ptr<Connection>> connections;
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
  std::erase_if(bridges_, [&](const auto& kv) { return !wanted.contains(kv.first); });
  for (const std::string& name : wanted) {
    if (bridges_.contains(name)) continue;
    const std::string path = rundir_ + "/" + name + ".mgmt";
    std::error_code dir_error;
    std::filesystem::create_directories(rundir_, dir_error);
    if (std::filesystem::exists(path)) {
      if (answered(path)) {
        spdlog::warn(
            "openflow {}: {} is served by another process (an ovs-vswitchd?); no "
            "OpenFlow listener for this bridge",
            name, path);
        bridges_.emplace(name, nullptr);  // not retried until the bridge goes and comes back
        continue;
      }
      ::unlink(path.c_str());  // left by a process that is gone
    }
    auto b = std::make_unique<Bridge>(io_, path);
    try {
      b->acceptor.open();
      const mode_t old_mask = ::umask(0077);
      boost::system::error_code ec;
      b->acceptor.bind(Local::endpoint(path), ec);
      ::umask(old_mask);
      if (ec) throw boost::system::system_error(ec);
      b->acceptor.listen();
    } catch (const std::exception& e) {
      spdlog::warn("openflow {}: cannot listen on {}: {}", name, path, e.what());
      bridges_.emplace(name, nullptr);
      continue;
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) b->inode = st.st_ino;
    b->accept(sw_, name);
    spdlog::info("openflow {}: listening on {}", name, path);
    bridges_.emplace(name, std::move(b));
  }
}

}  // namespace sockswitch::control::openflow
