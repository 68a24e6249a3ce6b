// dataplane/drop_reason.h: every way a packet can die, with a name an
// operator can read (VPP's "show errors"). Counted per poll thread.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace sockswitch::dataplane {

enum class Drop : std::uint8_t {
  no_match,          // table miss
  action_drop,       // the flow's actions are empty (drop)
  controller,        // sent to the OpenFlow clients (PACKET_IN) and to no port
  controller_queue,  // for the OpenFlow clients, but their queue was full
  reflect,           // output to the ingress port without in_port
  port_unknown,      // output to a port number the bridge does not have
  ttl_expired,       // dec_ttl on a TTL/hop limit of 0 or 1
  no_buffer,         // the pool had no buffer for a copy (multiple outputs)
  bad_edit,          // a header rewrite did not fit the packet (too short, no headroom)
  resubmit_depth,    // resubmit/goto_table chain longer than the bound
  resubmit_total,    // more table lookups for one packet than the bound
  vlan,              // NORMAL: the ingress port does not take the frame's VLAN
  meter,             // over a meter band's rate
  kCount
};

struct DropInfo {
  std::string_view name;
  std::string_view help;
};

inline constexpr std::array<DropInfo, static_cast<std::size_t>(Drop::kCount)> kDrops{{
    {"drop.no_match", "no flow matched; table miss is drop"},
    {"drop.action_drop", "the matching flow's actions are drop"},
    {"drop.controller", "sent to the OpenFlow clients (PACKET_IN), to no port"},
    {"drop.controller_queue", "for the OpenFlow clients, but their queue was full"},
    {"drop.reflect", "output to the ingress port without the in_port action"},
    {"drop.port_unknown", "output to a port number the bridge does not have"},
    {"drop.ttl_expired", "dec_ttl on a TTL of 0 or 1"},
    {"drop.no_buffer", "no free buffer for a copy to another output"},
    {"drop.bad_edit", "a header rewrite did not fit the packet"},
    {"drop.resubmit_depth", "resubmit/goto_table chain too deep"},
    {"drop.resubmit_total", "more resubmits for one packet than the bound (4096)"},
    {"drop.vlan",
     "NORMAL: a VLAN the ingress port does not take (tagged on access, not in trunks)"},
    {"drop.meter", "over the rate of a meter's band (meter:N)"},
}};

// The table is read by index: a reason added to one list and not in the
// same place in the other would print under another's name.
constexpr bool drop_named(Drop d, std::string_view name) {
  return kDrops[static_cast<std::size_t>(d)].name == name;
}
static_assert(drop_named(Drop::no_match, "drop.no_match") &&
              drop_named(Drop::resubmit_total, "drop.resubmit_total") &&
              drop_named(Drop::vlan, "drop.vlan") && drop_named(Drop::meter, "drop.meter"));

}  // namespace sockswitch::dataplane
