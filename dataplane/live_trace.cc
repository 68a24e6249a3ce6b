// dataplane/live_trace.cc: the slots, made before the trace is armed.
#include "dataplane/live_trace.h"

#include <stdexcept>
#include <string>

namespace sockswitch::dataplane {

LiveTrace::LiveTrace(flowtable::Match match, std::size_t count) : match_(std::move(match)) {
  if (count == 0 || count > kMaxPackets)
    throw std::invalid_argument("a live trace records 1 to " + std::to_string(kMaxPackets) +
                                " packets, not " + std::to_string(count));
  slots_ = std::vector<Slot>(count);
}

}  // namespace sockswitch::dataplane
