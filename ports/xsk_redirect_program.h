// ports/xsk_redirect_program.h: the XDP program that hands a device's frames to our AF_XDP sockets.
//
// AF_XDP sockets only receive what an XDP program redirects to them. We load
// our own rather than libxdp's default: libxdp wants its multi-program
// dispatcher, which needs freplace (refused on the kernels we run on), and
// a clang-BPF toolchain would be a build dependency for five instructions.
// The program is written here as raw bpf_insn:
//
//   r2 = ctx->rx_queue_index
//   r1 = &xskmap
//   r3 = XDP_PASS                 // what bpf_redirect_map returns on a miss
//   r0 = bpf_redirect_map(r1, r2, r3)
//   exit
//
// so a queue with a socket in the map goes to that socket, and any other
// queue (or a socket that is not bound yet) falls through to the kernel
// stack instead of being dropped.
//
// The object owns the XSKMAP, the program and its attachment to one
// ifindex: a BPF link, so the program goes when this object does or the
// process dies in any way (kill -9, abort, OOM): nothing is left on the
// device to make the next start find it busy. Attachment tries native
// (driver) mode first, where the driver supports XDP, and falls back to
// generic (SKB) mode; it never replaces a program someone else attached
// (a link cannot), so a device already running XDP makes the constructor
// throw and the factory falls back to AF_PACKET. The one exception is a
// program of ours left by a version that attached through netlink (found by
// its name, detached only if it is still the one seen).
//
// Nothing is pinned: /sys/fs/bpf is not always mounted, and `ip netns exec`
// hides it.
#pragma once

#include <cstdint>
#include <string>

#include "ports/fd.h"

namespace sockswitch::ports {

enum class XdpMode : std::uint8_t { native, generic };

class XskRedirectProgram final {
 public:
  // Creates a map with `max_queues` slots, loads the program and attaches
  // it to `ifindex` (native, then generic unless `generic_only`). Throws
  // std::system_error naming the bpf call and the device.
  XskRedirectProgram(const std::string& device, int ifindex, std::uint32_t max_queues,
                     bool generic_only = false);
  ~XskRedirectProgram();
  XskRedirectProgram(const XskRedirectProgram&) = delete;
  XskRedirectProgram& operator=(const XskRedirectProgram&) = delete;

  // Steers rx queue `queue` to the AF_XDP socket `xsk_fd`.
  void insert(std::uint32_t queue, int xsk_fd);
  [[nodiscard]] XdpMode mode() const noexcept { return mode_; }
  [[nodiscard]] std::uint32_t program_id() const noexcept { return prog_id_; }

  static constexpr const char* kProgramName = "sockswitch_xsk";

 private:
  // The link's fd, or -errno.
  [[nodiscard]] int attach(std::uint32_t mode_flag);
  [[nodiscard]] bool remove_stale_program();

  std::string device_;
  int ifindex_ = 0;
  Fd map_;
  Fd prog_;
  std::uint32_t prog_id_ = 0;
  Fd link_;
  XdpMode mode_ = XdpMode::native;
};

}  // namespace sockswitch::ports
