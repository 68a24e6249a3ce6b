// flowtable/action_parser.cc: action text to Actions, with the prerequisite
// checks OVS applies to OpenFlow 1.3 flows.
#include "flowtable/action_parser.h"

#include <fmt/format.h>

#include <optional>

#include "flowtable/field_syntax.h"
#include "flowtable/flow_tokens.h"
#include "flowtable/match_parser.h"
#include "flowtable/meter.h"
#include "flowtable/subfield.h"
#include "flowtable/value_text.h"

namespace sockswitch::flowtable {
namespace {

// One action item cut as keyword, then `:arg` or `(arg)`.
struct ActionWords {
  std::string_view keyword;
  std::optional<std::string_view> arg;
  bool parens = false;
};

class ActionReader {
 public:
  ActionReader(const ActionToken& tok, const FlowRule& rule, PortMap& ports, const SourcePos& where)
      : tok_(tok), rule_(rule), ports_(ports), where_(where) {}

  Action read();

 private:
  [[noreturn]] void fail(std::string message) const {
    fail_at(where_, tok_.column, tok_.text, std::move(message));
  }
  ActionWords cut() const;
  bool is(std::string_view kw) const { return equals_ignore_case(words_.keyword, kw); }
  void no_arg() const {
    if (words_.arg) fail(fmt::format("{} takes no argument", words_.keyword));
  }
  std::string_view arg() const {
    if (!words_.arg || words_.arg->empty())
      fail(fmt::format("{} needs an argument ({}:VALUE)", words_.keyword, words_.keyword));
    return *words_.arg;
  }
  template <typename Parse>
  auto value(Parse&& parse, std::string_view text) const {
    try {
      return parse(text);
    } catch (const ValueError& e) {
      fail(e.predicate() ? fmt::format("{} {}", tok_.text, e.what())
                         : fmt::format("{}: {}", tok_.text, e.what()));
    }
  }
  std::uint64_t number(std::string_view text, std::uint64_t max) const {
    return value([max](std::string_view s) { return parse_number_max(s, max); }, text);
  }
  void require(Prereq p) const {
    if (!prereq_met(rule_.match, p))
      fail(fmt::format("{} needs {} in the match", words_.keyword, prereq_text(p)));
  }
  PortNo port(std::string_view s, bool allow_reserved) const;
  Action output(PortNo p) const;
  Action controller() const;
  Action set_field() const;
  Action resubmit() const;
  Action conntrack() const;
  Action load_or_move() const;
  Subfield subfield(std::string_view text, bool write) const;
  void ct_exec(std::string_view text, Action& a) const;

  const ActionToken& tok_;
  const FlowRule& rule_;
  PortMap& ports_;
  const SourcePos& where_;
  ActionWords words_;
};

ActionWords ActionReader::cut() const {
  ActionWords w;
  const std::string_view t = tok_.text;
  const std::size_t stop = t.find_first_of(":(");
  w.keyword = t.substr(0, stop);
  if (stop == std::string_view::npos) return w;
  if (t[stop] == ':') {
    w.arg = t.substr(stop + 1);
    return w;
  }
  if (t.back() != ')') fail(fmt::format("{} is missing its closing ')'", tok_.text));
  w.arg = t.substr(stop + 1, t.size() - stop - 2);
  w.parens = true;
  return w;
}

PortNo ActionReader::port(std::string_view s, bool allow_reserved) const {
  if (s.empty()) fail(fmt::format("{} needs a port", words_.keyword));
  if (auto reserved = reserved_port_by_name(s)) {
    if (!allow_reserved) fail(fmt::format("reserved port {} is not allowed here", s));
    return *reserved;
  }
  if (s[0] >= '0' && s[0] <= '9') {
    const std::uint64_t n = value([](std::string_view v) { return parse_number(v); }, s);
    if ((n >= 1 && n <= to_u32(kPortMax)) ||
        (allow_reserved && n <= 0xffff &&
         reserved_port_name(PortNo{static_cast<std::uint32_t>(n)})))
      return PortNo{static_cast<std::uint32_t>(n)};
    fail(fmt::format("port {} is out of range 1..{}", s, to_u32(kPortMax)));
  }
  if (auto p = ports_.resolve(s)) return *p;
  fail(fmt::format("unknown port '{}'", s));
}

Action ActionReader::output(PortNo p) const {
  Action a;
  switch (to_u32(p)) {
    case to_u32(kPortNormal):
      a.kind = ActionKind::normal;
      break;
    case to_u32(kPortFlood):
      a.kind = ActionKind::flood;
      break;
    case to_u32(kPortAll):
      a.kind = ActionKind::all;
      break;
    case to_u32(kPortInPort):
      a.kind = ActionKind::in_port;
      break;
    case to_u32(kPortLocal):
      a.kind = ActionKind::local;
      break;
    case to_u32(kPortController):
      a.kind = ActionKind::controller;
      a.max_len = 65535;
      break;
    case to_u32(kPortTable):
    case to_u32(kPortNone):
      fail(fmt::format("cannot output to reserved port {}", *reserved_port_name(p)));
    default:
      a.kind = ActionKind::output;
      a.port = p;
  }
  return a;
}

Action ActionReader::controller() const {
  Action a;
  a.kind = ActionKind::controller;
  a.max_len = 65535;
  if (!words_.arg) return a;
  std::string_view n = *words_.arg;
  if (words_.parens) {
    // controller(max_len=N): the only option we implement.
    constexpr std::string_view kKey = "max_len=";
    if (n.substr(0, kKey.size()) != kKey)
      fail(fmt::format("controller({}): only max_len=N is supported", n));
    n.remove_prefix(kKey.size());
  }
  if (n.empty()) fail("controller needs a max_len");
  a.max_len = static_cast<std::uint16_t>(number(n, 65535));
  return a;
}

Action ActionReader::set_field() const {
  const std::string_view a = arg();
  const std::size_t arrow = a.find("->");
  if (arrow == std::string_view::npos) fail("set_field needs VALUE->FIELD");
  const std::string_view text = a.substr(0, arrow), name = a.substr(arrow + 2);
  // Under arp the IPv4 names mean the ARP fields here too, as in the match.
  const FieldSyntax* f = find_field_syntax(name);
  if (f != nullptr && match_is_arp(rule_.match)) f = &arp_view_of(*f);
  if (f == nullptr || !f->writable) fail(fmt::format("set_field cannot write '{}'", name));
  if (!prereq_met(rule_.match, f->prereq))
    fail(fmt::format("set_field to {} needs {} in the match", name, prereq_text(f->prereq)));
  if (text.empty()) fail(fmt::format("set_field to {} needs a value", name));
  Action out;
  out.field = f->storage;
  switch (f->view) {
    case FieldView::vlan_vid:
      out.kind = ActionKind::mod_vlan_vid;
      out.value.lo = number(text, 4095);
      return out;
    case FieldView::vlan_pcp:
      out.kind = ActionKind::mod_vlan_pcp;
      out.value.lo = number(text, 7);
      return out;
    case FieldView::dscp:
      out.kind = ActionKind::mod_nw_tos;
      out.value.lo = number(text, 63) << 2;
      return out;
    default:
      break;
  }
  const Match m =
      value([&](std::string_view s) { return parse_field_value(*f, s, false, ports_); }, text);
  out.kind = ActionKind::set_field;
  if (layout_of(f->storage).bits == 128) {
    out.value = m.value.get_wide(f->storage);
  } else {
    out.value.lo = m.value.get(f->storage);
  }
  return out;
}

Action ActionReader::resubmit() const {
  Action a;
  a.kind = ActionKind::resubmit;
  a.table = 255;  // "the current table"
  const std::string_view s = arg();
  if (!words_.parens) {
    a.port = port(s, true);
    return a;
  }
  const std::size_t comma = s.find(',');
  const std::string_view p = s.substr(0, comma);
  a.port = p.empty() ? kPortInPort : port(p, true);
  if (comma != std::string_view::npos && comma + 1 < s.size())
    a.table = static_cast<std::uint8_t>(number(s.substr(comma + 1), kTableCount - 1));
  return a;
}

// ct(commit,zone=N,table=N,exec(set_field:V[/M]->ct_mark)), as OVS writes
// it; what OVS has beyond that (nat, alg, force, a zone from a field,
// ct_label) is refused by name until it is built.
Action ActionReader::conntrack() const {
  Action a;
  a.kind = ActionKind::ct;
  a.table = kCtNoTable;
  require(Prereq::ip_any);
  if (words_.arg && !words_.parens) fail("ct takes its options in parentheses: ct(commit,...)");
  const std::string_view all = words_.arg.value_or("");
  bool exec_seen = false;
  for (const ActionToken& opt : split_actions(all, 1)) {
    const std::string_view t = opt.text;
    const std::size_t eq = t.find('=');
    const std::string_view key = t.substr(0, std::min(eq, t.find('(')));
    const std::string_view val = eq == std::string_view::npos ? "" : t.substr(eq + 1);
    if (t == "commit") {
      a.ct_flags |= kCtCommit;
    } else if (key == "table" && eq != std::string_view::npos) {
      a.table = static_cast<std::uint8_t>(number(val, kTableCount - 1));
    } else if (key == "zone" && eq != std::string_view::npos) {
      if (!val.empty() && (val[0] < '0' || val[0] > '9'))
        fail(fmt::format("ct: zone={} from a field is not supported yet (give a number)", val));
      a.zone = static_cast<std::uint16_t>(number(val, 0xffff));
    } else if (key == "exec" && t.back() == ')') {
      exec_seen = true;
      ct_exec(t.substr(5, t.size() - 6), a);
    } else if (key == "nat" || key == "force" || key == "alg") {
      fail(fmt::format("ct: {} is not supported yet", key));
    } else {
      fail(fmt::format("ct: unknown option '{}'", t));
    }
  }
  if (exec_seen && !(a.ct_flags & kCtCommit))
    fail("ct: exec() sets fields of the connection and needs commit");
  // OVS: a connection is never committed from a packet known invalid.
  if (a.ct_flags & kCtCommit && rule_.match.value.get(FieldId::ct_state) & kCtStateInvalid)
    fail("ct(commit) cannot apply to a flow that matches ct_state=+inv");
  return a;
}

void ActionReader::ct_exec(std::string_view text, Action& a) const {
  for (const ActionToken& inner : split_actions(text, 1)) {
    const std::string_view t = inner.text;
    constexpr std::string_view kSet = "set_field:";
    const std::size_t arrow = t.find("->");
    if (t.substr(0, kSet.size()) != kSet || arrow == std::string_view::npos)
      fail(fmt::format("ct: exec({}): only set_field:VALUE->ct_mark is supported", t));
    const std::string_view target = t.substr(arrow + 2);
    if (target == "ct_label") fail("ct: exec(): setting ct_label is not supported yet");
    if (target != "ct_mark") fail(fmt::format("ct: exec() can set ct_mark, not '{}'", target));
    if (a.ct_flags & kCtSetMark) fail("ct: exec() sets ct_mark twice");
    const std::string_view v = t.substr(kSet.size(), arrow - kSet.size());
    const std::size_t slash = v.find('/');
    a.value.lo = number(v.substr(0, slash), 0xffffffff);
    a.value.hi =
        slash == std::string_view::npos ? 0xffffffff : number(v.substr(slash + 1), 0xffffffff);
    a.value.lo &= a.value.hi;
    a.ct_flags |= kCtSetMark;
  }
}

Subfield ActionReader::subfield(std::string_view text, bool write) const {
  const SubfieldName* name = nullptr;
  const Subfield s = value([&](std::string_view t) { return parse_subfield(t, &name); }, text);
  if (write && !name->writable)
    fail(fmt::format("{}: {} cannot be written (registers, metadata and rewritable headers can)",
                     words_.keyword, name->name));
  if (!prereq_met(rule_.match, name->prereq))
    fail(fmt::format("{}: {} needs {} in the match", words_.keyword, name->name,
                     prereq_text(name->prereq)));
  return s;
}

// load:VALUE->DST[bits] and move:SRC[bits]->DST[bits], as ovs-ofctl writes them.
Action ActionReader::load_or_move() const {
  const std::string_view a = arg();
  const std::size_t arrow = a.find("->");
  if (arrow == std::string_view::npos)
    fail(fmt::format("{} needs {}->DST[bits]", words_.keyword, is("load") ? "VALUE" : "SRC[bits]"));
  const Subfield dst = subfield(a.substr(arrow + 2), true);
  Action out;
  out.field = dst.field;
  out.ofs = dst.ofs;
  out.n_bits = dst.n_bits;
  if (is("load")) {
    out.kind = ActionKind::load;
    out.value.lo = number(a.substr(0, arrow), subfield_mask({dst.field, 0, dst.n_bits}));
    // A whole field is the set_field it means (as OpenFlow 1.0 carries both).
    if (dst.ofs == 0 && dst.n_bits == layout_of(dst.field).bits) {
      out.kind = ActionKind::set_field;
      out.ofs = out.n_bits = 0;
    }
    return out;
  }
  const Subfield src = subfield(a.substr(0, arrow), false);
  if (src.n_bits != dst.n_bits)
    fail(
        fmt::format("move: the source has {} bits and the destination {}", src.n_bits, dst.n_bits));
  out.kind = ActionKind::move;
  out.src_field = src.field;
  out.src_ofs = src.ofs;
  return out;
}

Action ActionReader::read() {
  words_ = cut();
  Action a;
  auto simple = [&](ActionKind k) {
    no_arg();
    a.kind = k;
    return a;
  };
  if (is("output")) return output(port(arg(), true));
  if (is("normal")) return simple(ActionKind::normal);
  if (is("flood")) return simple(ActionKind::flood);
  if (is("all")) return simple(ActionKind::all);
  if (is("in_port")) return simple(ActionKind::in_port);
  if (is("local")) return simple(ActionKind::local);
  if (is("controller")) return controller();
  if (is("strip_vlan")) return simple(ActionKind::strip_vlan);
  if (is("pop_vlan")) return simple(ActionKind::pop_vlan);
  if (is("dec_ttl")) {
    require(Prereq::ip_any);
    return simple(ActionKind::dec_ttl);
  }
  if (is("mod_dl_src") || is("mod_dl_dst")) {
    a.kind = is("mod_dl_src") ? ActionKind::mod_dl_src : ActionKind::mod_dl_dst;
    a.field = is("mod_dl_src") ? FieldId::eth_src : FieldId::eth_dst;
    a.value.lo = value([](std::string_view s) { return parse_mac(s); }, arg());
    return a;
  }
  if (is("mod_nw_src") || is("mod_nw_dst")) {
    a.kind = is("mod_nw_src") ? ActionKind::mod_nw_src : ActionKind::mod_nw_dst;
    a.field = is("mod_nw_src") ? FieldId::ipv4_src : FieldId::ipv4_dst;
    a.value.lo = value([](std::string_view s) { return parse_ipv4(s); }, arg());
    require(Prereq::ipv4);
    return a;
  }
  if (is("mod_nw_tos")) {
    a.kind = ActionKind::mod_nw_tos;
    a.field = FieldId::ip_tos;
    a.value.lo = number(arg(), 255);
    if (a.value.lo % 4)
      fail(fmt::format("{} is not a multiple of 4 (it sets the DSCP bits)", tok_.text));
    require(Prereq::ip_any);
    return a;
  }
  if (is("meter")) {
    a.kind = ActionKind::meter;
    a.value.lo = number(arg(), flowtable::kMeterIdMax);
    if (a.value.lo == 0) fail("meter ids start at 1");
    return a;
  }
  if (is("mod_nw_ttl")) {
    a.kind = ActionKind::mod_nw_ttl;
    a.field = FieldId::ip_ttl;
    a.value.lo = number(arg(), 255);
    require(Prereq::ip_any);
    return a;
  }
  if (is("mod_tp_src") || is("mod_tp_dst")) {
    a.kind = is("mod_tp_src") ? ActionKind::mod_tp_src : ActionKind::mod_tp_dst;
    a.field = is("mod_tp_src") ? FieldId::tp_src : FieldId::tp_dst;
    a.value.lo = number(arg(), 65535);
    require(Prereq::tcp_udp_sctp);
    return a;
  }
  if (is("mod_vlan_vid") || is("mod_vlan_pcp")) {
    const bool vid = is("mod_vlan_vid");
    a.kind = vid ? ActionKind::mod_vlan_vid : ActionKind::mod_vlan_pcp;
    a.field = FieldId::vlan_tci;
    a.value.lo = number(arg(), vid ? 4095 : 7);
    return a;
  }
  if (is("push_vlan")) {
    a.kind = ActionKind::push_vlan;
    a.value.lo = number(arg(), 0xffff);
    if (a.value.lo != kEthTypeVlan && a.value.lo != kEthTypeQinQ)
      fail(fmt::format("{}: the TPID must be 0x8100 or 0x88a8", tok_.text));
    return a;
  }
  if (is("set_field")) return set_field();
  if (is("ct")) return conntrack();
  if (is("ct_clear")) return simple(ActionKind::ct_clear);
  if (is("load") || is("move")) return load_or_move();
  if (is("resubmit")) return resubmit();
  if (is("goto_table")) {
    a.kind = ActionKind::goto_table;
    a.table = static_cast<std::uint8_t>(number(arg(), kTableCount - 1));
    if (rule_.table != kTableCount && a.table <= rule_.table)
      fail(fmt::format("{}: goto_table must go to a later table than this flow's table {}",
                       tok_.text, rule_.table));
    return a;
  }
  if (is("drop")) fail("drop must be the only action");
  if (words_.arg) fail(fmt::format("unknown action '{}'", words_.keyword));
  // A bare port name or number means output to it.
  if (tok_.text[0] >= '0' && tok_.text[0] <= '9') return output(port(tok_.text, false));
  if (auto p = ports_.resolve(tok_.text)) return output(*p);
  fail(fmt::format("unknown action or port '{}'", tok_.text));
}

}  // namespace

ActionList parse_actions(std::string_view text, int column, const FlowRule& rule, PortMap& ports,
                         const SourcePos& where) {
  const std::vector<ActionToken> tokens = split_actions(text, column);
  ActionList out;
  if (tokens.size() == 1 && equals_ignore_case(tokens[0].text, "drop")) return out;
  for (const ActionToken& tok : tokens) {
    if (!out.empty() && out.back().kind == ActionKind::goto_table)
      fail_at(where, tok.column, tok.text, "goto_table must be the last action");
    out.push_back(ActionReader(tok, rule, ports, where).read());
    // OpenFlow 1.3 applies a meter before the actions (an instruction of
    // its own): one, and first, as OVS requires.
    if (out.back().kind == ActionKind::meter && out.size() > 1)
      fail_at(where, tok.column, tok.text, "meter must be the first action (and the only meter)");
  }
  return out;
}

}  // namespace sockswitch::flowtable
