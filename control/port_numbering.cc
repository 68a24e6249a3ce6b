// control/port_numbering.cc: a bridge's memory of which name had which port number.
#include "control/port_numbering.h"

#include <stdexcept>

namespace sockswitch::control {

using flowtable::PortNo;

PortNo PortNumbering::assign(const std::string& name, const std::function<bool(PortNo)>& in_use,
                             Clock::time_point now) const {
  if (const auto it = number_of_.find(name); it != number_of_.end() && !in_use(it->second))
    return it->second;
  for (std::uint32_t n = 1; n <= flowtable::to_u32(flowtable::kPortMax); ++n) {
    if (in_use(PortNo{n})) continue;
    const auto rest = resting_.find(n);
    if (rest != resting_.end() && rest->second.first != name &&
        now - rest->second.second < kQuarantine)
      continue;
    return PortNo{n};
  }
  throw std::invalid_argument("no free OpenFlow port number");
}

void PortNumbering::remember(const std::string& name, PortNo number) {
  if (number_of_.size() >= kNamesKept && !number_of_.count(name))
    number_of_.erase(number_of_.begin());  // bounded: the oldest name alphabetically goes
  number_of_[name] = number;
}

void PortNumbering::released(const std::string& name, PortNo number, Clock::time_point now) {
  remember(name, number);
  std::erase_if(resting_, [&](const auto& r) { return now - r.second.second >= kQuarantine; });
  resting_[flowtable::to_u32(number)] = {name, now};
}

}  // namespace sockswitch::control
