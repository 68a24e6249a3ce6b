#include "ports/wireguard/ip_prefix.h"

#include <gtest/gtest.h>

#include "ports/wireguard/endpoint.h"

namespace sockswitch::wireguard {
namespace {

TEST(IpPrefix, ParsesBothFamiliesAndHostPrefixes) {
  EXPECT_EQ(IpPrefix::parse("10.0.0.0/8")->to_string(), "10.0.0.0/8");
  EXPECT_EQ(IpPrefix::parse("10.1.2.3")->to_string(), "10.1.2.3/32");
  EXPECT_EQ(IpPrefix::parse("fd00::1")->to_string(), "fd00::1/128");
  EXPECT_EQ(IpPrefix::parse("::/0")->to_string(), "::/0");
  for (const char* bad : {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/08", "10.0.0/8",
                          "10.0.0.0/-1", "", "/8", "fd00::/64x", "10.0.0.0 /8"})
    EXPECT_FALSE(IpPrefix::parse(bad)) << bad;
}

TEST(IpPrefix, MaskingClearsHostBitsOnly) {
  EXPECT_EQ(IpPrefix::parse("10.1.2.3/8")->masked().to_string(), "10.0.0.0/8");
  EXPECT_EQ(IpPrefix::parse("10.1.2.3/13")->masked().to_string(), "10.0.0.0/13");
  EXPECT_EQ(IpPrefix::parse("10.15.2.3/13")->masked().to_string(), "10.8.0.0/13");
  EXPECT_EQ(IpPrefix::parse("fd00:1:2:3::9/64")->masked().to_string(), "fd00:1:2:3::/64");
  EXPECT_EQ(IpPrefix::parse("1.2.3.4/0")->masked().to_string(), "0.0.0.0/0");
  EXPECT_TRUE(IpPrefix::parse("10.1.2.3/8")->has_host_bits());
  EXPECT_FALSE(IpPrefix::parse("10.0.0.0/8")->has_host_bits());
  EXPECT_TRUE(IpPrefix::parse("10.0.0.0/8")->contains(*IpAddress::parse("10.255.0.1")));
  EXPECT_FALSE(IpPrefix::parse("10.0.0.0/8")->contains(*IpAddress::parse("11.0.0.1")));
  EXPECT_FALSE(IpPrefix::parse("::/0")->contains(*IpAddress::parse("1.2.3.4")));
}

TEST(IpPrefix, OrdersV4FirstThenAddressThenLength) {
  const auto a = *IpPrefix::parse("10.0.0.0/8");
  const auto b = *IpPrefix::parse("10.0.0.0/16");
  const auto c = *IpPrefix::parse("10.1.0.0/16");
  const auto d = *IpPrefix::parse("::/0");
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_LT(c, d);
}

TEST(Endpoint, ParsesWgForms) {
  EXPECT_EQ(Endpoint::parse("192.0.2.1:51820")->to_string(), "192.0.2.1:51820");
  EXPECT_EQ(Endpoint::parse("[2001:db8::1]:443")->to_string(), "[2001:db8::1]:443");
  EXPECT_EQ(Endpoint::parse("[fe80::1%1]:5")->scope_id, 1u);
  EXPECT_EQ(Endpoint::parse("[fe80::1%lo]:5")->to_string(), "[fe80::1%lo]:5");
  for (const char* bad :
       {"192.0.2.1", "192.0.2.1:0", "192.0.2.1:65536", "[192.0.2.1]:5", "2001:db8::1:5",
        "[2001:db8::1]5", "host:5", "[fe80::1%nosuchif0]:5", "1.2.3.4%1:5", ":5"})
    EXPECT_FALSE(Endpoint::parse(bad)) << bad;
}

TEST(Endpoint, SockaddrRoundTrip) {
  for (const char* text : {"192.0.2.1:51820", "[2001:db8::1]:443", "[fe80::1%1]:7"}) {
    const Endpoint e = *Endpoint::parse(text);
    sockaddr_storage ss;
    const socklen_t len = e.to_sockaddr(ss);
    EXPECT_EQ(Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len), e) << text;
  }
}

TEST(Endpoint, ResolveReportsFailures) {
  std::string why;
  EXPECT_EQ(Endpoint::resolve("127.0.0.1:9", why)->to_string(), "127.0.0.1:9");
  EXPECT_FALSE(Endpoint::resolve("no-such-host.invalid:9", why));
  EXPECT_NE(why.find("cannot resolve"), std::string::npos) << why;
  EXPECT_FALSE(Endpoint::resolve("localhost:x", why));
  EXPECT_EQ(why, "endpoint port must be 1..65535");
}

}  // namespace
}  // namespace sockswitch::wireguard
