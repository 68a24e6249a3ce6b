// tests/fuzz/conntrack_fuzz.cc: the connection tracker under arbitrary packet sequences.
//
// The input is a sequence of packets. Each starts with a byte that says
// how to read the rest: most packets are built from a few fuzzer-chosen
// fields (one of four addresses each way, TCP/UDP/ICMP/other, ports, TCP
// flags, sequence and acknowledgement numbers, windows, ICMP type and id,
// whether ct() commits and in which zone, how far the clock moves), so the
// TCP windows and the reply logic are driven deep; the rest are raw bytes
// after an Ethernet/IPv4 header (ICMP errors quoting garbage, options,
// lengths that lie). After every packet: the table never holds more than
// its bound, and what it dumps is what it counts.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "dataplane/conntrack.h"
#include "dataplane/flow_extractor.h"

namespace dp = sockswitch::dataplane;
namespace pk = sockswitch::packet;
namespace ft = sockswitch::flowtable;

namespace {

constexpr std::uint32_t kMax = 16;

class Input {
 public:
  Input(const std::uint8_t* d, std::size_t n) : d_(d), n_(n) {}
  [[nodiscard]] bool empty() const { return at_ >= n_; }
  std::uint8_t u8() { return at_ < n_ ? d_[at_++] : 0; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() << 8 | u8()); }
  std::uint32_t u32() { return std::uint32_t{u16()} << 16 | u16(); }

 private:
  const std::uint8_t* d_;
  std::size_t n_, at_ = 0;
};

struct Frame {
  std::vector<std::uint8_t> b;
  void u8(std::uint8_t v) { b.push_back(v); }
  void u16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v >> 8));
    u8(static_cast<std::uint8_t>(v));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
};

// Ethernet and an IPv4 header whose total length is patched at the end.
void ipv4_head(Frame& f, std::uint8_t proto, std::uint32_t src, std::uint32_t dst) {
  for (int i = 0; i < 12; ++i)
    f.u8(static_cast<std::uint8_t>(i));
  f.u16(0x0800);
  f.u8(0x45);
  f.u8(0);
  f.u16(0);
  f.u16(1);
  f.u16(0);
  f.u8(64);
  f.u8(proto);
  f.u16(0);
  f.u32(src);
  f.u32(dst);
}

void finish(Frame& f) {
  const std::size_t total = f.b.size() - 14;
  f.b[16] = static_cast<std::uint8_t>(total >> 8);
  f.b[17] = static_cast<std::uint8_t>(total);
}

Frame structured(Input& in) {
  static constexpr std::uint32_t kAddrs[] = {0x0a000001, 0x0a000002, 0x0a000003, 0xc0a80001};
  const std::uint8_t pick = in.u8();
  const std::uint32_t src = kAddrs[pick & 3], dst = kAddrs[pick >> 2 & 3];
  static constexpr std::uint8_t kProtos[] = {6, 17, 1, 47};
  const std::uint8_t proto = kProtos[pick >> 4 & 3];
  Frame f;
  ipv4_head(f, proto, src, dst);
  if (proto == 6) {
    f.u16(static_cast<std::uint16_t>(1000 + (in.u8() & 3)));
    f.u16(static_cast<std::uint16_t>(80 + (in.u8() & 1)));
    f.u32(in.u32());
    f.u32(in.u32());
    const std::uint8_t flags = in.u8();
    const bool wscale = flags & 0x80;
    f.u8(wscale ? 0x60 : 0x50);
    f.u8(flags & 0x3f);
    f.u16(in.u16());
    f.u16(0);
    f.u16(0);
    if (wscale) {
      f.u8(1);
      f.u8(3);
      f.u8(3);
      f.u8(in.u8());
    }
    for (std::uint8_t n = in.u8() & 0x3f; n > 0; --n)
      f.u8(0);
  } else if (proto == 17) {
    f.u16(static_cast<std::uint16_t>(5000 + (in.u8() & 3)));
    f.u16(53);
    f.u16(8);
    f.u16(0);
  } else if (proto == 1) {
    static constexpr std::uint8_t kTypes[] = {8, 0, 3, 11, 13, 14, 5, 42};
    const std::uint8_t type = kTypes[in.u8() & 7];
    f.u8(type);
    f.u8(in.u8() & 3);
    f.u16(0);
    if (type == 3 || type == 11 || type == 5) {
      f.u32(0);
      f.u8(0x45);  // the quoted packet: addresses and ports from the same small sets
      f.u8(0);
      f.u16(28);
      f.u16(0);
      f.u16(0);
      f.u8(64);
      f.u8(in.u8() & 1 ? 17 : 6);
      f.u16(0);
      f.u32(kAddrs[in.u8() & 3]);
      f.u32(kAddrs[in.u8() & 3]);
      f.u16(static_cast<std::uint16_t>(5000 + (in.u8() & 3)));
      f.u16(53);
      f.u32(0);
    } else {
      f.u16(in.u8() & 3);
      f.u16(1);
    }
  } else {
    f.u32(in.u32());
  }
  finish(f);
  return f;
}

Frame raw(Input& in) {
  Frame f;
  ipv4_head(f, in.u8(), 0x0a000001, 0x0a000002);
  for (std::uint8_t n = in.u8() & 0x7f; n > 0 && !in.empty(); --n)
    f.u8(in.u8());
  if (in.u8() & 1) finish(f);  // else the IP length says 0: a lie
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  dp::Conntrack table(kMax);
  Input in(data, size);
  std::vector<std::uint8_t> buffer(4096);
  std::int64_t now = 100;
  while (!in.empty()) {
    const std::uint8_t how = in.u8();
    Frame f = how & 0x80 ? raw(in) : structured(in);
    ft::Action ct;
    ct.kind = ft::ActionKind::ct;
    ct.table = 1;
    ct.zone = how & 0x01;
    if (how & 0x02) ct.ct_flags |= ft::kCtCommit;
    if (how & 0x04 && how & 0x02) {
      ct.ct_flags |= ft::kCtSetMark;
      ct.value.lo = how;
      ct.value.hi = 0xffffffff;
    }
    now += (how >> 3) & 7 ? 0 : 40;  // now and then a long pause: timeouts run out
    pk::Packet p;
    p.bind(buffer.data(), static_cast<std::uint32_t>(buffer.size()));
    std::memcpy(p.append(static_cast<std::uint32_t>(f.b.size())), f.b.data(), f.b.size());
    ft::FlowKey key;
    (void)dp::extract_flow(p, key);
    const dp::CtVerdict v = table.track(p, key, ct, std::chrono::seconds(now));
    if (!(v.state & ft::kCtStateTracked)) std::abort();
    if (how & 0x40) (void)table.expire(std::chrono::seconds(now));
    const dp::ConntrackCounters c = table.counters();
    if (c.connections > kMax) std::abort();
    if (table.dump(std::nullopt, std::chrono::seconds(0)).size() != c.connections) std::abort();
  }
  return 0;
}
