// tests/net/require_netns.h: the first line of every namespace test.
//
// Skips (with the reason) where namespace tests cannot run, and clears
// leftovers from crashed runs before the first one makes anything.
#pragma once

#include <gtest/gtest.h>

#include "tests/net/netns.h"

#define SOCKSWITCH_REQUIRE_NETNS()                                               \
  do {                                                                           \
    if (auto why = ::sockswitch::test::net::skip_reason()) GTEST_SKIP() << *why; \
    ::sockswitch::test::net::sweep_leftovers();                                  \
  } while (0)
