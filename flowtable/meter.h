// flowtable/meter.h: an OpenFlow 1.3 meter as `ovs-ofctl add-meter` writes it.
//
// `meter=1,pktps,burst,stats,bands=type=drop,rate=100,burst_size=20`: a
// meter id, its unit (kbps, the default, or pktps), the `burst` and
// `stats` flags, and one or more bands. Only `drop` bands exist here (as in
// OVS's userspace datapath); `dscp_remark` is refused with the reason.
//
// What a meter does (OVS's userspace meter, dataplane/meter_table.h): each
// band is a token bucket of `burst_size` (or `rate` when none is given)
// units, full at the start, refilled at `rate` units a second; a packet
// takes 1 unit (pktps) or its Ethernet frame's bits (kbps, k = 1 000) from
// every band, and is dropped when some band has not enough left.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "flowtable/flow_error.h"

namespace sockswitch::flowtable {

enum class MeterUnit : std::uint8_t { kbps, pktps };

struct MeterBand {
  std::uint32_t rate = 0;        // kbit/s or packets/s
  std::uint32_t burst_size = 0;  // kbit or packets; 0: the rate

  friend bool operator==(const MeterBand&, const MeterBand&) = default;
};

// The highest meter id OpenFlow 1.3 allows (OFPM_MAX); above are virtual meters.
inline constexpr std::uint32_t kMeterIdMax = 0xffff0000;

struct MeterConfig {
  std::uint32_t id = 0;
  MeterUnit unit = MeterUnit::kbps;
  bool burst = false;
  bool stats = false;
  std::vector<MeterBand> bands;

  friend bool operator==(const MeterConfig&, const MeterConfig&) = default;
};

// Parses an add-meter/mod-meter argument; throws FlowError located at the
// offending word (columns counted from `pos`).
[[nodiscard]] MeterConfig parse_meter(std::string_view text, const SourcePos& pos = {});
// The id of `meter=N` (del-meters, dump-meters); 0 for `meter=all` or an
// empty text. Throws FlowError.
[[nodiscard]] std::uint32_t parse_meter_selector(std::string_view text, const SourcePos& pos = {});
// Back in the syntax parse_meter reads.
[[nodiscard]] std::string format_meter(const MeterConfig& m);

}  // namespace sockswitch::flowtable
