// flowtable/action.h: one OpenFlow action, as a flat value.
//
// Actions are a closed set that the dataplane executes with one switch over
// `kind`; a flat struct (no variant, no heap) keeps an action list a plain
// array that can be copied into a flow-table version as it is.
#pragma once

#include <cstdint>
#include <vector>

#include "flowtable/flow_key.h"
#include "flowtable/port_no.h"

namespace sockswitch::flowtable {

enum class ActionKind : std::uint8_t {
  output,        // port
  normal,        // L2 learning switch
  flood,         // every port but the ingress one (and no-flood ports)
  all,           // every port but the ingress one
  in_port,       // back out of the ingress port
  local,         // the bridge's own port
  controller,    // max_len; executed once the OpenFlow channel exists
  mod_dl_src,    // field = eth_src, value
  mod_dl_dst,    // field = eth_dst, value
  mod_nw_src,    // field = ipv4_src
  mod_nw_dst,    // field = ipv4_dst
  mod_nw_tos,    // field = ip_tos, value = the DSCP bits in place (multiple of 4)
  mod_tp_src,    // field = tp_src
  mod_tp_dst,    // field = tp_dst
  mod_vlan_vid,  // value = VID; pushes a tag when the packet has none
  mod_vlan_pcp,  // value = PCP; pushes a tag when the packet has none
  strip_vlan,    // remove the outermost tag
  push_vlan,     // value = TPID (0x8100 or 0x88a8)
  pop_vlan,      // as strip_vlan, OpenFlow 1.1+ spelling
  set_field,     // field, value (wide for 128-bit fields), value_mask unused
                 // (field = ip_tos writes the ECN bits only: DSCP is mod_nw_tos;
                 // ip_proto is the ARP opcode; ipv4_src/dst under arp are SPA/TPA)
  dec_ttl,       // drops the packet when the TTL reaches zero
  mod_nw_ttl,    // field = ip_ttl, value = the TTL (IPv4) or hop limit (IPv6)
  meter,         // value = the meter id; first in the list (OpenFlow 1.3's meter instruction)
  resubmit,      // port (kPortInPort when empty), table (255: the current table)
  goto_table,    // table
  ct,            // zone, ct_flags (kCt*), table (kCtNoTable: none),
                 // value.lo/value.hi = the ct_mark exec() sets and its mask
  ct_clear,      // the packet is untracked again (ct fields 0)
  load,          // field[ofs, +n_bits) = value.lo
  move,          // field[ofs, +n_bits) = src_field[src_ofs, +n_bits)
};

// ct() flags.
inline constexpr std::uint8_t kCtCommit = 0x01;
inline constexpr std::uint8_t kCtSetMark = 0x02;  // exec(set_field:V[/M]->ct_mark)
// ct() without table=: the packet is tracked but no lookup sees the result.
inline constexpr std::uint8_t kCtNoTable = 255;

struct Action {
  ActionKind kind = ActionKind::output;
  FieldId field = FieldId::kCount;  // mod_* and set_field: the field written
  std::uint8_t table = 0;           // resubmit, goto_table, ct
  std::uint8_t ct_flags = 0;        // ct
  std::uint16_t max_len = 0;        // controller
  std::uint16_t zone = 0;           // ct
  std::uint8_t ofs = 0;             // load, move: the destination's bits
  std::uint8_t n_bits = 0;
  FieldId src_field = FieldId::kCount;  // move
  std::uint8_t src_ofs = 0;
  PortNo port{0};  // output, resubmit
  Wide value{};    // mod_*/set_field/push_vlan; narrow values in lo

  friend constexpr bool operator==(const Action&, const Action&) = default;
};

using ActionList = std::vector<Action>;

}  // namespace sockswitch::flowtable
