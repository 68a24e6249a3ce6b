// control/metrics_text.h: the switch's counters in Prometheus' text exposition format.
//
// What a scrape of `/metrics` returns (metrics_server.h serves it): per port
// packets, bytes, drops and errors each way and the link state; drops by
// reason; each poll thread's packets, cycles, cache hits, sleeps and busy
// time; per bridge NORMAL's MAC table (entries, capacity, evictions), the
// number of flows, and per flow its packets and bytes (labelled
// by bridge, table, priority, cookie and match, at most `flow_series` flows
// per bridge: the rest are counted in sockswitch_flow_series_omitted);
// meters' packets and bytes in and dropped per band; refused control
// requests, expired flows; the process's resident memory. Names and units
// follow Prometheus' conventions (`_total` counters, `_bytes`, base units).
#pragma once

#include <cstddef>
#include <string>

namespace sockswitch::control {

class Switch;

struct MetricsOptions {
  std::size_t flow_series = 1000;  // per bridge; 0: no per-flow series
};

[[nodiscard]] std::string metrics_text(Switch& sw, const MetricsOptions& options);

// A label value with \, " and newlines escaped as the format requires.
[[nodiscard]] std::string escape_label(std::string_view value);

}  // namespace sockswitch::control
