// control/switch_fdb.cc: NORMAL's MAC table as `ovs-appctl fdb/show` lists it.
#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <tuple>

#include <fmt/format.h>

#include "control/switch.h"
#include "flowtable/value_text.h"

namespace sockswitch::control {

// The table has one writer, the bridge's poll thread, so the control thread
// asks it for a copy and waits. A bridge no thread serves has the control
// thread as its writer, which then copies it itself.
std::vector<dataplane::FdbEntry> Switch::mac_entries(const std::string& name) {
  dataplane::MacLearningTable& mac = bridge(name).bridge->mac_table();
  const std::uint64_t ticket = mac.request_copy();
  if (threads_.empty() || pool_of(name) == nullptr) {
    mac.write_copy(std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::steady_clock::now().time_since_epoch()));
  } else {
    for (auto& t : threads_)
      t->kick();  // a sleeping thread looks again
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!mac.copy_ready(ticket)) {
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error(
            fmt::format("bridge {}: its poll thread did not answer within 2 s", name));
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  return {mac.copy().begin(), mac.copy().end()};
}

std::string Switch::fdb_show(const std::string& name) {
  std::vector<dataplane::FdbEntry> rows = mac_entries(name);
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return std::tuple(flowtable::to_u32(a.port), a.vlan, a.mac.bits) <
           std::tuple(flowtable::to_u32(b.port), b.vlan, b.mac.bits);
  });
  std::string out = " port  VLAN  MAC                Age\n";
  for (const dataplane::FdbEntry& e : rows) {
    const auto reserved = flowtable::reserved_port_name(e.port);
    out += fmt::format(
        "{:>5}  {:>4}  {}  {:>3}\n",
        reserved ? std::string(*reserved) : std::to_string(flowtable::to_u32(e.port)),
        static_cast<std::uint16_t>(e.vlan), flowtable::format_mac(e.mac.bits), e.age.count());
  }
  return out;
}

}  // namespace sockswitch::control
