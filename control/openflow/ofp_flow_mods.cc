// control/openflow/ofp_flow_mods.cc: FLOW_MOD (1.0, Nicira, 1.3) decoded,
// checked and applied to the bridge's versioned flow table.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "control/openflow/ofp_actions.h"
#include "control/openflow/ofp_match.h"
#include "control/openflow/ofp_session.h"
#include "control/openflow/ofp_wire.h"
#include "control/switch.h"
#include "flowtable/flow_analysis.h"

namespace sockswitch::control::openflow {
namespace {

using flowtable::FlowMod;
using flowtable::FlowModCommand;

constexpr std::uint16_t kSendFlowRem = 1, kCheckOverlap = 2, kEmerg10 = 4, kResetCounts13 = 4,
                        kNoPacketCounts13 = 8, kNoByteCounts13 = 16;

FlowModCommand command_of(std::uint8_t c) {
  switch (c) {
    case 0:
      return FlowModCommand::add;
    case 1:
      return FlowModCommand::modify;
    case 2:
      return FlowModCommand::modify_strict;
    case 3:
      return FlowModCommand::del;
    case 4:
      return FlowModCommand::del_strict;
    default:
      throw OfpError(OfpCode::flow_mod_bad_command, fmt::format("flow mod command {}", c));
  }
}

bool is_delete(FlowModCommand c) {
  return c == FlowModCommand::del || c == FlowModCommand::del_strict;
}
bool is_strict(FlowModCommand c) {
  return c == FlowModCommand::del_strict || c == FlowModCommand::modify_strict;
}

// Whether a running flow is one the request selects (OpenFlow's loose and
// strict selection, with the cookie under its mask).
bool selects(const FlowMod& req, const Switch::FlowEntry& e) {
  const flowtable::FlowRule& want = req.rule;
  if (want.table != flowtable::kAllTables && want.table != e.rule.table) return false;
  if ((e.rule.cookie & want.cookie_mask) != (want.cookie & want.cookie_mask)) return false;
  if (is_strict(req.command)) return e.rule.priority == want.priority && e.rule.match == want.match;
  return flowtable::covers(want.match, e.rule.match);
}

// Whether a flow's actions send to `port` (OpenFlow's out_port filter).
bool outputs_to(const flowtable::ActionList& actions, flowtable::PortNo port) {
  for (const flowtable::Action& a : actions) {
    using flowtable::ActionKind;
    switch (a.kind) {
      case ActionKind::output:
        if (a.port == port) return true;
        break;
      case ActionKind::normal:
        if (port == flowtable::kPortNormal) return true;
        break;
      case ActionKind::flood:
        if (port == flowtable::kPortFlood) return true;
        break;
      case ActionKind::all:
        if (port == flowtable::kPortAll) return true;
        break;
      case ActionKind::in_port:
        if (port == flowtable::kPortInPort) return true;
        break;
      case ActionKind::local:
        if (port == flowtable::kPortLocal) return true;
        break;
      case ActionKind::controller:
        if (port == flowtable::kPortController) return true;
        break;
      default:
        break;
    }
  }
  return false;
}

}  // namespace

void Session::flow_mod(WireReader& r, std::uint32_t xid, std::span<const std::uint8_t> msg,
                       bool nxm, std::vector<std::uint8_t>& out) {
  if (role_ == 3) throw OfpError(OfpCode::is_slave, "this connection is a slave");
  FlowMod mod;
  FlowModExtras extras;
  flowtable::FlowRule& rule = mod.rule;
  std::uint32_t buffer_id = kNoBuffer;
  std::uint16_t command = 0;
  if (version_ == kVersion10) {
    std::uint32_t wildcards = 1;
    if (!nxm) {
      WireReader peek = r;
      wildcards = peek.u32();
      rule.match = decode_ofp10_match(r);
    }
    rule.cookie = r.u64();
    command = r.u16();
    rule.idle_timeout = r.u16();
    rule.hard_timeout = r.u16();
    rule.priority = r.u16();
    buffer_id = r.u32();
    extras.out_port = r.u16();
    extras.flags = r.u16();
    if (nxm) {
      const std::uint16_t match_len = r.u16();
      r.skip(6);
      rule.match = decode_tlv_match(r.take(match_len));
      r.skip((8 - match_len % 8) % 8);
    }
    // 1.0: an exact-match flow (no wildcard bit) takes the highest priority.
    if (!nxm && wildcards == 0) rule.priority = 0xffff;
    mod.command = command_of(static_cast<std::uint8_t>(command & 0xff));
    if (table_id_ext_)
      rule.table = static_cast<std::uint8_t>(command >> 8);
    else if (command >> 8)
      throw OfpError(
          OfpCode::flow_mod_bad_command,
          fmt::format("flow mod command {:#x} (a table id needs NXT_FLOW_MOD_TABLE_ID)", command));
    else
      rule.table = mod.command == FlowModCommand::add ? 0 : flowtable::kAllTables;
    if (extras.flags & kEmerg10)
      throw OfpError(OfpCode::flow_mod_bad_flags, "emergency flows are not supported");
  } else {
    rule.cookie = r.u64();
    rule.cookie_mask = r.u64();
    rule.table = r.u8();
    mod.command = command_of(r.u8());
    rule.idle_timeout = r.u16();
    rule.hard_timeout = r.u16();
    rule.priority = r.u16();
    buffer_id = r.u32();
    extras.out_port = r.u32();
    const std::uint32_t out_group = r.u32();
    extras.flags = r.u16();
    r.skip(2);
    rule.match = decode_oxm_match(r);
    if (is_delete(mod.command) && out_group != 0xffffffff)
      throw OfpError(OfpCode::flow_mod_unsupported, "out_group: groups are not supported");
    if (extras.flags & kResetCounts13 && !is_delete(mod.command) &&
        mod.command != FlowModCommand::add)
      throw OfpError(OfpCode::flow_mod_bad_flags,
                     "reset_counts on modify is not supported (counters are kept)");
    extras.flags &= static_cast<std::uint16_t>(~(kNoPacketCounts13 | kNoByteCounts13));
  }
  if (mod.command == FlowModCommand::add) {
    rule.cookie_mask = 0;
    if (rule.table == flowtable::kAllTables)
      throw OfpError(OfpCode::bad_table_id, "add needs a table, not all tables");
  }
  if (rule.table != flowtable::kAllTables && rule.table >= flowtable::kTableCount)
    throw OfpError(OfpCode::bad_table_id, fmt::format("table {}", rule.table));
  rule.send_flow_removed = (extras.flags & kSendFlowRem) != 0;
  if (extras.flags & ~(kCheckOverlap | kResetCounts13 | kSendFlowRem))
    throw OfpError(OfpCode::flow_mod_bad_flags, fmt::format("flags {:#x}", extras.flags));
  if (!is_delete(mod.command)) {
    if (buffer_id != kNoBuffer)
      throw OfpError(OfpCode::buffer_unknown, "no packet is buffered (n_buffers is 0)");
    // Actions are checked against a specific table (goto must go forward).
    rule.actions =
        version_ == kVersion10 ? decode_actions(r, version_, rule) : decode_instructions(r, rule);
  }
  take_flow_mod(std::move(mod), extras, xid, msg, out);
}

void Session::take_flow_mod(FlowMod mod, const FlowModExtras& extras, std::uint32_t xid,
                            std::span<const std::uint8_t> msg, std::vector<std::uint8_t>& out) {
  const bool out_port_filter = is_delete(mod.command) && extras.out_port != any_port(version_);
  const bool overlap_check = mod.command == FlowModCommand::add && (extras.flags & kCheckOverlap);
  // OpenFlow 1.0: a modify that selects nothing adds its flow.
  const bool may_add = version_ == kVersion10 && (mod.command == FlowModCommand::modify ||
                                                  mod.command == FlowModCommand::modify_strict);
  if (!out_port_filter && !overlap_check && !may_add) {
    pending_.push_back({std::move(mod), xid,
                        std::vector<std::uint8_t>(
                            msg.begin(), msg.begin() + std::min<std::size_t>(msg.size(), 64))});
    return;
  }
  flush(out);  // the selection below must see every earlier mod
  const std::vector<Switch::FlowEntry> flows = sw_.flow_entries(bridge_);
  std::vector<FlowMod> mods;
  if (overlap_check) {
    for (const Switch::FlowEntry& e : flows)
      if (e.rule.table == mod.rule.table && e.rule.priority == mod.rule.priority &&
          flowtable::overlaps(e.rule.match, mod.rule.match))
        throw OfpError(OfpCode::flow_mod_overlap,
                       "check_overlap: a flow of the same priority overlaps this one");
    mods.push_back(std::move(mod));
  } else if (out_port_filter) {
    const auto port = port_from_wire(extras.out_port, version_);
    if (!port) throw OfpError(OfpCode::bad_port, fmt::format("out_port {:#x}", extras.out_port));
    for (const Switch::FlowEntry& e : flows)
      if (selects(mod, e) && outputs_to(e.rule.actions, *port))
        mods.push_back({FlowModCommand::del_strict, e.rule});
  } else {
    const bool any = std::any_of(flows.begin(), flows.end(),
                                 [&](const Switch::FlowEntry& e) { return selects(mod, e); });
    if (!any) {
      mod.command = FlowModCommand::add;
      if (mod.rule.table == flowtable::kAllTables) mod.rule.table = 0;
      mod.rule.cookie_mask = 0;
    }
    mods.push_back(std::move(mod));
  }
  sw_.apply_flow_mods(bridge_, mods);
}

void Session::flush(std::vector<std::uint8_t>& out) {
  if (pending_.empty()) return;
  std::vector<PendingMod> run = std::move(pending_);
  pending_.clear();
  std::vector<FlowMod> mods;
  mods.reserve(run.size());
  for (const PendingMod& p : run)
    mods.push_back(p.mod);
  try {
    sw_.apply_flow_mods(bridge_, mods);
    return;
  } catch (const std::invalid_argument&) {
    // One of them is refused by the table: apply them one by one, so that
    // exactly that one gets its error.
  }
  for (const PendingMod& p : run) {
    try {
      sw_.apply_flow_mods(bridge_, std::span<const FlowMod>(&p.mod, 1));
    } catch (const MeterRefused& e) {
      error(p.xid, OfpCode::meter_unknown, p.head, e.what(), out);
    } catch (const std::exception& e) {
      error(p.xid, OfpCode::flow_mod_unsupported, p.head, e.what(), out);
    }
  }
}

}  // namespace sockswitch::control::openflow
