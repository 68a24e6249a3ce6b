// classify(): types, reserved bytes, exact and minimum lengths, hostile sizes.
#include "ports/wireguard/messages.h"

#include <gtest/gtest.h>

#include <vector>

#include "ports/wireguard/tai64n.h"

namespace sockswitch::wireguard {
namespace {

std::vector<std::uint8_t> datagram(std::uint8_t type, std::size_t size) {
  std::vector<std::uint8_t> d(size, 0xee);
  if (size > 0) d[0] = type;
  for (std::size_t i = 1; i < 4 && i < size; ++i)
    d[i] = 0;
  return d;
}

TEST(Messages, ExactSizesAccepted) {
  EXPECT_EQ(classify(datagram(1, 148)).error, ParseError::none);
  EXPECT_EQ(classify(datagram(1, 148)).type, MessageType::initiation);
  EXPECT_EQ(classify(datagram(2, 92)).type, MessageType::response);
  EXPECT_EQ(classify(datagram(2, 92)).error, ParseError::none);
  EXPECT_EQ(classify(datagram(3, 64)).type, MessageType::cookie_reply);
  EXPECT_EQ(classify(datagram(3, 64)).error, ParseError::none);
  EXPECT_EQ(classify(datagram(4, 32)).error, ParseError::none);
  EXPECT_EQ(classify(datagram(4, 1500)).error, ParseError::none);
}

TEST(Messages, WrongLengthsRejected) {
  EXPECT_EQ(classify(datagram(1, 147)).error, ParseError::too_short);
  EXPECT_EQ(classify(datagram(1, 149)).error, ParseError::bad_length);
  EXPECT_EQ(classify(datagram(2, 91)).error, ParseError::too_short);
  EXPECT_EQ(classify(datagram(3, 65)).error, ParseError::bad_length);
  EXPECT_EQ(classify(datagram(4, 31)).error, ParseError::too_short);
  EXPECT_EQ(classify({}).error, ParseError::too_short);
  EXPECT_EQ(classify(datagram(4, 3)).error, ParseError::too_short);
}

TEST(Messages, TypeAndReservedChecked) {
  EXPECT_EQ(classify(datagram(0, 148)).error, ParseError::unknown_type);
  EXPECT_EQ(classify(datagram(5, 148)).error, ParseError::unknown_type);
  auto d = datagram(4, 64);
  d[2] = 1;
  EXPECT_EQ(classify(d).error, ParseError::bad_reserved);
}

TEST(Messages, LittleEndianFields) {
  EXPECT_EQ(load_index(store_index(0x01020304)), 0x01020304u);
  EXPECT_EQ(store_index(0x01020304)[0], 0x04);
  EXPECT_EQ(load_counter(store_counter(0x1122334455667788ull)), 0x1122334455667788ull);
  EXPECT_EQ(store_counter(1)[0], 1);
}

TEST(Tai64n, LabelIsBigEndianAndOrdered) {
  using namespace std::chrono;
  const auto t0 = system_clock::time_point(seconds(1000));
  const Tai64n a = tai64n_from(t0);
  EXPECT_EQ(a[0], 0x40);
  EXPECT_EQ(a[7], (1000 + 10) & 0xff);
  const Tai64n b = tai64n_from(t0 + milliseconds(20));
  EXPECT_TRUE(tai64n_after(b, a));
  EXPECT_FALSE(tai64n_after(a, b));
  EXPECT_FALSE(tai64n_after(a, a));
  // Below the 2^24 ns granule the timestamp does not move.
  EXPECT_EQ(tai64n_from(t0 + nanoseconds(1000)), a);
}

}  // namespace
}  // namespace sockswitch::wireguard
