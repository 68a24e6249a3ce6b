// control/ovsdb/database_source.cc: the ovs-vswitchd side of an OVSDB session.
#include "control/ovsdb/database_source.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "control/ovsdb/datum.h"
#include "control/switch.h"
#include "flowtable/value_text.h"
#include "ports/netdev_mtu.h"
#include "ports/netdev_query.h"

namespace sockswitch::control::ovsdb {
namespace {

constexpr const char* kDatabase = "Open_vSwitch";
constexpr const char* kLock = "ovs_vswitchd";
constexpr const char* kMonitorId = "sockswitch";

// The columns the wanted config is built from (and Interface.ofport, our
// own earlier numbers, read when a row has none yet).
Json monitor_requests() {
  return {
      {"Open_vSwitch", {{"columns", {"bridges", "next_cfg", "other_config"}}}},
      {"Bridge",
       {{"columns",
         {"name", "ports", "fail_mode", "datapath_type", "controller", "other_config", "stp_enable",
          "rstp_enable", "mcast_snooping_enable", "mirrors", "netflow", "sflow", "ipfix",
          "flow_tables", "protocols"}}}},
      {"Port", {{"columns", {"name", "interfaces", "tag", "trunks", "vlan_mode", "qos"}}}},
      {"Interface",
       {{"columns", {"name", "type", "options", "ofport_request", "mtu_request", "ofport"}}}},
      {"Controller", {{"columns", {"target"}}}},
  };
}

// True when an update changes more than the columns we write ourselves.
bool changes_config(const Json& table_updates) {
  for (const auto& [table, rows] : table_updates.items())
    for (const auto& [uuid, update] : rows.items()) {
      if (!update.contains("old") || !update.contains("new")) return true;
      for (const auto& [column, value] : update["old"].items())
        if (!(table == "Interface" && column == "ofport")) return true;
    }
  return false;
}

}  // namespace

DatabaseSource::DatabaseSource(boost::asio::io_context& io, std::string remote, Switch& sw,
                               Config file)
    : io_(io), remote_(std::move(remote)), sw_(sw), file_(std::move(file)), reconnect_(io) {}

DatabaseSource::~DatabaseSource() {
  stopping_ = true;
  reconnect_.cancel();
  if (client_) client_->close("shutting down");
}

void DatabaseSource::start() {
  connect();
}

std::string DatabaseSource::state() const {
  std::size_t configured = 0, failed = 0;
  for (const InterfaceOutcome& io : last_.interfaces)
    (io.ofport && io.error.empty() ? configured : failed)++;
  return fmt::format("ovsdb {}: {}; {} bridges, {} interfaces configured, {} not", remote_, state_,
                     last_.bridges.size(), configured, failed);
}

void DatabaseSource::connect() {
  try {
    client_ = std::make_shared<JsonRpcClient>(io_, remote_);
  } catch (const std::exception& e) {
    state_ = e.what();
    spdlog::error("ovsdb: {}", e.what());
    return;
  }
  client_->start([this] { on_connected(); },
                 [this](const std::string& m, const Json& p) { on_notification(m, p); },
                 [this](const std::string& why) { on_closed(why); });
}

void DatabaseSource::on_closed(const std::string& why) {
  if (stopping_) return;
  const bool was_up = monitoring_;
  locked_ = monitoring_ = false;
  written_.clear();
  const std::string next = "disconnected (" + why + ")";
  if (next != state_ || was_up)
    spdlog::warn("ovsdb {}: {}; the switch runs on as it is, reconnecting", remote_, why);
  state_ = next;
  reconnect_.expires_after(backoff_);
  backoff_ = std::min(backoff_ * 2, std::chrono::seconds(8));
  reconnect_.async_wait([this](boost::system::error_code ec) {
    if (!ec) connect();
  });
}

void DatabaseSource::on_connected() {
  state_ = "checking the schema";
  client_->call(
      "get_schema", Json::array({kDatabase}), [this](const Json& result, const Json& error) {
        int major = -1, minor = -1;
        if (error.is_null() && result.is_object() && result.value("version", Json()).is_string())
          std::sscanf(result["version"].get<std::string>().c_str(), "%d.%d", &major, &minor);
        if (major != kSchemaMajor || minor < kSchemaMinor) {
          const std::string why = fmt::format(
              "database schema {} is not {}.{} or a later {}.x, which sockswitch was written for",
              error.is_null() ? result.value("version", Json("?")).dump() : error.dump(),
              kSchemaMajor, kSchemaMinor, kSchemaMajor);
          spdlog::error("ovsdb {}: {}", remote_, why);
          client_->close(why);
          return;
        }
        state_ = "waiting for the ovs_vswitchd lock";
        client_->call("lock", Json::array({kLock}), [this](const Json& result, const Json&) {
          if (result.is_object() && result.value("locked", false)) {
            locked_ = true;
            monitor();
          } else {
            spdlog::warn("ovsdb {}: another switch holds the ovs_vswitchd lock; waiting for it",
                         remote_);
          }
        });
      });
}

void DatabaseSource::on_notification(const std::string& method, const Json& params) {
  if (method == "locked") {
    locked_ = true;
    monitor();
  } else if (method == "stolen") {
    locked_ = false;
    state_ = "the ovs_vswitchd lock was taken by another client; configuring nothing";
    spdlog::error("ovsdb {}: {}", remote_, state_);
  } else if (method == "update" && params.is_array() && params.size() == 2) {
    try {
      replica_.apply(params[1]);
    } catch (const std::exception& e) {
      client_->close(std::string("a malformed update: ") + e.what());
      return;
    }
    if (changes_config(params[1])) apply();
  }
}

void DatabaseSource::monitor() {
  if (monitoring_) return;
  state_ = "reading the database";
  client_->call("monitor", Json::array({kDatabase, kMonitorId, monitor_requests()}),
                [this](const Json& result, const Json& error) {
                  if (!error.is_null()) {
                    client_->close("monitor refused: " + error.dump());
                    return;
                  }
                  Replica fresh;
                  try {
                    fresh.apply(result);
                  } catch (const std::exception& e) {
                    client_->close(std::string("a malformed monitor reply: ") + e.what());
                    return;
                  }
                  replica_ = std::move(fresh);
                  monitoring_ = true;
                  backoff_ = std::chrono::seconds(1);
                  state_ = "connected";
                  spdlog::info("ovsdb {}: connected, holding the ovs_vswitchd lock", remote_);
                  apply();
                });
}

void DatabaseSource::reload_file(Config file) {
  if (!monitoring_) {
    // Not connected: the database's bridges stay as they run.
    Config wanted = file;
    for (const BridgeConfig& b : sw_.running_config().bridges)
      if (b.from_database) wanted.bridges.push_back(b);
    sw_.reload(std::move(wanted), Switch::FlowReload::when_changed);
    file_ = std::move(file);
    return;
  }
  DatabaseSnapshot snap = plan(file);
  sw_.reload(snap.wanted, Switch::FlowReload::when_changed);  // refused: nothing changes
  file_ = std::move(file);
  settle(std::move(snap));
}

void DatabaseSource::note_once(const std::string& line) {
  if (noted_.size() > 4096) noted_.clear();  // bounded; a note may then come again
  if (noted_.insert(line).second) spdlog::warn("ovsdb: {}", line);
}

DatabaseSnapshot DatabaseSource::plan(const Config& file) {
  DatabaseSnapshot snap =
      mapper_.build(replica_, file, sw_.running_config(), std::chrono::steady_clock::now());
  for (const std::string& n : snap.notes)
    note_once(n);
  for (const BridgeOutcome& b : snap.bridges) {
    if (!b.error.empty()) note_once(fmt::format("bridge {}: {}", b.name, b.error));
    for (const auto& [what, why] : b.status)
      note_once(fmt::format("bridge {}: {}: {}", b.name, what, why));
  }
  for (const InterfaceOutcome& i : snap.interfaces) {
    if (!i.error.empty()) note_once(fmt::format("interface {}: {}", i.name, i.error));
    for (const auto& [what, why] : i.status)
      note_once(fmt::format("interface {}: {}: {}", i.name, what, why));
  }
  return snap;
}

void DatabaseSource::settle(DatabaseSnapshot snap) {
  for (InterfaceOutcome& i : snap.interfaces) {
    if (!i.error.empty() || !i.mtu_request) continue;
    try {
      const auto dev = ports::query_netdev(i.name);
      if (dev && dev->mtu != *i.mtu_request) ports::set_netdev_mtu(i.name, *i.mtu_request);
    } catch (const std::exception& e) {
      i.status["mtu_request"] = e.what();
      note_once(fmt::format("interface {}: {}", i.name, e.what()));
    }
  }
  follow_port_mtus(snap);
  last_ = std::move(snap);
  write_back(false);
}

// A bridge's own netdev takes the smallest MTU of its system ports (not
// internal or tap ones), as OVS's does, unless its row asks for one.
void DatabaseSource::follow_port_mtus(DatabaseSnapshot& snap) {
  for (const BridgeConfig& b : snap.wanted.bridges) {
    if (!b.from_database) continue;
    std::optional<std::uint32_t> smallest;
    const PortConfig* local = nullptr;
    for (const PortConfig& p : b.ports) {
      if (p.ofport == flowtable::kPortLocal) local = &p;
      // Devices the port attaches to, not ones its driver makes (tap, tun, internal).
      const ports::PortDriver* d = ports::find_port_driver(p.driver);
      if (d == nullptr || !d->has_netdev || d->takes(ports::PortOption::create)) continue;
      try {
        if (const auto dev = ports::query_netdev(p.name))
          smallest = std::min(smallest.value_or(dev->mtu), dev->mtu);
      } catch (const std::exception&) {
      }
    }
    if (!local || !smallest) continue;
    const auto asked =
        std::find_if(snap.interfaces.begin(), snap.interfaces.end(),
                     [&](const InterfaceOutcome& i) { return i.name == local->name; });
    if (asked != snap.interfaces.end() && asked->mtu_request) continue;
    try {
      const auto dev = ports::query_netdev(local->name);
      if (dev && dev->mtu != *smallest) ports::set_netdev_mtu(local->name, *smallest);
    } catch (const std::exception& e) {
      note_once(fmt::format("bridge {}: {}", b.name, e.what()));
    }
  }
}

void DatabaseSource::apply() {
  if (!locked_ || !monitoring_) return;
  DatabaseSnapshot snap = plan(file_);
  try {
    sw_.reload(snap.wanted, Switch::FlowReload::when_changed);
  } catch (const std::exception& e) {
    // Nothing changed: the new interfaces say why, and the change is
    // still acknowledged so that ovs-vsctl prints it instead of waiting.
    sw_.count_rejected();
    spdlog::error("ovsdb: the database's change is refused, running configuration kept: {}",
                  e.what());
    const Config running = sw_.running_config();
    for (InterfaceOutcome& i : snap.interfaces) {
      if (!i.error.empty()) continue;
      const BridgeConfig* b = running.bridge(i.bridge);
      const bool on_switch =
          b && std::any_of(b->ports.begin(), b->ports.end(),
                           [&](const PortConfig& p) { return p.name == i.name; });
      if (!on_switch) {
        i.error = std::string("the switch refused the change: ") + e.what();
        i.ofport.reset();
      }
    }
  }
  settle(std::move(snap));
}

void DatabaseSource::tick() {
  if (!locked_ || !monitoring_) return;
  write_back(++ticks_ % 5 == 0);
}

void DatabaseSource::update_row(Json& ops, const std::string& table, const std::string& uuid,
                                const Json& want, const Json& always) {
  Json& had = written_[table + "/" + uuid];
  if (had.is_null()) had = Json::object();
  Json row = always;
  for (const auto& [column, value] : want.items())
    if (!had.contains(column) || had[column] != value) {
      row[column] = value;
      had[column] = value;
    }
  if (row.empty()) return;
  ops.push_back({{"op", "update"},
                 {"table", table},
                 {"where", Json::array({Json::array({"_uuid", "==", uuid_atom(uuid)})})},
                 {"row", row}});
}

void DatabaseSource::write_back(bool statistics) {
  if (!client_ || !client_->open() || !locked_) return;
  Json ops = Json::array({kDatabase, {{"op", "assert"}, {"lock", kLock}}});
  const std::size_t empty_size = ops.size();

  std::map<std::string, std::vector<Switch::PortStatus>> statuses;
  for (const BridgeOutcome& b : last_.bridges)
    if (b.error.empty()) try {
        statuses[b.name] = sw_.port_statuses(b.name);
      } catch (const std::exception&) {
        // not running (the reload was refused)
      }
  for (const InterfaceOutcome& i : last_.interfaces) {
    std::string error = i.error;
    const Switch::PortStatus* st = nullptr;
    if (error.empty()) {
      for (const Switch::PortStatus& s : statuses[i.bridge])
        if (s.name == i.name) st = &s;
      if (!st)
        error = "not on the running switch";
      else if (!st->open)
        error = st->open_error.empty() ? "cannot open" : st->open_error;
    }
    std::optional<ports::NetdevInfo> dev;
    if (st && driver_has_netdev(st->driver)) try {
        dev = ports::query_netdev(i.name);
      } catch (const std::exception&) {
      }
    if (error.empty() && st && driver_has_netdev(st->driver) && !dev)
      error = fmt::format("could not open network device {} (No such device)", i.name);
    Json row;
    row["ofport"] = error.empty() ? Json(flowtable::to_u32(st->ofport)) : Json(-1);
    row["error"] = error.empty() ? empty_set() : Json(error);
    row["ifindex"] = dev ? Json(dev->ifindex) : empty_set();
    row["mac_in_use"] =
        dev && !dev->mac.is_zero() ? Json(flowtable::format_mac(dev->mac.bits)) : empty_set();
    row["mtu"] = dev ? Json(dev->mtu) : empty_set();
    row["admin_state"] = dev ? Json((dev->flags & 1u) ? "up" : "down") : empty_set();
    row["link_state"] = !error.empty() || !st ? empty_set()
                        : dev                 ? Json(dev->running() ? "up" : "down")
                                              : Json(st->link_up ? "up" : "down");
    std::map<std::string, std::string> status = i.status;
    if (st && error.empty()) status["driver_name"] = "sockswitch-" + st->driver;
    row["status"] = map_datum(status);
    Json always = Json::object();
    if (statistics && st && error.empty()) {
      const ports::PortCounters& c = st->counters;
      always["statistics"] = map_datum(std::map<std::string, std::int64_t>{
          {"rx_packets", std::int64_t(c.rx_packets)},
          {"rx_bytes", std::int64_t(c.rx_bytes)},
          {"rx_dropped", std::int64_t(c.rx_dropped)},
          {"rx_errors", std::int64_t(c.rx_errors)},
          {"tx_packets", std::int64_t(c.tx_packets)},
          {"tx_bytes", std::int64_t(c.tx_bytes)},
          {"tx_dropped", std::int64_t(c.tx_dropped)},
          {"tx_errors", std::int64_t(c.tx_errors)},
      });
    }
    update_row(ops, "Interface", i.uuid, row, always);
  }
  for (const BridgeOutcome& b : last_.bridges) {
    std::map<std::string, std::string> status = b.status;
    if (!b.error.empty()) status["error"] = b.error;
    update_row(ops, "Bridge", b.uuid,
               {{"datapath_id", b.datapath_id}, {"status", map_datum(status)}});
  }
  for (const ControllerOutcome& c : last_.controllers) {
    ControllerLink link{false, "", c.error};
    if (c.error.empty() && controller_link_)
      if (auto now = controller_link_(c.bridge, c.target)) link = std::move(*now);
    std::map<std::string, std::string> status;
    if (!link.state.empty()) status["state"] = link.state;
    if (!link.last_error.empty()) status["last_error"] = link.last_error;
    // "other": no controller has asked for a role (OpenFlow's ROLE_REQUEST).
    update_row(ops, "Controller", c.uuid,
               {{"is_connected", link.connected},
                {"role", link.connected ? Json("other") : empty_set()},
                {"status", map_datum(status)}});
  }
  if (!last_.root_uuid.empty()) {
    Json root = {{"datapath_types", string_set({"netdev", "system"})},
                 {"iface_types", string_set({"afxdp", "afxdp-nonpmd", "dpdk", "internal", "patch",
                                             "system", "tap", "wireguard"})}};
    if (last_.next_cfg) root["cur_cfg"] = *last_.next_cfg;
    update_row(ops, "Open_vSwitch", last_.root_uuid, root);
  }
  if (ops.size() == empty_size) return;
  client_->call("transact", std::move(ops), [this](const Json& result, const Json& error) {
    bool failed = !error.is_null() || !result.is_array();
    std::string why = error.is_null() ? "" : error.dump();
    if (result.is_array())
      for (const Json& r : result)
        if (r.is_object() && r.contains("error")) {
          failed = true;
          why = r.dump();
          break;
        }
    if (failed) {
      spdlog::warn("ovsdb: writing the switch's state back failed ({}); written again next time",
                   why);
      written_.clear();
    }
  });
}

}  // namespace sockswitch::control::ovsdb
