// dataplane/packet_pool.cc: setup of the buffer area and the free stack.
#include "dataplane/packet_pool.h"

#include <cstdio>
#include <cstdlib>
#include <new>
#include <stdexcept>

namespace sockswitch::dataplane {
namespace {

constexpr std::size_t kBufferAlign = 64;  // a cache line: buffers never share one

[[noreturn, gnu::cold]] void misuse(const char* what) noexcept {
  std::fprintf(stderr, "sockswitch: PacketPool::free: %s\n", what);
  std::abort();
}

}  // namespace

void PacketPool::AlignedFree::operator()(std::uint8_t* p) const noexcept {
  ::operator delete (p, std::align_val_t{kBufferAlign});
}

PacketPool::PacketPool(std::uint32_t count, std::uint32_t buffer_size, std::uint32_t headroom)
    : count_(count), top_(count), headroom_(headroom) {
  if (count == 0) throw std::invalid_argument("packet pool: count must be positive");
  // Round each buffer up to whole cache lines so that every one starts aligned.
  const std::size_t stride = (std::size_t{buffer_size} + kBufferAlign - 1) & ~(kBufferAlign - 1);
  if (stride == 0 || stride > UINT32_MAX || headroom >= buffer_size)
    throw std::invalid_argument("packet pool: headroom must leave room for a frame");
  buffer_size_ = static_cast<std::uint32_t>(stride);

  memory_.reset(
      static_cast<std::uint8_t*>(::operator new (stride* count, std::align_val_t{kBufferAlign})));
  packets_ = std::make_unique<Packet[]>(count);
  free_ = std::make_unique<Packet*[]>(count);
  for (std::size_t i = 0; i < count; ++i) {
    Packet& p = packets_[i];
    p.bind(memory_.get() + i * stride, buffer_size_);
    p.in_pool_ = true;
    // Lowest buffers on top, so a lightly used pool touches the fewest pages.
    free_[count - 1 - i] = &p;
  }
}

Packet* PacketPool::alloc() noexcept {
  if (top_ == 0) return nullptr;
  Packet* p = free_[--top_];
  p->in_pool_ = false;
  p->reset(headroom_);
  return p;
}

std::size_t PacketPool::alloc_burst(std::span<Packet*> out) noexcept {
  const std::size_t n = out.size() < top_ ? out.size() : top_;
  for (std::size_t i = 0; i < n; ++i) {
    Packet* p = free_[--top_];
    p->in_pool_ = false;
    p->reset(headroom_);
    out[i] = p;
  }
  return n;
}

bool PacketPool::owns(const Packet* p) const noexcept {
  // Compare as integers: relational operators on unrelated pointers are unspecified.
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  const auto lo = reinterpret_cast<std::uintptr_t>(packets_.get());
  const auto hi = reinterpret_cast<std::uintptr_t>(packets_.get() + count_);
  return a >= lo && a < hi && (a - lo) % sizeof(Packet) == 0;
}

void PacketPool::free(Packet* p) noexcept {
  if (!owns(p)) misuse("packet does not belong to this pool");
  if (p->in_pool_) misuse("packet freed twice");
  p->in_pool_ = true;
  free_[top_++] = p;
}

void PacketPool::free_burst(std::span<Packet* const> packets) noexcept {
  for (Packet* p : packets)
    free(p);
}

}  // namespace sockswitch::dataplane
