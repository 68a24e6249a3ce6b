// tests/ports/fd_test.cc: descriptor ownership and the factories' error messages.
#include "ports/fd.h"

#include <gtest/gtest.h>

#include <string>

namespace sockswitch::ports {
namespace {

bool is_open(int fd) {
  return ::fcntl(fd, F_GETFD) != -1;
}

TEST(Fd, ClosesOnDestructionAndMovesOwnership) {
  int raw;
  {
    Fd a = Fd::open("/dev/null", O_RDONLY);
    raw = a.get();
    ASSERT_TRUE(is_open(raw));
    EXPECT_TRUE(::fcntl(raw, F_GETFD) & FD_CLOEXEC);
    Fd b = std::move(a);
    EXPECT_EQ(a.get(), -1);
    EXPECT_FALSE(a);
    EXPECT_EQ(b.get(), raw);
    Fd c;
    c = std::move(b);
    EXPECT_TRUE(is_open(raw));
  }
  EXPECT_FALSE(is_open(raw));
}

TEST(Fd, FactoriesNameTheSyscall) {
  try {
    (void)Fd::open("/nonexistent/sockswitch", O_RDONLY);
    FAIL() << "no exception";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("open(/nonexistent/sockswitch)"), std::string::npos);
  }
  try {
    (void)Fd::socket(12345, SOCK_RAW, 0, "family 12345");
    FAIL() << "no exception";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("socket(family 12345)"), std::string::npos) << e.what();
  }
}

TEST(MappedRegion, UnmapsAndMoves) {
  Fd f = Fd::open("/dev/zero", O_RDWR);
  MappedRegion r = MappedRegion::map_shared(f, 4096, "/dev/zero");
  ASSERT_NE(r.data(), nullptr);
  r.data()[10] = std::byte{7};
  MappedRegion s = std::move(r);
  EXPECT_EQ(r.data(), nullptr);
  EXPECT_EQ(s.size(), 4096u);
  EXPECT_EQ(s.data()[10], std::byte{7});
}

}  // namespace
}  // namespace sockswitch::ports
