#!/usr/bin/env python3
"""tests/fuzz/make_seeds.py: writes the binary seed corpora of the packet fuzzers.

    python3 tests/fuzz/make_seeds.py        # rewrites tests/fuzz/corpus/{flow_extractor,...}

The frames are the shapes each parser branches on (the fuzzer mutates from
there): IPv4 TCP/UDP/ICMP with and without options and fragments, VLAN and
QinQ tags, IPv6 with extension headers, ND, ARP, LLC/SNAP. The record
formats are the ones the fuzz targets' header comments describe.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
DST = bytes.fromhex("020000000002")
SRC = bytes.fromhex("020000000001")


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def eth(ethertype, tags=(), dst=DST, src=SRC):
    h = dst + src
    for tpid, vid in tags:
        h += struct.pack("!HH", tpid, vid)
    return h + struct.pack("!H", ethertype)


def ipv4(proto, payload, src="10.0.0.1", dst="10.0.0.2", ttl=64, options=b"", frag=0):
    ihl = 5 + len(options) // 4
    total = ihl * 4 + len(payload)
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total, 1, frag, ttl, proto, 0,
                    bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
    h += options
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def ip6addr(low, prefix=0xFD00):
    return struct.pack("!H", prefix) + bytes(13) + bytes([low])


def ipv6(next_header, payload, src=ip6addr(1), dst=ip6addr(2), hop=64):
    return struct.pack("!IHBB", 0x60000000, len(payload), next_header, hop) + src + dst + payload


def tcp(sport=40000, dport=443, flags=0x02):
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 0x50, flags, 65535, 0, 0)


def udp(sport=5353, dport=53, data=b"hello"):
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def arp(op=1, spa="10.0.0.1", tpa="10.0.0.2", sha=SRC):
    return struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + sha + bytes(map(int, spa.split("."))) + \
        bytes(6) + bytes(map(int, tpa.split(".")))


def neighbor_solicit(target_low=2, src_low=1):
    body = struct.pack("!BBHI", 135, 0, 0, 0) + ip6addr(target_low) + bytes([1, 1]) + SRC
    return ipv6(58, body, src=ip6addr(src_low), dst=bytes.fromhex("ff0200000000000000000001ff000002"),
                hop=255)


FRAMES = {
    "ipv4_tcp": eth(0x0800) + ipv4(6, tcp()),
    "ipv4_udp_padded": (eth(0x0800) + ipv4(17, udp(data=b""))).ljust(60, b"\0"),
    "ipv4_options_icmp": eth(0x0800) + ipv4(1, bytes([8, 0, 0, 0, 0, 1, 0, 1]),
                                            options=bytes([7, 4, 0, 0])),
    "ipv4_fragment": eth(0x0800) + ipv4(17, udp(), frag=0x2000),
    "ipv4_later_fragment": eth(0x0800) + ipv4(17, b"\0" * 16, frag=0x0010),
    "vlan_ipv4_tcp": eth(0x0800, [(0x8100, 10)]) + ipv4(6, tcp(dport=8080)),
    "qinq_udp": eth(0x0800, [(0x88A8, 7), (0x8100, 10)]) + ipv4(17, udp(dport=9)),
    "three_tags": eth(0x0800, [(0x88A8, 7), (0x8100, 10), (0x8100, 30)]) + ipv4(6, tcp()),
    "ipv6_tcp": eth(0x86DD) + ipv6(6, tcp()),
    "ipv6_ext_frag": eth(0x86DD) + ipv6(0, bytes([44, 0, 0, 0, 0, 0, 0, 0]) +
                                        bytes([17, 0, 0, 1, 0, 0, 0, 9]) + udp()),
    "ipv6_ns": eth(0x86DD, dst=bytes.fromhex("3333ff000002")) + neighbor_solicit(),
    "arp_request": eth(0x0806, dst=b"\xff" * 6) + arp(),
    "llc_snap": DST + SRC + struct.pack("!H", 8) + bytes([0xAA, 0xAA, 3, 0, 0, 0, 0x08, 0x00]),
}


def write(corpus, name, data):
    d = os.path.join(HERE, "corpus", corpus)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def record(header, frame):
    return bytes([header]) + struct.pack("!H", len(frame)) + frame


def main():
    for name, frame in FRAMES.items():
        write("flow_extractor", name, frame)

    # l3_ethernet: 00 bridge frame, 01 device packet, 10 ARP, 11 NS (bit 2: take replies).
    write("l3_ethernet", "arp_answered",
          record(0x04, FRAMES["arp_request"]) + record(0x04, eth(0x0800) + ipv4(17, udp())))
    write("l3_ethernet", "nd_answered", record(0x04, FRAMES["ipv6_ns"]))
    write("l3_ethernet", "device_both_ways",
          record(0x00, FRAMES["vlan_ipv4_tcp"]) + record(0x40, ipv4(6, tcp(), src="10.0.0.2",
                                                                     dst="10.0.0.1")) +
          record(0x40, ipv6(17, udp(), src=ip6addr(2), dst=ip6addr(1))) +
          record(0x40, ipv4(17, udp(), dst="224.0.0.5")))
    write("l3_ethernet", "structured",
          bytes([0x84, 0x14, 0]) + bytes([0xC5, 0x24, 0]) + bytes([0x81, 0x54, 2, 0, 0]) +
          bytes([0xC4, 0x06, 0x20]))

    # pipeline: bridge byte, then [header: port | end-burst << 2 | seconds << 4, len16, frame].
    rewrite = b"\x00" + b"".join(record(p, FRAMES[n]) for p, n in [
        (0, "vlan_ipv4_tcp"), (0, "ipv4_tcp"), (0, "ipv4_udp_padded"), (0, "ipv6_tcp"),
        (0, "ipv4_options_icmp"), (4, "qinq_udp"), (1, "ipv4_tcp"), (1, "arp_request"),
        (2, "ipv4_tcp"), (3, "ipv4_udp_padded"), (0x13, "ipv4_udp_padded")])
    write("pipeline", "rewrite_mix", rewrite)
    ct = b"\x00" + b"".join(record(p, f) for p, f in [
        (0, eth(0x0800) + ipv4(17, udp(5000, 53))),
        (1, eth(0x0800, src=DST, dst=SRC) + ipv4(17, udp(53, 5000), src="10.0.0.2", dst="10.0.0.1")),
        (0x23, eth(0x0800) + ipv4(6, tcp(1000, 80))),
        (0, eth(0x86DD) + ipv6(6, tcp()))])
    write("pipeline", "conntrack", ct)
    vlans = b"\x01" + b"".join(record(p, f) for p, f in [
        (0, FRAMES["ipv4_tcp"]), (1, eth(0x0800, [(0x8100, 20)], dst=SRC, src=DST) + ipv4(6, tcp())),
        (2, FRAMES["ipv4_udp_padded"]), (3, FRAMES["arp_request"]),
        (1, eth(0x0800, [(0x8100, 30)]) + ipv4(17, udp())), (1, FRAMES["vlan_ipv4_tcp"])])
    write("pipeline", "vlans", vlans)


if __name__ == "__main__":
    main()
