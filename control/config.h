// control/config.h: the switch's configuration file, as a plain value.
//
// A TOML file (toml++) names the bridges, their ports and drivers, their
// flows (a flow file in `ovs-ofctl add-flows` format and/or inline lines),
// the poll threads and the control socket. load_config() reads and checks
// everything before anything is applied: unknown keys, wrong types,
// duplicate names, patch ports without a matching peer, a flow that names a
// port its bridge lacks, a wireguard port's wg-quick file (parsed here, its
// errors located in that file). Every problem is reported with file, line and
// column; a file with any problem yields no Config at all (ConfigError), so
// a bad file can never half-apply.
//
// Config is data (Snabb style): reload diffs the running Config against the
// wanted one and touches only what changed.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "dataplane/port_vlan.h"
#include "flowtable/flow_error.h"
#include "flowtable/flow_parser.h"
#include "flowtable/meter.h"
#include "flowtable/port_map.h"
#include "ports/neighbor_claims.h"
#include "ports/port_driver.h"
#include "ports/wireguard/wg_config.h"

namespace sockswitch::control {

// Where a port came from: the config file, `ctl add-port` at run time (a
// wg-quick hook, a container start), or the Open vSwitch database. Ports
// added at run time survive a reload until `ctl del-port`, as OVS's
// database keeps them. A database port that cannot open does not refuse
// the rest of the database's change: it stays down with its reason.
enum class PortOrigin : std::uint8_t { file, ctl, database };

struct PortConfig {
  std::string name;
  std::string driver = "auto";  // auto | af_xdp | af_packet | tap | tun | internal | patch | pcap
                                // | dpdk | wireguard
  flowtable::PortNo ofport{0};  // assigned in order of appearance when not given
  bool no_flood = false;
  std::uint16_t queues = 1;
  std::optional<std::string> mac;  // L3 and tap ports: the port's own MAC
  // L3 ports: what lies behind the device, answered for in ARP/ND in place
  // of its routes (neighbor_claims.h). Changes in place, so not part of ==.
  std::optional<std::vector<ports::ClaimPrefix>> proxy;
  bool create = true;                           // tap/tun/internal: create the device, or attach
  std::optional<std::string> peer;              // patch: the port on the other bridge
  std::optional<std::string> rx_pcap, tx_pcap;  // pcap
  std::uint32_t rx_pcap_repeat = 1;             // pcap: replays of rx_pcap; 0: forever
  std::optional<std::string> dpdk_devargs;      // dpdk: vdev or PCI device
  // wireguard: the wg-quick file (resolved against the config's directory),
  // a BLAKE2s digest of its text (a changed file is a changed port; the
  // text itself, keys and all, is wiped once parsed) and what it parsed to
  // (the keys in the wiped key type).
  std::optional<std::string> wg_config;
  std::array<std::uint8_t, 32> wg_config_digest{};
  std::shared_ptr<const wireguard::WgConfig> wg_parsed;
  // tag, trunks, vlan_mode: its role in NORMAL. Changes in place (a new
  // snapshot), so not part of what the port is (==), like origin.
  dataplane::VlanConfig vlan;
  flowtable::SourcePos pos;
  PortOrigin origin = PortOrigin::file;  // not part of what the port is (==)

  friend bool operator==(const PortConfig& a, const PortConfig& b) {
    return a.name == b.name && a.driver == b.driver && a.ofport == b.ofport &&
           a.no_flood == b.no_flood && a.queues == b.queues && a.mac == b.mac &&
           a.create == b.create && a.peer == b.peer && a.rx_pcap == b.rx_pcap &&
           a.tx_pcap == b.tx_pcap && a.rx_pcap_repeat == b.rx_pcap_repeat &&
           a.dpdk_devargs == b.dpdk_devargs && a.wg_config == b.wg_config &&
           a.wg_config_digest == b.wg_config_digest;
  }
};

// The driver's row in ports/port_driver.h; an unknown name (which the
// config and ctl refuse before a PortConfig exists) throws std::invalid_argument.
[[nodiscard]] const ports::PortDriver& port_driver(const PortConfig& p);

// Whether a port of `driver` sits on a netdev of its name (the hotplug
// check follows it; the database gets its ifindex, MAC and MTU).
[[nodiscard]] bool driver_has_netdev(std::string_view driver);

// The datapath id of a bridge that sets none (OpenFlow FEATURES, the
// database's Bridge.datapath_id): stable per name, as OVS's comes from the
// bridge's MAC; the low 48 bits of a hash, locally administered.
[[nodiscard]] std::uint64_t default_datapath_id(const std::string& bridge);

struct BridgeConfig {
  std::string name;
  std::vector<PortConfig> ports;
  std::vector<flowtable::ParsedFlow> flows;    // from the flow file, then the inline lines
  std::vector<flowtable::MeterConfig> meters;  // what its flows' meter:N actions name
  std::optional<std::string> flows_file;       // as resolved (absolute or relative to the config)
  std::uint32_t mac_aging_seconds = 300;
  std::uint32_t mac_table_size = 8192;
  flowtable::PortMap port_map;  // names -> OpenFlow numbers, for flows and ctl
  flowtable::SourcePos pos;
  // A bridge of the Open vSwitch database (its ports and settings come
  // from there; `ctl add-port` is refused).
  bool from_database = false;
  // What the flows were derived from besides their lines: a database
  // bridge's fail mode and controllers. When it changes, the table is
  // flushed and set again, as OVS does.
  std::string flows_basis;
  // Its OpenFlow controllers besides the management socket: listeners
  // (`ptcp:PORT[:ADDR]`, `punix:PATH`) and controllers it connects to
  // (`tcp:ADDR[:PORT]`, `unix:PATH`).
  std::vector<std::string> controllers;
  // With controllers to connect to: "standalone" switches as NORMAL while
  // none is connected (OVS's fail-open), "secure" keeps to its flows.
  std::string fail_mode = "standalone";
};

// A [[bridge]]'s flows as written, before they are parsed against its
// ports. A database bridge's (a [[bridge]] with a name and flows but no
// ports, when `ovsdb` is set) stay like this: the database says which
// ports there are, so they are parsed against each database snapshot.
struct BridgeFlowText {
  std::string bridge;
  std::optional<std::string> flows_file;  // resolved path
  std::string flows_file_text;
  std::vector<std::pair<std::string, flowtable::SourcePos>> lines;  // inline `flow` strings
  flowtable::SourcePos pos;
};

struct PollThreadSpec {
  std::optional<int> cpu;
  std::vector<std::string> bridges;  // empty: every bridge no other thread names
};

struct Config {
  std::string file;
  std::string control_socket = "/run/sockswitch/sockswitch.sock";
  std::string log_level = "info";
  std::vector<PollThreadSpec> poll_threads;  // empty: one thread for every bridge
  std::vector<BridgeConfig> bridges;
  // The Open vSwitch database to take bridges from ("unix:PATH" or
  // "tcp:127.0.0.1:PORT"), and the flows the file gives its bridges.
  std::optional<std::string> ovsdb;
  std::vector<BridgeFlowText> database_flows;
  // OpenFlow management sockets `<ovs_rundir>/<bridge>.mgmt` (default
  // $OVS_RUNDIR or /var/run/openvswitch); `openflow = false`: none.
  std::optional<std::string> ovs_rundir;
  bool openflow = true;
  // The Prometheus endpoint (`metrics = false`: none), and how many flows
  // per bridge get series of their own.
  bool metrics = true;
  std::string metrics_address = "127.0.0.1:9477";
  std::size_t metrics_flow_series = 1000;
  // The connection tracker's bound (OVS's ct_max), for all bridges together.
  std::uint32_t ct_max = 3'000'000;
  // Where native WireGuard ports put their UAPI sockets (`wg` looks in
  // /var/run/wireguard); "" for none. Tests give each run its own.
  std::string wireguard_run_dir = "/var/run/wireguard";

  [[nodiscard]] const BridgeConfig* bridge(std::string_view name) const;
};

struct ConfigIssue {
  flowtable::SourcePos pos;
  std::string message;
};

class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<ConfigIssue> issues);
  [[nodiscard]] const std::vector<ConfigIssue>& issues() const noexcept { return issues_; }

 private:
  std::vector<ConfigIssue> issues_;
};

// The flows of `f` (the file's lines first), with ports named as `ports`
// says; FlowFile::errors lists the lines that do not parse.
[[nodiscard]] flowtable::FlowFile parse_flows(const BridgeFlowText& f, flowtable::PortMap& ports);

// Reads and validates; throws ConfigError listing every problem found.
[[nodiscard]] Config load_config(const std::string& path);
[[nodiscard]] Config parse_config(std::string_view text, const std::string& file_name);

}  // namespace sockswitch::control
