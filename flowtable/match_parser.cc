// flowtable/match_parser.cc: match tokens to a Match, with the checks that
// keep a flow meaning what its line says.
#include "flowtable/match_parser.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <vector>

#include "flowtable/value_text.h"

namespace sockswitch::flowtable {
namespace {

// clang-format off
constexpr std::array<ProtocolShorthand, 12> kShorthands{{
    {"ip",    kEthTypeIpv4, std::nullopt},
    {"ipv6",  kEthTypeIpv6, std::nullopt},
    {"icmp",  kEthTypeIpv4, kIpProtoIcmp},
    {"icmp6", kEthTypeIpv6, kIpProtoIcmpv6},
    {"tcp",   kEthTypeIpv4, kIpProtoTcp},
    {"tcp6",  kEthTypeIpv6, kIpProtoTcp},
    {"udp",   kEthTypeIpv4, kIpProtoUdp},
    {"udp6",  kEthTypeIpv6, kIpProtoUdp},
    {"sctp",  kEthTypeIpv4, kIpProtoSctp},
    {"sctp6", kEthTypeIpv6, kIpProtoSctp},
    {"arp",   kEthTypeArp,  std::nullopt},
    {"rarp",  kEthTypeRarp, std::nullopt},
}};
// clang-format on

std::uint64_t max_of(unsigned bits) noexcept {
  return bits >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
}

std::uint64_t parse_mask_number(std::string_view s, std::uint64_t max) {
  const std::uint64_t m = parse_number(s);
  if (m > max) throw ValueError(fmt::format("mask {} is out of range 0..{:#x}", s, max));
  return m;
}

PortNo parse_in_port(std::string_view s, PortMap& ports) {
  if (s.empty()) throw ValueError("a port is missing");
  if (auto reserved = reserved_port_by_name(s)) {
    if (*reserved != kPortLocal)
      throw ValueError(fmt::format("reserved port {} cannot be matched (only LOCAL)", s));
    return kPortLocal;
  }
  if (s[0] >= '0' && s[0] <= '9') {
    const std::uint64_t n = parse_number(s);
    if (n == to_u32(kPortLocal)) return kPortLocal;
    if (n == 0 || n > to_u32(kPortMax))
      throw ValueError(
          fmt::format("port {} is out of range 1..{} (or LOCAL)", s, to_u32(kPortMax)));
    return PortNo{static_cast<std::uint32_t>(n)};
  }
  if (auto p = ports.resolve(s)) return *p;
  throw ValueError(fmt::format("unknown port '{}'", s));
}

std::uint8_t parse_frag(std::string_view s, std::uint8_t& mask) {
  struct Frag {
    std::string_view name;
    std::uint8_t value, mask;
  };
  static constexpr std::array<Frag, 5> kFrags{
      {{"no", 0, 3}, {"yes", 1, 1}, {"first", 1, 3}, {"later", 3, 3}, {"not_later", 0, 2}}};
  for (const Frag& f : kFrags) {
    if (f.name == s) {
      mask = f.mask;
      return f.value;
    }
  }
  throw ValueError(fmt::format("'{}' is not one of no, first, later, yes, not_later", s));
}

// "+syn-ack": each named flag must be set (+) or clear (-); others are
// wildcarded. `what` names the kind of flag in errors.
void parse_flag_syntax(std::string_view s, std::span<const std::string_view> names,
                       std::string_view what, std::uint64_t& value, std::uint64_t& mask) {
  std::size_t i = 0;
  while (i < s.size()) {
    const char sign = s[i];
    if (sign != '+' && sign != '-')
      throw ValueError(fmt::format("'{}': expected +flag or -flag at '{}'", s, s.substr(i)));
    std::size_t j = ++i;
    while (j < s.size() && s[j] != '+' && s[j] != '-')
      ++j;
    const std::string_view name = s.substr(i, j - i);
    std::size_t bit = names.size();
    for (std::size_t b = 0; b < names.size(); ++b)
      if (names[b] == name) bit = b;
    if (bit == names.size())
      throw ValueError(fmt::format("'{}' is not a {} ({})", name, what, fmt::join(names, ", ")));
    if (mask >> bit & 1) throw ValueError(fmt::format("{} {} is given twice", what, name));
    mask |= std::uint64_t{1} << bit;
    if (sign == '+') value |= std::uint64_t{1} << bit;
    i = j;
  }
}

}  // namespace

const ProtocolShorthand* find_protocol_shorthand(std::string_view name) noexcept {
  for (const ProtocolShorthand& p : kShorthands)
    if (p.name == name) return &p;
  return nullptr;
}

const ProtocolShorthand* shorthand_for(std::uint16_t eth_type,
                                       std::optional<std::uint8_t> ip_proto) noexcept {
  for (const ProtocolShorthand& p : kShorthands)
    if (p.eth_type == eth_type && p.ip_proto == ip_proto) return &p;
  return nullptr;
}

Match parse_field_value(const FieldSyntax& f, std::string_view text, bool allow_mask,
                        PortMap& ports) {
  Match out;
  if (text.empty()) throw ValueError("a value is missing");
  const MaskedText mt = split_mask(text);
  if (mt.mask && (!allow_mask || !f.maskable))
    throw ValueError(fmt::format("{} takes no mask", f.name));
  const std::uint64_t all = ~std::uint64_t{0};
  switch (f.view) {
    case FieldView::number: {
      const std::uint64_t max = max_of(f.bits);
      if (f.storage == FieldId::ip_proto && f.prereq == Prereq::arp &&
          parse_number(mt.value) > max) {
        // OpenFlow's arp_op is 16 bits, but the key keeps only the low byte
        // (as OVS does); a larger opcode would silently match a different one.
        throw ValueError(
            fmt::format("is out of range 0..{} (only the opcode's low byte is stored)", max), true);
      }
      const std::uint64_t v = parse_number_max(mt.value, max);
      out.set_masked(f.storage, v, mt.mask ? parse_mask_number(*mt.mask, max) : all);
      break;
    }
    case FieldView::mac:
      out.set_masked(f.storage, parse_mac(mt.value), mt.mask ? parse_mac(*mt.mask) : all);
      break;
    case FieldView::ipv4:
      out.set_masked(f.storage, parse_ipv4(mt.value),
                     mt.mask ? parse_ipv4_mask(*mt.mask) : std::uint32_t{0xffffffff});
      break;
    case FieldView::ipv6:
      out.set_wide_masked(f.storage, parse_ipv6(mt.value),
                          mt.mask ? parse_ipv6_mask(*mt.mask) : Wide{all, all});
      break;
    case FieldView::port:
      out.set_exact(f.storage, to_u32(parse_in_port(mt.value, ports)));
      break;
    case FieldView::vlan_vid: {
      const std::uint64_t v = parse_number(mt.value);
      if (v == 0xffff) {
        out.set_masked(f.storage, 0, 0xffff);  // "no 802.1Q header"
        break;
      }
      if (v > 4095)
        throw ValueError("is out of range 0..4095 (or 0xffff for untagged frames)", true);
      out.set_masked(f.storage, kVlanCfi | v, 0x1fff);
      break;
    }
    case FieldView::vlan_pcp:
      out.set_masked(f.storage, kVlanCfi | parse_number_max(mt.value, 7) << 13, 0xf000);
      break;
    case FieldView::tos: {
      const std::uint64_t v = parse_number_max(mt.value, 255);
      if (v % 4)
        throw ValueError(
            "is not a multiple of 4 (nw_tos sets the DSCP bits; the low two are nw_ecn)", true);
      out.set_masked(f.storage, v, 0xfc);
      break;
    }
    case FieldView::dscp:
      out.set_masked(f.storage, parse_number_max(mt.value, 63) << 2, 0xfc);
      break;
    case FieldView::ecn:
      out.set_masked(f.storage, parse_number_max(mt.value, 3), 0x03);
      break;
    case FieldView::frag: {
      std::uint8_t mask = 0;
      const std::uint8_t v = parse_frag(mt.value, mask);
      out.set_masked(f.storage, v, mask);
      break;
    }
    case FieldView::tcp_flags:
    case FieldView::ct_state: {
      const bool tcp = f.view == FieldView::tcp_flags;
      const std::uint64_t max = tcp ? 0xfff : 0xff;
      std::uint64_t v = 0, m = 0;
      if (!mt.value.empty() && (mt.value[0] == '+' || mt.value[0] == '-')) {
        if (mt.mask) throw ValueError("the +flag/-flag form takes no mask");
        parse_flag_syntax(mt.value, tcp ? tcp_flag_names() : ct_state_flag_names(),
                          tcp ? "TCP flag" : "ct_state flag", v, m);
      } else {
        v = parse_number_max(mt.value, max);
        m = mt.mask ? parse_mask_number(*mt.mask, max) : max;
      }
      out.set_masked(f.storage, v, m);
      break;
    }
  }
  return out;
}

void parse_match(std::span<const FlowToken> tokens, PortMap& ports, const SourcePos& where,
                 Match& out) {
  // Who set which bits, so that a clash can name the other token.
  struct Claim {
    const FlowToken* tok;
    bool explicit_field;  // a field token (shorthands may repeat what a field says)
    FlowMask owned;
    FlowMask set;
  };
  std::vector<Claim> claims;

  auto merge = [&](const FlowToken& tok, const Match& frag, const FlowMask& owned, bool field) {
    for (const Claim& c : claims) {
      if (!field || !c.explicit_field) continue;
      for (std::size_t i = 0; i < kKeyWords; ++i) {
        if (!(owned.w[i] & c.owned.w[i])) continue;
        fail_at(where, tok.column, tok.text,
                c.tok->key == tok.key
                    ? fmt::format("{} is given twice", tok.key)
                    : fmt::format("{} sets the same field as {}", tok.key, c.tok->text));
      }
    }
    FlowMask diff;
    bool clash = false;
    for (std::size_t i = 0; i < kKeyWords; ++i) {
      diff.w[i] = (out.value.w[i] ^ frag.value.w[i]) & out.mask.w[i] & frag.mask.w[i];
      clash |= diff.w[i] != 0;
    }
    if (clash) {
      for (const Claim& c : claims)
        for (std::size_t i = 0; i < kKeyWords; ++i)
          if (diff.w[i] & c.set.w[i])
            fail_at(where, tok.column, tok.text,
                    fmt::format("{} contradicts {}", tok.text, c.tok->text));
    }
    for (std::size_t i = 0; i < kKeyWords; ++i) {
      out.value.w[i] |= frag.value.w[i];
      out.mask.w[i] |= frag.mask.w[i];
    }
    claims.push_back({&tok, field, owned, frag.mask});
  };

  auto parse_value = [&](const FlowToken& tok, const FieldSyntax& f) {
    if (!tok.has_value)
      fail_at(where, tok.column, tok.text, fmt::format("{} needs a value", tok.key));
    try {
      return parse_field_value(f, tok.value, true, ports);
    } catch (const ValueError& e) {
      fail_at(where, tok.column, tok.text,
              e.predicate() ? fmt::format("{} {}", tok.text, e.what())
                            : fmt::format("{}: {}", tok.text, e.what()));
    }
  };

  struct Pending {
    const FlowToken* tok;
    const FieldSyntax* field;
  };
  std::vector<Pending> pending;

  // Protocol first: it decides what the IPv4 names mean.
  for (const FlowToken& tok : tokens) {
    if (const ProtocolShorthand* p = find_protocol_shorthand(tok.key)) {
      if (tok.has_value)
        fail_at(where, tok.column, tok.text,
                fmt::format("{} is a protocol shorthand and takes no value", tok.key));
      Match frag;
      frag.set_exact(FieldId::eth_type, p->eth_type);
      if (p->ip_proto) frag.set_exact(FieldId::ip_proto, *p->ip_proto);
      merge(tok, frag, FlowMask{}, false);
      continue;
    }
    const FieldSyntax* f = find_field_syntax(tok.key);
    if (f == nullptr || !f->matchable) {
      fail_at(where, tok.column, tok.text,
              tok.has_value ? fmt::format("unknown field '{}'", tok.key)
                            : fmt::format("unknown field or protocol '{}'", tok.text));
    }
    if (f->storage == FieldId::eth_type) {
      merge(tok, parse_value(tok, *f), owned_bits(*f), true);
      continue;
    }
    pending.push_back({&tok, f});
  }

  const bool arp = match_is_arp(out);
  for (Pending& p : pending) {
    if (arp) p.field = &arp_view_of(*p.field);
    merge(*p.tok, parse_value(*p.tok, *p.field), owned_bits(*p.field), true);
  }

  for (const Pending& p : pending) {
    if (!prereq_met(out, p.field->prereq))
      fail_at(where, p.tok->column, p.tok->text,
              fmt::format("{} needs {}", p.tok->key, prereq_text(p.field->prereq)));
  }
}

}  // namespace sockswitch::flowtable
