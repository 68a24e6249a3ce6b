"""Namespaces, veths, sink drop and flow files of the end-to-end harness."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from common import (CEIL_GEN_IP, CEIL_GEN_MAC, CEIL_SINK_IP, CEIL_SINK_MAC, FLOWS, GEN_IP, GEN_MAC,
                    NS_DUT, NS_GEN, NS_SINK, ROOT, SINK_IP, SINK_MAC, log, nsexec, run)


# --- topology -------------------------------------------------------------------


# "default": every veth as `ip link add` (and LXC, Proxmox) makes it, offloads
# on, which is what users have; "off": tx/rx checksumming, GSO, GRO and TSO
# off on both ends, the second column (--offloads off).
OFFLOADS = {"mode": "default"}


def veth(a: str, ns_a: str, b: str, ns_b: str) -> None:
    run(["ip", "-n", ns_a, "link", "add", a, "type", "veth", "peer", "name", b, "netns", ns_b])
    for ns, dev in ((ns_a, a), (ns_b, b)):
        if OFFLOADS["mode"] == "off":
            run(nsexec(ns, ["ethtool", "-K", dev, "tx", "off", "rx", "off", "gso", "off", "gro",
                            "off", "tso", "off"]), check=False)
        run(["ip", "-n", ns, "link", "set", dev, "up"])


def sink_drop(ns: str, dev: str) -> bool:
    """Drops the generator's UDP (dst port 9) at ingress; False if tc cannot."""
    try:
        run(["tc", "-n", ns, "qdisc", "add", "dev", dev, "clsact"])
        run(["tc", "-n", ns, "filter", "add", "dev", dev, "ingress", "protocol", "ip", "flower",
             "ip_proto", "udp", "dst_port", "9", "action", "drop"])
        return True
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        why = str(e).split(": ")[-1].split(".")[0]
        log(f"no tc flower drop on {dev} ({why}); the sink's IP/UDP stack drops the UDP instead")
        return False


def sweep_leftovers() -> None:
    for line in run(["ip", "netns", "list"], check=False).splitlines():
        m = re.match(r"sswb(\d+)[a-z]\b", line)
        if m and not Path(f"/proc/{m.group(1)}").exists():
            run(["ip", "netns", "del", line.split()[0]], check=False)


def setup_topology() -> dict:
    sweep_leftovers()
    for ns in (NS_GEN, NS_DUT, NS_SINK):
        run(["ip", "netns", "add", ns])
        run(nsexec(ns, ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                        "net.ipv6.conf.default.disable_ipv6=1"]), check=False)
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
    veth("g0", NS_GEN, "warp0", NS_DUT)
    veth("s0", NS_SINK, "veth102", NS_DUT)
    veth("nm-server", NS_DUT, "nmp", NS_DUT)
    veth("c0", NS_GEN, "c1", NS_SINK)
    for ns, dev, mac, ip in ((NS_GEN, "g0", GEN_MAC, GEN_IP), (NS_SINK, "s0", SINK_MAC, SINK_IP),
                             (NS_GEN, "c0", CEIL_GEN_MAC, CEIL_GEN_IP),
                             (NS_SINK, "c1", CEIL_SINK_MAC, CEIL_SINK_IP)):
        run(["ip", "-n", ns, "link", "set", dev, "address", mac])
        run(["ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", dev])
    # Static neighbours: no ARP during a measurement.
    run(["ip", "-n", NS_GEN, "neigh", "replace", SINK_IP, "lladdr", SINK_MAC, "dev", "g0",
         "nud", "permanent"])
    run(["ip", "-n", NS_SINK, "neigh", "replace", GEN_IP, "lladdr", GEN_MAC, "dev", "s0",
         "nud", "permanent"])
    dropped = sink_drop(NS_SINK, "s0")
    sink_drop(NS_SINK, "c1")
    return {"tc_drop_at_sink": dropped}


def teardown_topology() -> None:
    for ns in (NS_GEN, NS_DUT, NS_SINK):
        run(["ip", "netns", "del", ns], check=False)


# --- flow files -----------------------------------------------------------------


def write_flow_files(d: Path) -> dict[str, Path]:
    files = {
        "l2": d / "l2.flows",
        "vps": ROOT / "configs" / "vps-socket.flows",
        "gen1000": d / "gen1000.flows",
    }
    files["l2"].write_text("priority=0,actions=normal\n")
    # L3 variant: the seed's style (explicit output to the L3 port and back).
    files["l3-tun"] = d / "l3-tun.flows"
    files["l3-tun"].write_text("in_port=warp0,actions=output:tun0\n"
                               "in_port=tun0,actions=output:warp0\n")
    files["l3-local"] = d / "l3-local.flows"
    files["l3-local"].write_text("in_port=warp0,actions=LOCAL\nin_port=LOCAL,actions=output:warp0\n")
    lines = [f"priority=100,udp,in_port=warp0,nw_dst={SINK_IP},tp_src={1000 + i},"
             "actions=output:veth102" for i in range(FLOWS)]
    lines += ["priority=90,in_port=veth102,actions=output:warp0", "priority=10,actions=normal"]
    files["gen1000"].write_text("\n".join(lines) + "\n")
    # Stateful case: every IP packet through the connection tracker; what
    # warp0 opens is committed and passes both ways, nothing else (issue 23).
    files["ct"] = d / "ct.flows"
    files["ct"].write_text(
        "table=0,priority=100,ip,actions=ct(table=1)\n"
        "table=0,priority=10,actions=normal\n"
        "table=1,priority=100,ct_state=+new+trk,ip,in_port=warp0,actions=ct(commit),output:veth102\n"
        "table=1,priority=100,ct_state=+est+trk-rpl,ip,in_port=warp0,actions=output:veth102\n"
        "table=1,priority=100,ct_state=+est+rpl+trk,ip,in_port=veth102,actions=output:warp0\n"
        "table=1,priority=10,ct_state=+trk,actions=drop\n")
    return files
