// ReplayWindow: in order, reordered within the window, too old, duplicates,
// big jumps, and the counter limit.
#include "ports/wireguard/replay_window.h"

#include <gtest/gtest.h>

namespace sockswitch::wireguard {
namespace {

TEST(ReplayWindow, InOrderAcceptedOnceEach) {
  ReplayWindow w;
  for (std::uint64_t c = 0; c < 20000; ++c)
    ASSERT_TRUE(w.accept(c)) << c;
  for (std::uint64_t c = 19990; c < 20000; ++c)
    EXPECT_FALSE(w.accept(c)) << c;
}

TEST(ReplayWindow, ReorderedWithinWindowAccepted) {
  ReplayWindow w;
  ASSERT_TRUE(w.accept(10000));
  // Everything up to kWindowSize behind the top is still new.
  for (std::uint64_t c = 10000 - ReplayWindow::kWindowSize; c < 10000; c += 7)
    EXPECT_TRUE(w.accept(c)) << c;
  for (std::uint64_t c = 10000 - ReplayWindow::kWindowSize; c < 10000; c += 7)
    EXPECT_FALSE(w.accept(c)) << c;
  EXPECT_TRUE(w.accept(9998));  // not on the stride of 7 above
  EXPECT_FALSE(w.accept(10000));
}

TEST(ReplayWindow, TooOldRejected) {
  ReplayWindow w;
  ASSERT_TRUE(w.accept(10000));
  EXPECT_FALSE(w.accept(10000 - ReplayWindow::kWindowSize - 1));
  EXPECT_FALSE(w.accept(0));
  EXPECT_TRUE(w.accept(10000 - ReplayWindow::kWindowSize));
}

TEST(ReplayWindow, FirstPacketMayBeZeroAndDuplicatesRejected) {
  ReplayWindow w;
  EXPECT_TRUE(w.accept(0));
  EXPECT_FALSE(w.accept(0));
  EXPECT_TRUE(w.accept(2));
  EXPECT_TRUE(w.accept(1));
  EXPECT_FALSE(w.accept(1));
  EXPECT_FALSE(w.accept(2));
}

TEST(ReplayWindow, BigJumpForgetsOldBitsButNotNewOnes) {
  ReplayWindow w;
  for (std::uint64_t c = 0; c < 100; ++c)
    ASSERT_TRUE(w.accept(c));
  // A jump of exactly one ring: the word holding 0..63 is reused for the
  // top's word and must have been cleared.
  const std::uint64_t top = 8192 + 5;
  ASSERT_TRUE(w.accept(top));
  EXPECT_TRUE(w.accept(top - 1));
  EXPECT_TRUE(w.accept(top - 6));  // counter 8191, same ring slot family as 63
  EXPECT_FALSE(w.accept(99));      // too old now
  const std::uint64_t far = std::uint64_t{1} << 40;
  ASSERT_TRUE(w.accept(far));
  EXPECT_FALSE(w.accept(far));
  EXPECT_TRUE(w.accept(far - 1));
  EXPECT_TRUE(w.accept(far - 64));
  EXPECT_FALSE(w.accept(top));
}

TEST(ReplayWindow, NearTheLimit) {
  ReplayWindow w;
  EXPECT_FALSE(w.accept(kRejectAfterMessages));
  EXPECT_FALSE(w.accept(~std::uint64_t{0}));
  EXPECT_EQ(kRejectAfterMessages, ~std::uint64_t{0} - 8192);  // 2^64 - 2^13 - 1
  EXPECT_TRUE(w.accept(kRejectAfterMessages - 1));
  EXPECT_FALSE(w.accept(kRejectAfterMessages - 1));
  EXPECT_TRUE(w.accept(kRejectAfterMessages - 2));
  EXPECT_FALSE(w.accept(kRejectAfterMessages));
}

TEST(ReplayWindow, ResetForgetsEverything) {
  ReplayWindow w;
  ASSERT_TRUE(w.accept(5));
  w.reset();
  EXPECT_TRUE(w.accept(5));
  EXPECT_TRUE(w.accept(0));
}

}  // namespace
}  // namespace sockswitch::wireguard
