// control/metrics_server.cc: the listener and one connection's request and answer.
#include "control/metrics_server.h"

// GCC 12 with the sanitizers sees an uninitialised boost::optional inside
// Beast's header parser (a false positive, as in std::regex): not ours to fix.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <fmt/format.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace sockswitch::control {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Tcp = asio::ip::tcp;

namespace {

constexpr std::size_t kMaxConnections = 16;
constexpr std::uint32_t kMaxHeader = 8192;
constexpr auto kRequestTime = std::chrono::seconds(5);

Tcp::endpoint parse_address(const std::string& address) {
  const std::size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size())
    throw std::runtime_error("metrics address '" + address + "': give ADDRESS:PORT");
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned long port = 0;
  try {
    port = std::stoul(address.substr(colon + 1));
  } catch (const std::exception&) {
    port = 0;
  }
  if (port == 0 || port > 65535)
    throw std::runtime_error("metrics address '" + address + "': the port must be 1..65535");
  boost::system::error_code ec;
  const asio::ip::address ip = asio::ip::make_address(host, ec);
  if (ec)
    throw std::runtime_error("metrics address '" + address + "': '" + host +
                             "' is not an IP address");
  return {ip, static_cast<std::uint16_t>(port)};
}

}  // namespace

struct MetricsServer::State : std::enable_shared_from_this<MetricsServer::State> {
  State(asio::io_context& io, std::function<std::string()> r)
      : acceptor(io), render(std::move(r)) {}

  Tcp::acceptor acceptor;
  std::function<std::string()> render;
  std::string where;
  std::size_t open = 0;
  std::uint64_t scrapes = 0, refused = 0;
  bool stopped = false;
  bool accepting = false;  // one accept outstanding at a time

  void accept();
  void serve(Tcp::socket socket);
};

void MetricsServer::State::accept() {
  if (stopped || accepting || open >= kMaxConnections) return;  // resumed when one ends
  accepting = true;
  acceptor.async_accept([self = shared_from_this()](boost::system::error_code ec, Tcp::socket s) {
    self->accepting = false;
    if (self->stopped) return;
    if (!ec) self->serve(std::move(s));
    self->accept();
  });
}

void MetricsServer::State::serve(Tcp::socket socket) {
  struct Connection {
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    http::request_parser<http::empty_body> parser;
    http::response<http::string_body> response;
    explicit Connection(Tcp::socket s) : stream(std::move(s)) {}
  };
  auto c = std::make_shared<Connection>(std::move(socket));
  ++open;
  c->parser.header_limit(kMaxHeader);
  c->parser.body_limit(0);
  c->stream.expires_after(kRequestTime);
  auto self = shared_from_this();
  http::async_read(c->stream, c->buffer, c->parser, [self, c](beast::error_code ec, std::size_t) {
    auto& res = c->response;
    res.version(11);
    res.keep_alive(false);
    res.set(http::field::server, "sockswitch");
    if (ec == http::error::end_of_stream || ec == beast::error::timeout) {
      --self->open;
      self->accept();
      return;  // nothing (complete) asked: nothing to answer
    }
    const auto& req = c->parser.get();
    if (ec) {
      res.result(http::status::bad_request);
      res.body() = "malformed request: " + ec.message() + "\n";
      ++self->refused;
    } else if (req.method() != http::verb::get && req.method() != http::verb::head) {
      res.result(http::status::method_not_allowed);
      res.set(http::field::allow, "GET, HEAD");
      res.body() = "only GET /metrics\n";
      ++self->refused;
    } else if (req.target() != "/metrics") {
      res.result(http::status::not_found);
      res.body() = "only /metrics is here\n";
      ++self->refused;
    } else {
      res.result(http::status::ok);
      res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      res.body() = self->render();
      ++self->scrapes;
      if (req.method() == http::verb::head) {
        res.content_length(res.body().size());
        res.body().clear();
      }
    }
    if (req.method() != http::verb::head || ec) res.prepare_payload();
    c->stream.expires_after(kRequestTime);
    http::async_write(c->stream, res, [self, c](beast::error_code, std::size_t) {
      beast::error_code ignored;
      c->stream.socket().shutdown(Tcp::socket::shutdown_both, ignored);
      --self->open;
      self->accept();
    });
  });
}

MetricsServer::MetricsServer(asio::io_context& io, const std::string& address,
                             std::function<std::string()> render)
    : state_(std::make_shared<State>(io, std::move(render))) {
  const Tcp::endpoint at = parse_address(address);
  boost::system::error_code ec;
  state_->acceptor.open(at.protocol(), ec);
  if (!ec) state_->acceptor.set_option(Tcp::acceptor::reuse_address(true), ec);
  if (!ec) state_->acceptor.bind(at, ec);
  if (!ec) state_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("metrics on " + address + ": " + ec.message());
  state_->where = address;
  state_->accept();
}

MetricsServer::~MetricsServer() {
  state_->stopped = true;
  boost::system::error_code ignored;
  state_->acceptor.close(ignored);
}

std::string MetricsServer::describe() const {
  return fmt::format("metrics: http://{}/metrics; {} scrapes, {} requests refused\n", state_->where,
                     state_->scrapes, state_->refused);
}

}  // namespace sockswitch::control
