// control/ovsdb/ofport_allocator.h: OpenFlow port numbers given as ovs-vswitchd gives them.
//
// A database port keeps the number its Interface row holds (`ofport`,
// written back by us, so it survives our restarts), or takes the one it
// asks for (`ofport_request`); otherwise the next number after the last one
// given, wrapping below 32768 (the upper half is left to controllers), that
// no port uses and none released within the last hour. Allocating the way
// OVS does keeps numbers, and so flows written for them, the same when a
// host moves from ovs-vswitchd to sockswitch.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>

namespace sockswitch::control::ovsdb {

class OfportAllocator final {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::hours kReuseAfter{1};
  static constexpr std::uint32_t kAutomaticLimit = 32768;  // exclusive
  static constexpr std::uint32_t kMax = 0xff00;            // OFPP_MAX, exclusive

  // Takes `wanted` when it is free; nullopt when it is not.
  std::optional<std::uint32_t> take(std::uint32_t wanted);
  // The next free number, or nullopt when none is left.
  std::optional<std::uint32_t> allocate(Clock::time_point now);
  void release(std::uint32_t number, Clock::time_point now);
  [[nodiscard]] bool in_use(std::uint32_t number) const;

 private:
  // Number -> when it was last released; Clock::time_point::max() while used.
  std::map<std::uint32_t, Clock::time_point> usage_;
  std::uint32_t last_ = 0;
};

}  // namespace sockswitch::control::ovsdb
