// control/ovsdb/database_source.h: sockswitch as ovsdb-server's client, where ovs-vswitchd was.
//
// The session, as ovs-vswitchd runs it: connect, check the schema version
// (major 8, minor 3 or later: what this was written for), take the
// `ovs_vswitchd` lock (configure nothing without it, so two switches never
// fight over one database), `monitor` the columns we read, and after every
// change build the wanted Config (DatabaseConfig), apply it through the
// switch's one reload plan, and write back what happened: Interface
// `ofport` (-1 with `error` when a port is not configured), `ifindex`,
// `mac_in_use`, `mtu`, `link_state`, `admin_state`, `status`, statistics
// every 5 s, Bridge `datapath_id`, and `Open_vSwitch.cur_cfg` = the
// `next_cfg` just applied, in the same transaction as the ports' numbers
// and errors (an `ovs-vsctl add-port` that returns means the port forwards,
// or it prints the port's error). A change that does not bump `next_cfg`
// (op-dbus writes rows directly) is applied the same way.
//
// When the server goes away the switch keeps running as it is, and the
// session starts again with back-off; the fresh monitor reply replaces the
// replica, so a restarted server changes nothing that did not change.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include <boost/asio.hpp>
#include <nlohmann/json.hpp>

#include "control/config.h"
#include "control/ovsdb/database_config.h"
#include "control/ovsdb/json_rpc_client.h"
#include "control/ovsdb/replica.h"

namespace sockswitch::control {
class Switch;
}

namespace sockswitch::control::ovsdb {

// A controller connection as the OpenFlow side sees it.
struct ControllerLink {
  bool connected = false;
  std::string state;  // ACTIVE, BACKOFF, CONNECTING, LISTENING
  std::string last_error;
};
using ControllerLinks = std::function<std::optional<ControllerLink>(const std::string& bridge,
                                                                    const std::string& target)>;

class DatabaseSource final {
 public:
  static constexpr int kSchemaMajor = 8;
  static constexpr int kSchemaMinor = 3;

  DatabaseSource(boost::asio::io_context& io, std::string remote, Switch& sw, Config file);
  ~DatabaseSource();
  DatabaseSource(const DatabaseSource&) = delete;
  DatabaseSource& operator=(const DatabaseSource&) = delete;

  void start();
  // The file was edited: the file's new bridges with the database's. Throws
  // (and changes nothing) as Switch::reload does when it is refused.
  void reload_file(Config file);
  // Once a second: ports that came up or went down are written back, and
  // statistics every fifth call.
  void tick();
  // One line for `ctl show`.
  [[nodiscard]] std::string state() const;
  // Where the Controller rows' is_connected and status come from (the
  // OpenFlow listeners); written back once a second as they change.
  void set_controller_links(ControllerLinks links) { controller_link_ = std::move(links); }

 private:
  using Json = nlohmann::json;

  void connect();
  void on_connected();
  void on_notification(const std::string& method, const Json& params);
  void on_closed(const std::string& why);
  void monitor();
  void apply();
  // The wanted config from the rows and `file`, its notes logged once.
  DatabaseSnapshot plan(const Config& file);
  // After the switch took `snap` (or refused it): MTUs, then the write-back.
  void settle(DatabaseSnapshot snap);
  void follow_port_mtus(DatabaseSnapshot& snap);
  void write_back(bool statistics);
  void note_once(const std::string& line);
  // Adds an update of `table` row `uuid` with the columns of `want` that
  // differ from what we wrote last (all of `always`).
  void update_row(Json& ops, const std::string& table, const std::string& uuid, const Json& want,
                  const Json& always = Json::object());

  boost::asio::io_context& io_;
  std::string remote_;
  Switch& sw_;
  Config file_;
  std::shared_ptr<JsonRpcClient> client_;
  boost::asio::steady_timer reconnect_;
  std::chrono::seconds backoff_{1};
  Replica replica_;
  DatabaseConfig mapper_;
  DatabaseSnapshot last_;
  bool locked_ = false;
  bool monitoring_ = false;
  bool stopping_ = false;
  std::map<std::string, Json> written_;  // "Table/uuid" -> the columns we last wrote
  std::set<std::string> noted_;
  unsigned ticks_ = 0;
  ControllerLinks controller_link_;
  std::string state_ = "connecting";
};

}  // namespace sockswitch::control::ovsdb
