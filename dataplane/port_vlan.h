// dataplane/port_vlan.h: a port's 802.1Q role in NORMAL switching, as OVS's Port table has it.
//
// NORMAL switches each frame within one VLAN. Which VLAN a frame is in, and
// how it leaves through each port, follows Open vSwitch's `vlan_mode`,
// `tag` and `trunks` (ovs-vswitchd.conf.db(5)), so that Proxmox's
// `ovs-vsctl add-port BR IFACE tag=10` means here what it means there:
//
//   mode             frame in (VID 0 = untagged or priority-tagged)      frame out (VLAN v)
//   access           VID 0 only, in VLAN `tag`                          untagged, if v == tag
//   trunk            VID v in `trunks` (empty: any), in VLAN v          tagged v (0: untagged)
//   native-tagged    VID 0 in VLAN `tag`, else as trunk                 as trunk
//   native-untagged  as native-tagged                                   untagged if v == tag
//
// A native port always trunks its own VLAN and never VLAN 0 (OVS forces
// both). A port whose mode is not given is an access port when it has a
// tag and a trunk otherwise, so a bridge with no VLAN settings switches
// every frame in the VLAN it carries, tags untouched, as before.
//
// Only NORMAL reads this: output:N, flood and all send the frame as it is,
// as in OVS. The priority bits of a frame's tag travel with it; a frame
// that leaves with VLAN 0 and priority 0 leaves untagged.
#pragma once

#include <bitset>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sockswitch::dataplane {

enum class VlanMode : std::uint8_t { trunk, access, native_tagged, native_untagged };

using VlanSet = std::bitset<4096>;

// What a port's configuration says (TOML keys or the database's Port row).
struct VlanConfig {
  std::optional<VlanMode> mode;
  std::optional<std::uint16_t> tag;
  std::vector<std::uint16_t> trunks;  // empty: every VLAN

  [[nodiscard]] bool empty() const noexcept { return !mode && !tag && trunks.empty(); }
  friend bool operator==(const VlanConfig&, const VlanConfig&) = default;
};

// "access", "trunk", "native-tagged", "native-untagged" (OVS's spelling).
[[nodiscard]] std::optional<VlanMode> parse_vlan_mode(std::string_view text) noexcept;
[[nodiscard]] std::string_view vlan_mode_name(VlanMode mode) noexcept;

// What in `c` would not be carried out as written, or empty: a tag or trunk
// above 4095, trunks on an access port (or beside a tag with no mode, which
// makes it one), a tag on a trunk port, a native mode without a tag. Open
// vSwitch ignores such settings with a warning (and so does the database
// source); a config file or `ctl add-port` is refused.
[[nodiscard]] std::string vlan_config_error(const VlanConfig& c);
// "tag=10 trunks=20,30 vlan_mode=native-untagged"; empty for no settings.
[[nodiscard]] std::string describe_vlan_config(const VlanConfig& c);

// The resolved form the poll threads read.
class PortVlan final {
 public:
  PortVlan() = default;  // a trunk of every VLAN: frames pass as they are
  // `c` as OVS resolves it (a missing mode from the tag; a native port's own
  // VLAN added to its trunks and VLAN 0 removed). Assumes vlan_config_error(c)
  // is empty; an access port keeps no trunks.
  explicit PortVlan(const VlanConfig& c);

  [[nodiscard]] VlanMode mode() const noexcept { return mode_; }
  [[nodiscard]] std::uint16_t tag() const noexcept { return tag_; }
  // Carries every VLAN with tags untouched: NORMAL need not look further.
  [[nodiscard]] bool transparent() const noexcept {
    return mode_ == VlanMode::trunk && trunks_ == nullptr;
  }

  // The VLAN of a frame arriving with `vid` (0 when it has no tag or only a
  // priority tag), or -1 when this port does not take it.
  [[nodiscard]] int input_vlan(std::uint16_t vid) const noexcept {
    switch (mode_) {
      case VlanMode::access:
        return vid == 0 ? tag_ : -1;
      case VlanMode::native_tagged:
      case VlanMode::native_untagged:
        if (vid == 0) return tag_;
        [[fallthrough]];
      case VlanMode::trunk:
        return trunks(vid) ? vid : -1;
    }
    return -1;
  }
  // Whether a frame in `vlan` may leave through this port.
  [[nodiscard]] bool carries(std::uint16_t vlan) const noexcept {
    return mode_ == VlanMode::access ? vlan == tag_ : trunks(vlan);
  }
  // The tag a frame in `vlan` leaves with, VID and priority bits (0: no
  // tag). `pcp_bits` are the priority bits it came in with (tci & 0xe000).
  [[nodiscard]] std::uint16_t output_tci(std::uint16_t vlan,
                                         std::uint16_t pcp_bits) const noexcept {
    if (mode_ == VlanMode::access || (mode_ == VlanMode::native_untagged && vlan == tag_)) return 0;
    return static_cast<std::uint16_t>(vlan | pcp_bits);
  }

 private:
  [[nodiscard]] bool trunks(std::uint16_t vlan) const noexcept {
    return trunks_ == nullptr || trunks_->test(vlan & 0x0fff);
  }

  VlanMode mode_ = VlanMode::trunk;
  std::uint16_t tag_ = 0;
  std::shared_ptr<const VlanSet> trunks_;  // null: every VLAN (not for access ports)
};

}  // namespace sockswitch::dataplane
