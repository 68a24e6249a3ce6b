// control/openflow/ofp_listener.h: the OpenFlow management sockets, one per
// bridge, where ovs-vswitchd has them: `<rundir>/<bridge>.mgmt`, so that a
// plain `ovs-ofctl dump-flows BRIDGE` reaches sockswitch.
//
// rundir is the config's `ovs_rundir`, else $OVS_RUNDIR, else
// /var/run/openvswitch (as OVS). Sockets are created mode 0600 (root only,
// like the control socket). A socket path some other live process answers
// on (an ovs-vswitchd still running) is left to it, with a warning; a
// stale one is replaced. Each connection is an openflow::Session on the
// control thread's io_context.
#pragma once

#include <map>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

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

  // Listens for every bridge the switch runs and stops listening (closing
  // its connections) for bridges that are gone. Call after start and after
  // every change of bridges; cheap when nothing changed.
  void sync();
  [[nodiscard]] const std::string& rundir() const noexcept { return rundir_; }
  [[nodiscard]] std::size_t listening() const noexcept { return bridges_.size(); }

  // The rundir a daemon uses when its config names none.
  [[nodiscard]] static std::string default_rundir();

 private:
  struct Bridge;
  boost::asio::io_context& io_;
  Switch& sw_;
  std::string rundir_;
  std::map<std::string, std::unique_ptr<Bridge>> bridges_;
};

}  // namespace sockswitch::control::openflow
