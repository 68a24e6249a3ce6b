// tests/ports/udp_endpoint_test.cc: endpoint text forms, v4-mapping and equality.
#include "ports/udp_endpoint.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace sockswitch::ports {
namespace {

TEST(UdpEndpoint, ParsesAndPrintsIpv4AsMapped) {
  const auto e = UdpEndpoint::parse("192.0.2.7:51820");
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->is_v4());
  EXPECT_EQ(e->port(), 51820);
  EXPECT_EQ(e->v4_addr_be(), inet_addr("192.0.2.7"));
  EXPECT_EQ(e->sockaddr6().sin6_family, AF_INET6);
  EXPECT_EQ(e->to_string(), "192.0.2.7:51820");
}

TEST(UdpEndpoint, ParsesAndPrintsIpv6) {
  const auto e = UdpEndpoint::parse("[2001:db8::1]:443");
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->is_v4());
  EXPECT_EQ(e->port(), 443);
  EXPECT_EQ(e->to_string(), "[2001:db8::1]:443");
  const auto scoped = UdpEndpoint::parse("[fe80::1%7]:1");
  ASSERT_TRUE(scoped);
  EXPECT_EQ(scoped->sockaddr6().sin6_scope_id, 7u);
  EXPECT_EQ(scoped->to_string(), "[fe80::1%7]:1");
}

TEST(UdpEndpoint, RejectsMalformedText) {
  for (const char* bad : {"", "192.0.2.1", "192.0.2.1:", "192.0.2.1:65536", "192.0.2.1:-1",
                          "192.0.2.1:5x", "2001:db8::1:80", "[2001:db8::1]", "[nonsense]:1",
                          "host.example:51820", "1.2.3.4.5:1", "[fe80::1%]:1"})
    EXPECT_FALSE(UdpEndpoint::parse(bad)) << bad;
}

TEST(UdpEndpoint, EqualityIgnoresFlowInfoButNotPortOrScope) {
  auto a = *UdpEndpoint::parse("[2001:db8::1]:10");
  sockaddr_in6 with_flow = a.sockaddr6();
  with_flow.sin6_flowinfo = htonl(0x12345);
  const auto b =
      *UdpEndpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&with_flow), sizeof with_flow);
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a == *UdpEndpoint::parse("[2001:db8::1]:11"));
  EXPECT_FALSE(a == *UdpEndpoint::parse("[2001:db8::1%3]:10"));
  EXPECT_FALSE(UdpEndpoint() == a);
  EXPECT_FALSE(UdpEndpoint().is_set());
}

TEST(UdpEndpoint, FromSockaddrConvertsIpv4AndRejectsOtherFamilies) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(9);
  in.sin_addr.s_addr = inet_addr("10.1.2.3");
  const auto e = UdpEndpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&in), sizeof in);
  ASSERT_TRUE(e);
  EXPECT_EQ(*e, *UdpEndpoint::parse("10.1.2.3:9"));
  EXPECT_FALSE(UdpEndpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&in), 4));
  sockaddr unix_family{};
  unix_family.sa_family = AF_UNIX;
  EXPECT_FALSE(UdpEndpoint::from_sockaddr(&unix_family, sizeof unix_family));
  EXPECT_FALSE(UdpEndpoint::from_sockaddr(nullptr, 0));
}

}  // namespace
}  // namespace sockswitch::ports
