// control/flow_trace.cc: a traced run of the executor and its two renderings.
#include "control/flow_trace.h"

#include <chrono>

#include <fmt/format.h>

#include "control/trace_frame.h"
#include "dataplane/action_executor.h"
#include "flowtable/flow_parser.h"
#include "flowtable/flow_printer.h"
#include "packet/packet_pool.h"

namespace sockswitch::control {
namespace {

using namespace sockswitch::flowtable;
using dataplane::TraceEvent;
using Kind = dataplane::TraceEvent::Kind;

std::chrono::seconds monotonic_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::steady_clock::now().time_since_epoch());
}

// A key as ovs-ofctl would describe the packet: its header fields that are
// not zero (the protocol always).
std::string packet_text(const FlowKey& key, const PortMap& ports) {
  FlowRule r;
  r.priority = kDefaultPriority;
  for (const FieldLayout& l : kFieldLayouts) {
    if (is_pipeline_field(l.id)) continue;
    if (l.bits == 128) {
      const Wide v = key.get_wide(l.id);
      if (v.hi || v.lo) r.match.set_wide_masked(l.id, v, {~0ULL, ~0ULL});
    } else if (key.get(l.id) != 0 || l.id == FieldId::eth_type) {
      r.match.set_exact(l.id, key.get(l.id));
    }
  }
  return format_match(r, ports);
}

// The fields that differ between two keys, as `field=value` pairs.
nlohmann::json changed_fields(const FlowKey& before, const FlowKey& after) {
  nlohmann::json j = nlohmann::json::object();
  for (const FieldLayout& l : kFieldLayouts) {
    if (l.bits == 128) {
      const Wide a = before.get_wide(l.id), b = after.get_wide(l.id);
      if (a != b) j[std::string(l.name)] = fmt::format("{:#x}{:016x}", b.hi, b.lo);
    } else if (before.get(l.id) != after.get(l.id)) {
      j[std::string(l.name)] = fmt::format("{:#x}", after.get(l.id));
    }
  }
  return j;
}

std::string port_text(PortNo port, const PortMap& ports) {
  return format_port(port, ports);
}

nlohmann::json lookup_json(const TraceEvent& e, const FlowTableVersion& flows,
                           const PortMap& ports) {
  nlohmann::json j;
  j["table"] = e.table;
  if (e.rule == nullptr) {
    j["priority"] = nullptr;
    j["match"] = nullptr;
    j["actions"] = nlohmann::json::array();
    j["cookie"] = nullptr;
    return j;
  }
  const FlowRule& flow = e.rule->flow;
  FlowRule match_only = flow;
  match_only.priority = kDefaultPriority;  // printed separately
  j["priority"] = flow.priority;
  j["match"] = format_match(match_only, ports);
  j["actions"] = nlohmann::json::array();
  for (const Action& a : flow.actions)
    j["actions"].push_back(format_action(a, ports));
  if (flow.actions.empty()) j["actions"].push_back("drop");
  j["cookie"] = fmt::format("{:#x}", flow.cookie);
  // Equal priorities that both match leave the choice to the classifier's
  // insertion order: the trace names the flows the winner beat.
  nlohmann::json tied = nlohmann::json::array();
  for (const ClassifierRule* other : flows.table(e.table).rules()) {
    if (other == e.rule || other->flow.priority != flow.priority) continue;
    if (!other->flow.match.matches(e.key)) continue;
    tied.push_back(format_flow(other->flow, ports));
  }
  if (!tied.empty()) j["tied_with"] = tied;
  return j;
}

std::string drop_text(dataplane::Drop reason) {
  const auto& d = dataplane::kDrops[static_cast<std::size_t>(reason)];
  return fmt::format("{} ({})", d.name, d.help);
}

}  // namespace

dataplane::BridgeSnapshot offline_snapshot(std::shared_ptr<const FlowTableVersion> flows,
                                           const PortMap& ports, dataplane::MacLearningTable& mac) {
  dataplane::BridgeSnapshot s;
  s.flows = std::move(flows);
  s.generation = 1;  // the executor's table cache treats 0 as "never filled"
  s.mac = &mac;
  for (const auto& [name, no] : ports.by_name()) {
    const std::uint32_t n = to_u32(no);
    if (s.index_of.size() <= n) s.index_of.resize(n + 1, dataplane::kNoPortIndex);
    s.index_of[n] = static_cast<std::int16_t>(s.ports.size());
    s.ports.push_back({.no = no});
  }
  return s;
}

TraceResult trace_packet(const dataplane::BridgeSnapshot& bridge, const Match& packet) {
  const TraceFrame frame = build_trace_frame(packet);
  // One frame and the copies its outputs take (a flood, a ct() fork).
  packet::PacketPool pool(256, packet::PacketPool::kDefaultBufferSize, packet::kDefaultHeadroom, 1);
  dataplane::TxBatch tx(pool);
  dataplane::ThreadStats stats;
  dataplane::ActionExecutor executor(0, pool, tx, stats);
  packet::Packet* p = pool.alloc();
  std::uint8_t* at = p->append(static_cast<std::uint32_t>(frame.bytes.size()));
  std::copy(frame.bytes.begin(), frame.bytes.end(), at);
  p->set_in_port(PortNo{static_cast<std::uint32_t>(frame.key.get(FieldId::in_port))});

  TraceResult result{frame.key, {}, false};
  dataplane::TraceLog log;
  FlowKey key = frame.key;
  executor.trace(bridge, p, key, monotonic_now(), log);
  result.events = log.events();
  result.truncated = log.truncated();
  return result;
}

nlohmann::json trace_json(const TraceResult& result, const FlowTableVersion& flows,
                          const PortMap& ports) {
  nlohmann::json j;
  nlohmann::json steps = nlohmann::json::array();
  nlohmann::json outputs = nlohmann::json::array();
  nlohmann::json resubmits = nlohmann::json::array();
  bool first_lookup = true;
  FlowKey now = result.packet;
  const TraceEvent* last_drop = nullptr;
  for (const TraceEvent& e : result.events) {
    nlohmann::json s;
    switch (e.kind) {
      case Kind::lookup: {
        s = lookup_json(e, flows, ports);
        s["depth"] = e.depth;
        nlohmann::json summary = lookup_json(e, flows, ports);
        if (first_lookup) {
          for (auto& [k, v] : summary.items())
            j[k] = v;
          first_lookup = false;
        } else {
          resubmits.push_back(summary);
        }
        now = e.key;
        break;
      }
      case Kind::action:
        s["action"] = e.action->kind == ActionKind::normal && e.rule == nullptr && first_lookup
                          ? "NORMAL (fail-open: the flow table is not consulted)"
                          : format_action(*e.action, ports);
        s["depth"] = e.depth;
        break;
      case Kind::changed:
        s["changed"] = changed_fields(now, e.key);
        now = e.key;
        if (s["changed"].empty()) continue;  // strip_vlan on an untagged frame
        break;
      case Kind::normal:
        s["normal"] = e.port == kPortNone ? "flood: destination not learned (or multicast)"
                                          : "learned on " + port_text(e.port, ports);
        s["vlan"] = e.key.get(FieldId::vlan_tci);
        break;
      case Kind::conntrack: {
        FlowRule r;
        // The flags it has, not the ones it lacks (+new+trk, not -est-rel-...).
        const std::uint64_t state = e.key.get(FieldId::ct_state);
        r.match.set_masked(FieldId::ct_state, state, state);
        for (FieldId f : {FieldId::ct_zone, FieldId::ct_mark})
          if (e.key.get(f) != 0) r.match.set_exact(f, e.key.get(f));
        s["ct"] = format_match(r, ports);
        if (!result.live)
          s["note"] = "as the first packet of a new connection: the trace has its own table";
        break;
      }
      case Kind::meter:
        s["meter"] = !e.applied ? fmt::format(
                                      "{}: not applied: a described packet would "
                                      "spend the live band",
                                      e.meter)
                     : e.over ? fmt::format("{}: over its rate", e.meter)
                              : fmt::format("{}: within its rate", e.meter);
        break;
      case Kind::controller:
        s["controller"] = "a copy to the OpenFlow clients (not sent by a trace)";
        break;
      case Kind::output: {
        nlohmann::json o;
        o["port"] = port_text(e.port, ports);
        o["packet"] = packet_text(e.key, ports);
        outputs.push_back(o);
        s["output"] = o;
        break;
      }
      case Kind::refused:
        s["refused"] = port_text(e.port, ports);
        s["reason"] = dataplane::kDrops[static_cast<std::size_t>(e.reason)].name;
        break;
      case Kind::dropped:
        s["dropped"] = dataplane::kDrops[static_cast<std::size_t>(e.reason)].name;
        last_drop = &e;
        break;
    }
    steps.push_back(s);
  }
  if (first_lookup) {  // fail-open: no lookup
    j["table"] = nullptr;
    j["priority"] = nullptr;
    j["match"] = nullptr;
    j["actions"] = nlohmann::json::array({"NORMAL"});
    j["cookie"] = nullptr;
  }
  if (!resubmits.empty()) j["resubmits"] = resubmits;
  j["steps"] = steps;
  j["outputs"] = outputs;
  // Outputs first; a packet that also died on the way (a copy went out
  // before dec_ttl killed the rest) says that as well.
  std::string verdict;
  for (const auto& o : outputs)
    verdict += (verdict.empty() ? "output:" : ",") + o["port"].get<std::string>();
  if (last_drop != nullptr)
    verdict += (verdict.empty() ? "drop: " : "; then drop: ") + drop_text(last_drop->reason);
  if (verdict.empty()) verdict = "drop: no output";
  j["verdict"] = verdict;
  if (result.truncated) j["truncated"] = true;
  j["packet"] = packet_text(result.packet, ports);
  const PortNo in_port{static_cast<std::uint32_t>(result.packet.get(FieldId::in_port))};
  if (in_port != kPortNone) j["in_port"] = port_text(in_port, ports);
  return j;
}

std::string trace_text(const TraceResult& result, const FlowTableVersion& flows,
                       const PortMap& ports) {
  const nlohmann::json j = trace_json(result, flows, ports);
  const PortNo in_port{static_cast<std::uint32_t>(result.packet.get(FieldId::in_port))};
  std::string out = fmt::format(
      "packet: {}{}\n", in_port == kPortNone ? "" : "in_port=" + port_text(in_port, ports) + ",",
      packet_text(result.packet, ports));
  int depth = 0;
  for (const nlohmann::json& s : j["steps"]) {
    if (s.contains("depth")) depth = s["depth"].get<int>();
    const std::string pad(2 * std::size_t(depth), ' ');
    if (s.contains("table")) {
      if (s["match"].is_null()) {
        out += fmt::format("{}table {}: no match\n", pad, s["table"].get<int>());
        continue;
      }
      std::string actions;
      for (const auto& a : s["actions"])
        actions += (actions.empty() ? "" : ",") + a.get<std::string>();
      const std::string match = s["match"].get<std::string>();
      out += fmt::format("{}table {}: priority={}{}{} actions={}\n", pad, s["table"].get<int>(),
                         s["priority"].get<int>(), match.empty() ? "" : ",", match, actions);
      if (s.contains("tied_with"))
        for (const auto& t : s["tied_with"])
          out += fmt::format("{}  (won a tie at equal priority over: {})\n", pad,
                             t.get<std::string>());
    } else if (s.contains("action")) {
      out += fmt::format("{}  {}\n", pad, s["action"].get<std::string>());
    } else if (s.contains("changed")) {
      std::string fields;
      for (const auto& [k, v] : s["changed"].items())
        fields += fmt::format("{}{}={}", fields.empty() ? "" : ",", k, v.get<std::string>());
      out += fmt::format("{}    -> {}\n", pad, fields);
    } else if (s.contains("normal")) {
      out += fmt::format("{}    NORMAL: {}\n", pad, s["normal"].get<std::string>());
    } else if (s.contains("ct")) {
      out += fmt::format("{}    ct: {}{}\n", pad, s["ct"].get<std::string>(),
                         s.contains("note") ? " (" + s["note"].get<std::string>() + ")" : "");
    } else if (s.contains("meter")) {
      out += fmt::format("{}    meter: {}\n", pad, s["meter"].get<std::string>());
    } else if (s.contains("controller")) {
      out += fmt::format("{}    controller: {}\n", pad, s["controller"].get<std::string>());
    } else if (s.contains("output")) {
      out += fmt::format("{}    => {}: {}\n", pad, s["output"]["port"].get<std::string>(),
                         s["output"]["packet"].get<std::string>());
    } else if (s.contains("refused")) {
      out += fmt::format("{}    output to {} refused: {}\n", pad, s["refused"].get<std::string>(),
                         s["reason"].get<std::string>());
    } else if (s.contains("dropped")) {
      out += fmt::format("{}    dropped: {}\n", pad, s["dropped"].get<std::string>());
    }
  }
  if (result.truncated) out += "(trace truncated: too many steps)\n";
  out += fmt::format("verdict: {}\n", j["verdict"].get<std::string>());
  return out;
}

std::string trace_report(const dataplane::BridgeSnapshot& bridge, std::string_view packet,
                         PortMap& ports, bool json) {
  const FlowRule p = parse_flow(packet, ports, FlowSyntax::packet, {"<packet>", 1, 1});
  const TraceResult result = trace_packet(bridge, p.match);
  return json ? trace_json(result, *bridge.flows, ports).dump() + "\n"
              : trace_text(result, *bridge.flows, ports);
}

}  // namespace sockswitch::control
