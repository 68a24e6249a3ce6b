// dataplane/conntrack.cc: tuples, the sharded table, and the per-protocol state.
#include "dataplane/conntrack.h"

#include <sys/mman.h>

#include <algorithm>
#include <new>
#include <random>
#include <stdexcept>

#include "dataplane/cycle_counter.h"
#include "dataplane/header_layout.h"
#include "wire/checksum.h"

namespace sockswitch::dataplane {

using packet::Packet;
using wire::load_be16;
using wire::load_be32;

namespace {

using flowtable::FieldId;
using flowtable::FlowKey;
using flowtable::Wide;

// OVS's default timeouts, in seconds.
constexpr std::uint32_t kTcpTimeouts[] = {30, 30, 24 * 3600, 15 * 60, 45, 30};
constexpr std::uint32_t kOtherFirst = 60, kOtherMultiple = 60, kOtherBidir = 30;
constexpr std::uint32_t kIcmpFirst = 60, kIcmpReply = 30;

// UDP, ICMP and other protocols: how far the exchange has got.
constexpr std::uint8_t kFirst = 0, kMultiple = 1, kBidir = 2;

constexpr std::uint16_t kTcpSyn = 0x02;

enum class Kind : std::uint8_t { tcp, icmp_query, icmp_error, other, untrackable };

// A packet's tuple and what its protocol needs besides.
struct Seen {
  CtTuple tuple;
  Kind kind = Kind::untrackable;
  std::uint16_t reply_type = 0;  // ICMP queries: the type the answer has (0xffff: none)
  std::uint32_t l4 = 0;
  TcpSegment segment;
};

bool icmp_is_error(bool v6, std::uint8_t type) noexcept {
  if (v6) return type >= 1 && type <= 4;
  return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

// The type that answers a query type, or 0xffff for a type that is not a
// query (replies, errors, neighbour discovery, ...): those start nothing.
std::uint16_t icmp_answer(bool v6, std::uint8_t type) noexcept {
  if (v6) return type == 128 ? 129 : 0xffff;
  switch (type) {
    case 8:
      return 0;
    case 13:
      return 14;
    case 15:
      return 16;
    default:
      return 0xffff;
  }
}

void read_tcp(const std::uint8_t* f, std::uint32_t len, std::uint32_t l4, std::uint32_t ip_end,
              TcpSegment& s) noexcept {
  const std::uint32_t doff = (f[l4 + 12] >> 4) * 4u;
  s.flags = static_cast<std::uint16_t>(f[l4 + 13] | (f[l4 + 12] & 1) << 8);
  s.seq = load_be32(f + l4 + 4);
  s.ack = load_be32(f + l4 + 8);
  s.window = load_be16(f + l4 + 14);
  s.payload = ip_end > l4 + doff ? ip_end - (l4 + doff) : 0;
  s.wscale = 0;
  if (!(s.flags & kTcpSyn)) return;
  std::uint32_t at = l4 + 20;
  const std::uint32_t stop = std::min(l4 + doff, len);
  while (at + 1 <= stop) {
    const std::uint8_t kind = f[at];
    if (kind == 0) break;
    if (kind == 1) {
      ++at;
      continue;
    }
    if (at + 2 > stop) break;
    const std::uint8_t olen = f[at + 1];
    if (kind == 3 && olen == 3 && at + 3 <= stop)
      s.wscale = static_cast<std::uint8_t>(kWscaleSeen | std::min<std::uint8_t>(f[at + 2], 14));
    at += std::max<std::uint8_t>(olen, 2);
  }
}

// Fills `seen` from the key and, where the key lacks it (ICMP ids, TCP
// sequence numbers), the frame.
void observe(const Packet& p, const FlowKey& key, std::uint16_t zone, Seen& seen) noexcept {
  const auto eth = key.get(FieldId::eth_type);
  const bool v6 = eth == flowtable::kEthTypeIpv6;
  if ((eth != flowtable::kEthTypeIpv4 && !v6) || key.get(FieldId::ip_frag) != 0) return;
  CtTuple& t = seen.tuple;
  t.zone = zone;
  t.ipv6 = v6;
  t.proto = static_cast<std::uint8_t>(key.get(FieldId::ip_proto));
  if (v6) {
    t.src = key.get_wide(FieldId::ipv6_src);
    t.dst = key.get_wide(FieldId::ipv6_dst);
  } else {
    t.src.lo = key.get(FieldId::ipv4_src);
    t.dst.lo = key.get(FieldId::ipv4_dst);
  }
  const HeaderLayout l = locate(p, key);
  const std::uint8_t* f = p.data();
  const std::uint32_t len = p.length();
  const std::uint32_t ip_len =
      v6 ? 40u + load_be16(f + l.l3 + 4) : std::uint32_t{load_be16(f + l.l3 + 2)};
  const std::uint32_t ip_end = std::min(len, l.l3 + ip_len);
  seen.l4 = l.l4;
  switch (t.proto) {
    case flowtable::kIpProtoTcp:
      if (l.l4 == 0 || l.l4 + 20 > ip_end) return;
      t.src_port = static_cast<std::uint16_t>(key.get(FieldId::tp_src));
      t.dst_port = static_cast<std::uint16_t>(key.get(FieldId::tp_dst));
      read_tcp(f, len, l.l4, ip_end, seen.segment);
      seen.kind = Kind::tcp;
      return;
    case flowtable::kIpProtoUdp:
    case flowtable::kIpProtoSctp:
    case 136:  // UDP-Lite
      if (l.l4 == 0) return;
      t.src_port = static_cast<std::uint16_t>(key.get(FieldId::tp_src));
      t.dst_port = static_cast<std::uint16_t>(key.get(FieldId::tp_dst));
      seen.kind = Kind::other;
      return;
    case flowtable::kIpProtoIcmp:
    case flowtable::kIpProtoIcmpv6: {
      if (l.l4 == 0 || l.l4 + 8 > ip_end || (t.proto == flowtable::kIpProtoIcmp) == v6) return;
      const auto type = static_cast<std::uint8_t>(key.get(FieldId::tp_src));
      const auto code = static_cast<std::uint8_t>(key.get(FieldId::tp_dst));
      if (icmp_is_error(v6, type)) {
        seen.kind = Kind::icmp_error;
        return;
      }
      t.src_port = load_be16(f + l.l4 + 4);
      t.dst_port = static_cast<std::uint16_t>(type << 8 | code);
      seen.reply_type = icmp_answer(v6, type);
      const bool is_answer = !v6 ? (type == 0 || type == 14 || type == 16) : type == 129;
      if (seen.reply_type != 0xffff || is_answer) seen.kind = Kind::icmp_query;
      return;
    }
    default:
      seen.kind = Kind::other;
      return;
  }
}

CtTuple reverse(const Seen& s) noexcept {
  CtTuple r = s.tuple;
  std::swap(r.src, r.dst);
  if (s.kind == Kind::icmp_query) {
    r.dst_port = static_cast<std::uint16_t>(s.reply_type << 8 | (s.tuple.dst_port & 0xff));
  } else {
    std::swap(r.src_port, r.dst_port);
  }
  return r;
}

// The tuple of the packet an ICMP error quotes (its IP header and the
// first 8 bytes above it), as that packet went.
bool quoted_tuple(const Packet& p, const CtTuple& outer, std::uint32_t l4, CtTuple& t) noexcept {
  const std::uint8_t* f = p.data();
  const std::uint32_t len = p.length();
  const std::uint32_t in = l4 + 8;
  t = {};
  t.zone = outer.zone;
  t.ipv6 = outer.ipv6;
  std::uint32_t in_l4 = 0;
  if (!outer.ipv6) {
    if (in + 20 > len || (f[in] >> 4) != 4) return false;
    in_l4 = in + (f[in] & 0x0f) * 4u;
    if (load_be16(f + in + 6) & 0x1fff) return false;  // a later fragment quotes no ports
    t.proto = f[in + 9];
    t.src.lo = load_be32(f + in + 12);
    t.dst.lo = load_be32(f + in + 16);
  } else {
    if (in + 40 > len || (f[in] >> 4) != 6) return false;
    in_l4 = in + 40;
    t.proto = f[in + 6];
    for (std::size_t i = 0; i < 8; ++i) {
      t.src.hi = t.src.hi << 8 | f[in + 8 + i];
      t.src.lo = t.src.lo << 8 | f[in + 16 + i];
      t.dst.hi = t.dst.hi << 8 | f[in + 24 + i];
      t.dst.lo = t.dst.lo << 8 | f[in + 32 + i];
    }
  }
  if (in_l4 + 8 > len) return false;
  if (t.proto == flowtable::kIpProtoIcmp || t.proto == flowtable::kIpProtoIcmpv6) {
    t.src_port = load_be16(f + in_l4 + 4);
    t.dst_port = load_be16(f + in_l4);  // type and code
  } else if (t.proto == flowtable::kIpProtoTcp || t.proto == flowtable::kIpProtoUdp ||
             t.proto == flowtable::kIpProtoSctp || t.proto == 136) {
    t.src_port = load_be16(f + in_l4);
    t.dst_port = load_be16(f + in_l4 + 2);
  }
  return true;
}

}  // namespace

struct Conntrack::Connection {
  CtTuple tuple[2];         // [0] the original direction, [1] the reply
  std::uint32_t next[2]{};  // hash chains (node + 1); next[0] is also the free list
  std::uint32_t expires = 0;
  std::uint32_t mark = 0;
  TcpTracker tcp;
  std::uint8_t state = kFirst;
  bool live = false;
};

struct Conntrack::Shard {
  alignas(64) std::atomic<bool> locked{false};
  Connection* conns = nullptr;
  std::uint32_t* heads = nullptr;
  std::uint32_t bucket_mask = 0;
  std::uint32_t used = 0;       // connections [0, used) have been handed out once
  std::uint32_t free_list = 0;  // connection + 1
};

namespace {

class ShardLock {
 public:
  explicit ShardLock(std::atomic<bool>& l) noexcept : l_(l) {
    while (l_.exchange(true, std::memory_order_acquire))
      while (l_.load(std::memory_order_relaxed))
        spin_pause();
  }
  ~ShardLock() { l_.store(false, std::memory_order_release); }
  ShardLock(const ShardLock&) = delete;
  ShardLock& operator=(const ShardLock&) = delete;

 private:
  std::atomic<bool>& l_;
};

void* reserve(std::size_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::runtime_error("conntrack: cannot reserve its table");
  return p;
}

std::uint32_t pow2_at_least(std::uint32_t n) {
  std::uint32_t p = 1;
  while (p < n)
    p <<= 1;
  return p;
}

}  // namespace

Conntrack::Conntrack(std::uint32_t max_connections)
    : max_(max_connections),
      // Room for an uneven spread over the shards; the bound itself is global.
      per_shard_(static_cast<std::uint32_t>(max_connections / kShards +
                                            max_connections / (kShards * 4) + 16)),
      seed_(std::random_device{}() | std::uint64_t{std::random_device{}()} << 32),
      shards_(std::make_unique<Shard[]>(kShards)) {
  const std::uint32_t buckets = pow2_at_least(per_shard_ * 2);
  auto* conns = static_cast<Connection*>(reserve(sizeof(Connection) * per_shard_ * kShards));
  auto* heads = static_cast<std::uint32_t*>(reserve(sizeof(std::uint32_t) * buckets * kShards));
  for (std::size_t i = 0; i < kShards; ++i) {
    shards_[i].conns = conns + i * per_shard_;
    shards_[i].heads = heads + i * buckets;
    shards_[i].bucket_mask = buckets - 1;
  }
}

Conntrack::~Conntrack() {
  const std::uint32_t buckets = shards_[0].bucket_mask + 1;
  ::munmap(shards_[0].conns, sizeof(Connection) * per_shard_ * kShards);
  ::munmap(shards_[0].heads, sizeof(std::uint32_t) * buckets * kShards);
}

// The same for both directions (addresses and ports are ordered before
// they are mixed, and an ICMP query's type, which its answer changes, is
// left out), so both of a connection's tuples live in one shard and one
// bucket: one lock covers both, and one hash serves shard and bucket.
std::uint64_t Conntrack::hash_of(const CtTuple& t) const noexcept {
  const std::uint64_t a = t.src.lo ^ t.src.hi * 0x9e3779b97f4a7c15ULL;
  const std::uint64_t b = t.dst.lo ^ t.dst.hi * 0x9e3779b97f4a7c15ULL;
  const bool icmp = t.proto == flowtable::kIpProtoIcmp || t.proto == flowtable::kIpProtoIcmpv6;
  const std::uint32_t p = t.src_port, q = icmp ? t.src_port : t.dst_port;
  std::uint64_t h = std::min(a, b) * 0xc2b2ae3d27d4eb4fULL ^
                    std::max(a, b) * 0x165667b19e3779f9ULL ^
                    (std::uint64_t{std::min(p, q)} << 16 | std::max(p, q)) * 0xd6e8feb86659fd93ULL ^
                    (std::uint64_t{t.zone} << 8 | t.proto) * 0xff51afd7ed558ccdULL ^ seed_;
  h ^= h >> 29;
  h *= 0xc4ceb9fe1a85ec53ULL;
  return h ^ h >> 32;
}

Conntrack::Shard& Conntrack::shard_of(std::uint64_t hash) noexcept {
  return shards_[hash >> 58];
}

std::uint32_t* Conntrack::bucket(Shard& s, const CtTuple& t) const noexcept {
  return &s.heads[hash_of(t) & s.bucket_mask];
}

std::uint32_t Conntrack::find(Shard& s, const CtTuple& t, std::uint32_t now) noexcept {
  for (std::uint32_t n = *bucket(s, t); n != 0;) {
    const std::uint32_t node = n - 1;
    Connection& c = s.conns[node >> 1];
    if (c.tuple[node & 1] == t) {
      if (c.expires > now) return n;
      unlink(s, node >> 1);
      release(s, node >> 1);
      expired_.fetch_add(1, std::memory_order_relaxed);
      return 0;
    }
    n = c.next[node & 1];
  }
  return 0;
}

void Conntrack::link(Shard& s, std::uint32_t conn) noexcept {
  Connection& c = s.conns[conn];
  for (std::uint32_t dir = 0; dir < 2; ++dir) {
    std::uint32_t& head = *bucket(s, c.tuple[dir]);
    c.next[dir] = head;
    head = conn * 2 + dir + 1;
  }
}

void Conntrack::unlink(Shard& s, std::uint32_t conn) noexcept {
  Connection& c = s.conns[conn];
  for (std::uint32_t dir = 0; dir < 2; ++dir) {
    const std::uint32_t me = conn * 2 + dir + 1;
    std::uint32_t* at = bucket(s, c.tuple[dir]);
    while (*at != 0 && *at != me) {
      const std::uint32_t node = *at - 1;
      at = &s.conns[node >> 1].next[node & 1];
    }
    if (*at == me) *at = c.next[dir];
  }
}

void Conntrack::release(Shard& s, std::uint32_t conn) noexcept {
  Connection& c = s.conns[conn];
  c.live = false;
  c.next[0] = s.free_list;
  s.free_list = conn + 1;
  connections_.fetch_sub(1, std::memory_order_relaxed);
}

std::uint32_t Conntrack::allocate(Shard& s) noexcept {
  if (connections_.fetch_add(1, std::memory_order_relaxed) >= max_) {
    connections_.fetch_sub(1, std::memory_order_relaxed);
    return 0;
  }
  std::uint32_t conn;
  if (s.free_list != 0) {
    conn = s.free_list - 1;
    s.free_list = s.conns[conn].next[0];
  } else if (s.used < per_shard_) {
    conn = s.used++;
  } else {
    connections_.fetch_sub(1, std::memory_order_relaxed);
    return 0;
  }
  new (&s.conns[conn]) Connection{};
  return conn + 1;
}

CtVerdict Conntrack::related(const Packet& p, const CtTuple& outer, std::uint32_t l4,
                             std::uint32_t now) noexcept {
  CtTuple quoted;
  if (!quoted_tuple(p, outer, l4, quoted)) {
    invalid_.fetch_add(1, std::memory_order_relaxed);
    return {static_cast<std::uint8_t>(flowtable::kCtStateTracked | flowtable::kCtStateInvalid)};
  }
  Shard& s = shard_of(hash_of(quoted));
  ShardLock lock(s.locked);
  const std::uint32_t n = find(s, quoted, now);
  if (n == 0) {
    invalid_.fetch_add(1, std::memory_order_relaxed);
    return {static_cast<std::uint8_t>(flowtable::kCtStateTracked | flowtable::kCtStateInvalid)};
  }
  // The error travels against the packet it quotes.
  const bool reply = ((n - 1) & 1) == 0;
  std::uint8_t state = flowtable::kCtStateTracked | flowtable::kCtStateRelated;
  if (reply) state |= flowtable::kCtStateReply;
  return {state, s.conns[(n - 1) >> 1].mark};
}

CtVerdict Conntrack::track(const Packet& p, const FlowKey& key, const flowtable::Action& ct,
                           std::chrono::seconds now_s) noexcept {
  constexpr std::uint8_t kInvalid = flowtable::kCtStateTracked | flowtable::kCtStateInvalid;
  const auto now = static_cast<std::uint32_t>(now_s.count());
  Seen seen;
  observe(p, key, ct.zone, seen);
  if (seen.kind == Kind::untrackable) {
    invalid_.fetch_add(1, std::memory_order_relaxed);
    return {kInvalid};
  }
  if (seen.kind == Kind::icmp_error) return related(p, seen.tuple, seen.l4, now);

  const bool commit = ct.ct_flags & flowtable::kCtCommit;
  Shard& s = shard_of(hash_of(seen.tuple));
  ShardLock lock(s.locked);
  std::uint32_t n = find(s, seen.tuple, now);
  if (n != 0) {
    const std::uint32_t conn = (n - 1) >> 1;
    const bool reply = ((n - 1) & 1) != 0;
    Connection& c = s.conns[conn];
    bool established = false, valid = true;
    if (seen.kind == Kind::tcp) {
      const TcpVerdict v = c.tcp.update(seen.segment, reply);
      if (v == TcpVerdict::reopen) {
        unlink(s, conn);
        release(s, conn);
        n = 0;  // a new connection on the same tuple
      } else {
        valid = v == TcpVerdict::valid;
        established = true;
        if (valid) c.expires = now + kTcpTimeouts[static_cast<std::size_t>(c.tcp.timeout)];
      }
    } else if (seen.kind == Kind::icmp_query) {
      if (reply) c.state = kBidir;
      established = c.state == kBidir;
      c.expires = now + (established ? kIcmpReply : kIcmpFirst);
    } else {
      if (reply && c.state != kBidir) {
        c.state = kBidir;
      } else if (c.state == kFirst) {
        c.state = kMultiple;
      }
      established = c.state == kBidir;
      c.expires = now + (c.state == kBidir      ? kOtherBidir
                         : c.state == kMultiple ? kOtherMultiple
                                                : kOtherFirst);
    }
    if (n != 0) {
      if (!valid) {
        invalid_.fetch_add(1, std::memory_order_relaxed);
        return {kInvalid, c.mark};
      }
      if (commit && ct.ct_flags & flowtable::kCtSetMark)
        c.mark = (c.mark & ~static_cast<std::uint32_t>(ct.value.hi)) |
                 static_cast<std::uint32_t>(ct.value.lo);
      std::uint8_t state = flowtable::kCtStateTracked;
      state |= established ? flowtable::kCtStateEstablished : flowtable::kCtStateNew;
      if (reply) state |= flowtable::kCtStateReply;
      return {state, c.mark};
    }
  }

  // No connection: may this packet start one?
  const bool may_start = seen.kind == Kind::tcp          ? tcp_may_start(seen.segment.flags)
                         : seen.kind == Kind::icmp_query ? seen.reply_type != 0xffff
                                                         : true;
  if (!may_start) {
    invalid_.fetch_add(1, std::memory_order_relaxed);
    return {kInvalid};
  }
  CtVerdict v{static_cast<std::uint8_t>(flowtable::kCtStateTracked | flowtable::kCtStateNew)};
  if (!commit) return v;
  const std::uint32_t slot = allocate(s);
  if (slot == 0) {
    full_.fetch_add(1, std::memory_order_relaxed);
    return v;
  }
  Connection& c = s.conns[slot - 1];
  c.tuple[0] = seen.tuple;
  c.tuple[1] = reverse(seen);
  c.live = true;
  if (seen.kind == Kind::tcp) {
    c.tcp.start(seen.segment);
    c.expires = now + kTcpTimeouts[static_cast<std::size_t>(TcpTimeout::first_packet)];
  } else {
    c.expires = now + (seen.kind == Kind::icmp_query ? kIcmpFirst : kOtherFirst);
  }
  if (ct.ct_flags & flowtable::kCtSetMark) c.mark = static_cast<std::uint32_t>(ct.value.lo);
  link(s, slot - 1);
  committed_.fetch_add(1, std::memory_order_relaxed);
  v.mark = c.mark;
  return v;
}

std::size_t Conntrack::expire(std::chrono::seconds now_s) {
  const auto now = static_cast<std::uint32_t>(now_s.count());
  constexpr std::uint32_t kChunk = 1024;  // the lock is let go between chunks
  std::size_t gone = 0;
  for (std::size_t i = 0; i < kShards; ++i) {
    Shard& s = shards_[i];
    for (std::uint32_t from = 0;; from += kChunk) {
      ShardLock lock(s.locked);
      if (from >= s.used) break;
      const std::uint32_t to = std::min(s.used, from + kChunk);
      for (std::uint32_t c = from; c < to; ++c) {
        if (!s.conns[c].live || s.conns[c].expires > now) continue;
        unlink(s, c);
        release(s, c);
        ++gone;
      }
    }
  }
  expired_.fetch_add(gone, std::memory_order_relaxed);
  return gone;
}

std::size_t Conntrack::flush(std::optional<std::uint16_t> zone) {
  std::size_t gone = 0;
  for (std::size_t i = 0; i < kShards; ++i) {
    Shard& s = shards_[i];
    ShardLock lock(s.locked);
    for (std::uint32_t c = 0; c < s.used; ++c) {
      if (!s.conns[c].live || (zone && s.conns[c].tuple[0].zone != *zone)) continue;
      unlink(s, c);
      release(s, c);
      ++gone;
    }
  }
  return gone;
}

std::vector<ConnectionInfo> Conntrack::dump(std::optional<std::uint16_t> zone,
                                            std::chrono::seconds now_s) const {
  const auto now = static_cast<std::uint32_t>(now_s.count());
  std::vector<ConnectionInfo> out;
  for (std::size_t i = 0; i < kShards; ++i) {
    Shard& s = shards_[i];
    ShardLock lock(s.locked);
    for (std::uint32_t c = 0; c < s.used; ++c) {
      const Connection& k = s.conns[c];
      if (!k.live || k.expires <= now || (zone && k.tuple[0].zone != *zone)) continue;
      ConnectionInfo info{k.tuple[0], k.tuple[1], k.mark, k.expires - now, std::nullopt};
      if (k.tuple[0].proto == flowtable::kIpProtoTcp)
        info.tcp = std::max(k.tcp.peer[0].state, k.tcp.peer[1].state);
      out.push_back(info);
    }
  }
  return out;
}

ConntrackCounters Conntrack::counters() const noexcept {
  return {connections_.load(std::memory_order_relaxed), committed_.load(std::memory_order_relaxed),
          full_.load(std::memory_order_relaxed), invalid_.load(std::memory_order_relaxed),
          expired_.load(std::memory_order_relaxed)};
}

}  // namespace sockswitch::dataplane
