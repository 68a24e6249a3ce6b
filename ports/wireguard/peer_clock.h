// ports/wireguard/peer_clock.h: the monotonic time every WireGuard state machine is driven by.
//
// Handshake, cookie and timer code take `now` as a parameter instead of
// reading a clock, so tests run them on a fake clock. The same aliases are
// declared by peer_timers.h (identical, hence compatible).
#pragma once

#include <chrono>

namespace sockswitch::wireguard {

using TimerClock = std::chrono::steady_clock;
using TimePoint = TimerClock::time_point;
using Duration = std::chrono::nanoseconds;

}  // namespace sockswitch::wireguard
