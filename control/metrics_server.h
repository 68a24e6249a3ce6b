// control/metrics_server.h: `GET /metrics` over HTTP, on the control thread.
//
// A Boost.Beast server on the daemon's io_context: each connection reads
// one request (headers at most 8 KiB, 5 s to arrive), answers it and
// closes. `/metrics` gets metrics_text(); any other path 404, any other
// method 405, a malformed request 400, and each of those is counted. At
// most 16 connections are open at once; more wait in the listen backlog.
// Scraping never touches the poll threads: every counter it reads is a
// relaxed atomic the poll thread writes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

namespace sockswitch::control {

class MetricsServer final {
 public:
  // Listens on `address` ("127.0.0.1:9477", "[::1]:9477"); throws
  // std::runtime_error (with the reason) when it cannot.
  MetricsServer(boost::asio::io_context& io, const std::string& address,
                std::function<std::string()> render);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // For `ctl show`: where it listens, scrapes served, requests refused.
  [[nodiscard]] std::string describe() const;

  struct State;  // shared with the handlers, which may outlive this

 private:
  std::shared_ptr<State> state_;
};

}  // namespace sockswitch::control
