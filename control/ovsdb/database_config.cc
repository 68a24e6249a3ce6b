// control/ovsdb/database_config.cc: Bridge, Port and Interface rows to BridgeConfig and PortConfig.
#include "control/ovsdb/database_config.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "control/openflow/controller_target.h"
#include "control/ovsdb/datum.h"
#include "control/port_checks.h"
#include "control/port_option_text.h"
#include "dataplane/tx_batch.h"
#include "flowtable/flow_parser.h"

namespace sockswitch::control::ovsdb {
namespace {

using Row = Replica::Row;

const Json& column(const Row& row, const char* name) {
  static const Json kNull;
  const auto it = row.find(name);
  return it == row.end() ? kNull : *it;
}

std::string text(const Row& row, const char* name) {
  const Json& c = column(row, name);
  return c.is_string() ? c.get<std::string>() : "";
}

// The interface as a PortConfig, or the reason it cannot be one.
std::string interface_port(const Row& iface, const std::string& bridge, PortConfig& p) {
  const std::string type = text(iface, "type");
  const ports::PortDriver* d = ports::find_ovsdb_port_driver(type);
  if (d == nullptr)
    return fmt::format("interface type '{}' is not supported by sockswitch (it has {})", type,
                       ports::ovsdb_type_names());
  const std::string shown = type.empty() ? "system" : type;
  p.driver = std::string(d->name);
  p.origin = PortOrigin::database;
  p.pos = {"ovsdb Interface " + p.name, 0, 0};
  if (type == "internal" && p.name == bridge) {
    p.driver = "internal";  // the bridge's own port, OpenFlow LOCAL
    p.ofport = flowtable::kPortLocal;
  }
  // The options as the registry names them, read as `ctl add-port` reads
  // its own, then the same check of what the driver takes and needs.
  std::set<std::string> given;
  for (const auto& [key, value] : string_map(column(iface, "options"))) {
    ports::PortOption o{};
    if (!ports::parse_ovsdb_option_key(key, o) || !d->takes(o))
      return fmt::format("options:{} is not carried out by sockswitch for type '{}'", key, shown);
    try {
      set_port_option(p, o, "options:" + key, value);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    given.insert(std::string(ports::option_key(o)));
  }
  for (std::size_t i = 0; i <= static_cast<std::size_t>(ports::PortOption::wg_config); ++i) {
    const auto o = static_cast<ports::PortOption>(i);
    if (d->needs(o) && !given.count(std::string(ports::option_key(o))))
      return fmt::format("a {} interface needs options:{}", shown, ports::ovsdb_option_key(o));
  }
  // Tag, trunks and vlan_mode were resolved as ovs-vswitchd resolves them
  // (port_vlan): what it ignores is noted there, not refused here.
  PortConfig checked = p;
  checked.vlan = {};
  const std::vector<PortIssue> issues = check_port(checked, given);
  return issues.empty() ? "" : issues.front().message;
}

// Port settings without which the port would forward differently: refused.
std::string port_refusal(const Row& port, std::size_t interfaces) {
  if (interfaces > 1) return "bonds (a port of several interfaces) are not supported by sockswitch";
  if (optional_string(column(port, "vlan_mode")) == "dot1q-tunnel")
    return "vlan_mode dot1q-tunnel (802.1ad QinQ) is not carried out by sockswitch";
  return "";
}

// Port.tag, trunks and vlan_mode, resolved as ovs-vswitchd does: what it
// ignores with a warning is ignored here too, and said (`why`).
dataplane::VlanConfig port_vlan(const Row& port, std::string& why) {
  dataplane::VlanConfig v;
  if (const auto tag = optional_integer(column(port, "tag")); tag && *tag >= 0 && *tag <= 4095)
    v.tag = static_cast<std::uint16_t>(*tag);
  for (const std::int64_t t : integer_set(column(port, "trunks")))
    if (t >= 0 && t <= 4095) v.trunks.push_back(static_cast<std::uint16_t>(t));
  if (const auto mode = optional_string(column(port, "vlan_mode")))
    v.mode = dataplane::parse_vlan_mode(*mode);  // the schema allows no other value
  why = dataplane::vlan_config_error(v);
  return v;
}

// Port and bridge settings that only add to forwarding: noted.
void note_unsupported(const Row& row, std::initializer_list<const char*> sets,
                      std::initializer_list<const char*> flags,
                      std::map<std::string, std::string>& status) {
  for (const char* c : sets)
    if (!set_atoms(column(row, c)).empty()) status[c] = "not supported by sockswitch";
  for (const char* f : flags)
    if (boolean(column(row, f))) status[f] = "not supported by sockswitch";
}

std::string datapath_id(const Row& bridge, const std::string& name) {
  const auto other = string_map(column(bridge, "other_config"));
  if (const auto it = other.find("datapath-id"); it != other.end() && it->second.size() == 16)
    return it->second;
  return fmt::format("{:016x}", default_datapath_id(name));
}

}  // namespace

std::optional<std::uint32_t> DatabaseConfig::number(const Row& iface, const std::string& uuid,
                                                    const std::string& bridge_uuid,
                                                    OfportAllocator::Clock::time_point now) {
  OfportAllocator& alloc = allocators_[bridge_uuid];
  const std::optional<std::int64_t> request = optional_integer(column(iface, "ofport_request"));
  if (const auto it = numbers_.find(uuid); it != numbers_.end()) {
    if (it->second.bridge_uuid == bridge_uuid &&
        (!request || *request == std::int64_t{it->second.ofport}))
      return it->second.ofport;
    // Moved to another bridge, or asked for another number.
    if (auto a = allocators_.find(it->second.bridge_uuid); a != allocators_.end())
      a->second.release(it->second.ofport, now);
    numbers_.erase(it);
  }
  std::optional<std::uint32_t> n;
  if (request && *request > 0 && *request < OfportAllocator::kMax)
    n = alloc.take(static_cast<std::uint32_t>(*request));
  const std::optional<std::int64_t> had = optional_integer(column(iface, "ofport"));
  if (!n && !request && had && *had > 0 && *had < OfportAllocator::kMax)
    n = alloc.take(static_cast<std::uint32_t>(*had));  // ours before a restart
  if (!n) n = alloc.allocate(now);
  if (n) numbers_[uuid] = {bridge_uuid, *n};
  return n;
}

DatabaseSnapshot DatabaseConfig::build(const Replica& db, const Config& file, const Config& running,
                                       OfportAllocator::Clock::time_point now) {
  DatabaseSnapshot out;
  out.wanted = file;
  out.wanted.database_flows.clear();
  const Replica::Table& roots = db.table("Open_vSwitch");
  if (roots.empty()) return out;
  out.root_uuid = roots.begin()->first;
  const Row& root = roots.begin()->second;
  out.next_cfg = optional_integer(column(root, "next_cfg"));
  if (const auto o = string_map(column(root, "other_config"));
      o.count("flow-restore-wait") && o.at("flow-restore-wait") == "true")
    out.notes.push_back(
        "other_config:flow-restore-wait is not carried out: sockswitch has no OpenFlow channel for "
        "ovs-ofctl to restore flows through, so bridges get their flows as usual");

  std::set<std::string> port_names;
  for (const BridgeConfig& b : file.bridges)
    for (const PortConfig& p : b.ports)
      port_names.insert(p.name);
  const bool catch_all_thread =
      file.poll_threads.empty() ||
      std::any_of(file.poll_threads.begin(), file.poll_threads.end(),
                  [](const PollThreadSpec& t) { return t.bridges.empty(); });
  std::set<std::string> live_bridges;

  for (const std::string& bridge_uuid : uuid_set(column(root, "bridges"))) {
    const Row* bridge_row = db.row("Bridge", bridge_uuid);
    if (!bridge_row) continue;
    live_bridges.insert(bridge_uuid);
    BridgeOutcome bo;
    bo.uuid = bridge_uuid;
    bo.name = text(*bridge_row, "name");
    bo.datapath_id = datapath_id(*bridge_row, bo.name);
    const std::string dp_type = text(*bridge_row, "datapath_type");
    if (out.wanted.bridge(bo.name))
      bo.error =
          fmt::format("bridge {} is configured in {}: one source per bridge", bo.name, file.file);
    else if (dp_type != "" && dp_type != "system" && dp_type != "netdev")
      bo.error =
          fmt::format("datapath_type '{}' is not one sockswitch has (system, netdev)", dp_type);
    else if (out.wanted.bridges.size() >= dataplane::TxBatch::kMaxBridges)
      bo.error = fmt::format("sockswitch runs at most {} bridges", dataplane::TxBatch::kMaxBridges);
    else if (!catch_all_thread)
      bo.error = "no poll thread serves it: add a [[poll_thread]] without 'bridges' to the file";
    note_unsupported(*bridge_row,
                     {"mirrors", "netflow", "sflow", "ipfix", "flow_tables", "protocols"},
                     {"stp_enable", "rstp_enable", "mcast_snooping_enable"}, bo.status);
    // Passive targets (ptcp:, punix:) become listeners, active ones
    // (tcp:, unix:) connections the switch keeps, as with the file's.
    std::vector<std::string> targets;
    bool active = false;
    for (const std::string& cu : uuid_set(column(*bridge_row, "controller"))) {
      const Row* crow = db.row("Controller", cu);
      const std::string target = crow ? text(*crow, "target") : "";
      ControllerOutcome co{cu, bo.name, target, ""};
      try {
        active |= openflow::parse_controller_target(target).active();
        targets.push_back(target);
      } catch (const std::invalid_argument& e) {
        co.error = e.what();
        bo.status["controller"] = e.what();
      }
      out.controllers.push_back(std::move(co));
    }

    BridgeConfig bc;
    bc.name = bo.name;
    bc.from_database = true;
    bc.pos = {"ovsdb Bridge " + bo.name, 0, 0};
    const std::string fail_mode =
        text(*bridge_row, "fail_mode") == "secure" ? "secure" : "standalone";
    bc.flows_basis = fail_mode + (active ? ",controllers" : "");
    bc.controllers = targets;
    const auto other = string_map(column(*bridge_row, "other_config"));
    for (const auto& [key, value] : other) {
      try {
        if (key == "mac-aging-time")
          bc.mac_aging_seconds =
              static_cast<std::uint32_t>(std::clamp(std::stol(value), 1L, 1'000'000L));
        else if (key == "mac-table-size")
          bc.mac_table_size =
              static_cast<std::uint32_t>(std::clamp(std::stol(value), 16L, 1L << 22));
        else if (key != "datapath-id")
          bo.status["other_config:" + key] = "not supported by sockswitch";
      } catch (const std::exception&) {
        bo.status["other_config:" + key] = "not a number";
      }
    }

    for (const std::string& port_uuid : uuid_set(column(*bridge_row, "ports"))) {
      const Row* port_row = db.row("Port", port_uuid);
      if (!port_row) continue;
      const auto iface_uuids = uuid_set(column(*port_row, "interfaces"));
      const std::string refusal = port_refusal(*port_row, iface_uuids.size());
      std::map<std::string, std::string> port_status;
      note_unsupported(*port_row, {"qos"}, {}, port_status);
      for (const std::string& iface_uuid : iface_uuids) {
        const Row* iface = db.row("Interface", iface_uuid);
        if (!iface) continue;
        InterfaceOutcome io;
        io.uuid = iface_uuid;
        io.bridge = bo.name;
        io.name = text(*iface, "name");
        io.status = port_status;
        if (const auto mtu = optional_integer(column(*iface, "mtu_request")); mtu && *mtu >= 68)
          io.mtu_request = static_cast<std::uint32_t>(std::min<std::int64_t>(*mtu, 65535));
        PortConfig pc;
        pc.name = io.name;
        std::string vlan_ignored;
        pc.vlan = port_vlan(*port_row, vlan_ignored);
        if (!vlan_ignored.empty()) {
          io.status["vlan"] = vlan_ignored + " (as Open vSwitch does)";
          out.notes.push_back(
              fmt::format("port {}: {} (as Open vSwitch does)", io.name, vlan_ignored));
        }
        io.error = !bo.error.empty()  ? "its bridge is not configured: " + bo.error
                   : !refusal.empty() ? refusal
                                      : interface_port(*iface, bo.name, pc);
        if (io.error.empty() && !port_names.insert(io.name).second)
          io.error = fmt::format("a port named {} is already on another bridge", io.name);
        if (io.error.empty() && bc.ports.size() >= dataplane::TxBatch::kMaxPortsPerBridge)
          io.error = fmt::format("bridge {} already has {} ports, the most one bridge holds",
                                 bo.name, bc.ports.size());
        if (io.error.empty() && pc.ofport != flowtable::kPortLocal) {
          if (const auto n = number(*iface, iface_uuid, bridge_uuid, now))
            pc.ofport = flowtable::PortNo{*n};
          else
            io.error = "no free OpenFlow port number";
        }
        if (io.error.empty()) {
          io.ofport = flowtable::to_u32(pc.ofport);
          bc.ports.push_back(std::move(pc));
        }
        out.interfaces.push_back(std::move(io));
      }
    }
    // In number order (the Bridge row's set is in UUID order), LOCAL last.
    std::stable_sort(bc.ports.begin(), bc.ports.end(),
                     [](const PortConfig& a, const PortConfig& b) {
                       return flowtable::to_u32(a.ofport) < flowtable::to_u32(b.ofport);
                     });
    if (bo.error.empty()) out.wanted.bridges.push_back(std::move(bc));
    out.bridges.push_back(std::move(bo));
  }

  // A patch interface whose peer is not a patch interface naming it back
  // cannot be paired: both stay out.
  std::map<std::string, PortConfig*> patches;
  for (BridgeConfig& b : out.wanted.bridges)
    for (PortConfig& p : b.ports)
      if (b.from_database && port_driver(p).takes(ports::PortOption::peer)) patches[p.name] = &p;
  std::set<std::string> unpaired;
  for (const auto& [name, p] : patches) {
    const auto peer = patches.find(*p->peer);
    if (peer == patches.end() || peer->second->peer != name) unpaired.insert(name);
  }
  for (InterfaceOutcome& io : out.interfaces)
    if (unpaired.count(io.name)) {
      io.error = "its options:peer is not a patch interface whose peer is this one";
      io.ofport.reset();
    }

  // Numbers, port maps and flows of the database bridges.
  for (BridgeConfig& b : out.wanted.bridges) {
    if (!b.from_database) continue;
    std::erase_if(b.ports, [&](const PortConfig& p) { return unpaired.count(p.name) > 0; });
    for (const PortConfig& p : b.ports)
      if (p.ofport != flowtable::kPortLocal) b.port_map.add(p.name, p.ofport);
    const auto given = std::find_if(file.database_flows.begin(), file.database_flows.end(),
                                    [&](const BridgeFlowText& f) { return f.bridge == b.name; });
    if (given != file.database_flows.end()) {
      flowtable::FlowFile parsed = parse_flows(*given, b.port_map);
      if (parsed.errors.empty()) {
        b.flows = std::move(parsed.flows);
      } else {
        for (const flowtable::FlowError& e : parsed.errors)
          out.notes.push_back(fmt::format("bridge {}: {}{}; its flows stay as they are", b.name,
                                          e.what(),
                                          e.token().empty() ? "" : " (at '" + e.token() + "')"));
        if (const BridgeConfig* was = running.bridge(b.name)) {
          b.flows = was->flows;
          b.flows_basis = was->flows_basis;
        }
      }
    } else if (b.flows_basis == "standalone") {
      // OVS's flow for a standalone bridge no controller drives: a learning
      // switch (with controllers it is theirs to set; it fails open meanwhile).
      flowtable::PortMap none;
      b.flows.push_back({flowtable::parse_flow("priority=0,actions=NORMAL", none,
                                               flowtable::FlowSyntax::add, b.pos),
                         b.pos, "priority=0,actions=NORMAL"});
    }
  }

  // Rows that went: their numbers rest for an hour; bridges that went
  // take their allocators with them, as OVS's ofprotos do.
  std::set<std::string> numbered;
  for (const InterfaceOutcome& io : out.interfaces)
    if (io.ofport) numbered.insert(io.uuid);
  for (auto it = numbers_.begin(); it != numbers_.end();) {
    if (numbered.count(it->first)) {
      ++it;
      continue;
    }
    if (auto a = allocators_.find(it->second.bridge_uuid); a != allocators_.end())
      a->second.release(it->second.ofport, now);
    it = numbers_.erase(it);
  }
  std::erase_if(allocators_, [&](const auto& a) { return !live_bridges.count(a.first); });
  return out;
}

}  // namespace sockswitch::control::ovsdb
