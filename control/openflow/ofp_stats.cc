// control/openflow/ofp_stats.cc: statistics (1.0) and multipart (1.3)
// requests: description, flows (standard and Nicira), aggregates, tables,
// ports and port descriptions, and the empty group answers of a switch
// that has none (meters: ofp_meters.cc).
#include <fmt/format.h>

#include "control/openflow/ofp_actions.h"
#include "control/openflow/ofp_match.h"
#include "control/openflow/ofp_port_description.h"
#include "control/openflow/ofp_session.h"
#include "control/openflow/ofp_stats_reply.h"
#include "control/openflow/ofp_tlv_fields.h"
#include "control/switch.h"
#include "flowtable/flow_analysis.h"

namespace sockswitch::control::openflow {
namespace {

// A flow-statistics selection (loose, as OpenFlow defines it).
struct FlowFilter {
  flowtable::Match match;
  std::uint8_t table = flowtable::kAllTables;
  std::optional<flowtable::PortNo> out_port;
  std::uint64_t cookie = 0, cookie_mask = 0;

  [[nodiscard]] bool selects(const Switch::FlowEntry& e) const {
    if (table != flowtable::kAllTables && table != e.rule.table) return false;
    if ((e.rule.cookie & cookie_mask) != (cookie & cookie_mask)) return false;
    if (!flowtable::covers(match, e.rule.match)) return false;
    if (!out_port) return true;
    for (const flowtable::Action& a : e.rule.actions)
      if (a.kind == flowtable::ActionKind::output && a.port == *out_port) return true;
    return false;
  }
};

std::optional<flowtable::PortNo> out_port_filter(std::uint32_t wire, std::uint8_t version) {
  if (wire == any_port(version)) return std::nullopt;
  const auto p = port_from_wire(wire, version);
  if (!p) throw OfpError(OfpCode::bad_port, fmt::format("out_port {:#x}", wire));
  return p;
}

// Pads a TLV match to 8 bytes.
void pad8(WireWriter& w, std::size_t n) {
  w.zeros((8 - n % 8) % 8);
}

// One table's features (1.3): what it matches, what its flows may do.
// Every table is alike; metadata can be matched but not written by
// WRITE_METADATA (set_field writes it).
void encode_table_features(WireWriter& w, std::uint8_t table) {
  enum : std::uint16_t {
    kInstructions = 0,
    kNextTables = 2,
    kWriteActions = 4,
    kApplyActions = 6,
    kMatch = 8,
    kWildcards = 10,
    kWriteSetfield = 12,
    kApplySetfield = 14
  };
  w.u16(0);  // length, patched below
  w.u8(table);
  w.zeros(5);
  w.zeros(32);               // no name
  w.u64(~std::uint64_t{0});  // metadata_match
  w.u64(0);                  // metadata_write: no WRITE_METADATA
  w.u32(0);                  // config
  w.u32(1000000);            // max_entries
  auto property = [&](std::uint16_t type, auto&& body) {
    const std::size_t at = w.size();
    w.u16(type);
    w.u16(0);
    body();
    w.put_u16_at(at + 2, w.size() - at);
    w.pad_to(8);
  };
  property(kInstructions, [&] {
    for (std::uint16_t i : {std::uint16_t{4}, std::uint16_t{5}}) {  // APPLY_ACTIONS, CLEAR_ACTIONS
      w.u16(i);
      w.u16(4);
    }
    if (table + 1 < flowtable::kTableCount) {
      w.u16(1);  // GOTO_TABLE
      w.u16(4);
    }
  });
  property(kNextTables, [&] {
    for (unsigned t = table + 1u; t < flowtable::kTableCount; ++t)
      w.u8(t);
  });
  property(kWriteActions, [] {});  // no action sets
  property(kApplyActions, [&] {
    // OUTPUT, PUSH_VLAN, POP_VLAN, DEC_NW_TTL, SET_FIELD
    for (std::uint16_t a : {0, 17, 18, 24, 25}) {
      w.u16(a);
      w.u16(4);
    }
  });
  const std::vector<std::uint32_t> fields = match_field_headers();
  property(kMatch, [&] {
    for (std::uint32_t h : fields)
      w.u32(h);
  });
  property(kWildcards, [&] {
    for (std::uint32_t h : fields)
      w.u32(h);
  });
  property(kWriteSetfield, [] {});
  property(kApplySetfield, [&] {
    for (std::uint32_t h : writable_field_headers())
      w.u32(h);
  });
  w.put_u16_at(0, w.size());
}

}  // namespace

void Session::stats(WireReader& r, std::uint32_t xid, std::vector<std::uint8_t>& out) {
  const std::uint16_t type = r.u16(), flags = r.u16();
  if (version_ != kVersion10) r.skip(4);
  if (flags & 1) throw OfpError(OfpCode::bad_stat, "multipart requests in several messages");

  auto flows = [&](const FlowFilter& f) {
    std::vector<Switch::FlowEntry> selected;
    for (Switch::FlowEntry& e : sw_.flow_entries(bridge_))
      if (f.selects(e)) selected.push_back(std::move(e));
    return selected;
  };
  auto aggregate = [&](const FlowFilter& f, StatsReply& reply) {
    std::uint64_t packets = 0, bytes = 0;
    std::uint32_t count = 0;
    for (const Switch::FlowEntry& e : flows(f)) {
      packets += e.packets;
      bytes += e.bytes;
      ++count;
    }
    reply.entry([&](WireWriter& w) {
      w.u64(packets);
      w.u64(bytes);
      w.u32(count);
      w.zeros(4);
    });
    reply.finish(out);
  };

  switch (type) {
    case kStatsDesc: {
      StatsReply reply(version_, xid, type);
      reply.entry([&](WireWriter& w) {
        w.text("sockswitch", 256);
        w.text("sockswitch userspace OpenFlow switch", 256);
        w.text("sockswitch", 256);
        w.text("None", 32);
        w.text(fmt::format("bridge {}", bridge_), 256);
      });
      reply.finish(out);
      return;
    }
    case kStatsFlow:
    case kStatsAggregate: {
      if (version_ == kVersion10)
        throw OfpError(OfpCode::bad_stat,
                       "OpenFlow 1.0 flow statistics are answered in NXM form (NXST_FLOW); set "
                       "the NXM flow format");
      FlowFilter f;
      f.table = r.u8();
      r.skip(3);
      f.out_port = out_port_filter(r.u32(), version_);
      if (r.u32() != 0xffffffff)
        throw OfpError(OfpCode::bad_stat, "out_group: groups are not supported");
      r.skip(4);
      f.cookie = r.u64();
      f.cookie_mask = r.u64();
      f.match = decode_oxm_match(r);
      StatsReply reply(version_, xid, type);
      if (type == kStatsAggregate) {
        aggregate(f, reply);
        return;
      }
      for (const Switch::FlowEntry& e : flows(f)) {
        reply.entry([&](WireWriter& w) {
          w.u16(0);
          w.u8(e.rule.table);
          w.u8(0);
          put_duration(w, e.age);
          w.u16(e.rule.priority);
          w.u16(e.rule.idle_timeout);
          w.u16(e.rule.hard_timeout);
          w.u16(e.rule.send_flow_removed ? 1 : 0);  // OFPFF_SEND_FLOW_REM
          w.zeros(4);
          w.u64(e.rule.cookie);
          w.u64(e.packets);
          w.u64(e.bytes);
          encode_oxm_match(w, e.rule.match);
          encode_actions(w, e.rule.actions, version_, e.rule.match);
          w.put_u16_at(0, w.size());
        });
      }
      reply.finish(out);
      return;
    }
    case kStatsTable: {
      std::array<std::uint32_t, flowtable::kTableCount> active{};
      for (const Switch::FlowEntry& e : sw_.flow_entries(bridge_))
        ++active[e.rule.table];
      StatsReply reply(version_, xid, type);
      for (unsigned t = 0; t < flowtable::kTableCount; ++t) {
        reply.entry([&](WireWriter& w) {
          w.u8(t);
          w.zeros(3);
          if (version_ == kVersion10) {
            w.zeros(32);      // no name: tables are known by number
            w.u32(0x3fffff);  // every 1.0 field can be wildcarded
            w.u32(1000000);   // max_entries
          }
          w.u32(active[t]);
          // Lookups and matches are not counted per table: all ones is
          // OpenFlow's "not available".
          w.u64(~std::uint64_t{0});
          w.u64(~std::uint64_t{0});
        });
      }
      reply.finish(out);
      return;
    }
    case kStatsPort: {
      const std::uint32_t want = version_ == kVersion10 ? r.u16() : r.u32();
      const bool all = want == any_port(version_);
      StatsReply reply(version_, xid, type);
      bool found = false;
      for (const PortDescription& p : describe_ports(sw_, bridge_)) {
        if (!all && port_to_wire(p.no, version_) != want) continue;
        found = true;
        reply.entry([&](WireWriter& w) { encode_port_stats(w, p, version_); });
      }
      if (!all && !found) throw OfpError(OfpCode::bad_port, fmt::format("no port {:#x}", want));
      reply.finish(out);
      return;
    }
    case kStatsPortDesc: {
      StatsReply reply(version_, xid, type);
      for (const PortDescription& p : describe_ports(sw_, bridge_))
        reply.entry([&](WireWriter& w) { encode_port(w, p, version_); });
      reply.finish(out);
      return;
    }
    case kStatsVendor: {
      if (version_ != kVersion10)
        throw OfpError(OfpCode::bad_stat, "experimenter statistics are not supported");
      const std::uint32_t vendor = r.u32();
      if (vendor != kNiciraVendor)
        throw OfpError(OfpCode::bad_vendor, fmt::format("stats vendor {:#x}", vendor));
      const std::uint32_t subtype = r.u32();
      r.skip(4);
      if (subtype != kNxStatsFlow && subtype != kNxStatsAggregate)
        throw OfpError(OfpCode::bad_subtype, fmt::format("Nicira stats subtype {}", subtype));
      FlowFilter f;
      f.out_port = out_port_filter(r.u16(), version_);
      const std::uint16_t match_len = r.u16();
      f.table = r.u8();
      r.skip(3);
      f.match = decode_tlv_match(r.take(match_len));
      StatsReply reply(version_, xid, kStatsVendor, subtype);
      if (subtype == kNxStatsAggregate) {
        aggregate(f, reply);
        return;
      }
      for (const Switch::FlowEntry& e : flows(f)) {
        reply.entry([&](WireWriter& w) {
          w.u16(0);
          w.u8(e.rule.table);
          w.u8(0);
          put_duration(w, e.age);
          w.u16(e.rule.priority);
          w.u16(e.rule.idle_timeout);
          w.u16(e.rule.hard_timeout);
          const std::size_t match_len_at = w.size();
          w.u16(0);
          // Seconds since the flow last matched, plus one (0: unknown);
          // hard_age 0: never modified.
          w.u16(std::min<std::int64_t>(0xffff, e.idle.count() + 1));
          w.u16(0);
          w.u64(e.rule.cookie);
          w.u64(e.packets);
          w.u64(e.bytes);
          const std::size_t n = encode_tlv_match(w, e.rule.match, false);
          w.put_u16_at(match_len_at, n);
          pad8(w, n);
          encode_actions(w, e.rule.actions, version_, e.rule.match);
          w.put_u16_at(0, w.size());
        });
      }
      reply.finish(out);
      return;
    }
    case kStatsTableFeatures: {
      if (version_ == kVersion10) break;
      if (r.left() > 0)
        throw OfpError(OfpCode::eperm,
                       "tables are not configurable (a features request with a body)");
      StatsReply reply(version_, xid, type);
      for (unsigned t = 0; t < flowtable::kTableCount; ++t)
        reply.entry([&](WireWriter& w) { encode_table_features(w, static_cast<std::uint8_t>(t)); });
      reply.finish(out);
      return;
    }
    case kStatsGroup:
    case kStatsGroupDesc: {
      if (version_ == kVersion10) break;
      StatsReply reply(version_, xid, type);  // no groups
      reply.finish(out);
      return;
    }
    case kStatsMeter:
    case kStatsMeterConfig:
    case kStatsMeterFeatures:
      if (version_ == kVersion10) break;
      meter_stats(type, r, xid, out);  // ofp_meters.cc
      return;
    case kStatsGroupFeatures: {
      if (version_ == kVersion10) break;
      StatsReply reply(version_, xid, type);
      reply.entry([](WireWriter& w) { w.zeros(40); });  // no group types, no capabilities
      reply.finish(out);
      return;
    }
    default:
      break;
  }
  throw OfpError(OfpCode::bad_stat, fmt::format("statistics type {} is not supported", type));
}

}  // namespace sockswitch::control::openflow
