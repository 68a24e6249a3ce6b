// dataplane/action_executor.cc: action semantics, output batching, NORMAL.
#include "dataplane/action_executor.h"

#include <algorithm>
#include <cstring>

#include "dataplane/flow_extractor.h"
#include "dataplane/header_rewrite.h"
#include "flowtable/subfield.h"
#include "packet/frame_copy.h"
#include "packet/mac_addr.h"

namespace sockswitch::dataplane {

using packet::copy_frame_bytes;
using packet::MacAddr;
using packet::Packet;

using flowtable::Action;
using flowtable::ActionKind;
using flowtable::FieldId;
using flowtable::PortNo;

void ActionExecutor::run_actions(const BridgeSnapshot& bridge,
                                 const flowtable::ClassifierRule& rule, Packet* p,
                                 flowtable::FlowKey& key, std::chrono::seconds now) noexcept {
  PacketRun r{&bridge, p, &key, now, bridge.index(p->in_port())};
  r.flow = &rule.flow;
  execute(r, rule.flow.actions, rule.flow.table, 0);
  finish(r);
}

void ActionExecutor::finish(PacketRun& r) noexcept {
  const bool real = trace_ == nullptr || trace_->live();
  if (r.pending != kNoPortIndex && !r.dead) {
    transmit(*r.bridge, r.pending, r.packet);
    forwarded_ += real;
    return;
  }
  // A packet whose copies went out and whose actions ended with a rewrite
  // (output:p1,mod_nw_dst:...) was forwarded, not dropped.
  if (r.sent && !r.dead) {
    forwarded_ += real;
  } else if (!r.counted) {
    drop(r.reason);
  }
  pool_.free(r.packet);
}

void ActionExecutor::transmit(const BridgeSnapshot& bridge, std::int16_t slot, Packet* p) noexcept {
  const BridgePort& port = bridge.ports[std::size_t(slot)];
  if (trace_ == nullptr) [[likely]] {
    tx_.enqueue(bridge.bridge_index, slot, port, p);
    return;
  }
  TraceEvent e{.kind = TraceEvent::Kind::output, .port = port.no};
  (void)extract_flow(*p, e.key);
  note(e);
  if (trace_->live())
    tx_.enqueue(bridge.bridge_index, slot, port, p);
  else
    pool_.free(p);
}

void ActionExecutor::drop(Drop reason) noexcept {
  stats_.drop(reason);
  if (trace_ != nullptr) [[unlikely]]
    note({.kind = TraceEvent::Kind::dropped, .reason = reason});
}

void ActionExecutor::trace(const BridgeSnapshot& bridge, Packet* p, flowtable::FlowKey& key,
                           std::chrono::seconds now, TraceLog& log) noexcept {
  trace_ = &log;
  begin_burst();
  PacketRun r{&bridge, p, &key, now, bridge.index(p->in_port())};
  static constexpr flowtable::Action kNormal{flowtable::ActionKind::normal};
  if (bridge.fail_open) {
    execute(r, std::span(&kNormal, 1), 0, 0);
  } else {
    // Table 0 as Pipeline::decide_uncached looks it up (its caches hold
    // only what this lookup returns).
    flowtable::FlowMask consulted;
    const flowtable::ClassifierRule* rule = bridge.flows->lookup(0, key, consulted);
    note({.kind = TraceEvent::Kind::lookup, .rule = rule, .key = key});
    if (rule != nullptr) {
      if (log.live()) rule->counters->count(thread_, 1, p->length());
      r.flow = &rule->flow;
      execute(r, rule->flow.actions, rule->flow.table, 0);
    } else {
      if (bridge.miss_to_controller) {
        note({.kind = TraceEvent::Kind::controller, .key = key});
        if (log.live() && !punt_frame(bridge, *p, 0xffff, 0, 0, 0, true)) {
          lose_copy(r, Drop::controller_queue);
        }
      }
      r.reason = Drop::no_match;
    }
  }
  finish(r);
  trace_ = nullptr;
}

void ActionExecutor::run_list(const BridgeSnapshot& bridge,
                              std::span<const flowtable::Action> actions, Packet* p,
                              flowtable::FlowKey& key, std::chrono::seconds now) noexcept {
  PacketRun r{&bridge, p, &key, now, bridge.index(p->in_port())};
  execute(r, actions, 0, 0);
  finish(r);
}

void ActionExecutor::punt(PacketRun& r, std::uint16_t max_len) noexcept {
  if (r.wire_tci >= 0) settle_pending(r);  // the controller sees the frame as it came
  if (trace_ != nullptr) [[unlikely]] {
    note({.kind = TraceEvent::Kind::controller, .key = *r.key});
    if (!trace_->live()) return;
  }
  // A table-miss flow (priority 0, matching everything) reports no match,
  // as OpenFlow 1.3 has it.
  const flowtable::FlowRule* f = r.flow;
  const std::uint8_t reason = f && f->priority == 0 && f->match.mask.empty() ? 0 : 1;
  if (!punt_frame(*r.bridge, *r.packet, max_len, f ? f->cookie : 0, f ? f->table : 0, reason,
                  false))
    lose_copy(r, Drop::controller_queue);
}

bool ActionExecutor::punt_frame(const BridgeSnapshot& bridge, const Packet& p,
                                std::uint16_t max_len, std::uint64_t cookie, std::uint8_t table,
                                std::uint8_t reason, bool miss) noexcept {
  ControllerQueues* q = bridge.controller;
  PuntedPacket* slot = q != nullptr ? q->punts.slot() : nullptr;
  if (slot == nullptr) return false;
  const std::size_t n = std::min<std::size_t>({p.length(), max_len, slot->data.size()});
  std::memcpy(slot->data.data(), p.data(), n);
  slot->len = static_cast<std::uint16_t>(n);
  slot->total_len = static_cast<std::uint16_t>(std::min<std::uint32_t>(p.length(), 0xffff));
  slot->in_port = flowtable::to_u32(p.in_port());
  slot->cookie = cookie;
  slot->table = table;
  slot->reason = reason;
  slot->miss = miss;
  if (q->punts.push()) q->signal_punt();
  return true;
}

void ActionExecutor::execute(PacketRun& r, std::span<const flowtable::Action> actions,
                             std::uint8_t table, int depth) noexcept {
  for (const Action& a : actions) {
    if (r.dead) return;
    if (trace_ != nullptr) [[unlikely]]
      note({.kind = TraceEvent::Kind::action,
            .table = table,
            .depth = static_cast<std::uint8_t>(depth),
            .action = &a});
    switch (a.kind) {
      case ActionKind::output:
        output_port(r, a.port);
        break;
      case ActionKind::normal:
        normal(r);
        break;
      case ActionKind::flood:
        flood(r, true);
        break;
      case ActionKind::all:
        flood(r, false);
        break;
      case ActionKind::in_port:
        output(r, r.in_slot);  // the one output allowed to go back where it came from
        break;
      case ActionKind::local:
        output_port(r, flowtable::kPortLocal);
        break;
      case ActionKind::controller:
        punt(r, a.max_len);  // a copy: a pending output keeps the packet
        r.reason = Drop::controller;
        break;
      case ActionKind::resubmit: {
        // resubmit(PORT,...) looks up as if the packet came from PORT; only
        // the key changes, and only for that lookup.
        const auto saved_key = r.key->get(FieldId::in_port);
        if (a.port != flowtable::kPortInPort) r.key->set(FieldId::in_port, to_u32(a.port));
        lookup_and_execute(r, a.table == flowtable::kAllTables ? table : a.table, depth + 1);
        r.key->set(FieldId::in_port, saved_key);
        break;
      }
      case ActionKind::goto_table:
        lookup_and_execute(r, a.table, depth + 1);
        return;  // goto_table is always last
      case ActionKind::ct:
        conntrack(r, a, depth == 0 && &a == &actions.back(), depth);
        break;
      case ActionKind::ct_clear:
        set_ct_fields(*r.key, {}, 0);
        if (trace_ != nullptr) [[unlikely]]
          note({.kind = TraceEvent::Kind::changed, .key = *r.key});
        break;
      case ActionKind::load:
      case ActionKind::move:
        load_bits(r, a);
        if (trace_ != nullptr) [[unlikely]]
          note({.kind = TraceEvent::Kind::changed, .key = *r.key});
        break;
      case ActionKind::meter:
        if (!metered(r, static_cast<std::uint32_t>(a.value.lo))) {
          r.dead = true;
          r.reason = Drop::meter;
          return;
        }
        break;
      default:
        // Every remaining kind edits headers; a pending output must see the
        // packet as it was before the edit.
        settle_pending(r);
        if (!apply_rewrite(a, *r.packet, *r.key)) {
          r.dead = true;
          r.reason = a.kind == ActionKind::dec_ttl ? Drop::ttl_expired : Drop::bad_edit;
        } else if (trace_ != nullptr) [[unlikely]] {
          note({.kind = TraceEvent::Kind::changed, .key = *r.key});
        }
        break;
    }
  }
}

void ActionExecutor::lookup_and_execute(PacketRun& r, std::uint8_t table, int depth) noexcept {
  if (depth > kMaxResubmitDepth) {
    r.dead = true;
    r.reason = Drop::resubmit_depth;
    return;
  }
  if (++r.lookups > kMaxResubmitsPerPacket) {
    r.dead = true;
    r.reason = Drop::resubmit_total;
    return;
  }
  const flowtable::ClassifierRule* rule = lookup_later(*r.bridge, table, *r.key);
  if (trace_ != nullptr) [[unlikely]]
    note({.kind = TraceEvent::Kind::lookup,
          .table = table,
          .depth = static_cast<std::uint8_t>(depth),
          .rule = rule,
          .key = *r.key});
  if (rule == nullptr) {
    if (r.pending == kNoPortIndex) r.reason = Drop::no_match;
    return;
  }
  if (trace_ == nullptr || trace_->live()) [[likely]]
    rule->counters->count(thread_, 1, r.packet->length());
  const flowtable::FlowRule* caller = r.flow;
  r.flow = &rule->flow;
  execute(r, rule->flow.actions, table, depth);
  r.flow = caller;
}

const flowtable::ClassifierRule* ActionExecutor::lookup_later(
    const BridgeSnapshot& bridge, std::uint8_t table, const flowtable::FlowKey& key) noexcept {
  std::size_t extent = flowtable::kKeyWords;
  while (extent > 0 && key.w[extent - 1] == 0)
    --extent;
  const std::uint64_t hash =
      hash_key_prefix(key, extent) ^
      finish_hash((bridge.generation << 16 | std::uint64_t{bridge.bridge_index} << 8 | table) *
                  0x9e3779b97f4a7c15ULL);
  TableDecision* hit = later_tables_->lookup(key, hash, extent);
  if (hit != nullptr && hit->generation == bridge.generation &&
      hit->bridge == bridge.bridge_index && hit->table == table)
    return hit->rule;
  flowtable::FlowMask consulted;
  const TableDecision fresh{bridge.generation, bridge.flows->lookup(table, key, consulted),
                            bridge.bridge_index, table};
  if (hit != nullptr) {
    *hit = fresh;  // the same key in another table or snapshot: this slot is its
  } else {
    later_tables_->insert(key, hash, fresh, extent);
  }
  return fresh.rule;
}

void ActionExecutor::output_port(PacketRun& r, PortNo port) noexcept {
  const std::int16_t slot = r.bridge->index(port);
  if (slot == kNoPortIndex || slot == r.in_slot) {
    // OpenFlow: output to the ingress port needs in_port
    r.reason = slot == kNoPortIndex ? Drop::port_unknown : Drop::reflect;
    if (trace_ != nullptr) [[unlikely]]
      note({.kind = TraceEvent::Kind::refused, .reason = r.reason, .port = port});
    return;
  }
  output(r, slot);
}

void ActionExecutor::output(PacketRun& r, std::int16_t slot) noexcept {
  if (slot == kNoPortIndex) return;
  settle_pending(r);
  r.pending = slot;
}

// Sends a copy of the packet to the pending output, if there is one, so the
// packet stays free for what follows.
void ActionExecutor::send_pending(PacketRun& r) noexcept {
  if (r.pending == kNoPortIndex) return;
  if (Packet* c = copy(*r.packet)) {
    transmit(*r.bridge, r.pending, c);
    r.sent = true;
  } else {
    lose_copy(r, Drop::no_buffer);
  }
  r.pending = kNoPortIndex;
}

void ActionExecutor::settle_pending(PacketRun& r) noexcept {
  send_pending(r);
  if (r.wire_tci < 0) return;
  const std::uint64_t tci = r.key->get(FieldId::vlan_tci);
  const auto as_keyed = static_cast<std::uint16_t>(tci & flowtable::kVlanCfi ? tci & 0xefff : 0);
  if (!set_outer_tci(*r.packet, as_keyed)) {
    r.dead = true;  // cannot happen: removing what NORMAL pushed frees the room it took
    r.reason = Drop::bad_edit;
  }
  r.wire_tci = -1;
}

void ActionExecutor::flood(PacketRun& r, bool honour_no_flood) noexcept {
  const auto& ports = r.bridge->ports;
  for (std::size_t i = 0; i < ports.size(); ++i) {
    if (std::int16_t(i) == r.in_slot || (honour_no_flood && ports[i].no_flood)) continue;
    output(r, static_cast<std::int16_t>(i));
  }
}

void ActionExecutor::set_ct_fields(flowtable::FlowKey& key, CtVerdict v,
                                   std::uint16_t zone) noexcept {
  key.set(FieldId::ct_state, v.state);
  key.set(FieldId::ct_zone, zone);
  key.set(FieldId::ct_mark, v.mark);
}

// OVS's ct(table=N) forks: a copy continues in table N with the ct fields
// filled in, the original continues untracked with what follows ct(). When
// nothing follows (the action ends the flow's top-level list), the packet
// itself goes on and nothing is copied.
void ActionExecutor::conntrack(PacketRun& r, const Action& a, bool last, int depth) noexcept {
  CtVerdict v{flowtable::kCtStateTracked | flowtable::kCtStateInvalid};
  if (Conntrack* ct = r.bridge->conntrack) v = ct->track(*r.packet, *r.key, a, r.now);
  if (trace_ != nullptr) [[unlikely]] {
    TraceEvent e{.kind = TraceEvent::Kind::conntrack, .key = *r.key};
    set_ct_fields(e.key, v, a.zone);
    note(e);
  }
  if (a.table == flowtable::kCtNoTable) return;  // only the lookup ct() starts sees the state
  if (last) {
    set_ct_fields(*r.key, v, a.zone);
    lookup_and_execute(r, a.table, depth + 1);
    return;
  }
  if (r.wire_tci >= 0) settle_pending(r);
  Packet* c = copy(*r.packet);
  if (c == nullptr) {
    drop(Drop::no_buffer);
    return;
  }
  flowtable::FlowKey key = *r.key;
  set_ct_fields(key, v, a.zone);
  PacketRun fork{r.bridge, c, &key, r.now, r.in_slot};
  fork.flow = r.flow;
  fork.lookups = r.lookups;
  lookup_and_execute(fork, a.table, depth + 1);
  r.lookups = fork.lookups;
  finish(fork);
}

// Registers and metadata live in the key alone; a header field is written
// whole (its other bits as they are) through the set_field rewrite, which
// fixes the checksums.
void ActionExecutor::load_bits(PacketRun& r, const Action& a) noexcept {
  const std::uint64_t next = flowtable::value_after(a, *r.key);
  if (a.field == FieldId::metadata || (a.field >= FieldId::reg0 && a.field <= FieldId::reg7)) {
    r.key->set(a.field, next);
    return;
  }
  settle_pending(r);
  Action whole;
  whole.kind = ActionKind::set_field;
  whole.field = a.field;
  whole.value.lo = next;
  if (!apply_rewrite(whole, *r.packet, *r.key)) {
    r.dead = true;
    r.reason = Drop::bad_edit;
  }
}

bool ActionExecutor::metered(PacketRun& r, std::uint32_t id) noexcept {
  if (trace_ != nullptr && !trace_->live()) [[unlikely]] {
    note({.kind = TraceEvent::Kind::meter, .meter = id});
    return true;
  }
  MeterState* m = r.bridge->meters->find(id);
  if (m == nullptr) return true;  // deleted meters take their flows with them: a moment's race
  if (now_ns_ == 0) now_ns_ = monotonic_ns();
  const bool admitted = m->admit(r.packet->length(), now_ns_);
  if (trace_ != nullptr) [[unlikely]]
    note({.kind = TraceEvent::Kind::meter, .meter = id, .applied = true, .over = !admitted});
  return admitted;
}

std::int16_t ActionExecutor::learn_and_find(PacketRun& r, VlanId vlan) noexcept {
  const flowtable::FlowKey& k = *r.key;
  MacLearningTable& mac = *r.bridge->mac;
  mac.learn(MacAddr::from_u64(k.get(FieldId::eth_src)), vlan, r.packet->in_port(), r.now);
  const MacAddr dst = MacAddr::from_u64(k.get(FieldId::eth_dst));
  const auto port = dst.is_multicast() ? std::optional<PortNo>{} : mac.lookup(dst, vlan, r.now);
  if (trace_ != nullptr) [[unlikely]] {
    TraceEvent e{.kind = TraceEvent::Kind::normal, .port = port.value_or(flowtable::kPortNone)};
    e.key.set(FieldId::vlan_tci, static_cast<std::uint16_t>(vlan));
    note(e);
  }
  return port ? r.bridge->index(*port) : kNoPortIndex;
}

void ActionExecutor::normal(PacketRun& r) noexcept {
  if (r.bridge->vlans) {
    normal_in_vlans(r);
    return;
  }
  const std::uint64_t tci = r.key->get(FieldId::vlan_tci);
  const VlanId vlan{static_cast<std::uint16_t>(tci & flowtable::kVlanCfi ? tci & 0x0fff : 0)};
  const std::int16_t slot = learn_and_find(r, vlan);
  if (slot != kNoPortIndex && slot == r.in_slot) {
    r.reason = Drop::reflect;  // the destination lives where the packet came from
    return;
  }
  if (slot != kNoPortIndex) {
    output(r, slot);
    return;
  }
  flood(r, true);
}

// NORMAL with VLAN settings: the frame is in the VLAN its ingress port
// gives it, learned and looked up there, and sent only to ports that carry
// that VLAN, each with the tag that port wants.
void ActionExecutor::normal_in_vlans(PacketRun& r) noexcept {
  const std::uint64_t tci = r.key->get(FieldId::vlan_tci);
  const bool tagged = (tci & flowtable::kVlanCfi) != 0;
  const auto vid = static_cast<std::uint16_t>(tagged ? tci & 0x0fff : 0);
  const auto pcp = static_cast<std::uint16_t>(tagged ? tci & 0xe000 : 0);
  const auto& ports = r.bridge->ports;
  // A frame from no port (PACKET_OUT) is in the VLAN its tag names, as in OVS.
  const int in_vlan =
      r.in_slot == kNoPortIndex ? vid : ports[std::size_t(r.in_slot)].vlan.input_vlan(vid);
  if (in_vlan < 0) {
    r.reason = Drop::vlan;
    return;
  }
  const auto vlan = static_cast<std::uint16_t>(in_vlan);
  const std::int16_t slot = learn_and_find(r, VlanId{vlan});
  if (slot != kNoPortIndex && slot == r.in_slot) {
    r.reason = Drop::reflect;
    return;
  }
  // One learned before the port's VLANs changed floods within the VLAN instead.
  if (slot != kNoPortIndex && ports[std::size_t(slot)].vlan.carries(vlan)) {
    output_tagged(r, slot, ports[std::size_t(slot)].vlan.output_tci(vlan, pcp));
    return;
  }
  for (std::size_t i = 0; i < ports.size(); ++i) {
    const BridgePort& out = ports[i];
    if (std::int16_t(i) == r.in_slot || out.no_flood || !out.vlan.carries(vlan)) continue;
    output_tagged(r, static_cast<std::int16_t>(i), out.vlan.output_tci(vlan, pcp));
  }
}

void ActionExecutor::output_tagged(PacketRun& r, std::int16_t slot, std::uint16_t tci) noexcept {
  send_pending(r);  // the previous output takes the frame tagged as it is now
  std::int32_t now = r.wire_tci;
  if (now < 0) {
    const std::uint64_t key_tci = r.key->get(FieldId::vlan_tci);
    now = key_tci & flowtable::kVlanCfi ? std::int32_t(key_tci & 0xefff) : 0;
  }
  if (now != tci) {
    if (!set_outer_tci(*r.packet, tci)) {
      lose_copy(r, Drop::bad_edit);  // no headroom for the tag: this port goes without
      return;
    }
    r.wire_tci = tci;
  }
  r.pending = slot;
}

Packet* ActionExecutor::copy(const Packet& p) noexcept {
  Packet* c = p.is_gso() ? pool_.alloc_large() : pool_.alloc();
  if (c == nullptr) return nullptr;
  c->reset(p.headroom());
  std::uint8_t* dst = c->append(p.length());
  if (dst == nullptr) {
    pool_.free(c);
    return nullptr;
  }
  copy_frame_bytes(dst, p.data(), p.length());
  c->set_in_port(p.in_port());
  c->set_gso(p.gso());
  return c;
}

}  // namespace sockswitch::dataplane
