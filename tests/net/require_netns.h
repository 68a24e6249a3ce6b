// tests/net/require_netns.h: the first line of every namespace test.
//
// Skips (with the reason; under CI, fails: tests/net/skip.h) where namespace
// tests cannot run, and clears leftovers from crashed runs before the first
// one makes anything.
#pragma once

#include <gtest/gtest.h>

#include "tests/net/netns.h"
#include "tests/net/skip.h"

#define SOCKSWITCH_REQUIRE_NETNS()                                                \
  do {                                                                            \
    if (auto why = ::sockswitch::test::net::skip_reason()) SOCKSWITCH_SKIP(*why); \
    ::sockswitch::test::net::sweep_leftovers();                                   \
  } while (0)
