// control/metrics_text.cc: building one scrape's text, family by family.
#include "control/metrics_text.h"

#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "control/switch.h"
#include "dataplane/drop_reason.h"
#include "flowtable/flow_printer.h"

namespace sockswitch::control {
namespace {

// One metric family: HELP and TYPE once, then every sample, as the format
// wants a family's samples together.
class Family {
 public:
  Family(std::string& out, std::string_view name, std::string_view type, std::string_view help)
      : out_(out), name_(name) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  // `labels`: name="value" pairs already escaped, comma-separated.
  void sample(std::string_view labels, std::uint64_t value) {
    if (labels.empty())
      out_ += fmt::format("{} {}\n", name_, value);
    else
      out_ += fmt::format("{}{{{}}} {}\n", name_, labels, value);
  }
  // A time in seconds from nanoseconds, to the nanosecond.
  void sample_seconds(std::string_view labels, std::uint64_t ns) {
    out_ +=
        fmt::format("{}{{{}}} {}.{:09}\n", name_, labels, ns / 1'000'000'000, ns % 1'000'000'000);
  }

 private:
  std::string& out_;
  std::string_view name_;
};

std::string label(std::string_view key, std::string_view value) {
  return fmt::format("{}=\"{}\"", key, escape_label(value));
}

std::uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

void port_metrics(std::string& out, Switch& sw) {
  struct Column {
    const char* name;
    const char* help;
    std::uint64_t ports::PortCounters::*field;
  };
  static constexpr Column kColumns[] = {
      {"sockswitch_port_rx_packets_total", "Frames received on the port.",
       &ports::PortCounters::rx_packets},
      {"sockswitch_port_rx_bytes_total", "Bytes received on the port.",
       &ports::PortCounters::rx_bytes},
      {"sockswitch_port_rx_dropped_total", "Frames the port dropped on receive.",
       &ports::PortCounters::rx_dropped},
      {"sockswitch_port_rx_errors_total", "Receive errors on the port.",
       &ports::PortCounters::rx_errors},
      {"sockswitch_port_tx_packets_total", "Frames sent on the port.",
       &ports::PortCounters::tx_packets},
      {"sockswitch_port_tx_bytes_total", "Bytes sent on the port.", &ports::PortCounters::tx_bytes},
      {"sockswitch_port_tx_dropped_total", "Frames the port dropped on transmit.",
       &ports::PortCounters::tx_dropped},
      {"sockswitch_port_tx_errors_total", "Transmit errors on the port.",
       &ports::PortCounters::tx_errors},
  };
  std::vector<std::pair<std::string, Switch::PortStatus>> ports;
  for (const std::string& bridge : sw.bridge_names())
    for (Switch::PortStatus& p : sw.port_statuses(bridge))
      ports.emplace_back(label("bridge", bridge) + "," + label("port", p.name), std::move(p));
  for (const Column& c : kColumns) {
    Family f(out, c.name, "counter", c.help);
    for (const auto& [labels, p] : ports)
      if (p.open) f.sample(labels, p.counters.*c.field);
  }
  Family up(out, "sockswitch_port_up", "gauge", "1 while the port's link is up, else 0.");
  for (const auto& [labels, p] : ports)
    up.sample(labels, p.open && p.link_up ? 1 : 0);
  Family named(out, "sockswitch_port_dropped_total", "counter",
               "Frames a port freed for a reason of its own (ctl show names them), by reason.");
  for (const std::string& bridge : sw.bridge_names())
    for (const auto& [port, drops] : sw.port_drops(bridge))
      for (const ports::PortDrop& d : drops)
        named.sample(
            label("bridge", bridge) + "," + label("port", port) + "," + label("reason", d.name),
            d.count);
}

void thread_metrics(std::string& out, Switch& sw) {
  const auto threads = sw.thread_stats();
  Family drops(out, "sockswitch_dropped_packets_total", "counter",
               "Packets the poll threads dropped, by reason (ctl show explains each).");
  for (std::size_t d = 0; d < dataplane::kDrops.size(); ++d) {
    std::uint64_t n = 0;
    for (const auto& [index, s] : threads)
      n += s->drops[d].get();
    drops.sample(label("reason", dataplane::kDrops[d].name.substr(5)), n);  // without "drop."
  }
  struct Column {
    const char* name;
    const char* help;
    dataplane::StatCounter dataplane::ThreadStats::*field;
  };
  static constexpr Column kColumns[] = {
      {"sockswitch_poll_thread_packets_total", "Packets the thread processed.",
       &dataplane::ThreadStats::packets},
      {"sockswitch_poll_thread_forwarded_total",
       "Packets of those queued to at least one port; each other one is counted once in "
       "sockswitch_dropped_packets_total.",
       &dataplane::ThreadStats::forwarded},
      {"sockswitch_poll_thread_cycles_total", "TSC cycles the thread spent on bursts.",
       &dataplane::ThreadStats::cycles},
      {"sockswitch_poll_thread_emc_hits_total", "Packets decided by the exact-match cache.",
       &dataplane::ThreadStats::emc_hits},
      {"sockswitch_poll_thread_megaflow_hits_total", "Packets decided by the megaflow cache.",
       &dataplane::ThreadStats::megaflow_hits},
      {"sockswitch_poll_thread_classifier_lookups_total", "Packets that went to the classifier.",
       &dataplane::ThreadStats::classifier_lookups},
      {"sockswitch_poll_thread_sleeps_total", "Times the thread slept waiting for packets.",
       &dataplane::ThreadStats::sleeps},
  };
  for (const Column& c : kColumns) {
    Family f(out, c.name, "counter", c.help);
    for (const auto& [index, s] : threads)
      f.sample(label("thread", std::to_string(index)), (s->*c.field).get());
  }
  Family busy(out, "sockswitch_poll_thread_busy_seconds_total", "counter",
              "Time the thread spent on passes that moved packets (its rate is the busy ratio).");
  for (const auto& [index, s] : threads)
    busy.sample_seconds(label("thread", std::to_string(index)), s->busy_ns.get());
}

void mac_table_metrics(std::string& out, Switch& sw) {
  std::vector<std::pair<std::string, Switch::MacTableCounts>> tables;
  for (const std::string& bridge : sw.bridge_names())
    tables.emplace_back(label("bridge", bridge), sw.mac_table_counts(bridge));
  Family entries(out, "sockswitch_mac_table_entries", "gauge",
                 "Addresses NORMAL's MAC table holds (published once a second).");
  for (const auto& [labels, t] : tables)
    entries.sample(labels, t.entries);
  Family capacity(out, "sockswitch_mac_table_capacity", "gauge",
                  "Addresses NORMAL's MAC table can hold (mac_table_size).");
  for (const auto& [labels, t] : tables)
    capacity.sample(labels, t.capacity);
  Family evictions(out, "sockswitch_mac_table_evictions_total", "counter",
                   "Addresses evicted from a full MAC table to make room for new ones.");
  for (const auto& [labels, t] : tables)
    evictions.sample(labels, t.evictions);
}

void flow_metrics(std::string& out, Switch& sw, const MetricsOptions& options) {
  Family count(out, "sockswitch_flows", "gauge", "Flows installed on the bridge.");
  std::map<std::string, std::vector<Switch::FlowEntry>> flows;
  for (const std::string& bridge : sw.bridge_names()) {
    flows[bridge] = sw.flow_entries(bridge);
    count.sample(label("bridge", bridge), flows[bridge].size());
  }
  Family omitted(out, "sockswitch_flow_series_omitted", "gauge",
                 "Flows beyond the per-bridge cap on flow series (metrics_flow_series).");
  for (const auto& [bridge, entries] : flows)
    omitted.sample(label("bridge", bridge),
                   entries.size() > options.flow_series ? entries.size() - options.flow_series : 0);
  for (const bool bytes : {false, true}) {
    Family f(out, bytes ? "sockswitch_flow_bytes_total" : "sockswitch_flow_packets_total",
             "counter", bytes ? "Bytes the flow matched." : "Packets the flow matched.");
    for (const auto& [bridge, entries] : flows) {
      const flowtable::PortMap& ports = sw.port_map(bridge);
      for (std::size_t i = 0; i < entries.size() && i < options.flow_series; ++i) {
        const Switch::FlowEntry& e = entries[i];
        flowtable::FlowRule match_only = e.rule;
        match_only.priority = flowtable::kDefaultPriority;  // a label of its own
        f.sample(fmt::format("{},{},{},{},{}", label("bridge", bridge),
                             label("table", std::to_string(e.rule.table)),
                             label("priority", std::to_string(e.rule.priority)),
                             label("cookie", fmt::format("{:#x}", e.rule.cookie)),
                             label("match", flowtable::format_match(match_only, ports))),
                 bytes ? e.bytes : e.packets);
      }
    }
  }
}

void meter_metrics(std::string& out, Switch& sw) {
  std::vector<std::pair<std::string, std::shared_ptr<const dataplane::MeterSet>>> sets;
  for (const std::string& bridge : sw.bridge_names())
    sets.emplace_back(bridge, sw.meters(bridge));
  auto each = [&](auto&& body) {
    for (const auto& [bridge, set] : sets)
      for (const auto& m : set->meters())
        body(label("bridge", bridge) + "," + label("meter", std::to_string(m->config().id)), *m);
  };
  Family packets(out, "sockswitch_meter_packets_total", "counter",
                 "Packets that reached the meter.");
  each([&](const std::string& l, const dataplane::MeterState& m) {
    packets.sample(l, m.packets_in());
  });
  Family bytes(out, "sockswitch_meter_bytes_total", "counter", "Bytes that reached the meter.");
  each(
      [&](const std::string& l, const dataplane::MeterState& m) { bytes.sample(l, m.bytes_in()); });
  Family dropped(out, "sockswitch_meter_band_dropped_packets_total", "counter",
                 "Packets a meter band dropped (over its rate).");
  each([&](const std::string& l, const dataplane::MeterState& m) {
    for (std::size_t i = 0; i < m.config().bands.size(); ++i)
      dropped.sample(l + "," + label("band", std::to_string(i)), m.band(i).packets.get());
  });
}

// As the WireGuard exporters have them: bytes each way and when the last
// handshake was (a tunnel whose handshake is older than 3 minutes is down).
void wireguard_metrics(std::string& out, Switch& sw) {
  const std::vector<Switch::WireGuardPeer> peers = sw.wireguard_peers();
  auto labels = [](const Switch::WireGuardPeer& p) {
    return label("bridge", p.bridge) + "," + label("port", p.port) + "," +
           label("peer", p.peer.public_key);
  };
  Family rx(out, "sockswitch_wireguard_peer_rx_bytes_total", "counter",
            "Bytes of WireGuard messages received from the peer (as wg show counts them).");
  for (const auto& p : peers)
    rx.sample(labels(p), p.peer.rx_bytes);
  Family tx(out, "sockswitch_wireguard_peer_tx_bytes_total", "counter",
            "Bytes of WireGuard messages sent to the peer (as wg show counts them).");
  for (const auto& p : peers)
    tx.sample(labels(p), p.peer.tx_bytes);
  Family when(out, "sockswitch_wireguard_peer_last_handshake_timestamp_seconds", "gauge",
              "Unix time of the peer's last handshake; 0 when none yet.");
  for (const auto& p : peers)
    when.sample(labels(p),
                static_cast<std::uint64_t>(std::max<std::int64_t>(0, p.peer.last_handshake)));
  Family age(out, "sockswitch_wireguard_peer_seconds_since_handshake", "gauge",
             "Seconds since the peer's last handshake (peers that had one).");
  const std::int64_t now = std::time(nullptr);
  for (const auto& p : peers)
    if (p.peer.last_handshake > 0)
      age.sample(labels(p), static_cast<std::uint64_t>(
                                std::max<std::int64_t>(0, now - p.peer.last_handshake)));
}

}  // namespace

std::string escape_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string metrics_text(Switch& sw, const MetricsOptions& options) {
  std::string out;
  port_metrics(out, sw);
  thread_metrics(out, sw);
  mac_table_metrics(out, sw);
  flow_metrics(out, sw, options);
  meter_metrics(out, sw);
  wireguard_metrics(out, sw);
  Family(out, "sockswitch_control_requests_refused_total", "counter",
         "Control requests (ctl, OpenFlow, reload) refused with an error.")
      .sample("", sw.rejected_requests());
  Family(out, "sockswitch_flows_expired_total", "counter",
         "Flows removed by their idle or hard timeout.")
      .sample("", sw.flows_expired());
  const dataplane::ConntrackCounters ct = sw.conntrack_counters();
  Family(out, "sockswitch_conntrack_connections", "gauge", "Tracked connections now.")
      .sample("", ct.connections);
  Family(out, "sockswitch_conntrack_committed_total", "counter",
         "Connections committed by ct(commit).")
      .sample("", ct.committed);
  Family(out, "sockswitch_conntrack_full_total", "counter",
         "Commits refused because the table held ct_max connections.")
      .sample("", ct.full);
  Family(out, "sockswitch_conntrack_invalid_total", "counter", "Packets ct() found invalid (+inv).")
      .sample("", ct.invalid);
  Family(out, "process_resident_memory_bytes", "gauge", "Resident memory of the process.")
      .sample("", resident_bytes());
  return out;
}

}  // namespace sockswitch::control
