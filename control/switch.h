// control/switch.h: the running switch, owned by the control thread.
//
// Built from a Config: one dataplane::Bridge per bridge, one Port per
// configured port (patch pairs built together), the poll threads, and the
// flows installed. Every later change goes through here: reload (a new
// Config, applied as a diff so that unchanged ports and flows are not
// touched and keep their counters), the `ctl` commands, and the hotplug
// check that brings ports up and down with their devices.
//
// A port is only ever destroyed or refreshed after it has been taken out of
// its bridge's published snapshot (one RCU grace period), so no poll thread
// is inside its rx_burst/tx_burst at that moment.
//
// Threads: everything here runs on the control thread; errors are thrown
// (std::invalid_argument for bad requests, ConfigError for bad files) and
// leave the switch as it was.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "control/config.h"
#include "control/port_numbering.h"
#include "control/reload_plan.h"
#include "dataplane/bridge.h"
#include "dataplane/live_trace.h"
#include "dataplane/poll_thread.h"
#include "ports/port.h"
#include "ports/port_driver.h"
#include "ports/port_factory.h"

namespace sockswitch::control {

// A meter command refused because of the meter table's state (an id in
// use, or none by that id): OpenFlow answers these with their own codes.
struct MeterRefused : std::invalid_argument {
  enum class Why { exists, unknown };
  MeterRefused(Why w, const std::string& what) : std::invalid_argument(what), why(w) {}
  Why why;
};

class Switch final {
 public:
  explicit Switch(Config config);
  ~Switch();
  Switch(const Switch&) = delete;
  Switch& operator=(const Switch&) = delete;

  using FlowReload = control::FlowReload;

  // Applies diff(running_config(), wanted) (reload_plan.h, carried out in
  // switch_reload.cc). Throws before changing anything when a new port
  // cannot be opened or a setting is refused.
  void reload(Config wanted, FlowReload flows = FlowReload::replace);

  // --- ctl commands: each returns the text to show ---------------------
  [[nodiscard]] std::string show() const;
  [[nodiscard]] std::string dump_flows(const std::string& bridge);
  [[nodiscard]] std::string dump_ports(const std::string& bridge) const;
  // How many rx queues of `port` the bridge's poll thread polls.
  [[nodiscard]] std::uint16_t rx_queues(const std::string& bridge, const std::string& port) const;
  std::string add_flows(const std::string& bridge, const std::string& text,
                        const std::string& source);
  // ovs-ofctl mod-flows: the flows FLOW selects (with `strict`, priority and
  // match exactly; cookie=V/M narrows either) get FLOW's actions, and keep
  // their counters and timers. A FLOW without actions= is refused. Matching
  // nothing changes nothing (OpenFlow 1.1+; OpenFlow 1.0 would add it).
  std::string mod_flows(const std::string& bridge, const std::string& flow, bool strict);
  std::string del_flows(const std::string& bridge, const std::optional<std::string>& flow,
                        bool strict);
  std::string replace_flows(const std::string& bridge, const std::string& text,
                            const std::string& source);
  // Adds `port` (origin ctl). A port of that name already on the bridge is
  // success without change when every setting named in `given` (the keys
  // the request spelled out) matches, and an error naming the difference
  // otherwise, so that a hook can run at every start.
  std::string add_port(const std::string& bridge, PortConfig port,
                       const std::set<std::string>& given);
  std::string del_port(const std::string& bridge, const std::string& name);
  // ovs-ofctl's meter commands (switch_meters.cc). `meter` in add-meter's
  // syntax; `selector` "meter=N", "meter=all" or empty (all). Deleting a
  // meter deletes the flows that use it, as OVS does.
  std::string add_meter(const std::string& bridge, const std::string& meter);
  std::string mod_meter(const std::string& bridge, const std::string& meter);
  // The same for the OpenFlow channel's METER_MOD: add refuses an id in
  // use, modify one not in use (MeterRefused); delete takes id 0 as all.
  void add_meter(const std::string& bridge, const flowtable::MeterConfig& meter);
  void mod_meter(const std::string& bridge, const flowtable::MeterConfig& meter);
  std::size_t delete_meters(const std::string& bridge, std::uint32_t id);
  // The bridge's meters now, and how many flows use each.
  [[nodiscard]] std::shared_ptr<const dataplane::MeterSet> meters(const std::string& bridge) const;
  [[nodiscard]] std::map<std::uint32_t, std::size_t> meter_flow_counts(const std::string& bridge);
  std::string del_meters(const std::string& bridge, const std::string& selector);
  [[nodiscard]] std::string dump_meters(const std::string& bridge, const std::string& selector);
  [[nodiscard]] std::string meter_stats(const std::string& bridge, const std::string& selector);
  // What the bridge does with a described packet (flow_trace.h), against
  // its live table and a copy of its live MAC table.
  [[nodiscard]] std::string trace(const std::string& bridge, const std::string& packet, bool json);
  // `ctl trace --live`: arms a trace of the next `count` packets on
  // `bridge` that match `match` (one per bridge at a time) and returns its
  // id. A trace its client does not read within `timeout` is taken off.
  std::uint64_t start_live_trace(const std::string& bridge, const std::string& match,
                                 std::size_t count, std::chrono::seconds timeout);
  // The trace so far, as JSON: {"recorded":K,"wanted":N,"done":bool,
  // "report":TEXT}; the report is one JSON object when `json`. Done (all
  // recorded, or `stop`): taken off the bridge and forgotten.
  [[nodiscard]] std::string read_live_trace(std::uint64_t id, bool json, bool stop);
  // Takes off traces whose client has gone; call once a second.
  void expire_live_traces();
  // `ctl capture`: arms a capture of the frames `port` of `bridge` receives
  // and/or sends (ports/port_capture.h; one per port at a time) and returns
  // its id. A capture its client has not read for kCaptureIdle is taken off.
  std::uint64_t start_capture(const std::string& bridge, const std::string& port,
                              ports::CaptureDirection directions);
  // The frames taken since the last read (at most `max_frames`), as JSON:
  // {"frames":[{"t":NS,"len":N,"dir":"rx","data":BASE64}],"recorded":R,
  // "dropped":D,"open":bool,"more":bool}; "open" is false once the port
  // has gone, "more" says frames are waiting beyond max_frames.
  // `stop`: taken off the port and forgotten, after this read.
  [[nodiscard]] std::string read_capture(std::uint64_t id, std::size_t max_frames, bool stop);
  // Takes off captures whose client has gone; call once a second.
  void expire_captures();
  static constexpr std::chrono::seconds kCaptureIdle{5};
  // A native wireguard port's peers, latest handshakes and transfer counters.
  [[nodiscard]] std::string wg_show(const std::string& port) const;
  // Every native wireguard port's peers, with their bridge and port (metrics).
  struct WireGuardPeer {
    std::string bridge, port;
    ports::WireGuardPeerStatus peer;
  };
  [[nodiscard]] std::vector<WireGuardPeer> wireguard_peers() const;

  // Brings ports up or down with their devices (call every second or on a
  // netlink event), and retries ports that could not open at start.
  // Returns how many ports changed. A port whose driver
  // cannot take its device stays down while every other port goes on
  // forwarding; the reasons are thrown afterwards (std::runtime_error).
  std::size_t refresh_ports();
  // What each L3 port answers ARP/ND for (switch_neighbors.cc): its proxy
  // list, its AllowedIPs or the kernel's routes through its device, against
  // every other route. Run after ports change, on route events and once a
  // second (a UAPI `wg set` changes AllowedIPs). Returns how many changed.
  std::size_t refresh_neighbor_claims();

  // Removes the flows whose idle_timeout (no packet for that long) or
  // hard_timeout (installed that long ago) ran out, as OVS does, through
  // the ordinary versioned publish; logs each and counts them for `show`.
  // Call at least once a second. Returns how many went.
  std::size_t expire_flows();

  // --- connection tracking (switch_conntrack.cc) ----------------------
  // Reclaims connections past their timeout; call once a second.
  std::size_t expire_connections();
  // ovs-appctl dpctl/dump-conntrack's lines, optionally one zone's only.
  // The table is the switch's: `bridge` is checked to exist but filters
  // nothing (as OVS's is per datapath).
  [[nodiscard]] std::string dump_conntrack(const std::string& bridge,
                                           std::optional<std::uint16_t> zone) const;
  std::string flush_conntrack(std::optional<std::uint16_t> zone);
  [[nodiscard]] dataplane::ConntrackCounters conntrack_counters() const noexcept {
    return conntrack_->counters();
  }

  // The settings outside the bridges (the bridges' own live in the
  // running bridges: config().bridges is empty).
  [[nodiscard]] const Config& config() const noexcept { return config_; }
  // The whole config the switch runs now, bridges included (a copy).
  [[nodiscard]] Config running_config() const;

  // What each port of a bridge is doing (for the database's write-back).
  struct PortStatus {
    std::string name;
    std::string driver;
    flowtable::PortNo ofport{0};
    bool open = false;       // its driver holds the device
    std::string open_error;  // why not, when it could not open
    bool link_up = false;
    ports::PortCounters counters;
  };
  [[nodiscard]] std::vector<PortStatus> port_statuses(const std::string& bridge) const;
  // Each open port's named drops (ports/port.h), by port name.
  [[nodiscard]] std::vector<std::pair<std::string, std::vector<ports::PortDrop>>> port_drops(
      const std::string& bridge) const;

  // --- the OpenFlow channel's view (switch_openflow.cc) ----------------
  struct FlowEntry {
    flowtable::FlowRule rule;
    std::uint64_t packets = 0, bytes = 0;
    std::chrono::nanoseconds age{};  // since the flow was installed
    std::chrono::seconds idle{};     // since it last matched a packet
  };
  // Every flow of the bridge, table by table in lookup order.
  [[nodiscard]] std::vector<FlowEntry> flow_entries(const std::string& bridge);
  // Applies the mods as one batch (one published version). Throws
  // std::invalid_argument (naming the mod) and then changes nothing.
  void apply_flow_mods(const std::string& bridge, std::span<const flowtable::FlowMod> mods);
  [[nodiscard]] std::vector<std::string> bridge_names() const;
  [[nodiscard]] bool has_bridge(const std::string& name) const noexcept;
  [[nodiscard]] const flowtable::PortMap& port_map(const std::string& bridge) const;
  // A PACKET_OUT: queued for the poll thread that serves the bridge (woken).
  // False when its queue is full.
  bool packet_out(const std::string& bridge, const dataplane::InjectedPacket& packet);
  // Frames the bridge's `controller` actions sent up since the last call
  // (PACKET_IN), oldest first, at most `max`.
  [[nodiscard]] std::vector<dataplane::PuntedPacket> take_punts(const std::string& bridge,
                                                                std::size_t max);
  // Readable when the bridge has punts waiting (an eventfd; read it empty).
  [[nodiscard]] int punt_fd(const std::string& bridge);
  // OVS's fail-open for the bridge (its controllers are away, standalone).
  void set_fail_open(const std::string& bridge, bool on);
  // OpenFlow 1.0's table miss: a PACKET_IN (to 1.0 clients) for a packet no
  // flow matches.
  void set_miss_to_controller(const std::string& bridge, bool on);
  [[nodiscard]] std::string fail_mode(const std::string& bridge) const;
  // The bridge's extra OpenFlow listeners (BridgeConfig::controllers).
  [[nodiscard]] std::vector<std::string> controllers(const std::string& bridge) const;

  // Called for every flow that asked to be reported (send_flow_rem) when
  // it goes: by its idle or hard timeout, or deleted (a flow mod, ctl,
  // reload). The OpenFlow channel turns these into FLOW_REMOVED messages.
  enum class FlowRemoval : std::uint8_t { idle_timeout = 0, hard_timeout = 1, deleted = 2 };
  using FlowRemovedHook =
      std::function<void(const std::string& bridge, const flowtable::RemovedFlow&, FlowRemoval)>;
  void on_flow_removed(FlowRemovedHook hook) { flow_removed_ = std::move(hook); }

  // Control-plane input that was refused (a bad ctl request, flow or
  // reload), counted for `show` like the dataplane's drops.
  void count_rejected() noexcept { ++rejected_requests_; }
  [[nodiscard]] std::uint64_t rejected_requests() const noexcept { return rejected_requests_; }
  [[nodiscard]] std::uint64_t flows_expired() const noexcept { return flows_expired_; }
  // Each poll thread's counters, by thread index (metrics).
  [[nodiscard]] std::vector<std::pair<std::size_t, const dataplane::ThreadStats*>> thread_stats()
      const;
  // MAC addresses NORMAL has learned on `port` (read while the bridge's
  // poll thread may be learning: a glance for tests, not a count to trust).
  [[nodiscard]] std::size_t learned_macs(const std::string& bridge, flowtable::PortNo port);
  // The bridge's MAC table as its poll thread last published it (once a
  // second), for metrics.
  struct MacTableCounts {
    std::size_t entries = 0, capacity = 0;
    std::uint64_t evictions = 0;
  };
  [[nodiscard]] MacTableCounts mac_table_counts(const std::string& bridge) const;
  // NORMAL's live MAC entries (port, VLAN, MAC, age in seconds), as
  // `ovs-appctl fdb/show` prints them; throws when the poll thread does not
  // answer within 2 s.
  [[nodiscard]] std::string fdb_show(const std::string& bridge);
  // The entries under fdb_show, unsorted.
  [[nodiscard]] std::vector<dataplane::FdbEntry> mac_entries(const std::string& bridge);
  // Per-bridge thread statistics, summed (for tests and `show`).
  [[nodiscard]] std::uint64_t dropped(dataplane::Drop d) const;

 private:
  struct RunningPort {
    RunningPort(PortConfig c, std::unique_ptr<ports::Port> p)
        : config(std::move(c)), port(std::move(p)) {}
    PortConfig config;
    std::unique_ptr<ports::Port> port;
    std::optional<int> seen_ifindex;  // last device state the hotplug check saw
    bool seen_running = false;
    // A port that could not open at start (a device busy or of the wrong
    // kind, a program in the way): down with the reason, and tried again by
    // refresh_ports() with back-off while every other port forwards.
    std::string open_error;
    std::chrono::steady_clock::time_point retry_at{};
    std::chrono::seconds backoff{1};
  };
  struct RunningBridge {
    BridgeConfig config;
    PortNumbering numbering;
    std::unique_ptr<dataplane::Bridge> bridge;
    std::vector<RunningPort> ports;
  };

  // How a reload opens new ports: at start a device that cannot open is
  // down and retried (open_at_start); later it refuses the reload, except
  // for ports the database asked for.
  enum class Opening : std::uint8_t { at_start, on_reload };
  void apply(Config wanted, FlowReload flows, Opening opening);
  RunningBridge& bridge(const std::string& name);
  const RunningBridge& bridge(const std::string& name) const;
  // Publishes the bridge's open ports, less `except` (ports being reopened).
  void publish_ports(RunningBridge& b, const std::set<const ports::Port*>& except = {});
  void await_ready(const RunningBridge& b) const;
  void install_flows(RunningBridge& b, const std::vector<flowtable::ParsedFlow>& flows,
                     bool replace_all);
  // Applies mods to the bridge's table and reports the deleted flows that
  // asked to be (flow_removed_).
  void apply_flows(RunningBridge& b, std::span<const flowtable::FlowMod> mods);
  // Refuses (std::invalid_argument) mods whose flows name a meter that
  // `meters` does not have.
  static void check_meters(const std::string& bridge, std::span<const flowtable::FlowMod> mods,
                           const dataplane::MeterSet& meters);
  // Gives the bridge `meters` and deletes the flows that use a meter it no
  // longer has.
  void set_meters(RunningBridge& b, dataplane::MeterSet meters);
  // The flow mods that make the table hold `flows` (replace_all: only
  // the difference, so flows that stay keep their counters).
  [[nodiscard]] std::vector<flowtable::FlowMod> flow_mods(
      const RunningBridge& b, const std::vector<flowtable::ParsedFlow>& flows,
      bool replace_all) const;
  [[nodiscard]] std::vector<dataplane::BridgePort> bridge_ports(
      const RunningBridge& b, const std::set<const ports::Port*>& except = {}) const;
  void after_publish(RunningBridge& b);
  [[nodiscard]] static std::string neighbor_claims_line(const RunningPort& p);
  [[nodiscard]] static std::string named_drops_line(ports::Port& port, std::string_view indent);
  static dataplane::MacLearningConfig mac_config(const BridgeConfig& b);
  static dataplane::MeterSet meter_set(const std::vector<flowtable::MeterConfig>& meters);
  [[nodiscard]] std::shared_ptr<packet::PacketPool> pool_of(const std::string& bridge) const;
  void start_threads();
  void stop_threads() noexcept;
  [[nodiscard]] ports::PortSpec port_spec(const PortConfig& p, const std::string& bridge) const;
  std::unique_ptr<ports::Port> open_port(const PortConfig& p, const std::string& bridge);
  void observe_device(RunningPort& p);
  void open_patch_pairs(std::vector<RunningBridge>& bridges);
  void keep_runtime_ports(Config& wanted) const;
  // Opens a port of the file at start; a failure of the device (not of the
  // settings, which stay fatal) leaves it closed with open_error set.
  RunningPort open_at_start(const PortConfig& pc, const std::string& bridge);
  bool retry_open(RunningPort& p, const std::string& bridge);
  // Opens a port whose old self a reload has just closed: any failure
  // leaves it down with the reason, retried like one that failed at start.
  RunningPort reopen_port(const PortConfig& pc, const std::string& bridge);

  // Buffers per poll thread (2 KiB each, 34 MiB pinned as the AF_XDP UMEM).
  // Each AF_XDP fill ring holds at most PacketPool::kMaxLendShare (512:
  // room for 28 queues; `auto` ports beyond that use AF_PACKET); fill rings
  // never take the last eighth.
  static constexpr std::uint32_t kPoolPackets = 16384;

  Config config_;
  // The connection table every bridge's ct() uses; outlives the bridges.
  std::unique_ptr<dataplane::Conntrack> conntrack_;
  // Live traces by id; declared before the bridges, whose snapshots may
  // point at them, so that they outlive them.
  struct ArmedTrace {
    std::string bridge;
    std::unique_ptr<dataplane::LiveTrace> trace;
    std::chrono::steady_clock::time_point expires;
  };
  std::map<std::uint64_t, ArmedTrace> live_traces_;
  std::uint64_t next_live_trace_ = 1;
  // Captures by id, before the bridges for the same reason: their ports
  // point at them.
  struct ArmedCapture {
    std::string bridge, port;
    std::unique_ptr<ports::PortCapture> capture;
    std::chrono::steady_clock::time_point last_read;
  };
  std::map<std::uint64_t, ArmedCapture> captures_;
  std::uint64_t next_capture_ = 1;
  ports::Port* capture_holder(const ArmedCapture& armed);
  // One pool per poll thread, declared before the bridges: AF_XDP ports
  // share them (and hold them) while their sockets close.
  std::vector<std::shared_ptr<packet::PacketPool>> pools_;
  std::vector<std::vector<std::string>> thread_bridges_;  // per poll thread, the bridges it serves
  std::vector<RunningBridge> bridges_;
  std::vector<std::unique_ptr<dataplane::PollThread>> threads_;
  std::uint64_t rejected_requests_ = 0;
  std::uint64_t flows_expired_ = 0;
  FlowRemovedHook flow_removed_;
};

}  // namespace sockswitch::control
