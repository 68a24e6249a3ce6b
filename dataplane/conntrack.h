// dataplane/conntrack.h: connection tracking for the ct() action, as OVS's userspace tracker.
//
// A packet passed through ct() is looked up by its tuple (addresses,
// protocol, ports or ICMP id/type/code, zone). What it learns is ct_state:
//   +trk always; +inv when it cannot be tracked (a fragment, an ICMP type
//   that starts nothing, TCP flags no stack sends, a segment outside the
//   sequence windows); else +new until the connection is established
//   (TCP: as soon as a committed connection sees a valid segment; UDP,
//   ICMP and other protocols: once the reply direction has been seen),
//   then +est; +rpl for packets of the reply direction; +rel for an ICMP
//   error about a tracked connection.
// Connections exist only once ct(commit) has run for one of their packets
// (not for a packet that is +inv). Until then every packet is +new.
//
// The table is per switch, as OVS's is per datapath: zones keep users
// apart, and a packet crossing a patch port enters the other bridge
// untracked. It holds at most `max_connections`; at that bound a commit
// is refused (the packet continues +trk+new) and counted as
// conntrack_full, never silently. Timeouts are OVS's defaults; entries
// past theirs are reclaimed on lookup and by expire() once a second.
//
// Fragments are not reassembled: they are +trk+inv (OVS's userspace
// reassembly is off by default too).
//
// Threads: track() from any poll thread. Each connection lives in one of
// kShards shards chosen by a hash that is the same for both directions, so
// one short spinlock held around the lookup and update makes concurrent
// writers safe (the cost of a lock per ct() is measured in bench/README.md).
// Memory for the whole bound is reserved at start and paged in as used:
// nothing is allocated per packet. expire(), flush() and dump() run on the
// control thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/conntrack_tcp.h"
#include "flowtable/action.h"
#include "flowtable/flow_key.h"
#include "packet/packet.h"

namespace sockswitch::dataplane {

inline constexpr std::uint32_t kDefaultConntrackMax = 3'000'000;

// One direction of a connection.
struct CtTuple {
  flowtable::Wide src{}, dst{};              // IPv4 addresses in .lo
  std::uint16_t src_port = 0, dst_port = 0;  // ICMP: id, and type << 8 | code
  std::uint16_t zone = 0;
  std::uint8_t proto = 0;
  bool ipv6 = false;
  friend bool operator==(const CtTuple&, const CtTuple&) = default;
};

// What ct() tells the packet's next lookup.
struct CtVerdict {
  std::uint8_t state = 0;
  std::uint32_t mark = 0;
};

struct ConnectionInfo {
  CtTuple orig, reply;
  std::uint32_t mark = 0;
  std::uint32_t expires_in = 0;  // seconds
  std::optional<TcpState> tcp;   // the further along of the two sides
};

struct ConntrackCounters {
  std::uint64_t connections = 0;  // now
  std::uint64_t committed = 0;    // since start
  std::uint64_t full = 0;         // commits refused at the bound
  std::uint64_t invalid = 0;      // packets found +inv
  std::uint64_t expired = 0;
};

class Conntrack final {
 public:
  explicit Conntrack(std::uint32_t max_connections = kDefaultConntrackMax);
  ~Conntrack();
  Conntrack(const Conntrack&) = delete;
  Conntrack& operator=(const Conntrack&) = delete;

  // ct(zone, commit, exec(ct_mark)) for one packet whose key `key` is. Hot path.
  [[nodiscard]] CtVerdict track(const packet::Packet& p, const flowtable::FlowKey& key,
                                const flowtable::Action& ct, std::chrono::seconds now) noexcept;

  // Control thread.
  std::size_t expire(std::chrono::seconds now);
  std::size_t flush(std::optional<std::uint16_t> zone);
  [[nodiscard]] std::vector<ConnectionInfo> dump(std::optional<std::uint16_t> zone,
                                                 std::chrono::seconds now) const;
  [[nodiscard]] ConntrackCounters counters() const noexcept;
  [[nodiscard]] std::uint32_t max_connections() const noexcept { return max_; }

  static constexpr std::size_t kShards = 64;  // the hash's top six bits pick one

 private:
  struct Connection;
  struct Shard;

  [[nodiscard]] std::uint64_t hash_of(const CtTuple& t) const noexcept;
  Shard& shard_of(std::uint64_t hash) noexcept;
  std::uint32_t* bucket(Shard& s, const CtTuple& t) const noexcept;
  // The node (connection * 2 + direction, plus one) holding `t`, or 0. Removes
  // the connection instead when it has expired.
  std::uint32_t find(Shard& s, const CtTuple& t, std::uint32_t now) noexcept;
  void link(Shard& s, std::uint32_t conn) noexcept;
  void unlink(Shard& s, std::uint32_t conn) noexcept;
  void release(Shard& s, std::uint32_t conn) noexcept;
  [[nodiscard]] std::uint32_t allocate(Shard& s) noexcept;
  CtVerdict related(const packet::Packet& p, const CtTuple& outer, std::uint32_t l4,
                    std::uint32_t now) noexcept;

  std::uint32_t max_;
  std::uint32_t per_shard_;
  std::uint64_t seed_;
  std::unique_ptr<Shard[]> shards_;
  std::atomic<std::uint64_t> connections_{0};
  std::atomic<std::uint64_t> committed_{0}, full_{0}, invalid_{0}, expired_{0};
};

}  // namespace sockswitch::dataplane
