// control/openflow/ofp_wire.h: OpenFlow's byte layout: the header, the
// numbers of the messages sockswitch speaks, and bounds-checked big-endian
// readers and writers.
//
// Two versions are spoken: OpenFlow 1.0 (what `ovs-ofctl` uses with no -O,
// with the Nicira extensions it relies on) and OpenFlow 1.3. Every decoder
// reads through WireReader, which throws OfpError (an OpenFlow error type
// and code, ready to send back) rather than read past a message.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sockswitch::control::openflow {

inline constexpr std::uint8_t kVersion10 = 0x01;
inline constexpr std::uint8_t kVersion13 = 0x04;
inline constexpr std::size_t kHeaderSize = 8;
inline constexpr std::uint32_t kNiciraVendor = 0x00002320;
// buffer_id of a FLOW_MOD or PACKET_OUT that carries no switch-held buffer.
inline constexpr std::uint32_t kNoBuffer = 0xffffffff;

// Message types that mean the same in both versions.
enum MsgType : std::uint8_t {
  kHello = 0,
  kError = 1,
  kEchoRequest = 2,
  kEchoReply = 3,
  kVendor = 4,  // 1.3: EXPERIMENTER
  kFeaturesRequest = 5,
  kFeaturesReply = 6,
  kGetConfigRequest = 7,
  kGetConfigReply = 8,
  kSetConfig = 9,
  kPacketIn = 10,
  kFlowRemoved = 11,
  kPortStatus = 12,
  kPacketOut = 13,
  kFlowMod = 14,
};
// Types whose numbers differ between the versions.
struct VersionedTypes {
  std::uint8_t port_mod, stats_request, stats_reply, barrier_request, barrier_reply,
      queue_get_config_request;
};
inline constexpr VersionedTypes kTypes10{15, 16, 17, 18, 19, 20};
inline constexpr VersionedTypes kTypes13{16, 18, 19, 20, 21, 22};
inline constexpr std::uint8_t kGroupMod13 = 15, kTableMod13 = 17, kRoleRequest13 = 24,
                              kRoleReply13 = 25, kGetAsyncRequest13 = 26, kSetAsync13 = 28,
                              kMeterMod13 = 29;
[[nodiscard]] constexpr const VersionedTypes& types_of(std::uint8_t version) noexcept {
  return version == kVersion10 ? kTypes10 : kTypes13;
}

// Nicira vendor message subtypes (OpenFlow 1.0 VENDOR / 1.3 EXPERIMENTER).
enum NxType : std::uint32_t {
  kNxRoleRequest = 10,
  kNxRoleReply = 11,
  kNxSetFlowFormat = 12,
  kNxFlowMod = 13,
  kNxFlowModTableId = 15,
  kNxSetPacketInFormat = 16,
};
// Nicira stats subtypes.
inline constexpr std::uint32_t kNxStatsFlow = 0, kNxStatsAggregate = 1;
// NXT_SET_FLOW_FORMAT values.
inline constexpr std::uint32_t kFlowFormatOpenFlow10 = 0, kFlowFormatNxm = 2;

// Stats (1.0) / multipart (1.3) types.
enum StatsType : std::uint16_t {
  kStatsDesc = 0,
  kStatsFlow = 1,
  kStatsAggregate = 2,
  kStatsTable = 3,
  kStatsPort = 4,
  kStatsQueue = 5,
  kStatsGroup = 6,
  kStatsGroupDesc = 7,
  kStatsGroupFeatures = 8,
  kStatsMeter = 9,
  kStatsMeterConfig = 10,
  kStatsMeterFeatures = 11,
  kStatsTableFeatures = 12,
  kStatsPortDesc = 13,  // 1.3; OVS answers the same number in 1.0
  kStatsVendor = 0xffff,
};
inline constexpr std::uint16_t kStatsReplyMore = 1;

// Error types and codes, by version where they differ. An OfpCode names
// the error once; encode_error() writes the version's numbers.
enum class OfpCode : std::uint8_t {
  hello_incompatible,
  bad_version,
  bad_type,
  bad_stat,
  bad_vendor,
  bad_subtype,
  eperm,
  bad_len,
  buffer_unknown,
  bad_table_id,
  is_slave,
  bad_port,
  bad_packet,
  action_bad_type,
  action_bad_len,
  action_bad_vendor_type,
  action_bad_out_port,
  action_bad_argument,
  action_match_inconsistent,
  action_bad_set_type,
  instruction_unknown,
  instruction_bad_table_id,
  match_bad_type,
  match_bad_len,
  match_bad_field,
  match_bad_value,
  match_bad_mask,
  match_bad_prereq,
  match_dup_field,
  flow_mod_overlap,
  flow_mod_bad_command,
  flow_mod_bad_flags,
  flow_mod_bad_timeout,
  flow_mod_unsupported,
  config_bad_flags,
  role_bad_role,
  role_stale,
  meter_exists,
  meter_invalid,
  meter_unknown,
  meter_bad_flags,
  meter_bad_band,
  meter_bad_rate,
  meter_bad_command,
};

// A request refused: sent back as an ERROR message with the request's
// first bytes, counted, and nothing about the switch changes.
class OfpError : public std::runtime_error {
 public:
  OfpError(OfpCode code, const std::string& why) : std::runtime_error(why), code_(code) {}
  [[nodiscard]] OfpCode code() const noexcept { return code_; }

 private:
  OfpCode code_;
};

[[noreturn]] inline void refuse(OfpCode code, const std::string& why) {
  throw OfpError(code, why);
}

// The (type, code) pair a version sends for an OfpCode (1.0 without the
// match and instruction types uses OVS's Nicira-extended error form:
// `vendor` is then true and type/code are the Nicira ones).
struct WireError {
  std::uint16_t type, code;
  bool vendor = false;
};
[[nodiscard]] WireError wire_error(std::uint8_t version, OfpCode code) noexcept;
// A name for logs ("OFPBMC_BAD_PREREQ").
[[nodiscard]] std::string_view error_name(OfpCode code) noexcept;

// Reads a message's bytes front to back; every read checks the bounds.
class WireReader {
 public:
  explicit WireReader(std::span<const std::uint8_t> bytes) : b_(bytes) {}

  [[nodiscard]] std::size_t left() const noexcept { return b_.size() - at_; }
  [[nodiscard]] std::size_t offset() const noexcept { return at_; }
  std::uint8_t u8() { return take(1)[0]; }
  std::uint16_t u16() {
    const auto p = take(2);
    return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
  }
  std::uint32_t u32() {
    const auto p = take(4);
    return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
  }
  std::uint64_t u64() {
    const std::uint64_t hi = u32();
    return hi << 32 | u32();
  }
  // `n` bytes as an unsigned number (n <= 8).
  std::uint64_t be(std::size_t n) {
    std::uint64_t v = 0;
    for (std::uint8_t x : take(n))
      v = v << 8 | x;
    return v;
  }
  void skip(std::size_t n) { (void)take(n); }
  std::span<const std::uint8_t> take(std::size_t n) {
    if (n > left()) throw OfpError(OfpCode::bad_len, "message shorter than its contents");
    const auto p = b_.subspan(at_, n);
    at_ += n;
    return p;
  }
  // A sub-reader over the next `n` bytes (a TLV's body, one action).
  WireReader sub(std::size_t n) { return WireReader(take(n)); }

 private:
  std::span<const std::uint8_t> b_;
  std::size_t at_ = 0;
};

// Appends big-endian values to a message being built.
class WireWriter {
 public:
  std::vector<std::uint8_t>& bytes() noexcept { return b_; }
  [[nodiscard]] std::size_t size() const noexcept { return b_.size(); }
  void u8(std::uint64_t v) { b_.push_back(static_cast<std::uint8_t>(v)); }
  void u16(std::uint64_t v) { be(v, 2); }
  void u32(std::uint64_t v) { be(v, 4); }
  void u64(std::uint64_t v) { be(v, 8); }
  void be(std::uint64_t v, std::size_t n) {
    for (std::size_t i = n; i-- > 0;)
      b_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void zeros(std::size_t n) { b_.insert(b_.end(), n, 0); }
  void raw(std::span<const std::uint8_t> p) { b_.insert(b_.end(), p.begin(), p.end()); }
  // A fixed-size, NUL-padded string field (names, descriptions).
  void text(std::string_view s, std::size_t n) {
    const std::size_t k = std::min(s.size(), n - 1);
    b_.insert(b_.end(), s.begin(), s.begin() + static_cast<std::ptrdiff_t>(k));
    zeros(n - k);
  }
  void pad_to(std::size_t multiple) {
    while (b_.size() % multiple)
      b_.push_back(0);
  }
  // Overwrites a 16-bit length field written earlier.
  void put_u16_at(std::size_t at, std::uint64_t v) {
    b_[at] = static_cast<std::uint8_t>(v >> 8);
    b_[at + 1] = static_cast<std::uint8_t>(v);
  }

 private:
  std::vector<std::uint8_t> b_;
};

// A duration as OpenFlow's seconds and nanoseconds (negative: zero).
inline void put_duration(WireWriter& w, std::chrono::nanoseconds age) {
  const auto ns = static_cast<std::uint64_t>(std::max<std::int64_t>(0, age.count()));
  w.u32(ns / 1000000000u);
  w.u32(ns % 1000000000u);
}

// Starts a message: the header with its length patched by finish_message().
inline void start_message(WireWriter& w, std::uint8_t version, std::uint8_t type,
                          std::uint32_t xid) {
  w.u8(version);
  w.u8(type);
  w.u16(0);
  w.u32(xid);
}
inline void start_nicira(WireWriter& w, std::uint8_t version, std::uint32_t subtype,
                         std::uint32_t xid) {
  start_message(w, version, kVendor, xid);
  w.u32(kNiciraVendor);
  w.u32(subtype);
}
// Patches the length of the message that starts at `at`. Throws when the
// message would not fit OpenFlow's 16-bit length (callers split first).
inline void finish_message(WireWriter& w, std::size_t at = 0) {
  const std::size_t n = w.size() - at;
  if (n > 0xffff) throw std::length_error("OpenFlow message longer than 65535 bytes");
  w.put_u16_at(at + 2, n);
}

}  // namespace sockswitch::control::openflow
