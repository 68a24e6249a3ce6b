// ports/kernel_routes.cc: RTM_GETROUTE dumps over a private rtnetlink socket.
#include "ports/kernel_routes.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "ports/fd.h"

namespace sockswitch::ports {
namespace {

void add_route(const rtmsg& rt, const nlmsghdr& h, std::vector<KernelRoute>& out) {
  const bool v4 = rt.rtm_family == AF_INET;
  std::array<std::uint8_t, 16> dst{};  // absent RTA_DST: the default route
  int oif = 0;
  const rtattr* multipath = nullptr;
  int len = static_cast<int>(RTM_PAYLOAD(&h));
  for (auto* a = RTM_RTA(&rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == RTA_DST && RTA_PAYLOAD(a) == (v4 ? 4u : 16u))
      std::memcpy(dst.data(), RTA_DATA(a), RTA_PAYLOAD(a));
    else if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) >= sizeof(int))
      std::memcpy(&oif, RTA_DATA(a), sizeof oif);
    else if (a->rta_type == RTA_MULTIPATH)
      multipath = a;
  }
  const ClaimPrefix prefix = ClaimPrefix::of(dst.data(), v4, rt.rtm_dst_len);
  if (oif != 0) out.push_back({prefix, oif});
  if (multipath == nullptr) return;
  auto* hop = static_cast<const rtnexthop*>(RTA_DATA(multipath));
  int left = static_cast<int>(RTA_PAYLOAD(multipath));
  while (RTNH_OK(hop, left)) {
    if (hop->rtnh_ifindex != 0) out.push_back({prefix, hop->rtnh_ifindex});
    left -= NLMSG_ALIGN(hop->rtnh_len);
    hop = RTNH_NEXT(hop);
  }
}

void dump_family(int sock, unsigned char family, std::uint32_t seq, std::vector<KernelRoute>& out) {
  struct {
    nlmsghdr h;
    rtmsg rt;
  } request{};
  request.h.nlmsg_len = sizeof request;
  request.h.nlmsg_type = RTM_GETROUTE;
  request.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  request.h.nlmsg_seq = seq;
  request.rt.rtm_family = family;
  if (::send(sock, &request, sizeof request, 0) < 0) throw_errno("send(RTM_GETROUTE)");
  alignas(nlmsghdr) std::array<char, 32768> buf;
  for (;;) {
    const ssize_t n = ::recv(sock, buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("recv(RTM_GETROUTE)");
    }
    auto len = static_cast<unsigned>(n);
    for (auto* h = reinterpret_cast<const nlmsghdr*>(buf.data()); NLMSG_OK(h, len);
         h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != seq) continue;
      if (h->nlmsg_type == NLMSG_DONE) return;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
        throw_errno("RTM_GETROUTE", -e->error);
      }
      if (h->nlmsg_type != RTM_NEWROUTE) continue;
      const auto* rt = static_cast<const rtmsg*>(NLMSG_DATA(h));
      if (rt->rtm_type == RTN_UNICAST && (rt->rtm_family == AF_INET || rt->rtm_family == AF_INET6))
        add_route(*rt, *h, out);
    }
  }
}

}  // namespace

std::vector<KernelRoute> read_kernel_routes() {
  const Fd sock = Fd::socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, "netlink (routes)");
  std::vector<KernelRoute> routes;
  dump_family(sock.get(), AF_INET, 1, routes);
  dump_family(sock.get(), AF_INET6, 2, routes);
  return routes;
}

}  // namespace sockswitch::ports
