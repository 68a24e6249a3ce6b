// tests/control/switch_host.cc: namespaces and veths for a switch under test.
#include "tests/control/switch_host.h"

#include <stdexcept>

namespace sockswitch::test {

void disable_ipv6(const net::NetNamespace& ns) {
  ns.exec_checked({"sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                   "net.ipv6.conf.default.disable_ipv6=1"});
}

SwitchHost::SwitchHost() : host_(std::make_unique<net::NetNamespace>()) {
  disable_ipv6(*host_);
}

SwitchHost::~SwitchHost() {
  containers_.clear();  // sockets and container namespaces before the host
}

Container& SwitchHost::plug(const std::string& port, const std::string& cidr, unsigned queues,
                            SenderOffloads offloads) {
  if (containers_.count(port)) throw std::logic_error("container " + port + " exists");
  Container c;
  c.port = port;
  c.address = cidr.substr(0, cidr.find('/'));
  c.ns = std::make_unique<net::NetNamespace>();
  disable_ipv6(*c.ns);
  const std::string q = std::to_string(queues);
  net::run_checked(
      {"ip", "-n",    host_->name(), "link", "add",  port,   "numtxqueues", q, "numrxqueues",
       q,    "type",  "veth",        "peer", "name", "eth0", "numtxqueues", q, "numrxqueues",
       q,    "netns", c.ns->name()});
  if (offloads == SenderOffloads::off) c.ns->exec_checked({"ethtool", "-K", "eth0", "tx", "off"});
  if (!cidr.empty()) c.ns->exec_checked({"ip", "addr", "add", cidr, "dev", "eth0"});
  c.ns->exec_checked({"ip", "link", "set", "eth0", "up"});
  net::run_checked({"ip", "-n", host_->name(), "link", "set", port, "up"});
  // The kernel marks the link operational (IFF_RUNNING) a moment later
  // (linkwatch batches events up to a second); a port opened before that
  // starts down. Containers are handed out only once their link is up.
  const bool running = net::wait_until(
      [&] {
        const auto r = net::run_command({"ip", "-n", host_->name(), "-o", "link", "show", port},
                                        std::chrono::seconds(2));
        return r.output.find("state UP") != std::string::npos;
      },
      std::chrono::seconds(3));
  if (!running) throw std::runtime_error(port + " did not come up");
  c.wire = std::make_unique<net::FrameSocket>(*c.ns, "eth0");
  return containers_.emplace(port, std::move(c)).first->second;
}

void SwitchHost::unplug(const std::string& port) {
  (void)net::run_command({"ip", "-n", host_->name(), "link", "del", port}, std::chrono::seconds(5));
  containers_.erase(port);
}

Container& SwitchHost::operator[](const std::string& port) {
  const auto it = containers_.find(port);
  if (it == containers_.end()) throw std::logic_error("no container " + port);
  return it->second;
}

}  // namespace sockswitch::test
