// flowtable/flow_printer.cc: FlowRule to the canonical `ovs-ofctl
// --no-stats dump-flows` text.
//
// The one promise this file keeps is parse_flow(format_flow(r)) == r. So
// each storage field prints through the view the parser would read back to
// the same bits (dl_vlan when the VLAN bits are a plain VID match, vlan_tci
// otherwise), in one fixed order, with defaults left out.
#include "flowtable/flow_printer.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <vector>

#include "flowtable/field_syntax.h"
#include "flowtable/match_parser.h"
#include "flowtable/subfield.h"
#include "flowtable/value_text.h"

namespace sockswitch::flowtable {
namespace {

std::uint64_t all_ones(FieldId f) noexcept {
  const unsigned bits = layout_of(f).bits;
  return bits >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
}

bool is_full(const Match& m, FieldId f) noexcept {
  return m.mask.get(f) == all_ones(f);
}

// Wider or bit-pattern fields print in hex, counts and ports in decimal, as OVS.
bool prints_hex(FieldId f) noexcept {
  switch (f) {
    case FieldId::eth_type:
    case FieldId::vlan_tci:
    case FieldId::ipv6_label:
    case FieldId::metadata:
    case FieldId::tcp_flags:
    case FieldId::ct_mark:
      return true;
    default:
      return f >= FieldId::reg0 && f <= FieldId::reg7;
  }
}

std::string number_text(FieldId f, std::uint64_t v) {
  return prints_hex(f) ? format_hex(v) : fmt::format("{}", v);
}

class MatchPrinter {
 public:
  MatchPrinter(const FlowRule& rule, const PortMap& ports)
      : rule_(rule), m_(rule.match), ports_(ports) {}

  std::string print() {
    if (rule_.priority != kDefaultPriority) add(fmt::format("priority={}", rule_.priority));
    flags("ct_state", FieldId::ct_state, ct_state_flag_names());
    number("ct_zone", FieldId::ct_zone);
    number("ct_mark", FieldId::ct_mark);
    const std::string late_type = protocol();
    // Registers, metadata, then in_port: ovs-ofctl's order.
    for (int r = 0; r < 8; ++r) {
      const auto f = static_cast<FieldId>(static_cast<int>(FieldId::reg0) + r);
      number(layout_of(f).name, f);
    }
    number("metadata", FieldId::metadata);
    if (m_.has(FieldId::in_port))
      add("in_port=" +
          format_port(PortNo{static_cast<std::uint32_t>(get(FieldId::in_port))}, ports_));
    vlan();
    mac("dl_src", FieldId::eth_src);
    mac("dl_dst", FieldId::eth_dst);
    // An EtherType with no shorthand prints where ovs-ofctl puts it.
    if (!late_type.empty()) add(late_type);
    const bool arp = match_is_arp(m_);
    ipv4(arp ? "arp_spa" : "nw_src", FieldId::ipv4_src);
    ipv4(arp ? "arp_tpa" : "nw_dst", FieldId::ipv4_dst);
    if (arp) {
      number("arp_op", FieldId::ip_proto);
      mac("arp_sha", FieldId::arp_sha);
      mac("arp_tha", FieldId::arp_tha);
    }
    ipv6("ipv6_src", FieldId::ipv6_src);
    ipv6("ipv6_dst", FieldId::ipv6_dst);
    label();
    // nw_proto without a shorthand (`ip,nw_proto=47`) follows the addresses.
    if (!is_arp_type() && !shorthand_covers_proto()) number("nw_proto", FieldId::ip_proto);
    tos();
    number("nw_ttl", FieldId::ip_ttl);
    frag();
    const bool icmp = prereq_met(m_, Prereq::icmp_any);
    number(icmp ? "icmp_type" : "tp_src", FieldId::tp_src);
    number(icmp ? "icmp_code" : "tp_dst", FieldId::tp_dst);
    flags("tcp_flags", FieldId::tcp_flags, tcp_flag_names());
    ipv6("nd_target", FieldId::nd_target);
    if (!arp) {
      mac("nd_sll", FieldId::arp_sha);
      mac("nd_tll", FieldId::arp_tha);
    }
    return out_;
  }

 private:
  void add(const std::string& s) {
    if (!out_.empty()) out_ += ',';
    out_ += s;
  }
  std::uint64_t get(FieldId f) const { return m_.value.get(f); }

  // The protocol shorthand (`tcp`, `ip`, `arp`) printed first; returns the
  // `dl_type=` text to print later when the EtherType has none.
  std::string protocol() {
    if (!m_.has(FieldId::eth_type)) return "";
    const auto type = static_cast<std::uint16_t>(get(FieldId::eth_type));
    if (const ProtocolShorthand* p = shorthand_for(type, ip_proto())) {
      add(std::string(p->name));
    } else if (const ProtocolShorthand* q = shorthand_for(type, std::nullopt)) {
      add(std::string(q->name));
    } else {
      return fmt::format("dl_type={:#06x}", type);
    }
    return "";
  }

  // The IP protocol matched under an IP EtherType (under ARP the same
  // storage is arp_op).
  std::optional<std::uint8_t> ip_proto() const {
    if (!m_.has(FieldId::eth_type) || !m_.has(FieldId::ip_proto)) return std::nullopt;
    const auto type = static_cast<std::uint16_t>(get(FieldId::eth_type));
    if (type != kEthTypeIpv4 && type != kEthTypeIpv6) return std::nullopt;
    return static_cast<std::uint8_t>(get(FieldId::ip_proto));
  }
  bool is_arp_type() const { return match_is_arp(m_); }
  bool shorthand_covers_proto() const {
    const std::optional<std::uint8_t> proto = ip_proto();
    return !proto || shorthand_for(static_cast<std::uint16_t>(get(FieldId::eth_type)), proto);
  }

  // The flow label as ovs-ofctl prints it: five hex digits, mask as well.
  void label() {
    if (!m_.has(FieldId::ipv6_label)) return;
    if (is_full(m_, FieldId::ipv6_label)) {
      add(fmt::format("ipv6_label={:#07x}", get(FieldId::ipv6_label)));
    } else {
      add(fmt::format("ipv6_label={:#07x}/{:#07x}", get(FieldId::ipv6_label),
                      m_.mask.get(FieldId::ipv6_label)));
    }
  }

  void number(std::string_view name, FieldId f) {
    if (!m_.has(f)) return;
    if (is_full(m_, f)) {
      add(fmt::format("{}={}", name, number_text(f, get(f))));
    } else {
      add(fmt::format("{}={:#x}/{:#x}", name, get(f), m_.mask.get(f)));
    }
  }

  void mac(std::string_view name, FieldId f) {
    if (!m_.has(f)) return;
    std::string s = fmt::format("{}={}", name, format_mac(get(f)));
    if (!is_full(m_, f)) s += fmt::format("/{}", format_mac(m_.mask.get(f)));
    add(s);
  }

  void ipv4(std::string_view name, FieldId f) {
    if (!m_.has(f)) return;
    add(fmt::format("{}={}{}", name, format_ipv4(static_cast<std::uint32_t>(get(f))),
                    format_ipv4_mask(static_cast<std::uint32_t>(m_.mask.get(f)))));
  }

  void ipv6(std::string_view name, FieldId f) {
    if (!m_.has(f)) return;
    add(fmt::format("{}={}{}", name, format_ipv6(m_.value.get_wide(f)),
                    format_ipv6_mask(m_.mask.get_wide(f))));
  }

  void vlan() {
    const std::uint64_t v = get(FieldId::vlan_tci), mask = m_.mask.get(FieldId::vlan_tci);
    if (mask == 0) return;
    if (mask == 0xffff && v == 0) {  // no 802.1Q header (dl_vlan=0xffff), as OVS prints it
      add("vlan_tci=0x0000");
      return;
    }
    const bool tagged = v & kVlanCfi;
    if (tagged && (mask == 0x1fff || mask == 0xffff)) add(fmt::format("dl_vlan={}", v & 0x0fff));
    if (tagged && (mask == 0xf000 || mask == 0xffff)) add(fmt::format("dl_vlan_pcp={}", v >> 13));
    if (tagged && (mask == 0x1fff || mask == 0xf000 || mask == 0xffff)) return;
    if (mask == 0xffff) {
      add(fmt::format("vlan_tci={:#06x}", v));
    } else {
      add(fmt::format("vlan_tci={:#06x}/{:#06x}", v, mask));
    }
  }

  void tos() {
    const std::uint64_t v = get(FieldId::ip_tos), mask = m_.mask.get(FieldId::ip_tos);
    if (mask & 0xfc) add(fmt::format("nw_tos={}", v & 0xfc));
    if (mask & 0x03) add(fmt::format("nw_ecn={}", v & 0x03));
  }

  void frag() {
    const std::uint64_t v = get(FieldId::ip_frag), mask = m_.mask.get(FieldId::ip_frag);
    if (mask == 0) return;
    std::string_view name = "?";
    if (mask == 3) name = v == 0 ? "no" : v == 1 ? "first" : "later";
    if (mask == 1) name = "yes";
    if (mask == 2) name = "not_later";
    add(fmt::format("nw_frag={}", name));  // ovs-ofctl's name; ip_frag reads the same
  }

  // +flag-flag as OVS prints it, in bit order.
  void flags(std::string_view name, FieldId f, std::span<const std::string_view> names) {
    const std::uint64_t v = get(f), mask = m_.mask.get(f);
    if (mask == 0) return;
    if (mask >> names.size()) {
      // Reserved bits are matched: only the number says that.
      number(name, f);
      return;
    }
    std::string s = fmt::format("{}=", name);
    for (std::size_t b = 0; b < names.size(); ++b) {
      if (!(mask >> b & 1)) continue;
      s += (v >> b & 1) ? '+' : '-';
      s += names[b];
    }
    add(s);
  }

  const FlowRule& rule_;
  const Match& m_;
  const PortMap& ports_;
  std::string out_;
};

// The set_field target name the parser reads back to `f` under `ctx`.
std::string_view set_field_name(FieldId f, const Match* ctx) {
  const bool arp = ctx && match_is_arp(*ctx);
  switch (f) {
    case FieldId::ipv4_src:
      return arp ? "arp_spa" : "ipv4_src";
    case FieldId::ipv4_dst:
      return arp ? "arp_tpa" : "ipv4_dst";
    case FieldId::ip_proto:
      return "arp_op";
    case FieldId::ip_tos:
      return "nw_ecn";  // the DSCP part is mod_nw_tos
    case FieldId::ip_ttl:
      return "nw_ttl";
    case FieldId::tp_src:
    case FieldId::tp_dst: {
      const bool src = f == FieldId::tp_src;
      if (ctx && prereq_met(*ctx, Prereq::tcp)) return src ? "tcp_src" : "tcp_dst";
      if (ctx && prereq_met(*ctx, Prereq::udp)) return src ? "udp_src" : "udp_dst";
      if (ctx && prereq_met(*ctx, Prereq::sctp)) return src ? "sctp_src" : "sctp_dst";
      return src ? "tp_src" : "tp_dst";
    }
    default:
      return layout_of(f).name;
  }
}

std::string set_field_text(const Action& a, const Match* ctx) {
  const std::string_view name = set_field_name(a.field, ctx);
  const FieldSyntax* s = find_field_syntax(name);
  std::string value;
  switch (s ? s->view : FieldView::number) {
    case FieldView::mac:
      value = format_mac(a.value.lo);
      break;
    case FieldView::ipv4:
      value = format_ipv4(static_cast<std::uint32_t>(a.value.lo));
      break;
    case FieldView::ipv6:
      value = format_ipv6(a.value);
      break;
    default:
      value = number_text(a.field, a.value.lo);
      break;
  }
  return fmt::format("set_field:{}->{}", value, name);
}

// In OVS's order: commit, table, zone, exec.
std::string ct_text(const Action& a) {
  std::vector<std::string> opts;
  if (a.ct_flags & kCtCommit) opts.emplace_back("commit");
  if (a.table != kCtNoTable) opts.push_back(fmt::format("table={}", a.table));
  if (a.zone != 0) opts.push_back(fmt::format("zone={}", a.zone));
  if (a.ct_flags & kCtSetMark) {
    opts.push_back(
        a.value.hi == 0xffffffff
            ? fmt::format("exec(set_field:{:#x}->ct_mark)", a.value.lo)
            : fmt::format("exec(set_field:{:#x}/{:#x}->ct_mark)", a.value.lo, a.value.hi));
  }
  return fmt::format("ct({})", fmt::join(opts, ","));
}

std::string action_text(const Action& a, const PortMap& ports, const Match* ctx) {
  switch (a.kind) {
    case ActionKind::output:
      return "output:" + format_port(a.port, ports);
    case ActionKind::normal:
      return "NORMAL";
    case ActionKind::flood:
      return "FLOOD";
    case ActionKind::all:
      return "ALL";
    case ActionKind::in_port:
      return "IN_PORT";
    case ActionKind::local:
      return "LOCAL";
    case ActionKind::controller:
      return fmt::format("CONTROLLER:{}", a.max_len);
    case ActionKind::mod_dl_src:
      return "mod_dl_src:" + format_mac(a.value.lo);
    case ActionKind::mod_dl_dst:
      return "mod_dl_dst:" + format_mac(a.value.lo);
    case ActionKind::mod_nw_src:
      return "mod_nw_src:" + format_ipv4(static_cast<std::uint32_t>(a.value.lo));
    case ActionKind::mod_nw_dst:
      return "mod_nw_dst:" + format_ipv4(static_cast<std::uint32_t>(a.value.lo));
    case ActionKind::mod_nw_tos:
      return fmt::format("mod_nw_tos:{}", a.value.lo);
    case ActionKind::mod_tp_src:
      return fmt::format("mod_tp_src:{}", a.value.lo);
    case ActionKind::mod_tp_dst:
      return fmt::format("mod_tp_dst:{}", a.value.lo);
    case ActionKind::mod_vlan_vid:
      return fmt::format("mod_vlan_vid:{}", a.value.lo);
    case ActionKind::mod_vlan_pcp:
      return fmt::format("mod_vlan_pcp:{}", a.value.lo);
    case ActionKind::strip_vlan:
      return "strip_vlan";
    case ActionKind::push_vlan:
      return fmt::format("push_vlan:{:#06x}", a.value.lo);
    case ActionKind::pop_vlan:
      return "pop_vlan";
    case ActionKind::set_field:
      return set_field_text(a, ctx);
    case ActionKind::dec_ttl:
      return "dec_ttl";
    case ActionKind::meter:
      return fmt::format("meter:{}", a.value.lo);
    case ActionKind::mod_nw_ttl:
      return fmt::format("mod_nw_ttl:{}", a.value.lo);
    case ActionKind::resubmit:
      if (a.table == kTableCount) return "resubmit:" + format_port(a.port, ports);
      if (a.port == kPortInPort) return fmt::format("resubmit(,{})", a.table);
      return fmt::format("resubmit({},{})", format_port(a.port, ports), a.table);
    case ActionKind::goto_table:
      return fmt::format("goto_table:{}", a.table);
    case ActionKind::ct:
      return ct_text(a);
    case ActionKind::ct_clear:
      return "ct_clear";
    case ActionKind::load:
      return fmt::format("load:{:#x}->{}", a.value.lo,
                         format_subfield({a.field, a.ofs, a.n_bits}, ctx));
    case ActionKind::move:
      return fmt::format("move:{}->{}", format_subfield({a.src_field, a.src_ofs, a.n_bits}, ctx),
                         format_subfield({a.field, a.ofs, a.n_bits}, ctx));
  }
  return "?";
}

std::string actions_text(const ActionList& actions, const PortMap& ports, const Match* ctx) {
  if (actions.empty()) return "drop";
  std::string s;
  for (const Action& a : actions) {
    if (!s.empty()) s += ',';
    s += action_text(a, ports, ctx);
  }
  return s;
}

// A name prints only when it reads back as this port and nothing else.
bool name_reads_back(std::string_view name) noexcept {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  if (reserved_port_by_name(name)) return false;
  for (char c : name)
    if (c == ',' || c == '=' || c == '(' || c == ')' || c == ':' || c == '#' || c == '/' ||
        is_flow_space(c))
      return false;
  return true;
}

// As ovs-ofctl prints names: plain when alphanumeric and starting with a
// letter, else in double quotes ("nm-server").
bool needs_quotes(std::string_view name) noexcept {
  const auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (!alpha(name[0])) return true;
  for (char c : name.substr(1))
    if (!alpha(c) && !digit(c)) return true;
  return false;
}

}  // namespace

std::string format_port(PortNo port, const PortMap& ports) {
  if (auto name = ports.name_of(port); name && name_reads_back(*name)) {
    if (!needs_quotes(*name)) return std::string(*name);
    std::string q = "\"";
    for (char c : *name) {
      if (c == '"' || c == '\\') q += '\\';
      q += c;
    }
    return q + '"';
  }
  if (auto reserved = reserved_port_name(port)) return std::string(*reserved);
  return fmt::format("{}", to_u32(port));
}

std::string format_match(const FlowRule& rule, const PortMap& ports) {
  return MatchPrinter(rule, ports).print();
}

std::string format_action(const Action& action, const PortMap& ports) {
  return action_text(action, ports, nullptr);
}

std::string format_actions(const ActionList& actions, const PortMap& ports) {
  return actions_text(actions, ports, nullptr);
}

std::string format_flow(const FlowRule& rule, const PortMap& ports) {
  return format_flow(rule, ports, FlowSyntax::add);
}

std::string format_flow(const FlowRule& rule, const PortMap& ports, FlowSyntax syntax) {
  const std::string match = format_match(rule, ports);
  if (syntax == FlowSyntax::packet) return match;
  std::string s;
  if (rule.cookie != 0 || rule.cookie_mask != 0) {
    s += fmt::format("cookie={:#x}", rule.cookie);
    if (rule.cookie_mask != 0) s += fmt::format("/{:#x}", rule.cookie_mask);
    s += ", ";
  }
  const std::uint8_t no_table = syntax == FlowSyntax::match ? kTableCount : 0;
  if (rule.table != no_table) s += fmt::format("table={}, ", rule.table);
  if (rule.idle_timeout != 0) s += fmt::format("idle_timeout={}, ", rule.idle_timeout);
  if (rule.hard_timeout != 0) s += fmt::format("hard_timeout={}, ", rule.hard_timeout);
  if (rule.send_flow_removed) s += "send_flow_rem ";
  if (!match.empty()) s += match + " ";
  return s + "actions=" + actions_text(rule.actions, ports, &rule.match);
}

}  // namespace sockswitch::flowtable
