// ports/wireguard/tai64n.cc: TAI64N encoding.
#include "ports/wireguard/tai64n.h"

#include <algorithm>

namespace sockswitch::wireguard {

Tai64n tai64n_from(std::chrono::system_clock::time_point wall) noexcept {
  const auto since_epoch = wall.time_since_epoch();
  const auto secs = std::chrono::floor<std::chrono::seconds>(since_epoch);
  const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch - secs);
  const std::uint64_t label =
      (std::uint64_t{1} << 62) + 10 + static_cast<std::uint64_t>(secs.count());
  const std::uint32_t ns = static_cast<std::uint32_t>(nanos.count()) & ~((1u << 24) - 1);
  Tai64n t;
  for (std::size_t i = 0; i < 8; ++i)
    t[i] = static_cast<std::uint8_t>(label >> (56 - 8 * i));
  for (std::size_t i = 0; i < 4; ++i)
    t[8 + i] = static_cast<std::uint8_t>(ns >> (24 - 8 * i));
  return t;
}

bool tai64n_after(const Tai64n& later, const Tai64n& earlier) noexcept {
  return std::lexicographical_compare(earlier.begin(), earlier.end(), later.begin(), later.end());
}

}  // namespace sockswitch::wireguard
