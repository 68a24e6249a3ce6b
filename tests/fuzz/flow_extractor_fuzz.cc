// tests/fuzz/flow_extractor_fuzz.cc: the packet extractor on arbitrary frames.
//
// The input is one frame. It is copied into a heap block of exactly its
// length, so ASan sees any read past the end (a frame in a pool buffer would
// hide an over-read inside the buffer). Checks, each a trap:
//  * differential: extract_flow (fast path first) and extract_flow_by_walk
//    (the general walk alone) give the same result and the same key, even
//    when the keys start from different garbage (both must overwrite all of
//    it);
//  * extract_burst, which the pipeline uses, gives that same key and result,
//    a hash equal to hash_key(key), and no set word at or past the extent
//    (the caches hash and compare only up to it).
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <string>

#include "dataplane/flow_extractor.h"
#include "dataplane/flow_hash.h"
#include "packet/packet_pool.h"
#include "tests/dataplane/key_diff.h"

namespace dp = sockswitch::dataplane;
namespace pk = sockswitch::packet;
namespace ft = sockswitch::flowtable;

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "flow_extractor_fuzz: %s\n%s", what, detail.c_str());
  __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // +1: a zero-length block is still a distinct allocation to point at.
  std::unique_ptr<std::uint8_t[]> copy(new std::uint8_t[size + 1]);
  if (size > 0) std::memcpy(copy.get(), data, size);
  const std::span<const std::uint8_t> frame(copy.get(), size);
  const ft::PortNo in_port{7};

  ft::FlowKey fast, walk;
  for (auto& w : fast.w)
    w = 0x5a5a5a5a'5a5a5a5aULL;
  for (auto& w : walk.w)
    w = ~0ULL;
  const dp::ParseResult rf = dp::extract_flow(frame, in_port, fast);
  const dp::ParseResult rw = dp::extract_flow_by_walk(frame, in_port, walk);
  if (rf != rw)
    fail("fast path and walk disagree on the result",
         std::string(dp::info(rf).name) + " vs " + std::string(dp::info(rw).name) + "\n");
  if (const std::string diff = dp::test::key_diff(fast, walk); !diff.empty())
    fail("fast path and walk disagree on the key", diff);

  // The burst path reads from a pool buffer; frames longer than a buffer's
  // room are what a port could never hand over.
  static pk::PacketPool pool(1);
  pk::Packet* p = pool.alloc();
  if (size <= p->tailroom()) {
    if (size > 0) std::memcpy(p->append(static_cast<std::uint32_t>(size)), data, size);
    p->set_in_port(in_port);
    ft::FlowKey burst_key;
    dp::KeyInfo info;
    pk::Packet* const one[] = {p};
    if (dp::extract_burst(one, std::span(&burst_key, 1), std::span(&info, 1)) != 1)
      fail("extract_burst skipped the packet", "");
    if (info.result != rf) fail("extract_burst result differs", "");
    if (const std::string diff = dp::test::key_diff(burst_key, fast); !diff.empty())
      fail("extract_burst key differs", diff);
    if (info.hash != dp::hash_key(burst_key)) fail("extract_burst hash is not hash_key", "");
    for (std::size_t w = info.extent; w < ft::kKeyWords; ++w)
      if (burst_key.w[w] != 0) fail("a key word past the extent is set", std::to_string(w) + "\n");
  }
  pool.free(p);
  return 0;
}
