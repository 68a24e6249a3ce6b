// flowtable/subfield.cc: NXM names and the [A..B] syntax.
#include "flowtable/subfield.h"

#include <fmt/format.h>

#include <array>

#include "flowtable/value_text.h"

namespace sockswitch::flowtable {
namespace {

using F = FieldId;
using P = Prereq;

// clang-format off
constexpr std::array kNames = std::to_array<SubfieldName>({
    {"NXM_OF_IN_PORT",   F::in_port,   16, P::none,   false},
    {"NXM_OF_ETH_DST",   F::eth_dst,   48, P::none,   true},
    {"NXM_OF_ETH_SRC",   F::eth_src,   48, P::none,   true},
    {"NXM_OF_ETH_TYPE",  F::eth_type,  16, P::none,   false},
    {"NXM_OF_VLAN_TCI",  F::vlan_tci,  16, P::none,   false},
    {"NXM_OF_IP_PROTO",  F::ip_proto,   8, P::ip_any, false},
    {"NXM_OF_IP_SRC",    F::ipv4_src,  32, P::ipv4,   true},
    {"NXM_OF_IP_DST",    F::ipv4_dst,  32, P::ipv4,   true},
    {"NXM_OF_TCP_SRC",   F::tp_src,    16, P::tcp,    true},
    {"NXM_OF_TCP_DST",   F::tp_dst,    16, P::tcp,    true},
    {"NXM_OF_UDP_SRC",   F::tp_src,    16, P::udp,    true},
    {"NXM_OF_UDP_DST",   F::tp_dst,    16, P::udp,    true},
    {"NXM_NX_IP_TTL",    F::ip_ttl,     8, P::ip_any, true},
    {"NXM_NX_REG0",      F::reg0,      32, P::none,   true},
    {"NXM_NX_REG1",      F::reg1,      32, P::none,   true},
    {"NXM_NX_REG2",      F::reg2,      32, P::none,   true},
    {"NXM_NX_REG3",      F::reg3,      32, P::none,   true},
    {"NXM_NX_REG4",      F::reg4,      32, P::none,   true},
    {"NXM_NX_REG5",      F::reg5,      32, P::none,   true},
    {"NXM_NX_REG6",      F::reg6,      32, P::none,   true},
    {"NXM_NX_REG7",      F::reg7,      32, P::none,   true},
    {"OXM_OF_METADATA",  F::metadata,  64, P::none,   true},
    {"NXM_NX_CT_STATE",  F::ct_state,   8, P::none,   false},
    {"NXM_NX_CT_ZONE",   F::ct_zone,   16, P::none,   false},
    {"NXM_NX_CT_MARK",   F::ct_mark,   32, P::none,   false},
    // The plain names ovs-ofctl accepts as well.
    {"in_port",          F::in_port,   16, P::none,   false},
    {"eth_dst",          F::eth_dst,   48, P::none,   true},
    {"eth_src",          F::eth_src,   48, P::none,   true},
    {"eth_type",         F::eth_type,  16, P::none,   false},
    {"ip_proto",         F::ip_proto,   8, P::ip_any, false},
    {"ip_src",           F::ipv4_src,  32, P::ipv4,   true},
    {"ip_dst",           F::ipv4_dst,  32, P::ipv4,   true},
    {"ipv4_src",         F::ipv4_src,  32, P::ipv4,   true},
    {"ipv4_dst",         F::ipv4_dst,  32, P::ipv4,   true},
    {"tcp_src",          F::tp_src,    16, P::tcp,    true},
    {"tcp_dst",          F::tp_dst,    16, P::tcp,    true},
    {"udp_src",          F::tp_src,    16, P::udp,    true},
    {"udp_dst",          F::tp_dst,    16, P::udp,    true},
    {"nw_ttl",           F::ip_ttl,     8, P::ip_any, true},
    {"reg0",             F::reg0,      32, P::none,   true},
    {"reg1",             F::reg1,      32, P::none,   true},
    {"reg2",             F::reg2,      32, P::none,   true},
    {"reg3",             F::reg3,      32, P::none,   true},
    {"reg4",             F::reg4,      32, P::none,   true},
    {"reg5",             F::reg5,      32, P::none,   true},
    {"reg6",             F::reg6,      32, P::none,   true},
    {"reg7",             F::reg7,      32, P::none,   true},
    {"metadata",         F::metadata,  64, P::none,   true},
    {"ct_state",         F::ct_state,   8, P::none,   false},
    {"ct_zone",          F::ct_zone,   16, P::none,   false},
    {"ct_mark",          F::ct_mark,   32, P::none,   false},
});
// clang-format on

const SubfieldName* find_name(std::string_view name) noexcept {
  for (const SubfieldName& n : kNames)
    if (n.name == name) return &n;
  return nullptr;
}

}  // namespace

Subfield parse_subfield(std::string_view text, const SubfieldName** name_out) {
  const std::size_t open = text.find('[');
  if (open == std::string_view::npos || text.back() != ']')
    throw ValueError(
        fmt::format("'{}' is not a field with bits (FIELD[], FIELD[N], FIELD[A..B])", text));
  const std::string_view name = text.substr(0, open);
  const std::string_view range = text.substr(open + 1, text.size() - open - 2);
  const SubfieldName* n = find_name(name);
  if (n == nullptr) {
    const bool wide = name.find("IPV6") != std::string_view::npos || name.substr(0, 4) == "ipv6" ||
                      name.find("ND_TARGET") != std::string_view::npos;
    throw ValueError(
        wide ? fmt::format("{}: 128-bit fields are not supported yet in load/move", name)
             : fmt::format("'{}' is not a field load/move can use", name));
  }
  Subfield s{n->field, 0, n->bits};
  if (!range.empty()) {
    const std::size_t dots = range.find("..");
    const std::uint64_t lo = parse_number_max(range.substr(0, dots), 63);
    const std::uint64_t hi =
        dots == std::string_view::npos ? lo : parse_number_max(range.substr(dots + 2), 63);
    if (hi < lo || hi >= n->bits)
      throw ValueError(
          fmt::format("{}: bits {}..{} are not within its {} bits", text, lo, hi, n->bits));
    s.ofs = static_cast<std::uint8_t>(lo);
    s.n_bits = static_cast<std::uint8_t>(hi - lo + 1);
  }
  if (name_out != nullptr) *name_out = n;
  return s;
}

std::string format_subfield(const Subfield& s, const Match* ctx) {
  // The first wire name of the field the context allows (NXM_OF_UDP_SRC
  // under udp), else its first wire name.
  const SubfieldName* pick = nullptr;
  for (const bool strict : {true, false}) {
    for (const SubfieldName& n : kNames) {
      const bool wire = n.name.substr(0, 4) == "NXM_" || n.name.substr(0, 4) == "OXM_";
      if (pick != nullptr || n.field != s.field || !wire) continue;
      if (strict && ctx != nullptr && !prereq_met(*ctx, n.prereq)) continue;
      pick = &n;
    }
  }
  const std::string_view name = pick ? pick->name : layout_of(s.field).name;
  const std::uint8_t bits = pick ? pick->bits : layout_of(s.field).bits;
  if (s.ofs == 0 && s.n_bits == bits) return fmt::format("{}[]", name);
  if (s.n_bits == 1) return fmt::format("{}[{}]", name, s.ofs);
  return fmt::format("{}[{}..{}]", name, s.ofs, s.ofs + s.n_bits - 1);
}

}  // namespace sockswitch::flowtable
