// ports/host_stack_fence.cc: the two-instruction drop program, loaded and linked to tcx ingress.
#include "ports/host_stack_fence.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <array>

#include "ports/raw_bpf.h"

namespace sockswitch::ports {
namespace {

// Not in the uapi headers this builds against (Linux 6.1); stable ABI
// values of enum bpf_attach_type and of the tcx verdicts since Linux 6.6.
constexpr auto kTcxIngress = static_cast<bpf_attach_type>(46);  // BPF_TCX_INGRESS
constexpr std::int32_t kTcxDrop = 2;                            // TCX_DROP

}  // namespace

HostStackFence::HostStackFence(const std::string& device, int ifindex) {
  const std::array insns{
      bpf_instruction(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, kTcxDrop),
      bpf_instruction(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
  };
  const int prog = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, kProgramName, "GPL", insns.data(),
                                 insns.size(), nullptr);
  if (prog < 0) throw_bpf(prog, "bpf_prog_load(SCHED_CLS, " + device + ")");
  prog_.reset(prog);
  const int link = bpf_link_create(prog_.get(), ifindex, kTcxIngress, nullptr);
  if (link < 0) throw_bpf(link, "bpf_link_create(tcx ingress, " + device + ")");
  link_.reset(link);
}

}  // namespace sockswitch::ports
