// control/control_server.cc: sessions that read one bounded request and answer it.
#include "control/control_server.h"

#include <spdlog/spdlog.h>

#include <array>
#include <utility>

#include "control/control_commands.h"

namespace sockswitch::control {

namespace asio = boost::asio;

struct ControlServer::Shared {
  Switch& sw;
  Hook reload, sources;
  ControlLimits limits;
  std::size_t connections = 0;
  std::size_t buffered = 0;  // bytes held by all sessions' requests
  Refusals refusals;
};

class ControlServer::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Local::socket socket, std::shared_ptr<Shared> shared)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), shared_(std::move(shared)) {
    ++shared_->connections;
  }
  ~Session() {
    shared_->buffered -= in_.size();
    --shared_->connections;
  }

  void start() {
    timer_.expires_after(shared_->limits.request_timeout);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec && !self->answered_) {
        ++self->shared_->refusals.timed_out;
        self->refuse(fmt::format("no complete request within {} ms",
                                 self->shared_->limits.request_timeout.count()));
      }
    });
    read();
  }

  // Answers and closes at once (a client over a limit gets the reason).
  void refuse(const std::string& why) {
    shared_->sw.count_rejected();
    reply(nlohmann::json{{"ok", false}, {"error", why}});
  }

 private:
  void read() {
    socket_.async_read_some(asio::buffer(chunk_),
                            [self = shared_from_this()](boost::system::error_code ec,
                                                        std::size_t n) { self->on_read(ec, n); });
  }

  void on_read(boost::system::error_code ec, std::size_t n) {
    if (answered_) return;
    if (ec) {  // the client went away before a whole request: nothing to answer
      timer_.cancel();
      return;
    }
    const ControlLimits& limits = shared_->limits;
    if (in_.size() + n > limits.max_request) {
      ++shared_->refusals.too_large;
      return refuse(fmt::format("request larger than {} bytes", limits.max_request));
    }
    if (shared_->buffered + n > limits.max_buffered) {
      ++shared_->refusals.busy;
      return refuse(fmt::format("the control socket holds {} bytes of requests already; try again",
                                shared_->buffered));
    }
    const std::size_t from = in_.size();
    in_.append(chunk_.data(), n);
    shared_->buffered += n;
    const std::size_t end = in_.find('\n', from);
    if (end == std::string::npos) return read();
    nlohmann::json response;
    try {
      const nlohmann::json request = nlohmann::json::parse(std::string_view(in_).substr(0, end));
      response = run_control_command(shared_->sw, request, shared_->reload, shared_->sources);
    } catch (const std::exception& e) {
      shared_->sw.count_rejected();
      response = {{"ok", false}, {"error", std::string("bad request: ") + e.what()}};
    }
    reply(response);
  }

  void reply(const nlohmann::json& response) {
    answered_ = true;
    shared_->buffered -= in_.size();
    in_.clear();
    in_.shrink_to_fit();
    out_ = response.dump() + "\n";
    timer_.expires_after(shared_->limits.reply_timeout);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      boost::system::error_code ignored;
      if (!ec) self->socket_.close(ignored);  // it stopped reading: the write fails, the slot frees
    });
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](boost::system::error_code, std::size_t) {
                        self->timer_.cancel();
                        boost::system::error_code ignored;
                        self->socket_.shutdown(Local::socket::shutdown_both, ignored);
                      });
  }

  Local::socket socket_;
  asio::steady_timer timer_;
  std::shared_ptr<Shared> shared_;
  std::array<char, 65536> chunk_;
  std::string in_, out_;
  bool answered_ = false;
};

ControlServer::ControlServer(Local::acceptor& acceptor, Switch& sw, Hook reload, Hook sources,
                             ControlLimits limits)
    : acceptor_(acceptor),
      shared_(std::make_shared<Shared>(
          Shared{sw, std::move(reload), std::move(sources), limits, 0, 0, {}})) {}

ControlServer::~ControlServer() = default;

void ControlServer::start() {
  accept();
}

void ControlServer::accept() {
  acceptor_.async_accept([this, shared = shared_](boost::system::error_code ec, Local::socket s) {
    if (ec) return;  // the acceptor closed: the daemon is stopping
    auto session = std::make_shared<Session>(std::move(s), shared);
    if (shared->connections > shared->limits.max_connections) {
      ++shared->refusals.busy;
      session->refuse(fmt::format("{} control connections are open already; try again",
                                  shared->limits.max_connections));
    } else {
      session->start();
    }
    accept();
  });
}

ControlServer::Refusals ControlServer::refusals() const noexcept {
  return shared_->refusals;
}

std::size_t ControlServer::open_connections() const noexcept {
  return shared_->connections;
}

}  // namespace sockswitch::control
