// control/switch_conntrack.cc: the connection table's ctl commands, in OVS's formats.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "control/switch.h"
#include "flowtable/value_text.h"

namespace sockswitch::control {
namespace {

using dataplane::CtTuple;

std::chrono::seconds steady_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::steady_clock::now().time_since_epoch());
}

std::string protocol_name(std::uint8_t proto) {
  switch (proto) {
    case 1:
      return "icmp";
    case 6:
      return "tcp";
    case 17:
      return "udp";
    case 58:
      return "icmpv6";
    case 132:
      return "sctp";
    case 136:
      return "udplite";
    default:
      return fmt::format("proto={}", proto);
  }
}

std::string address(const CtTuple& t, bool src) {
  const flowtable::Wide& a = src ? t.src : t.dst;
  return t.ipv6 ? flowtable::format_ipv6(a)
                : flowtable::format_ipv4(static_cast<std::uint32_t>(a.lo));
}

// "(src=A,dst=B,sport=P,dport=Q)", or id/type/code for ICMP.
std::string tuple_text(const CtTuple& t) {
  std::string s = fmt::format("(src={},dst={}", address(t, true), address(t, false));
  if (t.proto == 1 || t.proto == 58) {
    s += fmt::format(",id={},type={},code={})", t.src_port, t.dst_port >> 8, t.dst_port & 0xff);
  } else if (t.proto == 6 || t.proto == 17 || t.proto == 132 || t.proto == 136) {
    s += fmt::format(",sport={},dport={})", t.src_port, t.dst_port);
  } else {
    s += ')';
  }
  return s;
}

}  // namespace

std::size_t Switch::expire_connections() {
  return conntrack_->expire(steady_seconds());
}

std::string Switch::dump_conntrack(const std::string& bridge_name,
                                   std::optional<std::uint16_t> zone) const {
  if (!bridge_name.empty()) (void)bridge(bridge_name);  // an unknown one is an error
  std::string out;
  for (const dataplane::ConnectionInfo& c : conntrack_->dump(zone, steady_seconds())) {
    out += fmt::format("{},orig={},reply={}", protocol_name(c.orig.proto), tuple_text(c.orig),
                       tuple_text(c.reply));
    if (c.orig.zone != 0) out += fmt::format(",zone={}", c.orig.zone);
    if (c.mark != 0) out += fmt::format(",mark={}", c.mark);
    if (c.tcp) out += fmt::format(",protoinfo=(state={})", dataplane::tcp_state_name(*c.tcp));
    out += '\n';
  }
  return out;
}

std::string Switch::flush_conntrack(std::optional<std::uint16_t> zone) {
  const std::size_t n = conntrack_->flush(zone);
  spdlog::info("conntrack: flushed {} connections{}", n,
               zone ? fmt::format(" of zone {}", *zone) : std::string());
  return fmt::format("flushed {} connections\n", n);
}

}  // namespace sockswitch::control
