// control/switch_neighbors.cc: what each L3 port answers ARP/ND for.
//
// The rule is in ports/neighbor_claims.h; here the control thread gathers its
// inputs (a port's proxy list, a native WireGuard port's AllowedIPs, the
// kernel's routes) and publishes a port's claims when they change.
#include <net/if.h>

#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "control/switch.h"
#include "ports/kernel_routes.h"

namespace sockswitch::control {
namespace {

using ports::ClaimPrefix;
using ports::NeighborClaims;

std::unique_ptr<const NeighborClaims> claims_for(ports::Port& port, const PortConfig& config,
                                                 const std::vector<ports::KernelRoute>& routes) {
  // The port's device, when it has one of its name: its routes are ours.
  const int device = static_cast<int>(::if_nametoindex(port.name().c_str()));
  std::vector<NeighborClaims::Route> out;
  NeighborClaims::Source source = NeighborClaims::Source::kernel_routes;
  std::optional<std::vector<ClaimPrefix>> own = config.proxy;
  if (own)
    source = NeighborClaims::Source::proxy;
  else if ((own = port.routed_prefixes()))
    source = NeighborClaims::Source::allowed_ips;
  if (own)
    for (const ClaimPrefix& p : *own)
      out.push_back({p, true});
  for (const ports::KernelRoute& r : routes) {
    const bool through_port = device != 0 && r.device == device;
    if (through_port && source != NeighborClaims::Source::kernel_routes) continue;
    out.push_back({r.destination, through_port});
  }
  return std::make_unique<const NeighborClaims>(std::move(out), source);
}

}  // namespace

std::size_t Switch::refresh_neighbor_claims() {
  std::optional<std::vector<ports::KernelRoute>> routes;
  std::size_t changed = 0;
  for (RunningBridge& b : bridges_)
    for (RunningPort& p : b.ports) {
      ports::L3Neighbors* neighbors = p.port ? p.port->l3_neighbors() : nullptr;
      if (neighbors == nullptr) continue;
      if (!routes) routes = ports::read_kernel_routes();  // only when a bridge has an L3 port
      if (neighbors->claims.publish(claims_for(*p.port, p.config, *routes))) {
        ++changed;
        spdlog::info("port {}: answers ARP/ND for {}", p.config.name,
                     neighbors->claims.get()->describe());
      }
    }
  return changed;
}

std::string Switch::neighbor_claims_line(const RunningPort& p) {
  if (!p.port) return {};
  const ports::L3Neighbors* n = std::as_const(*p.port).l3_neighbors();
  if (n == nullptr) return {};
  const NeighborClaims* claims = n->claims.get();
  return fmt::format("      answers ARP/ND for: {}\n",
                     claims ? claims->describe() : std::string("nothing yet"));
}

}  // namespace sockswitch::control
