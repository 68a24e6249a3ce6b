// wire/checksum_completion.h: TCP/UDP checksums a sender left to offload, finished in
// software.
//
// A sender on the same host (a container's veth, a VM's tap with offloads)
// with `tx-checksumming` on leaves the TCP/UDP checksum to the device: the
// frame carries only the sum of the pseudo-header, and skb metadata
// (CHECKSUM_PARTIAL, csum_start, csum_offset) says so. The Linux bridge keeps
// that metadata up to the device that finishes the sum; a frame that leaves
// the kernel through an AF_XDP or AF_PACKET socket loses it, and the
// receiving container drops the frame as corrupt. So the switch finishes the
// sum itself when a frame enters a bridge, and every output (veth, tap, tun,
// WireGuard, patch) then carries a correct frame.
//
// Two ways to know a frame is partial:
//  * with metadata (AF_PACKET with PACKET_VNET_HDR): NEEDS_CSUM names where
//    the sum starts and where it goes; exact.
//  * without (AF_XDP hands the frame only): the stored checksum equals the
//    folded pseudo-header sum. Then the checksum is computed from scratch
//    (the stored field ignored), which is right whether the frame was
//    partial or carried a complete sum that happened to equal that value.
//    The one frame it cannot tell apart is a corrupt one whose stored sum
//    equals the pseudo-header sum (1 in 65 536 corrupt frames): it leaves
//    repaired. Deciding costs a header walk and a 40-byte sum per frame; only
//    partial frames pay the per-byte sum.
#pragma once

#include <cstdint>
#include <span>

namespace sockswitch::wire {

// Finishes the checksum of a frame whose metadata says it is partial: the
// one's-complement sum from `start` to the end of the frame (which holds the
// pseudo-header sum at start + offset) is stored there. False (frame
// untouched) when the positions do not fit the frame.
bool complete_checksum_at(std::span<std::uint8_t> frame, std::uint32_t start,
                          std::uint32_t offset) noexcept;

// Finishes the TCP or UDP checksum of an Ethernet frame (up to two VLAN
// tags, IPv4 unfragmented or IPv6 without extension headers) whose stored
// checksum is the pseudo-header sum alone. True when it did.
bool complete_if_partial(std::span<std::uint8_t> frame) noexcept;

}  // namespace sockswitch::wire
