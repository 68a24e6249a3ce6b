// ports/netdev_mtu.cc: SIOCSIFMTU.
#include "ports/netdev_mtu.h"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "ports/netdev_query.h"

namespace sockswitch::ports {

void set_netdev_mtu(const std::string& name, std::uint32_t mtu) {
  check_netdev_name(name);
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  ifreq req{};
  std::memcpy(req.ifr_name, name.data(), name.size());
  req.ifr_mtu = static_cast<int>(mtu);
  const int rc = ::ioctl(fd, SIOCSIFMTU, &req);
  const int err = errno;
  ::close(fd);
  if (rc != 0)
    throw std::system_error(err, std::generic_category(),
                            "cannot set the MTU of " + name + " to " + std::to_string(mtu));
}

}  // namespace sockswitch::ports
