// control/openflow/ofp_action_types.h: the wire numbers of OpenFlow 1.0 and
// 1.3 actions, Nicira action subtypes and OpenFlow 1.3 instructions, for the
// files that encode and decode them (ofp_actions.cc, ofp_conntrack.cc).
#pragma once

#include <cstdint>

namespace sockswitch::control::openflow {

// OpenFlow 1.0 action types.
enum : std::uint16_t {
  kOutput10 = 0,
  kSetVlanVid10 = 1,
  kSetVlanPcp10 = 2,
  kStripVlan10 = 3,
  kSetDlSrc10 = 4,
  kSetDlDst10 = 5,
  kSetNwSrc10 = 6,
  kSetNwDst10 = 7,
  kSetNwTos10 = 8,
  kSetTpSrc10 = 9,
  kSetTpDst10 = 10,
  kEnqueue10 = 11,
};
// OpenFlow 1.3 action types.
enum : std::uint16_t {
  kOutput13 = 0,
  kPushVlan13 = 17,
  kPopVlan13 = 18,
  kSetNwTtl13 = 23,
  kDecNwTtl13 = 24,
  kSetField13 = 25,
};
constexpr std::uint16_t kVendorAction = 0xffff;
// Nicira action subtypes.
enum : std::uint16_t {
  kNxResubmit = 1,
  kNxRegLoad = 7,
  kNxResubmitTable = 14,
  kNxDecTtl = 18,
  kNxController = 20,
  kNxRegLoad2 = 33,
};
// OpenFlow 1.3 instructions.
enum : std::uint16_t {
  kGotoTable = 1,
  kWriteMetadata = 2,
  kWriteActions = 3,
  kApplyActions = 4,
  kClearActions = 5,
  kMeter = 6,
};

}  // namespace sockswitch::control::openflow
