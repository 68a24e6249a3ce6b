// tests/net/skip.h: a skip that CI does not allow.
//
// A test skipped for a missing tool, a daemon that did not come up in time
// or an EAL that would not start passes in the summary while testing
// nothing. CI installs everything the tests need (scripts/install-deps.sh)
// and runs as root, so there a reason to skip is a failure of the setup and
// must fail the run; on a developer's machine it stays a skip with its
// reason. CI is recognised by the CI environment variable (.ci/run sets it).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace sockswitch::test {

[[nodiscard]] inline bool in_ci() noexcept {
  const char* ci = std::getenv("CI");
  return ci != nullptr && ci[0] != '\0' && std::string(ci) != "0" && std::string(ci) != "false";
}

}  // namespace sockswitch::test

// Skips (returns from the test) with `why`, or fails with it under CI.
#define SOCKSWITCH_SKIP(why)                                                               \
  do {                                                                                     \
    const std::string sockswitch_skip_why_ = (why);                                        \
    if (::sockswitch::test::in_ci()) FAIL() << "CI cannot skip: " << sockswitch_skip_why_; \
    GTEST_SKIP() << sockswitch_skip_why_;                                                  \
  } while (0)
