// control/openflow/ofp_stats_reply.h: a statistics (1.0) or multipart (1.3) reply being written.
#pragma once

#include <cstdint>
#include <vector>

#include "control/openflow/ofp_session.h"
#include "control/openflow/ofp_wire.h"

namespace sockswitch::control::openflow {

// Splits a reply into messages of at most OpenFlow's 65535 bytes, each
// with the stats header and REPLY_MORE on all but the last.
class StatsReply {
 public:
  StatsReply(std::uint8_t version, std::uint32_t xid, std::uint16_t type,
             std::uint32_t nx_subtype = 0xffffffff)
      : version_(version), xid_(xid), type_(type), nx_subtype_(nx_subtype) {}

  // Appends one entry (written by `body` into a scratch writer).
  template <typename Body>
  void entry(Body&& body) {
    WireWriter e;
    body(e);
    if (!current_ || current_->size() + e.size() > 0xffff) open();
    current_->raw(e.bytes());
  }
  void finish(std::vector<std::uint8_t>& out) {
    if (!current_) open();
    for (std::size_t i = 0; i < done_.size(); ++i) {
      WireWriter& m = done_[i];
      if (i + 1 < done_.size()) m.put_u16_at(kHeaderSize + 2, 1);  // REPLY_MORE
      finish_message(m);
      out.insert(out.end(), m.bytes().begin(), m.bytes().end());
    }
  }

 private:
  void open() {
    done_.emplace_back();
    current_ = &done_.back();
    start_message(*current_, version_, types_of(version_).stats_reply, xid_);
    current_->u16(type_);
    current_->u16(0);
    if (version_ != kVersion10) current_->zeros(4);
    if (nx_subtype_ != 0xffffffff) {
      current_->u32(kNiciraVendor);
      current_->u32(nx_subtype_);
      if (version_ == kVersion10) current_->zeros(4);
    }
  }

  std::uint8_t version_;
  std::uint32_t xid_;
  std::uint16_t type_;
  std::uint32_t nx_subtype_;
  std::vector<WireWriter> done_;
  WireWriter* current_ = nullptr;
};

}  // namespace sockswitch::control::openflow
