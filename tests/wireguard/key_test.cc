#include "ports/wireguard/key.h"

#include <gtest/gtest.h>

namespace sockswitch::wireguard {
namespace {

TEST(Key, Base64RoundTripsAndRejectsOtherShapes) {
  KeyBytes k;
  for (std::size_t i = 0; i < k.size(); ++i)
    k[i] = static_cast<std::uint8_t>(i * 7 + 1);
  const std::string text = to_base64(k);
  EXPECT_EQ(text.size(), 44u);
  EXPECT_EQ(key_from_base64(text), k);
  EXPECT_FALSE(key_from_base64(text.substr(0, 43)));
  EXPECT_FALSE(key_from_base64(text + "="));
  std::string spaced = text;
  spaced[0] = ' ';
  EXPECT_FALSE(key_from_base64(spaced));
  std::string bad = text;
  bad[5] = '*';
  EXPECT_FALSE(key_from_base64(bad));
}

TEST(Key, Base64RejectsNonCanonicalSpareBits) {
  // 'B' before '=' sets one of the two spare bits of the last character.
  const std::string zero = to_base64(KeyBytes{});
  ASSERT_EQ(zero, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  EXPECT_TRUE(key_from_base64(zero));
  EXPECT_FALSE(key_from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB="));
}

TEST(Key, HexRoundTrips) {
  KeyBytes k;
  for (std::size_t i = 0; i < k.size(); ++i)
    k[i] = static_cast<std::uint8_t>(255 - i);
  const std::string text = to_hex(k);
  EXPECT_EQ(key_from_hex(text), k);
  EXPECT_FALSE(key_from_hex(text.substr(1)));
  EXPECT_FALSE(key_from_hex(std::string(64, 'g')));
}

TEST(Key, SecretWipesOnClear) {
  KeyBytes k;
  k.fill(0xab);
  SecretKey s{std::span<const std::uint8_t, kKeySize>(k)};
  EXPECT_FALSE(s.is_zero());
  s.clear();
  EXPECT_TRUE(s.is_zero());
}

TEST(Key, ConstantTimeEquality) {
  const std::array<std::uint8_t, 3> a{1, 2, 3}, b{1, 2, 3}, c{1, 2, 4};
  EXPECT_TRUE(equal_constant_time(a, b));
  EXPECT_FALSE(equal_constant_time(a, c));
  EXPECT_FALSE(equal_constant_time(a, std::span<const std::uint8_t>(b).first(2)));
}

}  // namespace
}  // namespace sockswitch::wireguard
