"""Devices under test of the WireGuard case: what carries veth102 <-> warp0 in the switch ns.

  sockswitch+wireguard-go  warp0 is a wireguard-go interface (tun, link type
                           none) in the switch namespace, attached to the
                           sockswitch bridge `socket` as an L3 port by
                           driver "auto" (AF_PACKET in L3 mode), as
                           configs/vps.toml does it; veth102 is "auto"
                           (AF_XDP). Flows: the seed table vps-socket.flows
                           (in_port=veth102 -> warp0 and back).
  linux-routing+wireguard-go  no switch: veth102 holds the gateway address
                           and the kernel routes 198.51.100.0/24 into the
                           same wireguard-go warp0 (what the host would do
                           without a bridge).
  sockswitch-wireguard     sockswitch's native WireGuard port:
                           `driver = "wireguard"`, `wg_config = warp0.conf`
                           (a wg-quick file); no wireguard-go, no tun.
                           Enabled only when the built sockswitch accepts
                           that driver (native_wireguard_available).

Every DUT's CPU is the sum over its processes in the switch namespace
(sockswitch and/or the switch-side wireguard-go); the kernel's forwarding
and veth softirqs of linux-routing are in the machine figure only.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from common import TrafficPath, nsexec, proc_ticks, run
from duts import Dut, Sockswitch
from wg_topology import (GW_IP, NS_SW, PEER_PORT, PEER_UL_IP, SW_PORT, TUNNEL_MTU, WgTopology,
                         WireguardGo, forget_gateway, gateway_path, private_wg_dir, set_key)

SEED_PORTS = [("nm-server", 1), ("warp0", 2), ("veth102", 3)]


def native_wireguard_available(binary: Path) -> tuple[bool, str]:
    """Does this sockswitch build accept `driver = "wireguard"` with `wg_config`?

    Runs `sockswitch run` on a one-port config in a throwaway network namespace: the config
    is checked before anything is applied, so an unknown driver or key ends it at once with
    the reason; a build that has the port brings it up (and is stopped)."""
    with tempfile.TemporaryDirectory(prefix="sswb-probe-") as d:
        conf, toml = Path(d) / "warp0.conf", Path(d) / "probe.toml"
        priv = run(["wg", "genkey"]).strip()
        conf.write_text(f"[Interface]\nPrivateKey = {priv}\nListenPort = 51999\n")
        conf.chmod(0o600)
        toml.write_text(f'control_socket = "{d}/ctl.sock"\n\n[[bridge]]\nname = "probe"\n'
                        f'flow = ["actions=drop"]\n\n[[bridge.port]]\nname = "warp0"\n'
                        f'driver = "wireguard"\nwg_config = "{conf}"\n')
        ns = f"sswbprobe{abs(hash(d)) % 100000}"
        run(["ip", "netns", "add", ns])
        try:
            p = subprocess.Popen(nsexec(ns, private_wg_dir([str(binary), "run", "--config",
                                                             str(toml)])),
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            try:
                out, _ = p.communicate(timeout=3)
            except subprocess.TimeoutExpired:  # still running after 3 s: it took the config
                p.kill()
                p.communicate()
                return True, "the built sockswitch runs a wireguard port"
            if "unknown driver" in out or "unknown key" in out:
                line = next((ln for ln in out.splitlines() if "unknown" in ln), out.strip())
                return False, f"the built sockswitch has no native WireGuard port ({line.strip()})"
            if p.returncode == 0 or (Path(d) / "ctl.sock").exists():
                return True, "the built sockswitch runs a wireguard port"
            return False, f"sockswitch refused the probe config: {out.strip()[-300:]}"
        finally:
            run(["ip", "netns", "del", ns], check=False)


class WgDut(Dut):
    cases = ("wireguard",)

    def __init__(self, topo: WgTopology, tmp: Path):
        self.topo, self.tmp = topo, tmp
        self.warp0: WireguardGo | None = None
        self._path: TrafficPath | None = None

    def path(self) -> TrafficPath:
        if self._path is None:
            self._path = gateway_path()
        return self._path

    def start_warp0_go(self) -> None:
        """warp0 as a wireguard-go interface in the switch namespace, up, no address."""
        self.warp0 = WireguardGo(NS_SW, "warp0", self.tmp / f"wireguard-go-{self.name}.log")
        set_key(self.warp0, self.tmp, self.topo.keys.switch_priv, SW_PORT, "peer",
                self.topo.keys.peer_pub, "endpoint", f"{PEER_UL_IP}:{PEER_PORT}", "allowed-ips",
                "198.51.100.0/24")
        run(["ip", "-n", NS_SW, "link", "set", "warp0", "mtu", str(TUNNEL_MTU), "up"])

    def stop(self) -> None:
        forget_gateway()
        self._path = None
        if self.warp0:
            self.warp0.stop()
            self.warp0 = None

    def pids(self) -> list[int]:
        return [self.warp0.pid()] if self.warp0 else []

    def pid(self) -> int | None:
        p = self.pids()
        return p[0] if p else None

    def cpu_ticks(self) -> int:
        return sum(proc_ticks(p) for p in self.pids())

    cpu_source = "process utime+stime (switch-side processes)"


class SockswitchWg(WgDut):
    """sockswitch's bridge `socket` in the switch namespace with the seed flows."""

    def __init__(self, build: Path, topo: WgTopology, tmp: Path, native: bool):
        self.native = native
        self.name = "sockswitch-wireguard" if native else "sockswitch+wireguard-go"
        super().__init__(topo, tmp)
        # The native port's UAPI socket goes to a private /run/wireguard (see wg_topology).
        self.sw = Sockswitch(build, "auto", tmp, self.cases, name=self.name, ns=NS_SW,
                             wrap=private_wg_dir if native else None)
        self.sw.layout = self.layout  # type: ignore[method-assign]

    def layout(self):
        ports = []
        for port, ofport in SEED_PORTS:
            lines = ['driver = "auto"']
            if port == "warp0" and self.native:
                conf = self.tmp / "warp0.conf"
                conf.write_text(self.topo.warp0_conf())
                conf.chmod(0o600)
                lines = ['driver = "wireguard"', f'wg_config = "{conf}"']
            ports.append((port, ofport, lines))
        return [("socket", ports)]

    def start(self, flows: Path) -> None:
        if not self.native:
            self.start_warp0_go()
        self.sw.start(flows)

    def stop(self) -> None:
        self.sw.stop()
        super().stop()

    def pids(self) -> list[int]:
        p = self.sw.pid()
        return ([p] if p else []) + super().pids()

    def pid(self) -> int | None:
        return self.sw.pid()


class LinuxRoutingWg(WgDut):
    name = "linux-routing+wireguard-go"

    def start(self, flows: Path) -> None:
        self.start_warp0_go()
        run(["ip", "netns", "exec", NS_SW, "sysctl", "-qw", "net.ipv4.ip_forward=1"])
        run(["ip", "-n", NS_SW, "addr", "add", f"{GW_IP}/24", "dev", "veth102"])
        run(["ip", "-n", NS_SW, "route", "add", "198.51.100.0/24", "dev", "warp0"])

    def stop(self) -> None:
        run(["ip", "-n", NS_SW, "addr", "flush", "dev", "veth102"], check=False)
        super().stop()
