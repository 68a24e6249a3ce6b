"""Shared constants and helpers of the end-to-end harness (e2e.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PID = os.getpid()
NS_GEN, NS_DUT, NS_SINK = f"sswb{PID}g", f"sswb{PID}d", f"sswb{PID}s"
GEN_IP, SINK_IP = "10.97.0.1", "10.97.0.2"
GEN_MAC, SINK_MAC = "02:97:00:00:00:01", "02:97:00:00:00:02"
CEIL_GEN_IP, CEIL_SINK_IP = "10.98.0.1", "10.98.0.2"
CEIL_GEN_MAC, CEIL_SINK_MAC = "02:98:00:00:00:01", "02:98:00:00:00:02"
# L3 variant: the DUT namespace's IP stack routes between the generator and the
# sink; ROUTER_* is the DUT's L3 interface on the generator side (tun port,
# bridge self port, OVS LOCAL port or warp0 itself), HOP_IP its veth102 address.
ROUTER_IP, ROUTER_MAC, HOP_IP = "10.97.0.254", "02:97:00:00:00:fe", "10.97.0.253"
FLOWS = 1000  # distinct UDP source ports in the generator's traffic
LOSS_LIMIT = 0.001
CLK_TCK = os.sysconf("SC_CLK_TCK")
REFERENCE = "sockswitch-af_xdp"


@dataclass(frozen=True)
class TrafficPath:
    """Where the generator sends from and to, and where the sink counts what arrives."""
    gen_ns: str
    gen_dev: str
    src_mac: str
    dst_mac: str  # the next hop's MAC: the sink's, or a router's in the L3 variants
    src_ip: str
    dst_ip: str
    sink_ns: str
    sink_dev: str


DUT_PATH = TrafficPath(NS_GEN, "g0", GEN_MAC, SINK_MAC, GEN_IP, SINK_IP, NS_SINK, "s0")
CEILING_PATH = TrafficPath(NS_GEN, "c0", CEIL_GEN_MAC, CEIL_SINK_MAC, CEIL_GEN_IP, CEIL_SINK_IP,
                           NS_SINK, "c1")


def log(msg: str) -> None:
    print(f"[e2e {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(argv: list[str], timeout: float = 30, check: bool = True, env=None) -> str:
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def nsexec(ns: str, argv: list[str]) -> list[str]:
    return ["ip", "netns", "exec", ns, *argv]


# --- counters -------------------------------------------------------------------


def rx_packets(ns: str, dev: str) -> int:
    out = json.loads(run(["ip", "-n", ns, "-j", "-s", "link", "show", "dev", dev]))
    return int(out[0]["stats64"]["rx"]["packets"])


def proc_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14, 15)


def machine_ticks() -> tuple[int, int, int]:
    """(busy, softirq, total) jiffies over all CPUs."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = v[:8]
    busy = user + nice + system + irq + softirq + steal
    return busy, softirq, busy + idle + iowait


def vm_rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None
