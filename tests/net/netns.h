// tests/net/netns.h: network namespaces and veth pairs a test makes and always removes.
//
// Names carry our prefix and the test process's pid ("ssw-<pid>-<n>" for
// namespaces, "ssw<pid><kind><n>" for links, at most 15 characters), so
// parallel runs from other worktrees never collide, and a run can tell its
// own leftovers from a live run's: sweep_leftovers() deletes only objects
// whose pid is no longer alive (a crashed earlier run). Destructors delete
// what the constructors made, so a failing assertion still cleans up.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "tests/net/command.h"

namespace sockswitch::test::net {

// Why namespace tests cannot run here (not root, no `ip netns`), or nullopt.
[[nodiscard]] std::optional<std::string> skip_reason();
// Deletes namespaces and links left by earlier runs that died. Runs once per process.
void sweep_leftovers();
// A link name unique in this process: "ssw<pid><kind><n>".
[[nodiscard]] std::string unique_link_name(char kind);

class NetNamespace final {
 public:
  NetNamespace();  // `ip netns add ssw-<pid>-<n>`, with lo up
  ~NetNamespace();
  NetNamespace(const NetNamespace&) = delete;
  NetNamespace& operator=(const NetNamespace&) = delete;

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  // Runs argv inside the namespace (`ip netns exec`), killed at the timeout.
  [[nodiscard]] CommandResult exec(
      const std::vector<std::string>& argv,
      std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;
  void exec_checked(const std::vector<std::string>& argv) const;
  // Moves the calling thread (only) into the namespace, for socket tests.
  void enter_this_thread() const;

 private:
  std::string name_;
};

// A veth pair in the root namespace; `inner` may then be plugged into a
// namespace. Deleting `outer` deletes both ends wherever they are.
class VethPair final {
 public:
  // `queues` rx and tx queues on each end (AF_XDP's `auto` choice needs > 1 on a veth).
  explicit VethPair(unsigned queues = 1);
  VethPair(std::string outer, std::string inner,
           unsigned queues = 1);  // re-creates given names (hotplug tests)
  ~VethPair();
  VethPair(const VethPair&) = delete;
  VethPair& operator=(const VethPair&) = delete;

  [[nodiscard]] const std::string& outer() const noexcept { return outer_; }
  [[nodiscard]] const std::string& inner() const noexcept { return inner_; }
  // Moves `inner` into `ns` with `cidr` (e.g. "10.99.0.1/24", or an IPv6 one,
  // added without DAD) and brings both ends up. The inner end keeps the
  // kernel's default offloads, as a container's veth has them: the sender
  // leaves checksums and segmentation to the device.
  void plug_into(const NetNamespace& ns, const std::vector<std::string>& cidrs);
  // Turns the inner end's tx offloads off (after plug_into): only for a
  // port that stands in for a NIC, which never hands over unfinished frames
  // (DPDK's net_af_packet vdev on a veth).
  void sender_offloads_off(const NetNamespace& ns) const;
  // Deletes the pair now (hotplug tests); the destructor then does nothing.
  void remove();

 private:
  std::string outer_, inner_;
  bool alive_ = false;
};

// Adds addresses (IPv6 ones with nodad) to `dev` in `ns` and brings it up.
void configure_link(const NetNamespace& ns, const std::string& dev,
                    const std::vector<std::string>& cidrs);

}  // namespace sockswitch::test::net
