// BLAKE2s against the reference vectors (RFC 7693 Appendix B, the BLAKE2
// repository's blake2s-kat.txt), and the KDF's chaining.
#include "ports/wireguard/blake2s.h"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "tests/wireguard/hex_bytes.h"

namespace sockswitch::wireguard {
namespace {

using test::hex_array;
using test::to_hex_text;

Bytes text(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

TEST(Blake2s, UnkeyedReferenceVectors) {
  Hash h;
  ASSERT_TRUE(blake2s_hash({text("abc")}, h));
  EXPECT_EQ(to_hex_text(h), "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
  ASSERT_TRUE(blake2s_hash({}, h));
  EXPECT_EQ(to_hex_text(h), "69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9");
  // A concatenation hashes like the joined bytes.
  Hash parts;
  ASSERT_TRUE(blake2s_hash({text("a"), text(""), text("bc")}, parts));
  ASSERT_TRUE(blake2s_hash({text("abc")}, h));
  EXPECT_EQ(parts, h);
}

TEST(Blake2s, KeyedKatEntries) {
  std::array<std::uint8_t, 32> key;
  for (std::size_t i = 0; i < key.size(); ++i)
    key[i] = static_cast<std::uint8_t>(i);
  std::array<std::uint8_t, 32> out;
  ASSERT_TRUE(blake2s_mac_sized(key, {}, out));
  EXPECT_EQ(to_hex_text(out), "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49");
  const std::uint8_t zero = 0;
  ASSERT_TRUE(blake2s_mac_sized(key, Bytes(&zero, 1), out));
  EXPECT_EQ(to_hex_text(out), "40d15fee7c328830166ac3f918650f807e7e01e177258cdc0a39b11f598066f1");
}

TEST(Blake2s, SixteenByteMacIsNotATruncatedThirtyTwo) {
  // BLAKE2's output length is a parameter of the hash, so MAC() must ask
  // for 16 bytes rather than cut 32 down.
  std::array<std::uint8_t, 32> key{};
  key[0] = 1;
  Mac mac;
  std::array<std::uint8_t, 32> long_mac;
  ASSERT_TRUE(blake2s_mac(key, {text("x")}, mac));
  ASSERT_TRUE(blake2s_mac_sized(key, text("x"), long_mac));
  EXPECT_NE(to_hex_text(mac), to_hex_text(std::span(long_mac).first(16)));
}

TEST(Blake2s, HmacMatchesItsDefinition) {
  // HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)), block size 64.
  std::array<std::uint8_t, 32> key;
  for (std::size_t i = 0; i < key.size(); ++i)
    key[i] = static_cast<std::uint8_t>(0xa0 + i);
  std::array<std::uint8_t, 64> ipad{}, opad{};
  for (std::size_t i = 0; i < 64; ++i) {
    const std::uint8_t k = i < key.size() ? key[i] : 0;
    ipad[i] = k ^ 0x36;
    opad[i] = k ^ 0x5c;
  }
  Hash inner, expected;
  ASSERT_TRUE(blake2s_hash({ipad, text("message")}, inner));
  ASSERT_TRUE(blake2s_hash({opad, inner}, expected));
  std::array<std::uint8_t, 32> got;
  ASSERT_TRUE(hmac_blake2s(key, {text("mess"), text("age")}, got));
  EXPECT_EQ(got, expected);
}

TEST(Blake2s, KdfChainsLikeTheWhitepaper) {
  SecretKey key(hex_array<32>("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"));
  SecretKey t1, t2, t3;
  ASSERT_TRUE(kdf3(key, text("input"), t1, t2, t3));
  std::array<std::uint8_t, 32> prk, e1, e2, e3;
  ASSERT_TRUE(hmac_blake2s(key.span(), {text("input")}, prk));
  const std::uint8_t one = 1, two = 2, three = 3;
  ASSERT_TRUE(hmac_blake2s(prk, {Bytes(&one, 1)}, e1));
  ASSERT_TRUE(hmac_blake2s(prk, {e1, Bytes(&two, 1)}, e2));
  ASSERT_TRUE(hmac_blake2s(prk, {e2, Bytes(&three, 1)}, e3));
  EXPECT_EQ(to_hex_text(t1.span()), to_hex_text(e1));
  EXPECT_EQ(to_hex_text(t2.span()), to_hex_text(e2));
  EXPECT_EQ(to_hex_text(t3.span()), to_hex_text(e3));
  SecretKey k1, k2;
  ASSERT_TRUE(kdf2(key, text("input"), k1, k2));
  EXPECT_TRUE(equal_constant_time(k2.span(), t2.span()));
  ASSERT_TRUE(kdf1(key, text("input"), key));  // output may alias the key
  EXPECT_TRUE(equal_constant_time(key.span(), t1.span()));
}

}  // namespace
}  // namespace sockswitch::wireguard
