// ChaCha20-Poly1305 (RFC 8439 §2.8.2), HChaCha20 and XChaCha20-Poly1305
// (draft-irtf-cfrg-xchacha-03 §2.2.1 and §A.3.1).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ports/wireguard/chacha20_poly1305.h"
#include "ports/wireguard/xchacha20_poly1305.h"
#include "tests/wireguard/hex_bytes.h"

namespace sockswitch::wireguard {
namespace {

using test::hex_array;
using test::hex_bytes;
using test::to_hex_text;

const std::string kSunscreen =
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
    "future, sunscreen would be it.";
const auto kAad = hex_bytes("50515253c0c1c2c3c4c5c6c7");
const auto kKey = hex_array<32>("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");

std::vector<std::uint8_t> with_tag_room(const std::string& text) {
  std::vector<std::uint8_t> v(text.begin(), text.end());
  v.resize(v.size() + kAeadTagSize);
  return v;
}

TEST(ChaCha20Poly1305, Rfc8439Section2_8_2) {
  ChaCha20Poly1305 aead;
  AeadNonce nonce = hex_array<12>("070000004041424344454647");
  auto buf = with_tag_room(kSunscreen);
  ASSERT_TRUE(aead.seal(kKey, nonce, kAad, buf));
  EXPECT_EQ(to_hex_text(buf),
            "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb"
            "69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad6"
            "75945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116"
            "1ae10b594f09e26a7e902ecbd0600691");
  ASSERT_TRUE(aead.open(kKey, nonce, kAad, buf));
  EXPECT_EQ(std::string(buf.begin(), buf.end() - kAeadTagSize), kSunscreen);
}

TEST(ChaCha20Poly1305, RejectsForgedTagWrongNonceAndWrongAd) {
  ChaCha20Poly1305 aead;
  auto buf = with_tag_room("payload");
  ASSERT_TRUE(aead.seal(kKey, counter_nonce(7), {}, buf));
  auto forged = buf;
  forged.back() ^= 1;
  EXPECT_FALSE(aead.open(kKey, counter_nonce(7), {}, forged));
  auto copy = buf;
  EXPECT_FALSE(aead.open(kKey, counter_nonce(8), {}, copy));
  copy = buf;
  EXPECT_FALSE(aead.open(kKey, counter_nonce(7), kAad, copy));
  std::vector<std::uint8_t> short_buf(15);
  EXPECT_FALSE(aead.open(kKey, counter_nonce(7), {}, short_buf));
  EXPECT_TRUE(aead.open(kKey, counter_nonce(7), {}, buf));  // the context recovers
}

TEST(ChaCha20Poly1305, EmptyTextIsJustATag) {
  ChaCha20Poly1305 aead;
  std::vector<std::uint8_t> tag(kAeadTagSize);
  ASSERT_TRUE(aead.seal(kKey, counter_nonce(0), kAad, tag));
  EXPECT_TRUE(aead.open(kKey, counter_nonce(0), kAad, tag));
}

TEST(ChaCha20Poly1305, CounterNonceIsZeroPrefixedLittleEndian) {
  EXPECT_EQ(to_hex_text(counter_nonce(0x0102030405060708ull)), "000000000807060504030201");
}

TEST(HChaCha20, DraftSection2_2_1) {
  const auto key =
      hex_array<32>("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  const auto nonce = hex_array<16>("000000090000004a0000000031415927");
  SecretKey subkey;
  ASSERT_TRUE(hchacha20(key, nonce, subkey));
  EXPECT_EQ(to_hex_text(subkey.span()),
            "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc");
}

TEST(XChaCha20Poly1305, DraftSectionA_3_1) {
  ChaCha20Poly1305 aead;
  const XNonce nonce = hex_array<24>("404142434445464748494a4b4c4d4e4f5051525354555657");
  auto buf = with_tag_room(kSunscreen);
  ASSERT_TRUE(xchacha20_poly1305_seal(aead, kKey, nonce, kAad, buf));
  EXPECT_EQ(to_hex_text(buf),
            "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a8"
            "2f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369"
            "488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e"
            "c0875924c1c7987947deafd8780acf49");
  ASSERT_TRUE(xchacha20_poly1305_open(aead, kKey, nonce, kAad, buf));
  EXPECT_EQ(std::string(buf.begin(), buf.end() - kAeadTagSize), kSunscreen);
  buf[3] ^= 0x80;
  EXPECT_FALSE(xchacha20_poly1305_open(aead, kKey, nonce, kAad, buf));
}

}  // namespace
}  // namespace sockswitch::wireguard
