"""L3 variant: the traffic leaves the switch through an L3 port into the host's IP stack.

What is compared. On the VPS the switch hands packets to L3 devices (warp0,
nm-server) whose other side is the host's IP stack. The closest thing every
DUT can do on the same topology is: take the generator's frames on warp0,
hand them to the DUT namespace's IP stack through its own L3/host port, and
let the kernel route them out of veth102 (now a plain routed interface, not a
switch port) to the sink; replies take the same way back. So all four DUTs
pay the same kernel routing and veth102 transmit, and differ only in how a
frame gets from warp0 into the IP stack:

  sockswitch-af_xdp-tun  warp0 (af_xdp) + an L3 `tun` port attached to the
                         persistent tun device tun0 (`ip tuntap add`): the
                         Ethernet header is stripped and the IP packet
                         written to tun0; flows in_port=warp0 -> tun0 and back
  linux-bridge-l3        bridge lbr3 with warp0; its own interface holds the
                         router address (the bridge's local delivery is its
                         "L3 port": a Linux bridge cannot hold an L3 device)
  ovs-netdev-l3          netdev bridge br0 with warp0; its LOCAL port (a tap
                         device in the userspace datapath) holds the router
                         address; flows in_port=warp0 -> LOCAL and back
  linux-router           no switch: warp0 itself holds the router address
                         (plain kernel forwarding veth -> veth, the floor)

Addresses (GEN and SINK keep 10.97.0.1 and .2 on their /24; host routes make
the DUT their next hop): GEN routes 10.97.0.2/32 via ROUTER_IP (ROUTER_MAC,
static neighbour), SINK routes 10.97.0.1/32 via HOP_IP (veth102's address and
MAC, static); in the DUT namespace 10.97.0.2/32 is on veth102 (static
neighbour SINK_MAC) and 10.97.0.1/32 on the L3 port. Forwarding on, rp_filter
off. No ARP during a measurement.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from common import (DUT_PATH, GEN_IP, GEN_MAC, HOP_IP, NS_DUT, NS_GEN, NS_SINK, ROUTER_IP,
                    ROUTER_MAC, SINK_IP, SINK_MAC, TrafficPath, run)
from duts import Dut, LinuxBridge, Ovs, Sockswitch

L3_PATH = dataclasses.replace(DUT_PATH, dst_mac=ROUTER_MAC)


def link_mac(ns: str, dev: str) -> str:
    return json.loads(run(["ip", "-n", ns, "-j", "link", "show", "dev", dev]))[0]["address"]


class RoutedPath:
    """The routes and neighbours that make the DUT namespace the router between GEN and SINK."""

    def __init__(self, l3_dev: str, ethernet: bool):
        self.l3_dev = l3_dev
        self.ethernet = ethernet  # the L3 port has a link layer (needs a neighbour for GEN)

    def up(self) -> None:
        d = ["ip", "-n", NS_DUT]
        run(["ip", "netns", "exec", NS_DUT, "sysctl", "-qw", "net.ipv4.ip_forward=1",
             "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
             f"net.ipv4.conf.{self.l3_dev}.rp_filter=0", "net.ipv4.conf.veth102.rp_filter=0"])
        run(d + ["link", "set", self.l3_dev, "up"])
        run(d + ["addr", "add", f"{ROUTER_IP}/32", "dev", self.l3_dev])
        run(d + ["route", "replace", f"{GEN_IP}/32", "dev", self.l3_dev])
        if self.ethernet:
            run(d + ["neigh", "replace", GEN_IP, "lladdr", GEN_MAC, "dev", self.l3_dev, "nud",
                     "permanent"])
        run(d + ["addr", "add", f"{HOP_IP}/32", "dev", "veth102"])
        run(d + ["route", "replace", f"{SINK_IP}/32", "dev", "veth102"])
        run(d + ["neigh", "replace", SINK_IP, "lladdr", SINK_MAC, "dev", "veth102", "nud",
                 "permanent"])
        run(["ip", "-n", NS_GEN, "neigh", "replace", ROUTER_IP, "lladdr", ROUTER_MAC, "dev", "g0",
             "nud", "permanent"])
        run(["ip", "-n", NS_GEN, "route", "replace", f"{SINK_IP}/32", "via", ROUTER_IP, "dev",
             "g0", "onlink"])
        run(["ip", "-n", NS_SINK, "neigh", "replace", HOP_IP, "lladdr",
             link_mac(NS_DUT, "veth102"), "dev", "s0", "nud", "permanent"])
        run(["ip", "-n", NS_SINK, "route", "replace", f"{GEN_IP}/32", "via", HOP_IP, "dev", "s0",
             "onlink"])

    def down(self) -> None:
        for argv in (["ip", "-n", NS_GEN, "route", "del", f"{SINK_IP}/32"],
                     ["ip", "-n", NS_SINK, "route", "del", f"{GEN_IP}/32"],
                     ["ip", "-n", NS_DUT, "addr", "flush", "dev", "veth102"],
                     ["ip", "-n", NS_DUT, "neigh", "del", SINK_IP, "dev", "veth102"],
                     ["ip", "-n", NS_DUT, "addr", "del", f"{ROUTER_IP}/32", "dev", self.l3_dev]):
            run(argv, check=False)


class SockswitchTun(Sockswitch):
    name = "sockswitch-af_xdp-tun"
    start_flows = "l3-tun"

    def __init__(self, build: Path, tmp: Path, cases: tuple[str, ...] = ("l3",)):
        super().__init__(build, "af_xdp", tmp, cases, name=SockswitchTun.name)
        self.routes = RoutedPath("tun0", ethernet=False)

    def path(self) -> TrafficPath:
        return L3_PATH

    def layout(self):
        return [("socket", [("warp0", 2, ['driver = "af_xdp"']),
                            ("tun0", 4, ['driver = "tun"', "create = false",
                                         f'mac = "{ROUTER_MAC}"'])])]

    def start(self, flows: Path) -> None:
        run(["ip", "-n", NS_DUT, "tuntap", "add", "dev", "tun0", "mode", "tun"])
        super().start(flows)
        self.routes.up()

    def stop(self) -> None:
        self.routes.down()
        super().stop()
        run(["ip", "-n", NS_DUT, "link", "del", "tun0"], check=False)


class LinuxBridgeL3(LinuxBridge):
    name = "linux-bridge-l3"

    def __init__(self, cases: tuple[str, ...] = ("l3",)):
        self.cases = cases
        self.routes = RoutedPath("lbr3", ethernet=True)

    def path(self) -> TrafficPath:
        return L3_PATH

    def start(self, flows: Path) -> None:
        run(["ip", "-n", NS_DUT, "link", "add", "lbr3", "address", ROUTER_MAC, "type", "bridge"])
        run(["ip", "-n", NS_DUT, "link", "set", "warp0", "master", "lbr3"])
        self.routes.up()

    def stop(self) -> None:
        self.routes.down()
        run(["ip", "-n", NS_DUT, "link", "set", "warp0", "nomaster"], check=False)
        run(["ip", "-n", NS_DUT, "link", "del", "lbr3"], check=False)


class OvsL3(Ovs):
    name = "ovs-netdev-l3"
    start_flows = "l3-local"

    def __init__(self, tmp: Path, cases: tuple[str, ...] = ("l3",)):
        super().__init__(tmp, cases)
        self.routes = RoutedPath("br0", ethernet=True)

    def path(self) -> TrafficPath:
        return L3_PATH

    def bridge_args(self) -> list[str]:
        return ["add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=netdev",
                "fail_mode=secure", f"other-config:hwaddr={ROUTER_MAC}",
                "--", "add-port", "br0", "warp0", "--", "set", "Interface", "warp0",
                "ofport_request=2"]

    def start(self, flows: Path) -> None:
        super().start(flows)
        self.routes.up()

    def stop(self) -> None:
        self.routes.down()
        super().stop()


class LinuxRouter(Dut):
    name = "linux-router"
    cpu_source = "machine softirq time (/proc/stat)"

    def __init__(self, cases: tuple[str, ...] = ("l3",)):
        self.cases = cases
        self.routes = RoutedPath("warp0", ethernet=True)
        self.old_mac: str | None = None

    def path(self) -> TrafficPath:
        return L3_PATH

    def start(self, flows: Path) -> None:
        self.old_mac = link_mac(NS_DUT, "warp0")
        run(["ip", "-n", NS_DUT, "link", "set", "warp0", "address", ROUTER_MAC])
        self.routes.up()

    def stop(self) -> None:
        self.routes.down()
        if self.old_mac:
            run(["ip", "-n", NS_DUT, "link", "set", "warp0", "address", self.old_mac],
                check=False)
            self.old_mac = None
