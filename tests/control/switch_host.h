// tests/control/switch_host.h: a host namespace for the switch, with containers on it.
//
// The switch runs inside a fresh namespace (the "host"), so the seed's port
// names (veth102, warp0, nm-privacy, ...) are free there whatever other runs
// have made in the root namespace, and the shipped configs are used
// verbatim. Each container is its own namespace holding the inner end
// ("eth0") of a veth whose outer end carries the port's name in the host.
// IPv6 is off everywhere, so no kernel chatter (router solicitations, MLD)
// lands in the receivers: every frame a test sees was sent by the test or
// by a kernel answering it. Deleting the namespaces deletes the veths.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "tests/net/frame_socket.h"
#include "tests/net/netns.h"

namespace sockswitch::test {

struct Container {
  std::string port;  // the device's name in the host: the switch port
  std::string address;
  std::unique_ptr<net::NetNamespace> ns;
  std::unique_ptr<net::FrameSocket> wire;  // on eth0 inside the container

  [[nodiscard]] std::uint64_t mac() const { return wire->mac(); }
};

// `off`: only where the host end stands in for a NIC, which never hands
// over unfinished frames (DPDK's net_af_packet vdev on a veth).
enum class SenderOffloads { kernel_default, off };

class SwitchHost final {
 public:
  SwitchHost();
  ~SwitchHost();

  [[nodiscard]] const net::NetNamespace& ns() const noexcept { return *host_; }
  // A container behind the host device `port`, with `cidr` on its eth0
  // (empty: no address), over a veth of `queues` rx and tx queues each way,
  // with the kernel's default offloads (as LXC, Proxmox and `ip link` make
  // them) unless `offloads` says otherwise. `port` may be a name a switch
  // already waits for.
  Container& plug(const std::string& port, const std::string& cidr = "", unsigned queues = 1,
                  SenderOffloads offloads = SenderOffloads::kernel_default);
  // Removes the container and its veth.
  void unplug(const std::string& port);
  Container& operator[](const std::string& port);

 private:
  std::unique_ptr<net::NetNamespace> host_;
  std::map<std::string, Container> containers_;
};

// Turns IPv6 off in `ns` (for devices made after this call).
void disable_ipv6(const net::NetNamespace& ns);

}  // namespace sockswitch::test
