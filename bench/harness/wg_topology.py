"""WireGuard case (issue 8): its own three namespaces, the wireguard-go "WARP" peer, keys.

    CLIENT ns                  SWITCH ns                                     PEER ns
    e0 10.99.0.1/24 ==veth== veth102 [DUT] warp0 ~~ WireGuard over ~~ wgp 198.51.100.1/32
      MTU 1420                 nm-server ==veth== nmp (idle)                  (the sink: iperf3 -s,
      route 198.51.100.0/24                 ul0 192.0.2.1/30 ==veth== ul1     rx counter of wgp)
        via 10.99.0.254                                        192.0.2.2/30

The peer namespace runs Debian's wireguard-go (`wgp`, listen port 51820,
AllowedIPs 10.99.0.0/24, no endpoint: it learns the switch's from the first
authenticated packet), standing in for Cloudflare WARP. warp0 in the switch
namespace is the DUT's business (duts_wireguard.py): a wireguard-go
interface attached to sockswitch or routed by the kernel, or sockswitch's
native WireGuard port; all use the same switch-side key (WgKeys.switch) and
listen port 51821, and peer with wgp at 192.0.2.2:51820.

wireguard-go and a native port put their UAPI socket in /run/wireguard/NAME.sock,
a path shared by every network namespace; the harness runs them in a private
mount namespace with a tmpfs there (private_wg_dir), so "warp0" never meets
another program's warp0 (tests running beside the benchmark).
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
import signal
import subprocess
import time
from pathlib import Path

from common import PID, TrafficPath, log, nsexec, run
from topology import veth

NS_CLI, NS_SW, NS_PEER = f"sswb{PID}c", f"sswb{PID}w", f"sswb{PID}p"
CLI_IP, GW_IP = "10.99.0.1", "10.99.0.254"
CLI_MAC = "02:99:00:00:00:01"
SW_UL_IP, PEER_UL_IP = "192.0.2.1", "192.0.2.2"
PEER_TUN_IP = "198.51.100.1"
SW_PORT, PEER_PORT = 51821, 51820
TUNNEL_MTU = 1420
SIZE_1400 = 1400 + 14 + 4  # traffic_gen's --size counts the Ethernet header and FCS


@dataclasses.dataclass(frozen=True)
class WgKeys:
    switch_priv: str
    switch_pub: str
    peer_priv: str
    peer_pub: str


def make_keys() -> WgKeys:
    def pair() -> tuple[str, str]:
        priv = run(["wg", "genkey"]).strip()
        pub = subprocess.run(["wg", "pubkey"], input=priv, capture_output=True, text=True,
                             check=True).stdout.strip()
        return priv, pub

    (sp, spub), (pp, ppub) = pair(), pair()
    return WgKeys(sp, spub, pp, ppub)


def private_wg_dir(argv: list[str]) -> list[str]:
    """argv run in its own mount namespace with an empty tmpfs on /run/wireguard."""
    os.makedirs("/run/wireguard", exist_ok=True)
    return ["unshare", "-m", "--propagation", "private", "sh", "-c",
            'mount -t tmpfs sswb /run/wireguard && exec "$@"', "sh", *argv]


def _die_with_parent() -> None:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class WireguardGo:
    """`wireguard-go NAME` in the foreground inside `ns` (and its own /run/wireguard).

    `ip netns exec`, unshare and sh all exec, so the Popen pid is wireguard-go's own
    (its CPU is what cpu_ticks() reads) and `nsenter -t PID -m -n` reaches its UAPI socket.
    It dies with the harness (PR_SET_PDEATHSIG)."""

    def __init__(self, ns: str, name: str, logfile: Path):
        self.ns, self.name = ns, name
        self.log = open(logfile, "w")
        self.proc = subprocess.Popen(
            nsexec(ns, private_wg_dir(["env", "WG_PROCESS_FOREGROUND=1", "wireguard-go", name])),
            stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"wireguard-go {name} exited: {Path(logfile).read_text()}")
            r = subprocess.run(self.wg_argv("show", name), capture_output=True, timeout=5)
            if r.returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError(f"wireguard-go {name}: no UAPI socket within 10 s")

    def wg_argv(self, *args: str) -> list[str]:
        return ["nsenter", "-t", str(self.proc.pid), "-m", "-n", "wg", *args]

    def wg(self, *args: str) -> str:
        return run(self.wg_argv(*args))

    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def set_key(wg: WireguardGo, tmp: Path, priv: str, port: int, *peer: str) -> None:
    key = tmp / f"{wg.name}.key"
    key.write_text(priv + "\n")
    key.chmod(0o600)
    wg.wg("set", wg.name, "private-key", str(key), "listen-port", str(port), *peer)


class WgTopology:
    """The three namespaces, the underlay and the peer; warp0 is left to the DUT."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.keys = make_keys()
        self.peer: WireguardGo | None = None

    def up(self) -> None:
        for ns in (NS_CLI, NS_SW, NS_PEER):
            run(["ip", "netns", "add", ns])
            run(nsexec(ns, ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                            "net.ipv6.conf.default.disable_ipv6=1"]), check=False)
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
        veth("e0", NS_CLI, "veth102", NS_SW)
        veth("nm-server", NS_SW, "nmp", NS_SW)
        veth("ul0", NS_SW, "ul1", NS_PEER)
        run(["ip", "-n", NS_CLI, "link", "set", "e0", "address", CLI_MAC, "mtu", str(TUNNEL_MTU)])
        run(["ip", "-n", NS_CLI, "addr", "add", f"{CLI_IP}/24", "dev", "e0"])
        run(["ip", "-n", NS_CLI, "route", "add", "198.51.100.0/24", "via", GW_IP])
        run(["ip", "-n", NS_SW, "addr", "add", f"{SW_UL_IP}/30", "dev", "ul0"])
        run(["ip", "-n", NS_PEER, "addr", "add", f"{PEER_UL_IP}/30", "dev", "ul1"])
        self.peer = WireguardGo(NS_PEER, "wgp", self.tmp / "wireguard-go-peer.log")
        set_key(self.peer, self.tmp, self.keys.peer_priv, PEER_PORT, "peer",
                self.keys.switch_pub, "allowed-ips", "10.99.0.0/24")
        run(["ip", "-n", NS_PEER, "addr", "add", f"{PEER_TUN_IP}/32", "dev", "wgp"])
        run(["ip", "-n", NS_PEER, "link", "set", "wgp", "up"])
        run(["ip", "-n", NS_PEER, "route", "add", "10.99.0.0/24", "dev", "wgp"])

    def down(self) -> None:
        if self.peer:
            self.peer.stop()
            self.peer = None
        for ns in (NS_CLI, NS_SW, NS_PEER):
            run(["ip", "netns", "del", ns], check=False)

    def peer_pid(self) -> int | None:
        return self.peer.pid() if self.peer else None

    def warp0_conf(self) -> str:
        """The switch side as a wg-quick file (for the native port)."""
        return (f"[Interface]\nPrivateKey = {self.keys.switch_priv}\nListenPort = {SW_PORT}\n\n"
                f"[Peer]\nPublicKey = {self.keys.peer_pub}\n"
                f"Endpoint = {PEER_UL_IP}:{PEER_PORT}\nAllowedIPs = 198.51.100.0/24\n")


def gateway_path() -> TrafficPath:
    """CLIENT -> PEER through the DUT, once the client has resolved its gateway.

    Pings until the tunnel carries (first handshake, ARP for the gateway), then pins the
    gateway's neighbour entry so no ARP happens during a measurement."""
    deadline = time.time() + 10
    while time.time() < deadline:
        out = run(nsexec(NS_CLI, ["ping", "-n", "-c", "1", "-W", "1", PEER_TUN_IP]), check=False,
                  timeout=5)
        if "time=" in out:
            break
    else:
        raise RuntimeError(f"no ping reply from {PEER_TUN_IP} through warp0 within 10 s")
    neigh = run(["ip", "-n", NS_CLI, "neigh", "show", GW_IP, "dev", "e0"]).split()
    if "lladdr" not in neigh:
        raise RuntimeError(f"client has no neighbour entry for {GW_IP}: {neigh}")
    mac = neigh[neigh.index("lladdr") + 1]
    run(["ip", "-n", NS_CLI, "neigh", "replace", GW_IP, "lladdr", mac, "dev", "e0", "nud",
         "permanent"])
    log(f"client's gateway {GW_IP} is {mac}")
    return TrafficPath(NS_CLI, "e0", CLI_MAC, mac, CLI_IP, PEER_TUN_IP, NS_PEER, "wgp")


def forget_gateway() -> None:
    run(["ip", "-n", NS_CLI, "neigh", "del", GW_IP, "dev", "e0"], check=False)
