// dataplane/flow_extractor.h: Ethernet frame -> flowtable::FlowKey, with OVS's semantics.
//
// What: every header field a flow can match, read from the frame into the
// key's host-order words, plus in_port from the packet. Fields the frame
// does not have are 0 (as in OVS, a zero field is what "absent" looks like:
// vlan_tci 0 = untagged, ip_frag 0 = not a fragment, ...).
//
// Semantics follow OVS's userspace extractor, because DESIGN.md asks for the
// same output for the same packet:
//  * Up to two VLAN tags (0x8100 or 0x88a8). vlan_tci is the outer tag with
//    the CFI bit (0x1000) forced on to mean "tagged"; eth_type is the type
//    after the tags. A third tag stops parsing with eth_type = its TPID.
//  * 802.3 length frames (< 0x600): LLC/SNAP with OUI 0 yields the SNAP type,
//    anything else eth_type 0x05ff (OVS's "no Ethernet type").
//  * ARP/RARP only for Ethernet/IPv4 (hrd 1, pro 0x0800, hln 6, pln 4).
//    ip_proto is the opcode when it fits in 8 bits, else 0 (OVS matches
//    only the low byte, so a larger opcode must not alias a small one).
//  * IPv4/IPv6 trailing bytes beyond the IP length are Ethernet padding and
//    ignored. ip_frag bit0 = fragment (MF or offset), bit1 = later fragment;
//    later fragments carry no L4 fields. An IPv6 later fragment has
//    ip_proto 44 (the fragment header), as OVS reports it.
//  * IPv6 extension headers (hop-by-hop, routing, destination options,
//    fragment, AH) are skipped, at most kMaxIpv6ExtHeaders of them.
//  * ICMP/ICMPv6 type -> tp_src, code -> tp_dst. ICMPv6 ND NS/NA (code 0):
//    nd_target, source/target link-layer address options -> arp_sha/arp_tha.
//
// Broken frames: every read is bounds-checked against the frame (and, above
// L3, against the IP length). The key is filled as far as the frame is valid
// and the result says where parsing stopped. A result other than ok is an
// anomaly to count, not a verdict: the key is still a valid lookup key (OVS
// forwards such frames by their partial key too); dropping runts is the
// pipeline's choice. When an L3 header is inconsistent the L3 fields stay
// 0, so a half-checked header never reaches a flow.
//
// Fast path: the frame nearly all traffic is, untagged IPv4 without options
// or fragmentation carrying TCP or UDP, is recognised with one set of checks
// and its key built a word at a time; anything else takes the general walk.
// Both give the same key and result (tests/dataplane/flow_extractor_fast_test.cc).
//
// Threads: pure functions of their arguments; any thread may call them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "flowtable/flow_key.h"
#include "flowtable/port_no.h"
#include "packet/packet.h"

namespace sockswitch::dataplane {

inline constexpr int kMaxVlanTags = 2;
inline constexpr int kMaxIpv6ExtHeaders = 8;

enum class ParseResult : std::uint8_t {
  ok,
  truncated_l2,  // < 14 bytes, or a VLAN tag / LLC-SNAP header cut short
  vlan_depth,    // a third VLAN tag: eth_type = its TPID, nothing above L2
  truncated_l3,  // ARP/IPv4/IPv6 header, IPv6 extension header, or IP length beyond the frame
  bad_l3,        // wrong IP version, IHL < 5, total length < header, non-Ethernet/IPv4 ARP,
                 // too many IPv6 extension headers
  truncated_l4,  // TCP/UDP/SCTP/ICMP header or ND target beyond the IP payload
  bad_l4,        // TCP data offset < 5, malformed ND option
  kCount
};

struct ParseResultInfo {
  std::string_view name;
  std::string_view help;
};

// Counter names and help text, indexed by ParseResult (VPP "show errors" style).
inline constexpr std::array<ParseResultInfo, static_cast<std::size_t>(ParseResult::kCount)>
    kParseResults{{
        {"parse.ok", "headers parsed to the end"},
        {"parse.truncated_l2", "frame shorter than its Ethernet/VLAN/SNAP header"},
        {"parse.vlan_depth", "more than two VLAN tags; parsed as far as the third tag"},
        {"parse.truncated_l3", "ARP/IP header or IP length beyond the frame"},
        {"parse.bad_l3", "invalid ARP/IP header (version, IHL, length, extension chain)"},
        {"parse.truncated_l4", "transport header beyond the IP payload"},
        {"parse.bad_l4", "invalid transport header (TCP data offset, ND option)"},
    }};

[[nodiscard]] constexpr const ParseResultInfo& info(ParseResult r) noexcept {
  return kParseResults[static_cast<std::size_t>(r)];
}

// Overwrites `key` entirely with the fields of `frame`, which arrived on `in_port`.
[[nodiscard]] ParseResult extract_flow(std::span<const std::uint8_t> frame,
                                       flowtable::PortNo in_port, flowtable::FlowKey& key) noexcept;

// The general header walk alone, without the fast path: for the test that
// holds the fast path to it.
[[nodiscard]] ParseResult extract_flow_by_walk(std::span<const std::uint8_t> frame,
                                               flowtable::PortNo in_port,
                                               flowtable::FlowKey& key) noexcept;

// A key of any frame but IPv6 and ARP/RARP uses only its first kHotKeyWords
// words (flow_key.h puts the hot fields there); the rest stay 0.
inline constexpr std::uint8_t kHotKeyWords = 5;

// What the flow caches need beside a key, computed while it is at hand.
struct KeyInfo {
  std::uint64_t hash = 0;   // hash_key(key)
  std::uint8_t extent = 0;  // words [extent, kKeyWords) of the key are 0
  ParseResult result = ParseResult::ok;
};

[[nodiscard]] inline ParseResult extract_flow(const packet::Packet& p,
                                              flowtable::FlowKey& key) noexcept {
  return extract_flow(p.bytes(), p.in_port(), key);
}

// Extracts keys[i] from packets[i] for i < min(packets.size(), keys.size())
// and returns that count, prefetching packet i+1's headers while parsing
// packet i. results[i] receives packet i's result where `results` is long
// enough (pass it empty when only the keys matter).
std::size_t extract_burst(std::span<packet::Packet* const> packets,
                          std::span<flowtable::FlowKey> keys,
                          std::span<ParseResult> results = {}) noexcept;

// The same, with each key's hash and extent in infos[i] (infos must be at
// least as long as the count returned).
std::size_t extract_burst(std::span<packet::Packet* const> packets,
                          std::span<flowtable::FlowKey> keys, std::span<KeyInfo> infos) noexcept;

}  // namespace sockswitch::dataplane
