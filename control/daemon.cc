// control/daemon.cc: the control thread's event loop.
#include "control/daemon.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <utility>

#include <boost/asio.hpp>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include <spdlog/spdlog.h>

#include "control/config.h"
#include "control/control_server.h"
#include "control/link_events.h"
#include "control/metrics_server.h"
#include "control/metrics_text.h"
#include "control/openflow/ofp_listener.h"
#include "control/ovsdb/database_source.h"
#include "control/switch.h"
#include "ports/memlock_limit.h"

namespace sockswitch::control {
namespace {

namespace asio = boost::asio;
using Local = asio::local::stream_protocol;

// systemd's readiness protocol: one datagram to $NOTIFY_SOCKET.
void notify_systemd(const char* state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || path[0] == '\0') return;
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::size_t len = std::min(std::strlen(path), sizeof addr.sun_path - 1);
  std::memcpy(addr.sun_path, path, len);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  const auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
  [[maybe_unused]] const ssize_t n =
      ::sendto(fd, state, std::strlen(state), 0, reinterpret_cast<sockaddr*>(&addr), addr_len);
  ::close(fd);
}

void refresh_ports(Switch& sw) {
  try {
    if (const std::size_t n = sw.refresh_ports()) spdlog::info("hotplug: {} ports refreshed", n);
  } catch (const std::exception& e) {
    spdlog::error("hotplug: {}", e.what());
  }
}

void refresh_neighbor_claims(Switch& sw) {
  try {
    (void)sw.refresh_neighbor_claims();
  } catch (const std::exception& e) {
    spdlog::error("L3 ports' ARP answers: {}", e.what());
  }
}

// Link notifications run the hotplug check at once, route notifications
// what the L3 ports answer for; the once-a-second timer stays for retries
// with back-off, flow expiry and AllowedIPs changed through `wg set`.
void watch_links(asio::posix::stream_descriptor& fd, LinkEvents& events, Switch& sw) {
  fd.async_wait(asio::posix::stream_descriptor::wait_read,
                [&fd, &events, &sw](boost::system::error_code ec) {
                  if (ec) return;
                  const LinkEvents::Changes changes = events.drain();
                  if (changes.links > 0) refresh_ports(sw);
                  if (changes.links > 0 || changes.routes > 0) refresh_neighbor_claims(sw);
                  watch_links(fd, events, sw);
                });
}

void arm_hotplug_timer(asio::steady_timer& timer, Switch& sw, ovsdb::DatabaseSource* db,
                       openflow::Listeners* listeners) {
  timer.expires_after(std::chrono::seconds(1));
  timer.async_wait([&timer, &sw, db, listeners](boost::system::error_code ec) {
    if (ec) return;
    refresh_ports(sw);
    refresh_neighbor_claims(sw);
    if (db) db->tick();  // ports that came up or went down, statistics
    if (listeners) {
      listeners->sync();  // bridges the database added or removed
      listeners->watch_ports();
    }
    try {
      (void)sw.expire_flows();  // idle_timeout and hard_timeout, checked once a second
      (void)sw.expire_connections();
      sw.expire_live_traces();
      sw.expire_captures();
    } catch (const std::exception& e) {
      spdlog::error("flow expiry: {}", e.what());
    }
    arm_hotplug_timer(timer, sw, db, listeners);
  });
}

}  // namespace

int run_daemon(const DaemonOptions& options) {
  // SIGTERM during a slow start must still clean up: the signals wait,
  // blocked, until the handlers exist (poll threads inherit the mask and
  // never take them).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  for (int sig : {SIGHUP, SIGTERM, SIGINT})
    sigaddset(&stop_signals, sig);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  Config config;
  try {
    config = load_config(options.config_path);
  } catch (const ConfigError& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  if (options.control_socket) config.control_socket = *options.control_socket;
  if (options.ovsdb) config.ovsdb = *options.ovsdb;
  const std::string socket_path = config.control_socket;
  // One daemon per control socket: a second one must not take the first's
  // socket and devices. The lock goes with the process, whatever ends it.
  std::error_code dir_error;
  std::filesystem::create_directories(std::filesystem::path(socket_path).parent_path(), dir_error);
  const int lock_fd = ::open((socket_path + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    spdlog::error("control socket {}: {}", socket_path,
                  err == EWOULDBLOCK
                      ? "another sockswitch daemon is running with this socket"
                      : std::string("cannot lock ") + socket_path + ".lock: " + std::strerror(err));
    return 1;
  }
  ports::raise_memlock_limit();

  std::unique_ptr<Switch> sw;
  try {
    sw = std::make_unique<Switch>(config);
  } catch (const std::exception& e) {
    spdlog::error("cannot start: {}", e.what());
    return 1;
  }
  for (const std::string& line : [&] {
         std::vector<std::string> lines;
         std::string text = sw->show(), line;
         for (char c : text)
           if (c == '\n')
             lines.push_back(std::exchange(line, {}));
           else
             line += c;
         return lines;
       }())
    spdlog::info("{}", line);

  asio::io_context io;
  std::unique_ptr<ovsdb::DatabaseSource> database;
  if (config.ovsdb) {
    database = std::make_unique<ovsdb::DatabaseSource>(io, *config.ovsdb, *sw, config);
    database->start();
  }
  std::unique_ptr<openflow::Listeners> openflow_listeners;
  if (config.openflow) {
    openflow_listeners = std::make_unique<openflow::Listeners>(
        io, *sw, config.ovs_rundir.value_or(openflow::Listeners::default_rundir()));
    openflow_listeners->sync();
    sw->on_flow_removed([&openflow_listeners](const std::string& bridge,
                                              const flowtable::RemovedFlow& flow,
                                              Switch::FlowRemoval why) {
      openflow_listeners->flow_removed(bridge, flow, static_cast<std::uint8_t>(why));
    });
  }
  if (database)
    database->set_controller_links(
        [&openflow_listeners](const std::string& bridge,
                              const std::string& target) -> std::optional<ovsdb::ControllerLink> {
          if (!openflow_listeners)
            return ovsdb::ControllerLink{false, "", "openflow = false in sockswitch's config"};
          const auto s = openflow_listeners->controller_status(bridge, target);
          if (!s) return std::nullopt;
          return ovsdb::ControllerLink{s->connected, s->state, s->last_error};
        });
  std::unique_ptr<MetricsServer> metrics;
  if (config.metrics) {
    try {
      const MetricsOptions how{config.metrics_flow_series};
      metrics = std::make_unique<MetricsServer>(io, config.metrics_address,
                                                [&sw, how] { return metrics_text(*sw, how); });
    } catch (const std::exception& e) {
      // Forwarding matters more than the endpoint: said, not fatal.
      spdlog::warn("{}; no metrics endpoint", e.what());
    }
  }
  const auto reload = [&]() -> std::string {
    Config wanted = load_config(options.config_path);  // ConfigError: reported, nothing changes
    wanted.control_socket = socket_path;
    if (options.ovsdb) wanted.ovsdb = *options.ovsdb;
    if (wanted.ovsdb != config.ovsdb)
      throw std::invalid_argument("the ovsdb remote changes only with a restart");
    if (wanted.openflow != config.openflow || wanted.ovs_rundir != config.ovs_rundir)
      throw std::invalid_argument("openflow and ovs_rundir change only with a restart");
    if (wanted.metrics != config.metrics || wanted.metrics_address != config.metrics_address ||
        wanted.metrics_flow_series != config.metrics_flow_series)
      throw std::invalid_argument("the metrics settings change only with a restart");
    if (wanted.wireguard_run_dir != config.wireguard_run_dir)
      throw std::invalid_argument("wireguard_run_dir changes only with a restart");
    if (wanted.ct_max != config.ct_max)
      throw std::invalid_argument(
          "ct_max changes only with a restart (it sizes the connection table)");
    const std::string level = wanted.log_level;
    if (database)
      database->reload_file(std::move(wanted));
    else
      sw->reload(std::move(wanted));
    spdlog::set_level(spdlog::level::from_str(level));
    if (openflow_listeners) openflow_listeners->sync();
    spdlog::info("reloaded {}", options.config_path);
    return "reloaded " + options.config_path + "\n";
  };

  std::filesystem::create_directories(std::filesystem::path(socket_path).parent_path());
  ::unlink(socket_path.c_str());
  Local::acceptor acceptor(io);
  try {
    acceptor.open();
    const mode_t old_mask = ::umask(0077);  // the socket is created 0600
    acceptor.bind(Local::endpoint(socket_path));
    ::umask(old_mask);
    acceptor.listen();
  } catch (const std::exception& e) {
    spdlog::error("control socket {}: {}", socket_path, e.what());
    return 1;
  }
  ::chmod(socket_path.c_str(), 0600);
  const std::function<std::string()> sources = [&database, &openflow_listeners, &metrics] {
    std::string s;
    if (metrics) s += metrics->describe();
    if (database) s += database->state() + "\n";
    if (openflow_listeners) s += openflow_listeners->state();
    return s;
  };
  ControlServer control(acceptor, *sw, reload, sources);
  control.start();

  asio::signal_set signals(io, SIGHUP, SIGTERM, SIGINT);
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](boost::system::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        try {
          reload();
        } catch (const std::exception& e) {
          sw->count_rejected();
          spdlog::error("reload refused, running configuration kept:\n{}", e.what());
        }
        wait_signal();
        return;
      }
      spdlog::info("signal {}: shutting down", sig);
      notify_systemd("STOPPING=1");
      io.stop();
    });
  };
  wait_signal();
  pthread_sigmask(SIG_UNBLOCK, &stop_signals, nullptr);  // one that came early is handled now

  asio::steady_timer hotplug(io);
  arm_hotplug_timer(hotplug, *sw, database.get(), openflow_listeners.get());
  std::unique_ptr<LinkEvents> link_events;
  std::optional<asio::posix::stream_descriptor> link_fd;
  try {
    link_events = std::make_unique<LinkEvents>();
    link_fd.emplace(io, ::dup(link_events->fd()));  // asio closes its own copy
    watch_links(*link_fd, *link_events, *sw);
  } catch (const std::exception& e) {
    spdlog::warn("no link notifications ({}); devices are checked once a second", e.what());
  }

  spdlog::info("ready; control socket {}", socket_path);
  notify_systemd("READY=1");
  io.run();
  metrics.reset();
  database.reset();
  sw->on_flow_removed({});
  openflow_listeners.reset();
  acceptor.close();
  ::unlink(socket_path.c_str());
  sw.reset();
  return 0;
}

}  // namespace sockswitch::control
