// control/openflow/ofp_async.cc: the messages a session sends unasked:
// FLOW_REMOVED (a flow that asked for it timed out or was deleted) and
// PORT_STATUS (a port came, went or changed).
#include <algorithm>

#include "control/openflow/ofp_match.h"
#include "control/openflow/ofp_session.h"

namespace sockswitch::control::openflow {
namespace {

constexpr std::uint32_t kNxFlowRemoved = 14;

std::chrono::nanoseconds age_of(const flowtable::FlowStats& s) {
  return std::chrono::steady_clock::now() - s.installed;
}

}  // namespace

std::vector<std::uint8_t> Session::flow_removed(const flowtable::RemovedFlow& flow,
                                                std::uint8_t reason) const {
  if (version_ == 0 || role_ == 3) return {};  // 1.3: slaves get no flow removals
  const flowtable::FlowRule& r = flow.rule;
  WireWriter w;
  if (version_ == kVersion13) {
    start_message(w, version_, kFlowRemoved, 0);
    w.u64(r.cookie);
    w.u16(r.priority);
    w.u8(reason);
    w.u8(r.table);
    put_duration(w, age_of(flow.stats));
    w.u16(r.idle_timeout);
    w.u16(r.hard_timeout);
    w.u64(flow.stats.packets);
    w.u64(flow.stats.bytes);
    encode_oxm_match(w, r.match);
  } else if (nxm_) {
    start_nicira(w, version_, kNxFlowRemoved, 0);
    w.u64(r.cookie);
    w.u16(r.priority);
    w.u8(reason);
    w.u8(r.table);
    put_duration(w, age_of(flow.stats));
    w.u16(r.idle_timeout);
    const std::size_t match_len_at = w.size();
    w.u16(0);
    w.u64(flow.stats.packets);
    w.u64(flow.stats.bytes);
    const std::size_t n = encode_tlv_match(w, r.match, false);
    w.put_u16_at(match_len_at, n);
    w.zeros((8 - n % 8) % 8);
  } else {
    start_message(w, version_, kFlowRemoved, 0);
    if (!encode_ofp10_match(w, r.match)) return {};  // the client asked for 1.0 matches
    w.u64(r.cookie);
    w.u16(r.priority);
    w.u8(reason);
    w.u8(0);
    put_duration(w, age_of(flow.stats));
    w.u16(r.idle_timeout);
    w.zeros(2);
    w.u64(flow.stats.packets);
    w.u64(flow.stats.bytes);
  }
  finish_message(w);
  return w.bytes();
}

std::vector<std::uint8_t> Session::port_status(std::uint8_t reason,
                                               const PortDescription& port) const {
  if (version_ == 0) return {};
  WireWriter w;
  start_message(w, version_, kPortStatus, 0);
  w.u8(reason);
  w.zeros(7);
  encode_port(w, port, version_);
  finish_message(w);
  return w.bytes();
}

std::vector<std::uint8_t> Session::packet_in(const dataplane::PuntedPacket& packet) const {
  if (version_ == 0 || role_ == 3) return {};
  // A table miss goes to OpenFlow 1.0 clients only (from 1.3 on a miss is
  // a drop unless a table-miss flow says otherwise), cut to miss_send_len.
  if (packet.miss && version_ != kVersion10) return {};
  const std::size_t len =
      packet.miss ? std::min<std::size_t>(packet.len, miss_send_len_) : packet.len;
  const std::span<const std::uint8_t> data(packet.data.data(), len);
  WireWriter w;
  start_message(w, version_, kPacketIn, 0);
  w.u32(0xffffffff);  // buffer_id: nothing is buffered, the frame is here
  w.u16(packet.total_len);
  if (version_ == kVersion10) {
    w.u16(packet.in_port);
    w.u8(packet.reason);
    w.u8(0);
  } else {
    w.u8(packet.reason);
    w.u8(packet.table);
    w.u64(packet.cookie);
    flowtable::Match in_port;
    in_port.set_exact(flowtable::FieldId::in_port, packet.in_port);
    encode_oxm_match(w, in_port);
    w.zeros(2);
  }
  w.raw(data);
  finish_message(w);
  return w.bytes();
}

std::vector<std::uint8_t> Session::echo_request() const {
  if (version_ == 0) return {};
  WireWriter w;
  start_message(w, version_, kEchoRequest, 0);
  finish_message(w);
  return w.bytes();
}

}  // namespace sockswitch::control::openflow
