// X25519 against RFC 7748 §5.2 (scalar multiplication) and §6.1 (DH).
#include "ports/wireguard/x25519.h"

#include <gtest/gtest.h>

#include "tests/wireguard/hex_bytes.h"

namespace sockswitch::wireguard {
namespace {

using test::hex_array;
using test::to_hex_text;

SecretKey secret(std::string_view hex) {
  return SecretKey(hex_array<32>(hex));
}

TEST(X25519, Rfc7748Section5_2Vectors) {
  SecretKey out;
  ASSERT_TRUE(dh(secret("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
                 hex_array<32>("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"),
                 out));
  EXPECT_EQ(to_hex_text(out.span()),
            "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
  ASSERT_TRUE(dh(secret("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d"),
                 hex_array<32>("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493"),
                 out));
  EXPECT_EQ(to_hex_text(out.span()),
            "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}

TEST(X25519, Rfc7748Section6_1DiffieHellman) {
  const SecretKey alice =
      secret("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const SecretKey bob = secret("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  const auto alice_pub = public_key_of(alice);
  const auto bob_pub = public_key_of(bob);
  ASSERT_TRUE(alice_pub && bob_pub);
  EXPECT_EQ(to_hex_text(*alice_pub),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(to_hex_text(*bob_pub),
            "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  SecretKey k1, k2;
  ASSERT_TRUE(dh(alice, *bob_pub, k1));
  ASSERT_TRUE(dh(bob, *alice_pub, k2));
  EXPECT_EQ(to_hex_text(k1.span()),
            "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  EXPECT_EQ(to_hex_text(k2.span()), to_hex_text(k1.span()));
}

TEST(X25519, RejectsLowOrderPointsGivingZeroSecret) {
  SecretKey out;
  const SecretKey priv = generate_private_key();
  EXPECT_FALSE(dh(priv, PublicKey{}, out));  // u = 0
  PublicKey one{};
  one[0] = 1;
  EXPECT_FALSE(dh(priv, one, out));  // u = 1
  EXPECT_TRUE(out.is_zero());
}

TEST(X25519, GeneratedKeysAreClampedAndAgree) {
  const SecretKey a = generate_private_key();
  const SecretKey b = generate_private_key();
  EXPECT_EQ(a.data()[0] & 7, 0);
  EXPECT_EQ(a.data()[31] & 0xc0, 0x40);
  SecretKey ab, ba;
  ASSERT_TRUE(dh(a, *public_key_of(b), ab));
  ASSERT_TRUE(dh(b, *public_key_of(a), ba));
  EXPECT_TRUE(equal_constant_time(ab.span(), ba.span()));
}

}  // namespace
}  // namespace sockswitch::wireguard
