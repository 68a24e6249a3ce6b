// control/port_checks.cc: which options a port's driver takes, needs and refuses.
#include "control/port_checks.h"

#include <fmt/format.h>

#include "ports/port_driver.h"

namespace sockswitch::control {
namespace {

using ports::PortOption;

// Why a driver that does not take `o` refuses it, in the user's terms.
std::string refusal(PortOption o, const PortConfig& p) {
  switch (o) {
    case PortOption::mac:
      return fmt::format(
          "'mac' is for ports that make up their Ethernet side (tun, wireguard, auto/af_packet "
          "on a bare-IP device); a {} port uses its device's own address",
          p.driver);
    case PortOption::proxy:
      return fmt::format(
          "'proxy' is for L3 ports (tun, wireguard, auto/af_packet on a bare-IP device); a {} "
          "port answers no ARP",
          p.driver);
    default: {
      std::string takers;
      for (const ports::PortDriver& d : ports::port_drivers())
        if (d.takes(o)) takers += (takers.empty() ? "" : ", ") + std::string(d.name);
      return fmt::format("'{}' is only for {} ports ('{}' is {})", ports::option_key(o), takers,
                         p.name, p.driver);
    }
  }
}

}  // namespace

std::vector<PortIssue> check_port(const PortConfig& p, const std::set<std::string>& given) {
  std::vector<PortIssue> issues;
  const ports::PortDriver* d = ports::find_port_driver(p.driver);
  if (d == nullptr) {
    issues.push_back({"driver", fmt::format("unknown driver '{}' (one of {})", p.driver,
                                            ports::port_driver_names())});
    return issues;
  }
  for (const std::string& key : given) {
    PortOption o{};
    if (ports::parse_option_key(key, o) && !d->takes(o)) issues.push_back({key, refusal(o, p)});
  }
  for (std::size_t i = 0; i <= static_cast<std::size_t>(PortOption::wg_config); ++i) {
    const auto o = static_cast<PortOption>(i);
    if (d->needs(o) && !given.count(std::string(ports::option_key(o))))
      issues.push_back(
          {"", fmt::format("{} port '{}' needs {}", p.driver, p.name,
                           o == PortOption::peer ? std::string("a 'peer'")
                                                 : fmt::format("'{}'", ports::option_key(o)))});
  }
  if (p.queues > d->max_queues)
    issues.push_back({"", d->max_queues == 1
                              ? fmt::format("{} port '{}' has one queue", p.driver, p.name)
                              : fmt::format("{} port '{}' has at most {} queues", p.driver, p.name,
                                            d->max_queues)});
  if (given.count("rx_pcap_repeat") && !given.count("rx_pcap") && d->takes(PortOption::rx_pcap))
    issues.push_back({"rx_pcap_repeat", "'rx_pcap_repeat' needs an 'rx_pcap' to replay"});
  if (const std::string why = dataplane::vlan_config_error(p.vlan); !why.empty())
    issues.push_back({"", fmt::format("port '{}': {}", p.name, why)});
  return issues;
}

}  // namespace sockswitch::control
