// Plan: check the table's editing rules (move on insert, remove, replace,
// listing), then compare the flattened lookup against a brute-force
// longest-prefix match over many random nested prefixes in both families.
#include "ports/wireguard/allowed_ips.h"

#include <gtest/gtest.h>

#include <random>

namespace sockswitch::wireguard {
namespace {

IpPrefix P(const char* text) {
  return *IpPrefix::parse(text);
}
IpAddress A(const char* text) {
  return *IpAddress::parse(text);
}

std::vector<std::string> texts(const std::vector<IpPrefix>& v) {
  std::vector<std::string> out;
  for (const IpPrefix& p : v)
    out.push_back(p.to_string());
  return out;
}

TEST(AllowedIps, EmptyTableMissesEverything) {
  const AllowedIpsLookup empty;
  EXPECT_FALSE(empty.lookup(A("10.0.0.1")));
  EXPECT_FALSE(AllowedIps().build_lookup().lookup(A("::1")));
}

TEST(AllowedIps, LongestPrefixWins) {
  AllowedIps t;
  t.insert(P("0.0.0.0/0"), 1);
  t.insert(P("10.0.0.0/8"), 2);
  t.insert(P("10.1.0.0/16"), 3);
  t.insert(P("10.1.2.3/32"), 4);
  t.insert(P("::/0"), 5);
  t.insert(P("fd00::/8"), 6);
  const AllowedIpsLookup l = t.build_lookup();
  EXPECT_EQ(l.lookup(A("192.0.2.1")), 1u);
  EXPECT_EQ(l.lookup(A("10.200.0.1")), 2u);
  EXPECT_EQ(l.lookup(A("10.1.2.2")), 3u);
  EXPECT_EQ(l.lookup(A("10.1.2.3")), 4u);
  EXPECT_EQ(l.lookup(A("10.1.2.4")), 3u);
  EXPECT_EQ(l.lookup(A("255.255.255.255")), 1u);
  EXPECT_EQ(l.lookup(A("0.0.0.0")), 1u);
  EXPECT_EQ(l.lookup(A("fd12::1")), 6u);
  EXPECT_EQ(l.lookup(A("2001:db8::1")), 5u);
  EXPECT_EQ(l.lookup(A("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")), 5u);
  const std::uint8_t raw4[4] = {10, 1, 2, 3};
  EXPECT_EQ(l.lookup_v4(raw4), 4u);
}

TEST(AllowedIps, GapsMissAndFamiliesStaySeparate) {
  AllowedIps t;
  t.insert(P("10.0.0.0/8"), 1);
  t.insert(P("10.0.0.0/24"), 2);
  t.insert(P("2001:db8::/32"), 3);
  const AllowedIpsLookup l = t.build_lookup();
  EXPECT_FALSE(l.lookup(A("9.255.255.255")));
  EXPECT_FALSE(l.lookup(A("11.0.0.0")));
  EXPECT_EQ(l.lookup(A("10.0.0.255")), 2u);
  EXPECT_EQ(l.lookup(A("10.0.1.0")), 1u);
  EXPECT_FALSE(l.lookup(A("::a00:1")));  // 10.0.0.1's bits as IPv6
  EXPECT_EQ(l.lookup(A("2001:db8:ffff::1")), 3u);
  EXPECT_FALSE(l.lookup(A("2001:db9::")));
}

TEST(AllowedIps, InsertingAnOwnedPrefixMovesIt) {
  AllowedIps t;
  t.insert(P("10.0.0.0/8"), 1);
  t.insert(P("192.168.0.0/16"), 1);
  t.insert(P("10.9.9.9/8"), 2);  // host bits cleared: the same prefix
  EXPECT_EQ(t.owner(P("10.0.0.0/8")), 2u);
  EXPECT_EQ(texts(t.prefixes_of(1)), (std::vector<std::string>{"192.168.0.0/16"}));
  EXPECT_EQ(texts(t.prefixes_of(2)), (std::vector<std::string>{"10.0.0.0/8"}));
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.build_lookup().lookup(A("10.1.1.1")), 2u);
}

TEST(AllowedIps, RemoveOnlyWhatThePeerOwns) {
  AllowedIps t;
  t.insert(P("10.0.0.0/8"), 1);
  EXPECT_FALSE(t.remove(P("10.0.0.0/8"), 2));
  EXPECT_FALSE(t.remove(P("10.0.0.0/9"), 1));
  EXPECT_TRUE(t.remove(P("10.0.0.0/8"), 1));
  EXPECT_EQ(t.size(), 0u);
  EXPECT_TRUE(t.prefixes_of(1).empty());
  EXPECT_FALSE(t.build_lookup().lookup(A("10.0.0.1")));
}

TEST(AllowedIps, RemoveAndReplaceAPeersSet) {
  AllowedIps t;
  t.insert(P("10.0.0.0/8"), 1);
  t.insert(P("fd00::/8"), 1);
  t.insert(P("172.16.0.0/12"), 2);
  t.remove_peer(1);
  EXPECT_EQ(t.size(), 1u);
  const std::vector<IpPrefix> next{P("fd00::1/128"), P("10.1.0.0/16"), P("172.16.0.0/12")};
  t.replace_peer(3, next);
  // Listed IPv4 first, then by address; 172.16/12 moved from peer 2.
  EXPECT_EQ(texts(t.prefixes_of(3)),
            (std::vector<std::string>{"10.1.0.0/16", "172.16.0.0/12", "fd00::1/128"}));
  EXPECT_TRUE(t.prefixes_of(2).empty());
  t.replace_peer(3, {});
  EXPECT_EQ(t.size(), 0u);
}

TEST(AllowedIps, ALookupCopyDoesNotChangeWithTheTable) {
  AllowedIps t;
  t.insert(P("10.0.0.0/8"), 1);
  const AllowedIpsLookup before = t.build_lookup();
  t.insert(P("10.0.0.0/8"), 2);
  EXPECT_EQ(before.lookup(A("10.0.0.1")), 1u);
  EXPECT_EQ(t.build_lookup().lookup(A("10.0.0.1")), 2u);
}

// Brute force: the owner of the longest matching prefix.
std::optional<PeerId> reference(const std::vector<std::pair<IpPrefix, PeerId>>& all,
                                const IpAddress& a) {
  std::optional<PeerId> best;
  int best_len = -1;
  for (const auto& [p, peer] : all)
    if (p.contains(a) && p.length > best_len) {
      best = peer;
      best_len = p.length;
    }
  return best;
}

IpAddress random_address(std::mt19937_64& rng, bool v4) {
  std::array<std::uint8_t, 16> b{};
  // Few distinct leading bytes, so that prefixes nest and share edges.
  for (std::size_t i = 0; i < b.size(); ++i)
    b[i] = static_cast<std::uint8_t>(i < 2 ? rng() % 4 : rng());
  if (rng() % 4 == 0) std::fill(b.begin() + 2, b.end(), std::uint8_t{0xff});
  return v4 ? IpAddress::v4(std::span<const std::uint8_t, 4>(b.data(), 4)) : IpAddress::v6(b);
}

TEST(AllowedIps, MatchesBruteForceOnRandomNestedPrefixes) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 20; ++round) {
    AllowedIps t;
    std::vector<std::pair<IpPrefix, PeerId>> model;  // masked prefix -> current owner
    const int n = 1 + static_cast<int>(rng() % 300);
    for (int i = 0; i < n; ++i) {
      const bool v4 = rng() % 3 != 0;
      const IpAddress a = random_address(rng, v4);
      const auto len = static_cast<std::uint8_t>(rng() % (a.bit_length() + 1));
      const IpPrefix p = IpPrefix{a, len}.masked();
      const auto peer = static_cast<PeerId>(rng() % 8);
      if (rng() % 5 == 0 && !model.empty()) {  // remove one
        const auto victim = model[rng() % model.size()];
        EXPECT_TRUE(t.remove(victim.first, victim.second));
        std::erase(model, victim);
        continue;
      }
      t.insert(p, peer);
      std::erase_if(model, [&](const auto& e) { return e.first == p; });
      model.emplace_back(p, peer);
    }
    ASSERT_EQ(t.size(), model.size());
    const AllowedIpsLookup l = t.build_lookup();
    for (int q = 0; q < 2000; ++q) {
      IpAddress a = random_address(rng, rng() % 2 == 0);
      if (q % 3 == 0 && !model.empty()) a = model[rng() % model.size()].first.address;
      ASSERT_EQ(l.lookup(a), reference(model, a)) << a.to_string() << " round " << round;
    }
  }
}

}  // namespace
}  // namespace sockswitch::wireguard
