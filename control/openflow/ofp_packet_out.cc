// control/openflow/ofp_packet_out.cc: PACKET_OUT, a frame a client sends
// through the bridge: with its own actions, or through the flow table
// (output:TABLE), run by the bridge's poll thread as if received on
// in_port.
#include <fmt/format.h>

#include "control/openflow/ofp_actions.h"
#include "control/openflow/ofp_match.h"
#include "control/openflow/ofp_session.h"
#include "control/openflow/ofp_wire.h"
#include "control/switch.h"
#include "dataplane/flow_extractor.h"
#include "packet/packet.h"

namespace sockswitch::control::openflow {
namespace {

// A pool buffer less the headroom every received frame gets.
constexpr std::size_t kMaxFrame = 2048 - packet::kDefaultHeadroom;

}  // namespace

void Session::packet_out(WireReader& r) {
  if (role_ == 3) throw OfpError(OfpCode::is_slave, "this connection is a slave");
  const std::uint32_t buffer_id = r.u32();
  const std::uint32_t in_wire = version_ == kVersion10 ? r.u16() : r.u32();
  const std::uint16_t actions_len = r.u16();
  if (version_ != kVersion10) r.skip(6);
  WireReader actions = [&] {
    try {
      return r.sub(actions_len);
    } catch (const OfpError&) {
      throw OfpError(OfpCode::bad_len, "actions_len runs past the message");
    }
  }();
  const std::span<const std::uint8_t> frame = r.take(r.left());
  if (buffer_id != kNoBuffer)
    throw OfpError(OfpCode::buffer_unknown, "no packet is buffered (n_buffers is 0)");
  if (frame.size() < 14 || frame.size() > kMaxFrame)
    throw OfpError(OfpCode::bad_packet,
                   fmt::format("a frame of {} bytes (14..{})", frame.size(), kMaxFrame));
  const auto in_port = port_from_wire(in_wire, version_);
  const bool valid_in =
      in_port && (*in_port == flowtable::kPortController || *in_port == flowtable::kPortLocal ||
                  *in_port == flowtable::kPortNone ||
                  (flowtable::to_u32(*in_port) >= 1 && *in_port <= flowtable::kPortMax));
  if (!valid_in) throw OfpError(OfpCode::bad_port, fmt::format("in_port {:#x}", in_wire));

  dataplane::InjectedPacket packet;
  packet.in_port = flowtable::to_u32(*in_port);
  packet.len = static_cast<std::uint16_t>(frame.size());
  std::copy(frame.begin(), frame.end(), packet.data.begin());
  // A lone output:TABLE runs the frame through the flow table.
  WireReader peek = actions;
  const std::size_t output_len = version_ == kVersion10 ? 8 : 16;
  if (actions_len == output_len && peek.u16() == 0 && peek.u16() == output_len &&
      port_from_wire(version_ == kVersion10 ? peek.u16() : peek.u32(), version_) ==
          flowtable::kPortTable) {
    packet.to_table = true;
  } else {
    // The actions are checked against the frame itself, as a flow's are
    // against its match.
    flowtable::FlowRule rule;
    rule.table = flowtable::kTableCount;  // no goto_table target to check
    (void)dataplane::extract_flow(frame, *in_port, rule.match.value);
    for (auto& w : rule.match.mask.w)
      w = ~std::uint64_t{0};
    const flowtable::ActionList list = decode_actions(actions, version_, rule);
    if (list.size() > packet.actions.size())
      throw OfpError(OfpCode::action_bad_argument,
                     fmt::format("at most {} actions in a PACKET_OUT", packet.actions.size()));
    for (const flowtable::Action& a : list)
      if (a.kind == flowtable::ActionKind::goto_table)
        throw OfpError(OfpCode::action_bad_type, "goto_table in a PACKET_OUT");
    std::copy(list.begin(), list.end(), packet.actions.begin());
    packet.actions_len = static_cast<std::uint8_t>(list.size());
  }
  if (!sw_.packet_out(bridge_, packet))
    throw OfpError(OfpCode::eperm, "the bridge's PACKET_OUT queue is full; send it again");
}

}  // namespace sockswitch::control::openflow
