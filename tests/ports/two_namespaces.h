// tests/ports/two_namespaces.h: the network the port drivers' traffic tests send across.
//
// Two veth pairs: the inner ends live in namespaces ns1 and ns2 on one
// subnet (10.N.0.1 and 10.N.0.2/24, fd00:N::1 and fd00:N::2/64, where N is
// the test file's own subnet so that its addresses read apart from another
// driver's in a failure), and the outer ends stay in the root namespace for
// the ports under test. The pairs are held by pointer so that a hotplug
// test can delete one and re-create it under the same names.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "tests/net/netns.h"

namespace sockswitch::test {

struct TwoNamespaces {
  // `queues` per veth end: more than one makes `auto` take AF_XDP on them.
  explicit TwoNamespaces(int subnet, unsigned queues = 1)
      : v1(std::make_unique<net::VethPair>(queues)), v2(std::make_unique<net::VethPair>(queues)) {
    const std::string n = std::to_string(subnet);
    v1->plug_into(ns1, {"10." + n + ".0.1/24", "fd00:" + n + "::1/64"});
    v2->plug_into(ns2, {"10." + n + ".0.2/24", "fd00:" + n + "::2/64"});
  }

  net::NetNamespace ns1, ns2;
  std::unique_ptr<net::VethPair> v1;
  std::unique_ptr<net::VethPair> v2;
};

// Three pings from `ns` to `addr`; a failure is reported with ping's output.
inline bool ping(const net::NetNamespace& ns, const std::string& addr) {
  const auto r =
      ns.exec({"ping", "-c", "3", "-i", "0.2", "-W", "1", addr}, std::chrono::seconds(5));
  if (!r.ok()) ADD_FAILURE() << "ping " << addr << " from " << ns.name() << ": " << r.output;
  return r.ok();
}

}  // namespace sockswitch::test
