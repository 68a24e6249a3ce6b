// dataplane/cycle_counter.h: a cheap per-burst time stamp and a spin-wait hint, on any CPU.
//
// The poll thread's "cycles/packet" reads the x86 time-stamp counter: one
// instruction, no system call. Elsewhere the counter is the closest thing
// of the same cost (aarch64's virtual counter, which ticks at a fixed rate
// below the clock, so its "cycles" are that counter's ticks), and failing
// both, the steady clock.
#pragma once

#include <chrono>
#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

namespace sockswitch::dataplane {

[[nodiscard]] inline std::uint64_t cycle_count() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  return __rdtsc();
#elif defined(__aarch64__)
  std::uint64_t ticks;
  asm volatile("mrs %0, cntvct_el0" : "=r"(ticks));
  return ticks;
#else
  return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
#endif
}

// Inside a spin loop: lets a sibling hyper-thread run and saves power.
inline void spin_pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace sockswitch::dataplane
