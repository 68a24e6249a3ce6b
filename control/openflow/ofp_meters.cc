// control/openflow/ofp_meters.cc: OpenFlow 1.3 meters: METER_MOD, and the
// meter, meter-config and meter-features multipart requests, so that
// `ovs-ofctl -O OpenFlow13 add-meter/dump-meters/meter-stats` work.
//
// The meters are the bridge's own (Switch::add_meter and friends): the
// same table `ctl add-meter` changes, with the same rules (a flow names
// only a meter the bridge has; deleting a meter deletes its flows).
#include <fmt/format.h>

#include "control/openflow/ofp_session.h"
#include "control/openflow/ofp_stats_reply.h"
#include "control/switch.h"
#include "dataplane/meter_table.h"

namespace sockswitch::control::openflow {
namespace {

enum : std::uint16_t { kMeterAdd = 0, kMeterModify = 1, kMeterDelete = 2 };
enum : std::uint16_t { kKbps = 1, kPktps = 2, kBurst = 4, kStats = 8 };
enum : std::uint16_t { kBandDrop = 1, kBandDscpRemark = 2 };
constexpr std::uint32_t kMeterAll = 0xffffffff;
constexpr std::uint16_t kBandLength = 16;

std::uint16_t wire_flags(const flowtable::MeterConfig& m) {
  return static_cast<std::uint16_t>((m.unit == flowtable::MeterUnit::kbps ? kKbps : kPktps) |
                                    (m.burst ? kBurst : 0) | (m.stats ? kStats : 0));
}

flowtable::MeterConfig decode_meter(WireReader& r, std::uint16_t flags, std::uint32_t id) {
  if (id == 0 || id > flowtable::kMeterIdMax)
    throw OfpError(OfpCode::meter_invalid, fmt::format("meter id {:#x}", id));
  if ((flags & ~(kKbps | kPktps | kBurst | kStats)) != 0 || ((flags & kKbps) && (flags & kPktps)) ||
      !(flags & (kKbps | kPktps)))
    throw OfpError(OfpCode::meter_bad_flags,
                   fmt::format("flags {:#x}: one of KBPS and PKTPS, and BURST, STATS", flags));
  flowtable::MeterConfig m;
  m.id = id;
  m.unit = (flags & kKbps) ? flowtable::MeterUnit::kbps : flowtable::MeterUnit::pktps;
  m.burst = (flags & kBurst) != 0;
  m.stats = (flags & kStats) != 0;
  while (r.left() > 0) {
    const std::uint16_t type = r.u16(), len = r.u16();
    if (len != kBandLength || len - 4u > r.left())
      throw OfpError(OfpCode::bad_len, fmt::format("a meter band of length {}", len));
    WireReader b = r.sub(len - 4u);
    if (type == kBandDscpRemark)
      throw OfpError(OfpCode::meter_bad_band,
                     "dscp_remark bands are not supported (only drop, as OVS's userspace meters)");
    if (type != kBandDrop)
      throw OfpError(OfpCode::meter_bad_band, fmt::format("band type {}", type));
    flowtable::MeterBand band;
    band.rate = b.u32();
    band.burst_size = b.u32();
    if (band.rate == 0) throw OfpError(OfpCode::meter_bad_rate, "a band's rate is 0");
    m.bands.push_back(band);
  }
  if (m.bands.empty()) throw OfpError(OfpCode::meter_bad_band, "a meter without bands");
  return m;
}

}  // namespace

void Session::meter_mod(WireReader& r) {
  const std::uint16_t command = r.u16(), flags = r.u16();
  const std::uint32_t id = r.u32();
  try {
    switch (command) {
      case kMeterAdd:
        sw_.add_meter(bridge_, decode_meter(r, flags, id));
        return;
      case kMeterModify:
        sw_.mod_meter(bridge_, decode_meter(r, flags, id));
        return;
      case kMeterDelete:
        (void)sw_.delete_meters(bridge_, id == kMeterAll ? 0 : id);
        return;
      default:
        throw OfpError(OfpCode::meter_bad_command, fmt::format("METER_MOD command {}", command));
    }
  } catch (const MeterRefused& e) {
    throw OfpError(
        e.why == MeterRefused::Why::exists ? OfpCode::meter_exists : OfpCode::meter_unknown,
        e.what());
  }
}

void Session::meter_stats(std::uint16_t type, WireReader& r, std::uint32_t xid,
                          std::vector<std::uint8_t>& out) {
  StatsReply reply(version_, xid, type);
  if (type == kStatsMeterFeatures) {
    reply.entry([](WireWriter& w) {
      w.u32(flowtable::kMeterIdMax);            // max_meter
      w.u32(1u << kBandDrop);                   // band types
      w.u32(kKbps | kPktps | kBurst | kStats);  // capabilities
      w.u8(255);                                // max_bands
      w.u8(0);                                  // max_color
      w.zeros(2);
    });
    reply.finish(out);
    return;
  }
  const std::uint32_t id = r.u32();
  r.skip(4);
  const auto meters = sw_.meters(bridge_);
  const auto flows =
      type == kStatsMeter ? sw_.meter_flow_counts(bridge_) : std::map<std::uint32_t, std::size_t>{};
  const std::uint64_t now = dataplane::monotonic_ns();
  for (const auto& m : meters->meters()) {
    const flowtable::MeterConfig& c = m->config();
    if (id != kMeterAll && id != c.id) continue;
    const std::size_t bands = c.bands.size();
    reply.entry([&](WireWriter& w) {
      if (type == kStatsMeterConfig) {
        w.u16(static_cast<std::uint16_t>(8 + kBandLength * bands));
        w.u16(wire_flags(c));
        w.u32(c.id);
        for (const flowtable::MeterBand& b : c.bands) {
          w.u16(kBandDrop);
          w.u16(kBandLength);
          w.u32(b.rate);
          w.u32(b.burst_size);
          w.zeros(4);
        }
        return;
      }
      w.u32(c.id);
      w.u16(static_cast<std::uint16_t>(40 + 16 * bands));
      w.zeros(6);
      const auto it = flows.find(c.id);
      w.u32(static_cast<std::uint32_t>(it == flows.end() ? 0 : it->second));
      w.u64(m->packets_in());
      w.u64(m->bytes_in());
      const std::uint64_t age = now - m->created_ns();
      w.u32(static_cast<std::uint32_t>(age / 1'000'000'000));
      w.u32(static_cast<std::uint32_t>(age % 1'000'000'000));
      for (std::size_t i = 0; i < bands; ++i) {
        w.u64(m->band(i).packets.get());
        w.u64(m->band(i).bytes.get());
      }
    });
  }
  reply.finish(out);
}

}  // namespace sockswitch::control::openflow
