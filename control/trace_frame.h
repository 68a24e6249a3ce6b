// control/trace_frame.h: the frame a trace's packet description stands for.
//
// `sockswitch trace` and `ctl trace` run a real frame through the action
// executor (dataplane/trace_log.h), so a description such as
// "in_port=warp0,tcp,nw_dst=10.2.0.102,tp_dst=443" is first built into the
// bytes a port would have received: Ethernet, one 802.1Q tag when vlan_tci
// says tagged, then ARP, IPv4 or IPv6 with TCP, UDP, SCTP, ICMP or ICMPv6
// (with ND target and link-layer options), checksums correct. What the
// description leaves out is zero, except the TTL/hop limit (64, so that
// dec_ttl does not kill every traced packet) and the ARP opcode (1,
// request).
//
// The frame is read back with the dataplane's own extractor, and a field the
// description gave that the frame does not carry (tcp_flags on UDP, an
// eth_type this builder has no header for with L3 fields) is refused by
// name rather than traced as something else.
#pragma once

#include <cstdint>
#include <vector>

#include "flowtable/match.h"

namespace sockswitch::control {

struct TraceFrame {
  std::vector<std::uint8_t> bytes;
  // The key the executor starts with: the frame's, plus the pipeline
  // fields the description set (in_port, metadata, registers, ct_*).
  flowtable::FlowKey key;
};

// Fields the pipeline carries beside the frame (in_port, metadata,
// registers, ct_*): set on the key, never built into the bytes.
[[nodiscard]] constexpr bool is_pipeline_field(flowtable::FieldId f) noexcept {
  using flowtable::FieldId;
  return f == FieldId::in_port || f == FieldId::metadata ||
         (f >= FieldId::reg0 && f <= FieldId::reg7) || f == FieldId::ct_state ||
         f == FieldId::ct_zone || f == FieldId::ct_mark;
}

// Throws std::invalid_argument naming the field it could not build.
[[nodiscard]] TraceFrame build_trace_frame(const flowtable::Match& packet);

}  // namespace sockswitch::control
