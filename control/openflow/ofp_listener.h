// control/openflow/ofp_listener.h: where OpenFlow clients reach a bridge.
//
// Every bridge has a management socket where ovs-vswitchd has one,
// `<rundir>/<bridge>.mgmt`, so that a plain `ovs-ofctl dump-flows BRIDGE`
// reaches sockswitch; rundir is the config's `ovs_rundir`, else
// $OVS_RUNDIR, else /var/run/openvswitch (as OVS). Unix sockets are
// created mode 0600 (root only, like the control socket). A bridge's
// `controller = ["ptcp:6653", "punix:/run/x.sock"]` adds listeners (TCP on
// 127.0.0.1 unless an address is given), as OVS's passive controller
// targets, and `tcp:`/`unix:` targets connections it makes and keeps
// (ofp_connector.h), with the bridge's fail mode while they are all away. A socket path some other
// live process answers on (an ovs-vswitchd still running) is left to it, with a warning; a stale
// one is replaced. Each connection is an openflow::Session on the control thread's io_context.
// Frames the bridge's `controller` actions send up go to every client as PACKET_IN.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "control/openflow/ofp_connection.h"
#include "flowtable/flow_table.h"

namespace sockswitch::control {
class Switch;
}

namespace sockswitch::control::openflow {

class Listeners final {
 public:
  Listeners(boost::asio::io_context& io, Switch& sw, std::string rundir);
  ~Listeners();
  Listeners(const Listeners&) = delete;
  Listeners& operator=(const Listeners&) = delete;

  // Listens for every bridge the switch runs (again for one whose
  // listeners changed) and stops listening, closing the connections, for
  // bridges that are gone. Call after start and after every change of
  // bridges; cheap when nothing changed.
  void sync();
  [[nodiscard]] const std::string& rundir() const noexcept { return rundir_; }

  // FLOW_REMOVED to the bridge's clients (reason: OFPRR_*, 0 idle timeout,
  // 1 hard timeout, 2 delete).
  void flow_removed(const std::string& bridge, const flowtable::RemovedFlow& flow,
                    std::uint8_t reason);
  // PORT_STATUS to the clients of every bridge whose ports came, went or
  // changed since the last call (call once a second and after changes;
  // nothing is read for bridges without clients).
  void watch_ports();

  // The connection state of one of `bridge`'s controller targets (as its
  // config or the database names it), for the database's Controller row;
  // nullopt for a target the bridge does not have (yet).
  [[nodiscard]] std::optional<EndpointStatus> controller_status(const std::string& bridge,
                                                                const std::string& target);

  // One line per bridge for `ctl show`: its listeners and controllers,
  // clients, PACKET_INs sent and held back by the rate limit.
  [[nodiscard]] std::string state() const;

  // PACKET_INs per bridge and second, and the burst above it (OVS's
  // controller_rate_limit default); the rest are counted, not sent.
  static constexpr double kPacketInRate = 1000;
  static constexpr double kPacketInBurst = 250;

  // The rundir a daemon uses when its config names none.
  [[nodiscard]] static std::string default_rundir();

 private:
  struct Bridge;
  // PACKET_IN to the bridge's clients whenever its poll thread punts.
  void watch_punts(Bridge& b, const std::string& name);
  // Fail-open while a standalone bridge's controllers are all away; table
  // misses to the controller while an OpenFlow 1.0 client is connected.
  void update_fail_open(const std::string& name);

  boost::asio::io_context& io_;
  Switch& sw_;
  std::string rundir_;
  std::map<std::string, std::unique_ptr<Bridge>> bridges_;
};

}  // namespace sockswitch::control::openflow
