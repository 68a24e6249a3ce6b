// tests/dataplane/header_rewrite_test.cc: every header rewrite on every header kind it applies to.
//
// Plan. Frames with every checksum complete (TCP and UDP over IPv4 and
// IPv6, untagged and with one 802.1Q tag) get each rewrite their headers
// allow, parsed from its `ovs-ofctl` text. After each, three things that do
// not share code with the rewriter must hold: the field reads the new value
// in the packet's FlowKey; that key equals what the extractor reads from
// the edited frame (so a later table sees the packet as it now is); and
// every checksum (IPv4 header, TCP/UDP with its pseudo-header) is valid by
// the plain RFC 1071 loop. The payload is never touched. A rewrite that
// does not fit the frame changes nothing and says so.
#include "dataplane/header_rewrite.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "dataplane/flow_extractor.h"
#include "flowtable/flow_parser.h"
#include "flowtable/port_map.h"
#include "packet/packet_pool.h"
#include "tests/dataplane/offload_frames.h"

namespace sockswitch::dataplane {
namespace {

using flowtable::FieldId;
using flowtable::FlowKey;
using packet::Packet;
using packet::PacketPool;
using test::offload_frame;
using test::plain_fold;
using test::plain_sum;

constexpr std::size_t kPayload = 100;

// Checksums of an Ethernet frame read from its bytes alone: every tag is
// walked, then the IPv4 header and the TCP/UDP segment are summed.
bool checksums_valid(const std::vector<std::uint8_t>& f, std::string& why) {
  std::size_t l3 = 12;
  auto be16 = [&](std::size_t at) { return static_cast<std::uint16_t>(f[at] << 8 | f[at + 1]); };
  while (be16(l3) == 0x8100 || be16(l3) == 0x88a8)
    l3 += 4;
  const std::uint16_t type = be16(l3);
  l3 += 2;
  std::size_t l4 = 0;
  std::uint32_t pseudo = 0;
  std::uint8_t proto = 0;
  if (type == 0x0800) {
    const std::size_t ihl = std::size_t{f[l3] & 0x0fu} * 4;
    if (plain_fold(plain_sum(&f[l3], ihl)) != 0xffff) return why = "IPv4 header", false;
    proto = f[l3 + 9];
    l4 = l3 + ihl;
    pseudo = plain_sum(&f[l3 + 12], 8);
  } else if (type == 0x86dd) {
    proto = f[l3 + 6];
    l4 = l3 + 40;
    pseudo = plain_sum(&f[l3 + 8], 32);
  } else {
    return why = "not IP", false;
  }
  const std::size_t len = f.size() - l4;
  pseudo += proto + static_cast<std::uint32_t>(len);
  if (plain_fold(plain_sum(&f[l4], len, pseudo)) != 0xffff) return why = "L4", false;
  return true;
}

struct Rewrite {
  std::string action;
  FieldId field;
  std::uint64_t want;  // for 128-bit fields: the low 64 bits
};

struct Kind {
  bool ipv6, udp;
  int vlans;
};

std::string name_of(const Kind& k) {
  return std::string(k.ipv6 ? "ipv6" : "ipv4") + (k.udp ? "/udp" : "/tcp") +
         (k.vlans ? "/tagged" : "");
}

// The rewrites a frame of kind `k` allows, with what its field must read after.
std::vector<Rewrite> rewrites_for(const Kind& k) {
  std::vector<Rewrite> r = {
      {"mod_dl_src:02:aa:bb:cc:dd:ee", FieldId::eth_src, 0x02aabbccddee},
      {"mod_dl_dst:02:11:22:33:44:55", FieldId::eth_dst, 0x021122334455},
      {"mod_tp_src:1234", FieldId::tp_src, 1234},
      {"mod_tp_dst:4321", FieldId::tp_dst, 4321},
      {"dec_ttl", FieldId::ip_ttl, 63},
      {"mod_nw_ttl:9", FieldId::ip_ttl, 9},
  };
  if (k.ipv6) {
    r.push_back({"set_field:2001:db8::99->ipv6_src", FieldId::ipv6_src, 0x99});
    r.push_back({"set_field:2001:db8::77->ipv6_dst", FieldId::ipv6_dst, 0x77});
  } else {
    r.push_back({"mod_nw_src:192.0.2.9", FieldId::ipv4_src, 0xc0000209});
    r.push_back({"mod_nw_dst:198.51.100.7", FieldId::ipv4_dst, 0xc6336407});
    r.push_back({"mod_nw_tos:32", FieldId::ip_tos, 32});
  }
  if (k.vlans) {  // offload_frame tags VLAN 100, priority 0
    r.push_back({"mod_vlan_vid:55", FieldId::vlan_tci, 0x1000 | 55});
    r.push_back({"mod_vlan_pcp:3", FieldId::vlan_tci, 0x1000 | 3 << 13 | 100});
    r.push_back({"strip_vlan", FieldId::vlan_tci, 0});
  } else {
    r.push_back({"mod_vlan_vid:55", FieldId::vlan_tci, 0x1000 | 55});
    r.push_back({"push_vlan:0x8100", FieldId::vlan_tci, 0x1000});
  }
  return r;
}

flowtable::Action action_of(const Kind& k, const std::string& text) {
  flowtable::PortMap ports;
  const std::string match = std::string(k.udp ? "udp" : "tcp") + (k.ipv6 ? "6" : "");
  const flowtable::FlowRule rule =
      flowtable::parse_flow(match + ",actions=" + text, ports, flowtable::FlowSyntax::add);
  EXPECT_EQ(rule.actions.size(), 1u) << text;
  return rule.actions.at(0);
}

class HeaderRewrite : public ::testing::TestWithParam<Kind> {};

TEST_P(HeaderRewrite, EveryRewriteKeepsFrameKeyAndChecksumsTrue) {
  const Kind k = GetParam();
  const test::OffloadFrame original = offload_frame(k.ipv6, k.udp, kPayload, k.vlans);
  PacketPool pool(8);
  for (const Rewrite& w : rewrites_for(k)) {
    SCOPED_TRACE(name_of(k) + " " + w.action);
    Packet* p = pool.alloc();
    ASSERT_NE(p, nullptr);
    std::memcpy(p->append(static_cast<std::uint32_t>(original.bytes.size())), original.bytes.data(),
                original.bytes.size());
    FlowKey key;
    ASSERT_EQ(extract_flow(*p, key), ParseResult::ok);

    ASSERT_TRUE(apply_rewrite(action_of(k, w.action), *p, key));
    const std::vector<std::uint8_t> edited(p->data(), p->data() + p->length());
    const std::uint64_t got = w.field == FieldId::ipv6_src || w.field == FieldId::ipv6_dst
                                  ? key.get_wide(w.field).lo
                                  : key.get(w.field);
    EXPECT_EQ(got, w.want);
    FlowKey reread;
    EXPECT_EQ(extract_flow(*p, reread), ParseResult::ok);
    EXPECT_EQ(reread, key) << "the key is not what the edited frame says";
    std::string why;
    EXPECT_TRUE(checksums_valid(edited, why)) << why << " checksum";
    ASSERT_GE(edited.size(), kPayload);
    EXPECT_EQ(0, std::memcmp(edited.data() + edited.size() - kPayload,
                             original.bytes.data() + original.bytes.size() - kPayload, kPayload))
        << "the payload changed";
    pool.free(p);
  }
  EXPECT_EQ(pool.available(), pool.size());
}

INSTANTIATE_TEST_SUITE_P(Kinds, HeaderRewrite,
                         ::testing::Values(Kind{false, false, 0}, Kind{false, true, 0},
                                           Kind{true, false, 0}, Kind{true, true, 0},
                                           Kind{false, false, 1}, Kind{true, true, 1}));

// A frame cut short behind its headers' promise: the rewrite changes
// nothing and says so (the caller drops it as bad_edit).
TEST(HeaderRewriteShort, AnEditThatDoesNotFitChangesNothing) {
  const test::OffloadFrame f = offload_frame(false, false, kPayload);
  PacketPool pool(2);
  Packet* p = pool.alloc();
  std::memcpy(p->append(static_cast<std::uint32_t>(f.bytes.size())), f.bytes.data(),
              f.bytes.size());
  FlowKey key;
  ASSERT_EQ(extract_flow(*p, key), ParseResult::ok);
  ASSERT_TRUE(p->trim(p->length() - 30));  // the TCP header is gone
  const std::vector<std::uint8_t> before(p->data(), p->data() + p->length());
  const FlowKey key_before = key;
  EXPECT_FALSE(apply_rewrite(action_of({false, false, 0}, "mod_tp_src:1234"), *p, key));
  EXPECT_EQ(std::vector<std::uint8_t>(p->data(), p->data() + p->length()), before);
  EXPECT_EQ(key, key_before);
  pool.free(p);
}

}  // namespace
}  // namespace sockswitch::dataplane
