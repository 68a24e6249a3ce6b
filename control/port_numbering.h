// control/port_numbering.h: OpenFlow port numbers that stay with their names.
//
// Flows and learned MAC addresses name ports by number. A name that comes
// back (a container restarts, wg-quick brings warp0 up again) gets the
// number it had; a new name never gets a number another name released in
// the last kQuarantine, or flows written for the old port (and MAC entries
// learned on it) would deliver to the newcomer. OVS keeps the same kind of
// history in its database.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <string>

#include "flowtable/port_no.h"

namespace sockswitch::control {

class PortNumbering final {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::minutes kQuarantine{5};
  static constexpr std::size_t kNamesKept = 4096;

  // The number for `name` among ports whose numbers `in_use` says are
  // taken: its old one when free, else the lowest free number no other
  // name released within kQuarantine. Throws std::invalid_argument when
  // every number is taken.
  [[nodiscard]] flowtable::PortNo assign(const std::string& name,
                                         const std::function<bool(flowtable::PortNo)>& in_use,
                                         Clock::time_point now) const;
  // `name` had `number` (a file's port, or one added at run time).
  void remember(const std::string& name, flowtable::PortNo number);
  // `name` left the bridge at `now`: its number rests for kQuarantine.
  void released(const std::string& name, flowtable::PortNo number, Clock::time_point now);

 private:
  std::map<std::string, flowtable::PortNo> number_of_;  // name -> last number
  std::map<std::uint32_t, std::pair<std::string, Clock::time_point>>
      resting_;  // number -> by, when
};

}  // namespace sockswitch::control
