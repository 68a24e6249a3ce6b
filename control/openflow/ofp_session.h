// control/openflow/ofp_session.h: one OpenFlow connection to one bridge,
// as a byte-in, byte-out state machine (the transport is ofp_listener's).
//
// The session says HELLO with the versions it speaks (1.0 and 1.3),
// negotiates by version bitmap, then answers each request in order. Flow
// mods are gathered and applied as one published version per run of
// consecutive mods (a client's `add-flows` of 100 000 lines is a couple of
// publishes, not 100 000 grace periods); any other message applies the run
// first, so replies keep request order and a BARRIER's reply follows every
// effect before it, and the transport applies it when the client pauses.
//
// A refused request gets an ERROR naming the OpenFlow error, is counted
// (Switch::count_rejected) and changes nothing. A message that cannot be
// framed (bad version, a length below the header) ends the session.
//
// Threads: the control thread only (it calls into the Switch).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "control/openflow/ofp_port_description.h"
#include "control/openflow/ofp_wire.h"
#include "dataplane/controller_queue.h"
#include "flowtable/flow_mod.h"
#include "flowtable/flow_table.h"

namespace sockswitch::control {
class Switch;
}

namespace sockswitch::control::openflow {

class Session final {
 public:
  Session(Switch& sw, std::string bridge);

  // The HELLO to send first.
  [[nodiscard]] std::vector<std::uint8_t> hello() const;
  // Handles what arrived; appends what to send to `out`. Returns false when
  // the session must end (then `close_reason()` says why). A run of flow
  // mods at the end stays pending (a client streaming `add-flows` sends
  // more): the transport applies it with flush_run() once the client pauses.
  bool receive(std::span<const std::uint8_t> bytes, std::vector<std::uint8_t>& out);
  [[nodiscard]] bool run_pending() const noexcept { return !pending_.empty(); }
  // Applies the pending run of flow mods as one version; errors to `out`.
  void flush_run(std::vector<std::uint8_t>& out) { flush(out); }
  [[nodiscard]] const std::string& close_reason() const noexcept { return close_reason_; }
  [[nodiscard]] std::uint8_t version() const noexcept { return version_; }
  [[nodiscard]] const std::string& bridge() const noexcept { return bridge_; }

  // Messages the switch sends unasked (ofp_async.cc), in this session's
  // version; empty when none is due (no version agreed yet, a 1.3 slave,
  // a 1.0 match the client's flow format cannot say).
  [[nodiscard]] std::vector<std::uint8_t> flow_removed(const flowtable::RemovedFlow& flow,
                                                       std::uint8_t reason) const;
  [[nodiscard]] std::vector<std::uint8_t> port_status(std::uint8_t reason,
                                                      const PortDescription& port) const;
  [[nodiscard]] std::vector<std::uint8_t> packet_in(const dataplane::PuntedPacket& packet) const;
  // An inactivity probe.
  [[nodiscard]] std::vector<std::uint8_t> echo_request() const;

 private:
  struct PendingMod {
    flowtable::FlowMod mod;
    std::uint32_t xid;
    std::vector<std::uint8_t> head;  // the request's first bytes, for an ERROR
  };
  // What a FLOW_MOD asks beyond the FlowMod itself.
  struct FlowModExtras {
    std::uint32_t out_port = 0;  // wire value; any_port(): none
    std::uint16_t flags = 0;
  };

  bool handle(std::span<const std::uint8_t> msg, std::vector<std::uint8_t>& out);
  void dispatch(std::span<const std::uint8_t> msg, std::vector<std::uint8_t>& out);
  void negotiate(std::span<const std::uint8_t> msg);
  void vendor(WireReader& r, std::uint32_t xid, std::span<const std::uint8_t> msg,
              std::vector<std::uint8_t>& out);
  void stats(WireReader& r, std::uint32_t xid, std::vector<std::uint8_t>& out);
  void flow_mod(WireReader& r, std::uint32_t xid, std::span<const std::uint8_t> msg, bool nxm,
                std::vector<std::uint8_t>& out);
  void take_flow_mod(flowtable::FlowMod mod, const FlowModExtras& extras, std::uint32_t xid,
                     std::span<const std::uint8_t> msg, std::vector<std::uint8_t>& out);
  void flush(std::vector<std::uint8_t>& out);
  void packet_out(WireReader& r);  // ofp_packet_out.cc
  // METER_MOD and the meter multipart requests (ofp_meters.cc).
  void meter_mod(WireReader& r);
  void meter_stats(std::uint16_t type, WireReader& r, std::uint32_t xid,
                   std::vector<std::uint8_t>& out);
  void error(std::uint32_t xid, OfpCode code, std::span<const std::uint8_t> request,
             const std::string& why, std::vector<std::uint8_t>& out);

  // Flow mods applied as one version at most: bounds the memory a client
  // that never pauses can make the session hold.
  static constexpr std::size_t kMaxRun = 65536;

  Switch& sw_;
  std::string bridge_;
  std::uint8_t version_ = 0;  // 0 until HELLOs are exchanged
  std::vector<std::uint8_t> in_;
  std::vector<PendingMod> pending_;
  std::string close_reason_;
  // Nicira settings of a 1.0 session.
  bool nxm_ = false;           // NXT_SET_FLOW_FORMAT: NXM
  bool table_id_ext_ = false;  // NXT_FLOW_MOD_TABLE_ID: the command's high byte is the table
  std::uint16_t miss_send_len_ = 128;
  std::uint64_t generation_id_ = 0;
  bool generation_known_ = false;
  std::uint32_t role_ = 1;  // 1 equal, 2 master, 3 slave (1.3 numbering)
};

}  // namespace sockswitch::control::openflow
