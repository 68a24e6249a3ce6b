// ports/raw_bpf.h: raw BPF instructions and libbpf's error convention.
//
// The ports load two programs of a few instructions each (the AF_XDP
// redirect, the host-stack fence): written as bpf_insn here rather than
// built by a clang-BPF toolchain, which would be a build dependency for
// less than ten instructions.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <string>

#include "ports/fd.h"

namespace sockswitch::ports {

constexpr bpf_insn bpf_instruction(std::uint8_t code, std::uint8_t dst, std::uint8_t src,
                                   std::int16_t off, std::int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

// libbpf returns -errno (and sets errno): throws std::system_error with the positive one.
[[noreturn]] inline void throw_bpf(int ret, const std::string& what) {
  throw_errno(what, -ret);
}

}  // namespace sockswitch::ports
