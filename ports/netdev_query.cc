// ports/netdev_query.cc: SIOCGIF* ioctls on a throwaway datagram socket.
#include "ports/netdev_query.h"

#include <net/if.h>  // before the linux/ headers, which would define struct ifreq again
//
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>

#include <cstring>
#include <stdexcept>

#include "ports/fd.h"

namespace sockswitch::ports {

bool NetdevInfo::running() const noexcept {
  return (flags & IFF_UP) != 0 && (flags & IFF_RUNNING) != 0;
}

void check_netdev_name(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ)
    throw std::invalid_argument("device name '" + name + "' must be 1.." +
                                std::to_string(IFNAMSIZ - 1) + " characters");
  for (char c : name)
    if (c == '/' || c == ' ' || c == ':' || c == '\0')
      throw std::invalid_argument("device name '" + name +
                                  "' has a character a netdev name cannot hold");
}

bool ethtool_get(const std::string& device, void* request) {
  Fd s = Fd::socket(AF_INET, SOCK_DGRAM, 0, "AF_INET for SIOCETHTOOL");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, device.c_str(), IFNAMSIZ - 1);
  ifr.ifr_data = static_cast<char*>(request);
  return ::ioctl(s.get(), SIOCETHTOOL, &ifr) == 0;
}

bool has_local_senders(const std::string& device) {
  ethtool_drvinfo info{};
  info.cmd = ETHTOOL_GDRVINFO;
  if (!ethtool_get(device, &info)) return true;
  return info.bus_info[0] == '\0';
}

std::optional<NetdevInfo> query_netdev(const std::string& name) {
  check_netdev_name(name);
  const Fd sock = Fd::socket(AF_INET, SOCK_DGRAM, 0, "AF_INET, for device ioctls");
  ifreq req{};
  std::memcpy(req.ifr_name, name.data(), name.size());
  auto ask = [&](unsigned long op, const char* op_name) -> bool {
    if (::ioctl(sock.get(), op, &req) == 0) return true;
    if (errno == ENODEV || errno == ENXIO) return false;
    throw_errno(std::string("ioctl(") + op_name + ", " + name + ")");
  };

  NetdevInfo info;
  if (!ask(SIOCGIFINDEX, "SIOCGIFINDEX")) return std::nullopt;
  info.ifindex = req.ifr_ifindex;
  if (!ask(SIOCGIFFLAGS, "SIOCGIFFLAGS")) return std::nullopt;
  info.flags = static_cast<unsigned short>(req.ifr_flags);
  if (!ask(SIOCGIFMTU, "SIOCGIFMTU")) return std::nullopt;
  info.mtu = static_cast<std::uint32_t>(req.ifr_mtu);
  if (!ask(SIOCGIFHWADDR, "SIOCGIFHWADDR")) return std::nullopt;
  info.link_type = req.ifr_hwaddr.sa_family;
  std::uint64_t mac = 0;
  for (int i = 0; i < 6; ++i)
    mac = mac << 8 | static_cast<std::uint8_t>(req.ifr_hwaddr.sa_data[i]);
  info.mac = packet::MacAddr::from_u64(mac);
  return info;
}

}  // namespace sockswitch::ports
