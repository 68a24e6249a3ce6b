// dataplane/live_trace.h: the next N real packets that match, traced as
// they are forwarded (`ctl trace --live`).
//
// The control thread makes one, hangs it on a bridge's snapshot
// (Bridge::set_live_trace) and reads the results once `done()` says so or
// after it has taken it off again (the grace period of that publication
// guarantees no poll thread is still writing). A poll thread that sees one
// tests each packet's key against the match; a packet that matches and
// finds a free slot goes through the executor's trace mode in its live
// form: forwarded, metered, counted and learned from exactly as any other,
// with every step written down.
//
// Cost when none is armed: one pointer test per packet, on a snapshot field
// already in cache. Slots are claimed with an atomic counter, so the
// traced packets may come from any thread; everything else a slot holds is
// written by the thread that claimed it before `done` is released.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

#include "dataplane/trace_log.h"
#include "flowtable/flow_table.h"
#include "flowtable/match.h"

namespace sockswitch::dataplane {

class LiveTrace final {
 public:
  struct Slot {
    TraceLog log{kEventsPerPacket, true};
    flowtable::FlowKey packet{};  // as received
    // The version the packet was decided in: the log points into its rules,
    // which must outlive the rendering even if the table has changed since.
    std::shared_ptr<const flowtable::FlowTableVersion> flows;
  };
  // Less than a one-shot trace's room: N of these are made up front.
  static constexpr std::size_t kEventsPerPacket = 512;
  static constexpr std::size_t kMaxPackets = 100;

  // Throws std::invalid_argument for a count of 0 or above kMaxPackets.
  LiveTrace(flowtable::Match match, std::size_t count);

  [[nodiscard]] bool wants(const flowtable::FlowKey& key) const noexcept {
    return claimed_.load(std::memory_order_relaxed) < slots_.size() && match_.matches(key);
  }
  // Poll thread: a slot for the packet at hand, or nullptr when all are taken.
  [[nodiscard]] Slot* claim() noexcept {
    const std::size_t i = claimed_.fetch_add(1, std::memory_order_relaxed);
    return i < slots_.size() ? &slots_[i] : nullptr;
  }
  // Poll thread: the slot claimed last is written.
  void release() noexcept { done_.fetch_add(1, std::memory_order_release); }

  // Control thread.
  [[nodiscard]] std::size_t wanted() const noexcept { return slots_.size(); }
  [[nodiscard]] std::size_t done() const noexcept { return done_.load(std::memory_order_acquire); }
  // The first done() slots, in the order they were claimed once the trace
  // is off the bridge (before that, only when done() == wanted()).
  [[nodiscard]] const Slot& slot(std::size_t i) const noexcept { return slots_[i]; }

 private:
  flowtable::Match match_;
  std::vector<Slot> slots_;
  std::atomic<std::size_t> claimed_{0};
  std::atomic<std::size_t> done_{0};
};

}  // namespace sockswitch::dataplane
