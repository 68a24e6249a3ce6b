// ports/xsk_redirect_program.cc: build, load, attach and conditionally detach the redirect program.
#include "ports/xsk_redirect_program.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>

#include <array>
#include <cstddef>
#include <string_view>
#include <utility>

#include "ports/raw_bpf.h"

namespace sockswitch::ports {
namespace {

std::array<bpf_insn, 6> redirect_program(int map_fd) {
  return {{
      bpf_instruction(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1,
                      static_cast<std::int16_t>(offsetof(xdp_md, rx_queue_index)), 0),
      // A 64-bit immediate takes two slots; the loader swaps the fd for the map.
      bpf_instruction(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, map_fd),
      bpf_instruction(0, 0, 0, 0, 0),
      bpf_instruction(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, XDP_PASS),
      bpf_instruction(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_redirect_map),
      bpf_instruction(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
  }};
}

}  // namespace

XskRedirectProgram::XskRedirectProgram(const std::string& device, int ifindex,
                                       std::uint32_t max_queues, bool generic_only)
    : device_(device), ifindex_(ifindex) {
  const int map = bpf_map_create(BPF_MAP_TYPE_XSKMAP, "sockswitch_xsks", sizeof(std::uint32_t),
                                 sizeof(int), max_queues, nullptr);
  if (map < 0) throw_bpf(map, "bpf_map_create(XSKMAP, " + device_ + ")");
  map_.reset(map);

  const auto insns = redirect_program(map_.get());
  int prog =
      bpf_prog_load(BPF_PROG_TYPE_XDP, kProgramName, "GPL", insns.data(), insns.size(), nullptr);
  if (prog < 0) {  // load again with the verifier's log, for the message
    std::array<char, 4096> log{};
    bpf_prog_load_opts load_opts{};
    load_opts.sz = sizeof load_opts;
    load_opts.log_level = 1;
    load_opts.log_size = static_cast<std::uint32_t>(log.size() - 1);
    load_opts.log_buf = log.data();
    (void)bpf_prog_load(BPF_PROG_TYPE_XDP, kProgramName, "GPL", insns.data(), insns.size(),
                        &load_opts);
    throw_bpf(prog, "bpf_prog_load(XDP, " + device_ + "): verifier says: " + log.data());
  }
  prog_.reset(prog);

  bpf_prog_info info{};
  std::uint32_t info_len = sizeof info;
  if (const int r = bpf_obj_get_info_by_fd(prog_.get(), &info, &info_len); r < 0)
    throw_bpf(r, "bpf_obj_get_info_by_fd(" + device_ + ")");
  prog_id_ = info.id;

  int r = -EOPNOTSUPP;
  if (!generic_only) {
    r = attach(XDP_FLAGS_DRV_MODE);
    mode_ = XdpMode::native;
    if ((r == -EBUSY || r == -EEXIST) && remove_stale_program()) r = attach(XDP_FLAGS_DRV_MODE);
  }
  // A device that already has a program refuses both modes (EBUSY/EEXIST):
  // don't retry in generic mode then, the answer is the same.
  if (r < 0 && r != -EBUSY && r != -EEXIST) {
    r = attach(XDP_FLAGS_SKB_MODE);
    mode_ = XdpMode::generic;
    if ((r == -EBUSY || r == -EEXIST) && remove_stale_program()) r = attach(XDP_FLAGS_SKB_MODE);
  }
  if (r < 0)
    throw_bpf(r, "bpf_link_create(XDP, " + device_ +
                     (r == -EBUSY || r == -EEXIST ? "): another XDP program is attached" : ")"));
  link_.reset(r);
}

// The link's descriptor is the attachment: closing it (here, or the
// kernel at any exit, kill -9 included) detaches the program.
XskRedirectProgram::~XskRedirectProgram() = default;

int XskRedirectProgram::attach(std::uint32_t mode_flag) {
  bpf_link_create_opts opts{};
  opts.sz = sizeof opts;
  opts.flags = mode_flag;
  return bpf_link_create(prog_.get(), ifindex_, BPF_XDP, &opts);
}

// Versions before BPF links attached through netlink, where the program
// outlives a crashed process. Such a program of ours (by name) is
// detached, with the kernel checking it is still the one we saw; a
// program held by a live link (another process's) cannot be detached this
// way, and anyone else's is left alone.
bool XskRedirectProgram::remove_stale_program() {
  bpf_xdp_query_opts q{};
  q.sz = sizeof q;
  if (bpf_xdp_query(ifindex_, 0, &q) != 0) return false;
  bool removed = false;
  for (const auto& [id, mode] : {std::pair{q.drv_prog_id, XDP_FLAGS_DRV_MODE},
                                 std::pair{q.skb_prog_id, XDP_FLAGS_SKB_MODE}}) {
    if (id == 0) continue;
    const int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0) continue;
    Fd prog(fd);
    bpf_prog_info info{};
    std::uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(prog.get(), &info, &len) != 0 ||
        std::string_view(info.name) != kProgramName)
      continue;
    bpf_xdp_attach_opts opts{};
    opts.sz = sizeof opts;
    opts.old_prog_fd = prog.get();
    removed |=
        bpf_xdp_detach(ifindex_, static_cast<std::uint32_t>(mode) | XDP_FLAGS_REPLACE, &opts) == 0;
  }
  return removed;
}

void XskRedirectProgram::insert(std::uint32_t queue, int xsk_fd) {
  if (const int r = bpf_map_update_elem(map_.get(), &queue, &xsk_fd, BPF_ANY); r < 0)
    throw_bpf(r,
              "bpf_map_update_elem(XSKMAP, " + device_ + " queue " + std::to_string(queue) + ")");
}

}  // namespace sockswitch::ports
