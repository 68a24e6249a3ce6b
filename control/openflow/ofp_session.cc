// control/openflow/ofp_session.cc: framing, version negotiation, and the
// requests that are not flow mods or statistics.
#include "control/openflow/ofp_session.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "control/openflow/ofp_port_description.h"
#include "control/switch.h"
#include "flowtable/flow_rule.h"

namespace sockswitch::control::openflow {
namespace {

constexpr std::uint32_t kSupportedBitmap = 1u << kVersion10 | 1u << kVersion13;
constexpr std::uint16_t kHelloElemVersionBitmap = 1;
constexpr std::uint16_t kNxetVendor = 0xb0c2;
// Frag handling in SET_CONFIG: only "normal" (fragments go through the
// tables like any packet) is what the dataplane does.
constexpr std::uint16_t kFragMask = 3;

std::uint8_t highest(std::uint32_t bitmap) noexcept {
  for (int v = 31; v >= 0; --v)
    if (bitmap >> v & 1) return static_cast<std::uint8_t>(v);
  return 0;
}

}  // namespace

Session::Session(Switch& sw, std::string bridge) : sw_(sw), bridge_(std::move(bridge)) {}

std::vector<std::uint8_t> Session::hello() const {
  WireWriter w;
  start_message(w, kVersion13, kHello, 0);
  w.u16(kHelloElemVersionBitmap);
  w.u16(8);
  w.u32(kSupportedBitmap);
  finish_message(w);
  return w.bytes();
}

bool Session::receive(std::span<const std::uint8_t> bytes, std::vector<std::uint8_t>& out) {
  in_.insert(in_.end(), bytes.begin(), bytes.end());
  std::size_t at = 0;
  bool open = true;
  while (open && in_.size() - at >= kHeaderSize) {
    const std::size_t len = std::size_t{in_[at + 2]} << 8 | in_[at + 3];
    if (len < kHeaderSize) {
      close_reason_ = fmt::format("a message of length {} (shorter than its header)", len);
      open = false;
      break;
    }
    if (in_.size() - at < len) break;
    open = handle(std::span<const std::uint8_t>(in_).subspan(at, len), out);
    at += len;
  }
  in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(at));
  if (!open || pending_.size() >= kMaxRun) flush(out);
  return open;
}

bool Session::handle(std::span<const std::uint8_t> msg, std::vector<std::uint8_t>& out) {
  const std::uint8_t version = msg[0], type = msg[1];
  const std::uint32_t xid = std::uint32_t{msg[4]} << 24 | std::uint32_t{msg[5]} << 16 |
                            std::uint32_t{msg[6]} << 8 | msg[7];
  if (version_ == 0) {
    if (type != kHello) {
      close_reason_ = "the first message was not HELLO";
      return false;
    }
    try {
      negotiate(msg);
    } catch (const OfpError& e) {
      WireWriter w;
      start_message(w, kVersion10, kError, xid);
      w.u16(0);  // HELLO_FAILED
      w.u16(0);  // INCOMPATIBLE
      w.raw(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(e.what()),
                                          std::strlen(e.what())));
      finish_message(w);
      out.insert(out.end(), w.bytes().begin(), w.bytes().end());
      close_reason_ = e.what();
      return false;
    }
    return true;
  }
  if (version != version_) {
    error(xid, OfpCode::bad_version, msg,
          fmt::format("version {:#x} on a session that agreed on {:#x}", version, version_), out);
    return true;
  }
  if (type != kFlowMod && !(type == kVendor && msg.size() >= 16 && msg[8] == 0 && msg[9] == 0 &&
                            msg[10] == 0x23 && msg[11] == 0x20 && msg[15] == kNxFlowMod))
    flush(out);  // replies keep request order
  try {
    dispatch(msg, out);
  } catch (const OfpError& e) {
    error(xid, e.code(), msg, e.what(), out);
  } catch (const std::exception& e) {
    error(xid, OfpCode::eperm, msg, e.what(), out);
  }
  return true;
}

void Session::negotiate(std::span<const std::uint8_t> msg) {
  WireReader r(msg);
  const std::uint8_t theirs = r.u8();
  r.skip(kHeaderSize - 1);
  // Without a bitmap a peer speaks every version up to its header's.
  std::uint32_t bitmap = theirs >= 31 ? ~0u : (2u << theirs) - 1;
  while (r.left() >= 4) {
    const std::uint16_t type = r.u16(), len = r.u16();
    if (len < 4 || len - 4u > r.left()) break;
    WireReader body = r.sub(len - 4u);
    if (type == kHelloElemVersionBitmap && body.left() >= 4) bitmap = body.u32();
    r.skip(std::min<std::size_t>(r.left(), (8 - len % 8) % 8));
  }
  const std::uint8_t v = highest(bitmap & kSupportedBitmap);
  if (v == 0)
    throw OfpError(OfpCode::hello_incompatible,
                   fmt::format("no common OpenFlow version: sockswitch speaks 1.0 and 1.3, the "
                               "peer's bitmap is {:#x}",
                               bitmap));
  version_ = v;
  spdlog::debug("openflow {}: version {:#x} agreed", bridge_, v);
}

void Session::dispatch(std::span<const std::uint8_t> msg, std::vector<std::uint8_t>& out) {
  WireReader r(msg);
  r.skip(1);
  const std::uint8_t type = r.u8();
  r.skip(2);
  const std::uint32_t xid = r.u32();
  const VersionedTypes& t = types_of(version_);
  auto reply = [&](std::uint8_t reply_type, auto&& body) {
    WireWriter w;
    start_message(w, version_, reply_type, xid);
    body(w);
    finish_message(w);
    out.insert(out.end(), w.bytes().begin(), w.bytes().end());
  };
  switch (type) {
    case kHello:
      return;  // a second HELLO changes nothing
    case kEchoRequest:
      reply(kEchoReply, [&](WireWriter& w) { w.raw(r.take(r.left())); });
      return;
    case kEchoReply:
    case kError:
      return;
    case kVendor:
      vendor(r, xid, msg, out);
      return;
    case kFeaturesRequest:
      reply(kFeaturesReply, [&](WireWriter& w) {
        w.u64(default_datapath_id(bridge_));
        w.u32(0);                      // n_buffers: every packet-out carries its packet
        w.u8(flowtable::kTableCount);  // n_tables: 0..254
        w.zeros(3);                    // 1.3: auxiliary_id, pad
        // FLOW_STATS | TABLE_STATS | PORT_STATS (| 1.0 ARP_MATCH_IP)
        w.u32(version_ == kVersion10 ? 0x87 : 0x07);
        if (version_ != kVersion10) {
          w.u32(0);  // reserved
          return;
        }
        w.u32(0x7ff);  // the 1.0 actions output .. set_tp_dst (not enqueue)
        for (const PortDescription& p : describe_ports(sw_, bridge_))
          encode_port(w, p, version_);
      });
      return;
    case kGetConfigRequest:
      reply(kGetConfigReply, [&](WireWriter& w) {
        w.u16(0);  // frags: normal
        w.u16(miss_send_len_);
      });
      return;
    case kSetConfig: {
      const std::uint16_t flags = r.u16(), miss = r.u16();
      if (flags & kFragMask)
        throw OfpError(OfpCode::config_bad_flags,
                       "only frag handling 'normal' is supported (fragments are matched as they "
                       "are)");
      miss_send_len_ = miss;
      return;
    }
    case kFlowMod:
      flow_mod(r, xid, msg, false, out);
      return;
    default:
      break;
  }
  if (type == t.barrier_request) {
    reply(t.barrier_reply, [](WireWriter&) {});
    return;
  }
  if (type == t.stats_request) {
    stats(r, xid, out);
    return;
  }
  if (version_ == kVersion13 && type == kRoleRequest13) {
    const std::uint32_t role = r.u32();
    r.skip(4);
    const std::uint64_t generation = r.u64();
    if (role > 3) throw OfpError(OfpCode::role_bad_role, fmt::format("role {}", role));
    if (role == 2 || role == 3) {
      // A generation older than one seen (in 64-bit serial order) is stale.
      if (generation_known_ && static_cast<std::int64_t>(generation - generation_id_) < 0)
        throw OfpError(OfpCode::role_stale, "stale generation id");
      generation_id_ = generation;
      generation_known_ = true;
    }
    if (role != 0) role_ = role;
    reply(kRoleReply13, [&](WireWriter& w) {
      w.u32(role_);
      w.zeros(4);
      w.u64(generation_known_ ? generation_id_ : 0xffffffffffffffffull);
    });
    return;
  }
  if (type == kPacketOut) {
    packet_out(r);
    return;
  }
  if (version_ == kVersion13 && type == kMeterMod13) {
    meter_mod(r);
    return;
  }
  if (type == t.port_mod)
    throw OfpError(OfpCode::bad_type, "PORT_MOD is not supported (ports come from the config)");
  throw OfpError(OfpCode::bad_type, fmt::format("message type {} is not supported", type));
}

void Session::vendor(WireReader& r, std::uint32_t xid, std::span<const std::uint8_t> msg,
                     std::vector<std::uint8_t>& out) {
  const std::uint32_t vendor = r.u32();
  if (vendor != kNiciraVendor)
    throw OfpError(OfpCode::bad_vendor, fmt::format("vendor {:#x}", vendor));
  const std::uint32_t subtype = r.u32();
  switch (subtype) {
    case kNxSetFlowFormat: {
      const std::uint32_t format = r.u32();
      if (format != kFlowFormatOpenFlow10 && format != kFlowFormatNxm)
        throw OfpError(OfpCode::eperm, fmt::format("flow format {}", format));
      nxm_ = format == kFlowFormatNxm;
      return;
    }
    case kNxFlowModTableId:
      table_id_ext_ = r.u8() != 0;
      return;
    case kNxSetPacketInFormat: {
      const std::uint32_t format = r.u32();
      if (format != 0)
        throw OfpError(OfpCode::eperm, "only the standard packet-in format is offered");
      return;
    }
    case kNxFlowMod:
      flow_mod(r, xid, msg, true, out);
      return;
    case kNxRoleRequest: {
      const std::uint32_t role = r.u32();  // 0 other (equal), 1 master, 2 slave
      if (role > 2) throw OfpError(OfpCode::role_bad_role, fmt::format("role {}", role));
      role_ = role + 1;
      WireWriter w;
      start_nicira(w, version_, kNxRoleReply, xid);
      w.u32(role);
      finish_message(w);
      out.insert(out.end(), w.bytes().begin(), w.bytes().end());
      return;
    }
    default:
      throw OfpError(OfpCode::bad_subtype, fmt::format("Nicira message subtype {}", subtype));
  }
}

void Session::error(std::uint32_t xid, OfpCode code, std::span<const std::uint8_t> request,
                    const std::string& why, std::vector<std::uint8_t>& out) {
  sw_.count_rejected();
  spdlog::warn("openflow {}: request refused ({}): {}", bridge_, error_name(code), why);
  const WireError e = wire_error(version_ ? version_ : kVersion10, code);
  WireWriter w;
  start_message(w, version_ ? version_ : kVersion10, kError, xid);
  if (e.vendor && version_ == kVersion10) {
    w.u16(kNxetVendor);
    w.u16(0);  // NXVC_VENDOR_ERROR
    w.u32(kNiciraVendor);
    w.u16(e.type);
    w.u16(e.code);
  } else {
    w.u16(e.type);
    w.u16(e.code);
  }
  w.raw(request.first(std::min<std::size_t>(request.size(), 64)));
  finish_message(w);
  out.insert(out.end(), w.bytes().begin(), w.bytes().end());
}

}  // namespace sockswitch::control::openflow
