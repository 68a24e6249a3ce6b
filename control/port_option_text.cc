// control/port_option_text.cc: option values as ctl and the database write them.
#include "control/port_option_text.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "flowtable/value_text.h"

namespace sockswitch::control {
namespace {

// "10.2.0.50/32,fd00::/64": what lies behind an L3 port; "" for nothing.
std::vector<ports::ClaimPrefix> proxy_list(const std::string& key, const std::string& value) {
  std::vector<ports::ClaimPrefix> out;
  std::size_t start = 0;
  while (start < value.size()) {
    const std::size_t comma = std::min(value.find(',', start), value.size());
    const std::string one = value.substr(start, comma - start);
    const auto prefix = ports::ClaimPrefix::parse(one);
    if (!prefix) throw std::invalid_argument(fmt::format("{}: '{}' is not an IP prefix", key, one));
    out.push_back(*prefix);
    start = comma + 1;
  }
  return out;
}

}  // namespace

std::uint32_t number_option(const std::string& key, const std::string& value, std::uint32_t low,
                            std::uint32_t high) {
  std::uint32_t n = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || ec != std::errc{} || end != value.data() + value.size() || n < low ||
      n > high)
    throw std::invalid_argument(
        fmt::format("{}={}: expected a whole number from {} to {}", key, value, low, high));
  return n;
}

bool flag_option(const std::string& key, const std::string& value) {
  if (value == "1" || value == "true") return true;
  if (value == "0" || value == "false") return false;
  throw std::invalid_argument(fmt::format("{}={}: expected 1, 0, true or false", key, value));
}

void set_port_option(PortConfig& p, ports::PortOption o, const std::string& key,
                     const std::string& value) {
  using enum ports::PortOption;
  switch (o) {
    case queues:
      p.queues = static_cast<std::uint16_t>(number_option(key, value, 1, 1024));
      return;
    case mac:
      try {
        (void)flowtable::parse_mac(value);  // now, not when the port opens
      } catch (const std::exception& e) {
        throw std::invalid_argument(fmt::format("{}={}: {}", key, value, e.what()));
      }
      p.mac = value;
      return;
    case proxy:
      p.proxy = proxy_list(key, value);
      return;
    case create:
      p.create = flag_option(key, value);
      return;
    case peer:
      p.peer = value;
      return;
    // Paths are opened by the daemon, which may run elsewhere: give them whole.
    case rx_pcap:
      p.rx_pcap = value;
      return;
    case rx_pcap_repeat:
      p.rx_pcap_repeat = number_option(key, value, 0, 1'000'000'000);
      return;
    case tx_pcap:
      p.tx_pcap = value;
      return;
    case dpdk_devargs:
      p.dpdk_devargs = value;
      return;
    case wg_config:
      p.wg_config = value;
      return;
  }
}

}  // namespace sockswitch::control
