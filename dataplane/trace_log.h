// dataplane/trace_log.h: what the action executor did with one traced packet.
//
// A trace is not a second implementation of the pipeline: the executor that
// forwards packets runs the traced one too, and, handed a TraceLog, writes
// down each step as it takes it (ActionExecutor::trace), for a described
// packet (control/flow_trace.h) or a real one (live_trace.h). So a trace cannot
// disagree with the switch about a rewrite before a resubmit, what NORMAL
// chooses or why a packet dies.
//
// The log is sized when it is made and never grows while the executor
// writes to it (the executor is noexcept and allocates nothing); a trace
// longer than its room says so in `truncated`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "dataplane/drop_reason.h"
#include "flowtable/action.h"
#include "flowtable/classifier_rule.h"
#include "flowtable/flow_key.h"

namespace sockswitch::dataplane {

struct TraceEvent {
  enum class Kind : std::uint8_t {
    lookup,      // `table` looked up with `key`: `rule`, or nullptr for a miss
    action,      // `action` of the flow being run starts
    changed,     // the packet's key after a rewrite or a register write
    normal,      // NORMAL: `port` is where `key`'s destination was learned, or kPortNone: flooded
    conntrack,   // ct(): `key` holds the ct_state/ct_zone/ct_mark it gave
    meter,       // meter:`meter`: `applied` (live only: a described packet would spend
                 // the live band), and then `over` its rate or not
    controller,  // a copy for the OpenFlow clients (not sent by a trace)
    output,      // the packet leaves by `port`; `key` is read back from the frame as it leaves
    refused,     // an output to `port` that cannot be: `reason` (reflect, port_unknown)
    dropped,     // a copy or the packet itself died: `reason`
  };
  Kind kind = Kind::lookup;
  std::uint8_t table = 0;
  std::uint8_t depth = 0;  // resubmit/goto_table nesting
  Drop reason = Drop::no_match;
  const flowtable::ClassifierRule* rule = nullptr;
  const flowtable::Action* action = nullptr;
  flowtable::PortNo port{};
  std::uint32_t meter = 0;
  bool applied = false;
  bool over = false;
  flowtable::FlowKey key{};
};

class TraceLog final {
 public:
  static constexpr std::size_t kDefaultCapacity = 2048;
  // Room kept for outputs and drops beyond `capacity`, so that a trace cut
  // short (a resubmit bomb) still ends with where the packet went.
  static constexpr std::size_t kVerdictRoom = 256;

  // `live`: the packet is a real one (live_trace.h) and is forwarded,
  // metered and counted as usual while it is traced.
  explicit TraceLog(std::size_t capacity = kDefaultCapacity, bool live = false)
      : capacity_(capacity), live_(live) {
    events_.reserve(capacity + kVerdictRoom);
  }

  void add(const TraceEvent& e) noexcept {
    const bool verdict = e.kind == TraceEvent::Kind::output || e.kind == TraceEvent::Kind::dropped;
    if (events_.size() >= (verdict ? events_.capacity() : capacity_)) {
      truncated_ = true;
      return;
    }
    events_.push_back(e);  // within the reserved room: cannot allocate
  }

  [[nodiscard]] const std::vector<TraceEvent>& events() const noexcept { return events_; }
  [[nodiscard]] bool truncated() const noexcept { return truncated_; }
  [[nodiscard]] bool live() const noexcept { return live_; }

 private:
  std::size_t capacity_;
  bool live_;
  std::vector<TraceEvent> events_;
  bool truncated_ = false;
};

}  // namespace sockswitch::dataplane
