// packet/packet_pool.cc: setup of the buffer area and the free stack.
#include "packet/packet_pool.h"

#include <cstdio>
#include <cstdlib>
#include <new>
#include <stdexcept>

namespace sockswitch::packet {
namespace {

constexpr std::size_t kBufferAlign = 64;  // a cache line: buffers never share one
constexpr std::size_t kPage = 4096;       // the area is registrable as an AF_XDP UMEM

}  // namespace

void PacketPool::misuse(const char* what) noexcept {
  std::fprintf(stderr, "sockswitch: PacketPool::free: %s\n", what);
  std::abort();
}

void PacketPool::AlignedFree::operator()(std::uint8_t* p) const noexcept {
  ::operator delete (p, std::align_val_t{kPage});
}

PacketPool::PacketPool(std::uint32_t count, std::uint32_t buffer_size, std::uint32_t headroom,
                       std::uint32_t large_count)
    : count_(count),
      top_(count),
      large_count_(large_count),
      large_top_(large_count),
      headroom_(headroom) {
  if (count == 0) throw std::invalid_argument("packet pool: count must be positive");
  // Round each buffer up to whole cache lines so that every one starts aligned.
  const std::size_t rounded = (std::size_t{buffer_size} + kBufferAlign - 1) & ~(kBufferAlign - 1);
  if (rounded == 0 || rounded > UINT32_MAX - kBufferAlign || headroom >= buffer_size)
    throw std::invalid_argument("packet pool: headroom must leave room for a frame");
  buffer_size_ = static_cast<std::uint32_t>(rounded);
  // An odd number of cache lines from one buffer to the next: with the
  // 2 KiB default, buffers 2 KiB apart would all map their headers to the
  // same two L1 sets (and few L2 sets), so a burst of 32 evicted itself.
  // (AF_XDP registers the area with unaligned chunks, so any stride works.)
  const std::size_t stride = (rounded / kBufferAlign) % 2 == 0 ? rounded + kBufferAlign : rounded;
  stride_ = stride;
  area_bytes_ = (stride * count + kPage - 1) & ~(kPage - 1);

  memory_.reset(static_cast<std::uint8_t*>(::operator new (area_bytes_, std::align_val_t{kPage})));
  packets_ = std::make_unique<Packet[]>(count);
  free_ = std::make_unique<Packet*[]>(count);
  carve(memory_.get(), stride, buffer_size_, count, packets_.get(), free_.get());
  set_lenders(0);

  if (large_count != 0) {
    large_memory_.reset(static_cast<std::uint8_t*>(
        ::operator new (std::size_t{kLargeBufferSize} * large_count, std::align_val_t{kPage})));
    large_packets_ = std::make_unique<Packet[]>(large_count);
    large_free_ = std::make_unique<Packet*[]>(large_count);
    carve(large_memory_.get(), kLargeBufferSize, kLargeBufferSize, large_count,
          large_packets_.get(), large_free_.get());
  }
}

void PacketPool::carve(std::uint8_t* memory, std::size_t stride, std::uint32_t size, std::size_t n,
                       Packet* packets, Packet** stack) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    packets[i].bind(memory + i * stride, size);
    packets[i].in_pool_ = true;
    stack[n - 1 - i] = &packets[i];
  }
}

void PacketPool::free_large(Packet* p) noexcept {
  if (!is_one_of(p, large_packets_.get(), large_count_)) [[unlikely]]
    misuse("packet does not belong to this pool");
  if (p->in_pool_) [[unlikely]]
    misuse("packet freed twice");
  p->in_pool_ = true;
  large_free_[large_top_++] = p;
}

PacketPool::~PacketPool() {
  for (Returned* r = returned_.exchange(nullptr); r != nullptr;) {
    Returned* next = r->next;
    delete r;
    r = next;
  }
}

void PacketPool::hand_back(std::vector<Packet*> packets) {
  if (packets.empty()) return;
  auto* node = new Returned{std::move(packets), nullptr};
  node->next = returned_.load(std::memory_order_relaxed);
  // One consumer takes the whole stack at once, so a push cannot meet ABA.
  while (!returned_.compare_exchange_weak(node->next, node, std::memory_order_release,
                                          std::memory_order_relaxed)) {
  }
}

std::size_t PacketPool::reclaim_slow() noexcept {
  std::size_t n = 0;
  for (Returned* r = returned_.exchange(nullptr, std::memory_order_acquire); r != nullptr;) {
    free_burst(r->packets);
    n += r->packets.size();
    Returned* next = r->next;
    delete r;
    r = next;
  }
  return n;
}

}  // namespace sockswitch::packet
