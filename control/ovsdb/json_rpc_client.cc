// control/ovsdb/json_rpc_client.cc: requests, replies and notifications over one stream.
#include "control/ovsdb/json_rpc_client.h"

#include <stdexcept>

namespace sockswitch::control::ovsdb {
namespace {

namespace asio = boost::asio;
using Generic = asio::generic::stream_protocol;

Generic::endpoint endpoint_of(const std::string& remote) {
  if (remote.starts_with("unix:")) return asio::local::stream_protocol::endpoint(remote.substr(5));
  if (remote.starts_with("tcp:")) {
    const std::string rest = remote.substr(4);
    const auto colon = rest.rfind(':');
    if (colon == std::string::npos)
      throw std::invalid_argument("ovsdb remote " + remote + ": no port");
    std::string host = rest.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    if (ec) throw std::invalid_argument("ovsdb remote " + remote + ": not an IP address");
    int port = 0;
    try {
      port = std::stoi(rest.substr(colon + 1));
    } catch (const std::exception&) {
    }
    if (port <= 0 || port > 65535)
      throw std::invalid_argument("ovsdb remote " + remote + ": bad port");
    return asio::ip::tcp::endpoint(address, static_cast<std::uint16_t>(port));
  }
  throw std::invalid_argument("ovsdb remote " + remote + ": give unix:PATH or tcp:ADDRESS:PORT");
}

}  // namespace

JsonRpcClient::JsonRpcClient(asio::io_context& io, const std::string& remote)
    : socket_(io), endpoint_(endpoint_of(remote)) {}

void JsonRpcClient::start(std::function<void()> connected, Notification notification,
                          Closed closed) {
  connected_ = std::move(connected);
  notification_ = std::move(notification);
  closed_ = std::move(closed);
  auto self = shared_from_this();
  socket_.async_connect(endpoint_, [self](boost::system::error_code ec) {
    if (self->closed_once_) return;
    if (ec) {
      self->close("cannot connect: " + ec.message());
      return;
    }
    self->open_ = true;
    self->read();
    self->connected_();
  });
}

void JsonRpcClient::call(const std::string& method, Json params, Reply reply) {
  const std::int64_t id = next_id_++;
  pending_[id] = std::move(reply);
  send({{"method", method}, {"params", std::move(params)}, {"id", id}});
}

void JsonRpcClient::close(const std::string& why) {
  if (closed_once_) return;
  closed_once_ = true;
  open_ = false;
  boost::system::error_code ignored;
  socket_.close(ignored);
  pending_.clear();
  if (closed_) {
    Closed closed = std::move(closed_);
    closed(why);
  }
}

void JsonRpcClient::read() {
  auto self = shared_from_this();
  socket_.async_read_some(
      asio::buffer(buffer_), [self](boost::system::error_code ec, std::size_t n) {
        if (self->closed_once_) return;
        if (ec) {
          self->close(ec == asio::error::eof ? "the server closed the connection" : ec.message());
          return;
        }
        try {
          self->stream_.feed({self->buffer_.data(), n});
          while (auto message = self->stream_.next()) {
            self->dispatch(*message);
            if (self->closed_once_) return;
          }
        } catch (const std::exception& e) {
          self->close(std::string("protocol error: ") + e.what());
          return;
        }
        self->read();
      });
}

void JsonRpcClient::dispatch(const Json& message) {
  if (message.contains("method")) {
    if (!message["method"].is_string())
      throw std::invalid_argument("a method that is not a string");
    const std::string method = message["method"].get<std::string>();
    const Json params = message.value("params", Json::array());
    const Json id = message.value("id", Json());
    if (method == "echo" && !id.is_null()) {
      send({{"result", params}, {"error", nullptr}, {"id", id}});
      return;
    }
    if (!id.is_null()) {  // a request we do not serve
      send({{"result", nullptr}, {"error", "unknown method"}, {"id", id}});
      return;
    }
    notification_(method, params);
    return;
  }
  const Json id = message.value("id", Json());
  if (!id.is_number_integer()) return;  // a reply to nothing we sent
  const auto it = pending_.find(id.get<std::int64_t>());
  if (it == pending_.end()) return;
  Reply reply = std::move(it->second);
  pending_.erase(it);
  reply(message.value("result", Json()), message.value("error", Json()));
}

void JsonRpcClient::send(const Json& message) {
  if (closed_once_) return;
  out_.push_back(message.dump());
  if (out_.size() == 1 && open_) write_next();
}

void JsonRpcClient::write_next() {
  auto self = shared_from_this();
  asio::async_write(socket_, asio::buffer(out_.front()),
                    [self](boost::system::error_code ec, std::size_t) {
                      if (self->closed_once_) return;
                      if (ec) {
                        self->close("cannot send: " + ec.message());
                        return;
                      }
                      self->out_.pop_front();
                      if (!self->out_.empty()) self->write_next();
                    });
}

}  // namespace sockswitch::control::ovsdb
