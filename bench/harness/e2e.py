#!/usr/bin/env python3
"""End-to-end benchmark: sockswitch vs the Linux bridge vs Open vSwitch.

One topology, three network namespaces this script makes (and always removes):

    GEN ns                     DUT ns                          SINK ns
    g0 10.97.0.1 ==veth== warp0 [device under test] veth102 ==veth== s0 10.97.0.2
                               nm-server ==veth== nmp (spare third port)
    c0 10.98.0.1 =================== veth (no DUT) ================== c1 10.98.0.2

The DUT's ports carry the seed VPS names (warp0, veth102, nm-server), so the
seed flow file configs/vps-socket.flows loads unchanged on sockswitch and OVS.
Every veth end has its offloads off. The sink drops the generator's UDP at tc
ingress (flower, if the kernel has it), after the veth has counted it.

DUTs, one after the other in the same run: sockswitch with each engine
(af_xdp, af_packet, dpdk net_af_packet vdevs), the Linux bridge, and OVS
userspace (netdev datapath; its own ovsdb-server and ovs-vswitchd with a
private database and run directory under a temporary directory).

Flow cases: l2 (one flow, actions=normal; the Linux bridge is plain MAC
learning), vps (the seed table) and gen1000 (1 000 generated flows that the
traffic hits one by one, plus the two return/default flows); the flow cases
run on sockswitch (af_xdp) and OVS.

What is measured, per DUT and case (median of --runs runs, with min and max):
  * 64-byte frames: the highest offered rate with < 0.1 % loss. A bounded
    search: first as fast as the generator can (if that loses < 0.1 %, it is
    the figure), then paced steps around what got through.
  * 1500-byte IP packets (1518-byte frames): as fast as possible, Gbit/s of
    IP packets received by the sink.
  * TCP: iperf3, server in SINK, client in GEN, one stream, bounded time.
  * Latency: `ping -i 0.01` RTT from GEN to SINK, p50 and p99 of the
    per-packet times.
  * CPU per million packets at the chosen 64-byte step: user+system time of
    the DUT process (/proc/PID/stat: sockswitch, ovs-vswitchd); for the Linux
    bridge the machine's softirq time (/proc/stat), which also contains the
    veth receive work the other DUTs do not get charged for. Also the whole
    machine's busy time per million packets (every DUT, generator included),
    which is comparable across all DUTs.
  * Resident memory (VmRSS) of the DUT process after the traffic.
  * CPU used when idle, over 10 s (2 s with --quick), after the traffic.
  * The generator's own ceiling: 64-byte and 1500-byte blasts into the sink
    over a direct veth, no DUT.

Usage (root): e2e.py --build build [--quick] [--runs N] [--out FILE.json]
                      [--gbench FILE.json ...]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PID = os.getpid()
NS_GEN, NS_DUT, NS_SINK = f"sswb{PID}g", f"sswb{PID}d", f"sswb{PID}s"
GEN_IP, SINK_IP = "10.97.0.1", "10.97.0.2"
GEN_MAC, SINK_MAC = "02:97:00:00:00:01", "02:97:00:00:00:02"
CEIL_GEN_IP, CEIL_SINK_IP = "10.98.0.1", "10.98.0.2"
CEIL_GEN_MAC, CEIL_SINK_MAC = "02:98:00:00:00:01", "02:98:00:00:00:02"
FLOWS = 1000  # distinct UDP source ports in the generator's traffic
LOSS_LIMIT = 0.001
CLK_TCK = os.sysconf("SC_CLK_TCK")
REFERENCE = "sockswitch-af_xdp"


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


# --- topology -------------------------------------------------------------------


def veth(a: str, ns_a: str, b: str, ns_b: str) -> None:
    run(["ip", "-n", ns_a, "link", "add", a, "type", "veth", "peer", "name", b, "netns", ns_b])
    for ns, dev in ((ns_a, a), (ns_b, b)):
        run(nsexec(ns, ["ethtool", "-K", dev, "tx", "off", "rx", "off", "gso", "off", "gro", "off",
                        "tso", "off"]), check=False)
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
        m = re.match(r"sswb(\d+)[gds]\b", line)
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
    lines = [f"priority=100,udp,in_port=warp0,nw_dst={SINK_IP},tp_src={1000 + i},"
             "actions=output:veth102" for i in range(FLOWS)]
    lines += ["priority=90,in_port=veth102,actions=output:warp0", "priority=10,actions=normal"]
    files["gen1000"].write_text("\n".join(lines) + "\n")
    return files


# --- devices under test ---------------------------------------------------------

PORTS = [("nm-server", 1), ("warp0", 2), ("veth102", 3)]


class Dut:
    name = ""
    cases: tuple[str, ...] = ("l2",)

    def start(self, flows: Path) -> None: ...

    def set_flows(self, flows: Path) -> None: ...

    def stop(self) -> None: ...

    def pid(self) -> int | None:
        return None

    def cpu_ticks(self) -> int:
        p = self.pid()
        return proc_ticks(p) if p else machine_ticks()[1]

    cpu_source = "process utime+stime"


class Sockswitch(Dut):
    def __init__(self, build: Path, engine: str, tmp: Path, cases: tuple[str, ...]):
        self.bin = build / "sockswitch"
        self.engine = engine
        self.name = f"sockswitch-{engine}"
        self.cases = cases
        self.dir = tmp / self.name
        self.dir.mkdir()
        self.sock = self.dir / "ctl.sock"
        self.proc: subprocess.Popen | None = None

    def start(self, flows: Path) -> None:
        cfg = [f'control_socket = "{self.sock}"', 'log_level = "warn"', "", "[[bridge]]",
               'name = "socket"', f'flows = "{flows}"']
        for i, (port, ofport) in enumerate(PORTS):
            cfg += ["", "[[bridge.port]]", f'name = "{port}"', f"ofport = {ofport}"]
            if self.engine == "dpdk":
                cfg += ['driver = "dpdk"', f'dpdk_devargs = "net_af_packet{i},iface={port}"']
            else:
                cfg += [f'driver = "{self.engine}"']
        conf = self.dir / "sockswitch.toml"
        conf.write_text("\n".join(cfg) + "\n")
        self.logf = open(self.dir / "sockswitch.log", "w")
        self.proc = subprocess.Popen(
            nsexec(NS_DUT, [str(self.bin), "run", "--config", str(conf), "--control-socket",
                            str(self.sock)]), stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sockswitch exited: {(self.dir / 'sockswitch.log').read_text()}")
            if self.sock.exists():
                try:
                    out = self.ctl("show")
                    if "veth102" in out:
                        return
                except (RuntimeError, subprocess.TimeoutExpired):
                    pass
            time.sleep(0.1)
        raise RuntimeError("sockswitch did not come up within 20 s")

    def ctl(self, *args: str) -> str:
        return run([str(self.bin), "ctl", "--socket", str(self.sock), *args], timeout=10)

    def set_flows(self, flows: Path) -> None:
        self.ctl("replace-flows", "socket", str(flows))

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None


class LinuxBridge(Dut):
    name = "linux-bridge"
    cpu_source = "machine softirq time (/proc/stat)"

    def start(self, flows: Path) -> None:
        run(["ip", "-n", NS_DUT, "link", "add", "br0", "type", "bridge"])
        for port, _ in PORTS:
            run(["ip", "-n", NS_DUT, "link", "set", port, "master", "br0"])
        run(["ip", "-n", NS_DUT, "link", "set", "br0", "up"])

    def stop(self) -> None:
        for port, _ in PORTS:
            run(["ip", "-n", NS_DUT, "link", "set", port, "nomaster"], check=False)
        run(["ip", "-n", NS_DUT, "link", "del", "br0"], check=False)


class Ovs(Dut):
    name = "ovs-netdev"

    def __init__(self, tmp: Path, cases: tuple[str, ...]):
        self.cases = cases
        self.dir = tmp / "ovs"
        self.dir.mkdir()
        self.env = dict(os.environ, OVS_RUNDIR=str(self.dir), OVS_DBDIR=str(self.dir),
                        OVS_LOGDIR=str(self.dir), OVS_PKGDATADIR=str(self.dir),
                        OVS_SYSCONFDIR=str(self.dir), OVS_BINDIR="/usr/bin")
        self.db = f"unix:{self.dir}/db.sock"
        self.vswitchd_pid: int | None = None

    def vsctl(self, *args: str) -> str:
        return run(["ovs-vsctl", f"--db={self.db}", "--timeout=20", *args], env=self.env)

    def ofctl(self, *args: str) -> str:
        return run(["ovs-ofctl", *args], env=self.env)

    def start(self, flows: Path) -> None:
        d = self.dir
        shutil.copy("/usr/share/openvswitch/vswitch.ovsschema", d / "vswitch.ovsschema")
        run(["ovsdb-tool", "create", str(d / "conf.db"), str(d / "vswitch.ovsschema")],
            env=self.env)
        run(["ovsdb-server", str(d / "conf.db"), f"--remote=punix:{d}/db.sock",
             f"--pidfile={d}/ovsdb-server.pid", "--detach", f"--log-file={d}/ovsdb-server.log",
             f"--unixctl={d}/ovsdb-server.ctl"], env=self.env)
        self.vsctl("--no-wait", "init")
        run(nsexec(NS_DUT, ["ovs-vswitchd", self.db, f"--pidfile={d}/ovs-vswitchd.pid",
                            "--detach", f"--log-file={d}/ovs-vswitchd.log",
                            f"--unixctl={d}/ovs-vswitchd.ctl"]), env=self.env)
        self.vswitchd_pid = int((d / "ovs-vswitchd.pid").read_text())
        args = ["add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=netdev",
                "fail_mode=secure"]
        for port, ofport in PORTS:
            args += ["--", "add-port", "br0", port, "--", "set", "Interface", port,
                     f"ofport_request={ofport}"]
        self.vsctl(*args)
        self.set_flows(flows)

    def set_flows(self, flows: Path) -> None:
        self.ofctl("replace-flows", "br0", str(flows))

    def stop(self) -> None:
        for daemon in ("ovs-vswitchd", "ovsdb-server"):
            pidfile = self.dir / f"{daemon}.pid"
            if not pidfile.exists():
                continue
            try:
                pid = int(pidfile.read_text())
                os.kill(pid, signal.SIGTERM)
                for _ in range(50):
                    if not Path(f"/proc/{pid}").exists():
                        break
                    time.sleep(0.1)
                else:
                    os.kill(pid, signal.SIGKILL)
            except (ValueError, ProcessLookupError):
                pass
            pidfile.unlink(missing_ok=True)
        self.vswitchd_pid = None

    def pid(self) -> int | None:
        return self.vswitchd_pid


# --- traffic ----------------------------------------------------------------------


class Bench:
    def __init__(self, build: Path, quick: bool):
        self.gen = str(build / "traffic_gen")
        self.quick = quick
        self.step_s = 0.25 if quick else 1.2
        self.steps = 4 if quick else 5
        self.iperf_s = 1 if quick else 2
        self.pings = 50 if quick else 200
        self.idle_s = 2 if quick else 10

    def blast(self, size: int, rate: float, seconds: float, dut: Dut | None,
              ceiling: bool = False) -> dict:
        ns_dev, sink_dev = ("c0", "c1") if ceiling else ("g0", "s0")
        src_mac, dst_mac = (CEIL_GEN_MAC, CEIL_SINK_MAC) if ceiling else (GEN_MAC, SINK_MAC)
        src_ip, dst_ip = (CEIL_GEN_IP, CEIL_SINK_IP) if ceiling else (GEN_IP, SINK_IP)
        rx0 = rx_packets(NS_SINK, sink_dev)
        cpu0 = dut.cpu_ticks() if dut else 0
        m0 = machine_ticks()
        out = run(nsexec(NS_GEN, [self.gen, "--dev", ns_dev, "--src-mac", src_mac, "--dst-mac",
                                  dst_mac, "--src-ip", src_ip, "--dst-ip", dst_ip, "--size",
                                  str(size), "--rate", str(rate), "--seconds", str(seconds),
                                  "--flows", str(FLOWS)]), timeout=seconds + 10)
        time.sleep(0.05)  # frames still in rings and backlogs
        rx1 = rx_packets(NS_SINK, sink_dev)
        cpu1 = dut.cpu_ticks() if dut else 0
        m1 = machine_ticks()
        g = json.loads(out)
        received = rx1 - rx0
        sent = g["sent"]
        loss = max(0.0, (sent - received) / sent) if sent else 1.0
        mpkt = max(received, 1) / 1e6
        return {
            "offered_pps": g["pps"], "rx_pps": received / g["seconds"], "sent": sent,
            "received": received, "loss": loss, "target_pps": rate,
            "dut_cpu_ms_per_mpkt": (cpu1 - cpu0) * 1000 / CLK_TCK / mpkt,
            "machine_cpu_ms_per_mpkt": (m1[0] - m0[0]) * 1000 / CLK_TCK / mpkt,
        }

    def rate_search(self, dut: Dut | None) -> dict:
        """Highest offered 64-byte rate with < 0.1 % loss, in a bounded number of steps."""
        trials = []
        first = self.blast(64, 0, self.step_s, dut)
        trials.append(first)
        best = first if first["loss"] < LOSS_LIMIT else None
        if best is None:
            hi = first["offered_pps"]
            lo = 0.0
            rate = first["rx_pps"] * 0.97
            for _ in range(self.steps - 1):
                t = self.blast(64, rate, self.step_s, dut)
                trials.append(t)
                if t["loss"] < LOSS_LIMIT:
                    lo = rate
                    if best is None or t["offered_pps"] > best["offered_pps"]:
                        best = t
                    rate = (rate + hi) / 2
                else:
                    hi = rate
                    rate = (lo + rate) / 2 if lo else rate * 0.6
        if best is None:  # nothing passed: report the lowest rate tried, flagged
            best = dict(min(trials, key=lambda t: t["offered_pps"]), no_rate_passed=True)
        return {"best": best, "trials": trials}

    def iperf(self) -> float:
        port = "5201"
        server = subprocess.Popen(
            nsexec(NS_SINK, ["timeout", str(self.iperf_s + 15), "iperf3", "-s", "-1", "-p", port]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(30):
                time.sleep(0.1)
                r = subprocess.run(nsexec(NS_GEN, [
                    "iperf3", "-c", SINK_IP, "-p", port, "-t", str(self.iperf_s), "-J",
                    "--connect-timeout", "1000"]), capture_output=True, text=True,
                    timeout=self.iperf_s + 10)
                if r.returncode == 0:
                    return json.loads(r.stdout)["end"]["sum_received"]["bits_per_second"] / 1e9
            raise RuntimeError(f"iperf3 failed: {r.stdout[-300:]} {r.stderr[-300:]}")
        finally:
            if server.poll() is None:
                server.kill()
            server.wait()

    def latency(self) -> dict:
        out = run(nsexec(NS_GEN, ["ping", "-n", "-i", "0.01", "-W", "1", "-c", str(self.pings),
                                  SINK_IP]), timeout=self.pings * 0.01 + 15, check=False)
        rtts = sorted(float(x) * 1000 for x in re.findall(r"time=([\d.]+) ms", out))
        if not rtts:
            raise RuntimeError("no ping replies")

        def pct(p: float) -> float:
            return rtts[min(len(rtts) - 1, max(0, int(round(p / 100 * len(rtts) + 0.5)) - 1))]

        return {"p50_us": pct(50), "p99_us": pct(99), "replies": len(rtts), "sent": self.pings}

    def warm_up(self, dut: Dut) -> None:
        out = run(nsexec(NS_GEN, ["ping", "-n", "-i", "0.05", "-W", "1", "-c", "4", SINK_IP]),
                  timeout=15, check=False)
        if "time=" not in out:
            raise RuntimeError("no connectivity GEN -> SINK through the DUT")
        self.blast(64, 50_000, 0.2, dut)  # every one of the FLOWS 5-tuples, once or more
        # One unmeasured blast at full rate: buffer pools and rings touched, caches
        # filled, before the first measured step (else its page faults count as loss).
        self.blast(64, 0, 0.2 if self.quick else 0.5, dut)

    def one_run(self, dut: Dut, with_1500: bool, with_tcp: bool) -> dict:
        self.warm_up(dut)
        r: dict = {}
        s = self.rate_search(dut)
        b = s["best"]
        r["pps64_mpps"] = b["offered_pps"] / 1e6
        r["pps64_loss"] = b["loss"]
        r["pps64_max_fwd_mpps"] = s["trials"][0]["rx_pps"] / 1e6  # no loss criterion
        r["dut_cpu_ms_per_mpkt"] = b["dut_cpu_ms_per_mpkt"]
        r["machine_cpu_ms_per_mpkt"] = b["machine_cpu_ms_per_mpkt"]
        r["pps64_trials"] = s["trials"]
        if b.get("no_rate_passed"):
            r["pps64_note"] = "no step had < 0.1 % loss; lowest step reported"
        if with_1500:
            big = self.blast(1518, 0, self.step_s, dut)
            r["gbps1500"] = big["rx_pps"] * 1500 * 8 / 1e9
            r["gbps1500_loss"] = big["loss"]
        if with_tcp:
            r["tcp_gbps"] = self.iperf()
        lat = self.latency()
        r["lat_p50_us"], r["lat_p99_us"] = lat["p50_us"], lat["p99_us"]
        r["ping"] = lat
        return r

    def idle(self, dut: Dut) -> float:
        time.sleep(0.3)  # adaptive polling back to sleep
        c0, t0 = dut.cpu_ticks(), time.time()
        time.sleep(self.idle_s)
        c1, t1 = dut.cpu_ticks(), time.time()
        return (c1 - c0) / CLK_TCK / (t1 - t0) * 100


METRICS = ["pps64_mpps", "pps64_max_fwd_mpps", "gbps1500", "tcp_gbps", "lat_p50_us", "lat_p99_us",
           "dut_cpu_ms_per_mpkt", "machine_cpu_ms_per_mpkt"]


def summarize(runs: list[dict]) -> dict:
    out = {}
    for m in METRICS:
        vals = [r[m] for r in runs if r.get(m) is not None]
        if vals:
            out[m] = {"median": statistics.median(vals), "min": min(vals), "max": max(vals),
                      "n": len(vals)}
    return out


# --- machine, report ------------------------------------------------------------


def machine_info() -> dict:
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = Path("/proc/meminfo").read_text().split("\n")[0].split()[1]

    def cmd(argv):
        try:
            return run(argv, check=False).strip().split("\n")[0]
        except (OSError, subprocess.TimeoutExpired):
            return None

    return {
        "host": socket.gethostname(), "kernel": platform.release(), "nproc": os.cpu_count(),
        "cpu_model": model, "mem_kib": int(mem), "python": platform.python_version(),
        "ovs": cmd(["ovs-vswitchd", "--version"]), "iperf3": cmd(["iperf3", "--version"]),
        "compiler": cmd(["g++", "--version"]),
        "git_commit": cmd(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]),
        "git_branch": cmd(["git", "-C", str(ROOT), "rev-parse", "--abbrev-ref", "HEAD"]),
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
    }


def fmt(v: float | None, digits: int = 2) -> str:
    if v is None:
        return "n/a"
    return f"{v:.{digits}f}" if abs(v) < 100 else f"{v:.0f}"


def cell(s: dict, m: str, ref: dict | None, digits: int = 2) -> str:
    if m not in s:
        return "–"
    v = s[m]
    text = fmt(v["median"], digits)
    if v["n"] > 1 and v["median"]:
        text += f" ±{50 * (v['max'] - v['min']) / v['median']:.0f}%"
    if ref and m in ref and ref[m]["median"]:
        text += f" ({v['median'] / ref[m]['median']:.2f}×)"
    return text


def markdown(results: dict) -> str:
    cols = [("64 B Mpps <0.1% loss", "pps64_mpps", 3), ("64 B max fwd Mpps", "pps64_max_fwd_mpps", 3),
            ("1500 B Gbit/s", "gbps1500", 2),
            ("TCP Gbit/s", "tcp_gbps", 2), ("RTT p50 µs", "lat_p50_us", 0),
            ("RTT p99 µs", "lat_p99_us", 0), ("DUT CPU ms/Mpkt", "dut_cpu_ms_per_mpkt", 0),
            ("machine CPU ms/Mpkt", "machine_cpu_ms_per_mpkt", 0)]
    head = "| DUT | flows | " + " | ".join(c[0] for c in cols) + " | RSS MiB | idle CPU % |"
    lines = [head, "|" + "---|" * (len(cols) + 4)]
    for case in ("l2", "vps", "gen1000"):
        ref = results["duts"].get(REFERENCE, {}).get("cases", {}).get(case, {}).get("summary")
        for name, d in results["duts"].items():
            c = d.get("cases", {}).get(case)
            if c is None:
                continue
            if "error" in c:
                lines.append(f"| {name} | {case} | error: {c['error'][:80]} |")
                continue
            s = c["summary"]
            cells = [cell(s, m, ref if name != REFERENCE else None, dg) for _, m, dg in cols]
            rss = d.get("rss_mib")
            idle = d.get("idle_cpu_pct") if case == "l2" else None
            lines.append(f"| {name} | {case} | " + " | ".join(cells) +
                         f" | {fmt(rss, 1) if case == 'l2' else ''} | "
                         f"{fmt(idle, 2) if case == 'l2' else ''} |")
    g = results["generator_ceiling"]
    lines.append("")
    lines.append(f"Generator ceiling (direct veth, no DUT): 64 B {g['pps64_offered_mpps']:.3f} Mpps "
                 f"offered / {g['pps64_rx_mpps']:.3f} Mpps received; 1500 B "
                 f"{g['gbps1500']:.2f} Gbit/s received.")
    return "\n".join(lines)


def chart(results: dict, png: Path, tmp: Path) -> None:
    if not shutil.which("gnuplot"):
        log("gnuplot missing: no chart")
        return
    rows = []
    for case in ("l2", "vps", "gen1000"):
        for name, d in results["duts"].items():
            c = d.get("cases", {}).get(case)
            if c and "summary" in c:
                rows.append((f"{name}/{case}".replace("sockswitch-", "ssw-"), c["summary"]))
    panels = [("64-byte frames, Mpps (< 0.1 % loss)", "pps64_mpps"),
              ("64-byte frames, max forwarded Mpps (any loss)", "pps64_max_fwd_mpps"),
              ("1500-byte packets, Gbit/s", "gbps1500"), ("TCP (iperf3), Gbit/s", "tcp_gbps"),
              ("ping RTT p50, µs", "lat_p50_us"), ("ping RTT p99, µs", "lat_p99_us"),
              ("DUT CPU, ms per Mpkt (64 B; bridge: softirq)", "dut_cpu_ms_per_mpkt"),
              ("machine CPU, ms per Mpkt (64 B)", "machine_cpu_ms_per_mpkt")]
    data = tmp / "chart.dat"
    with open(data, "w") as f:
        for i, (label, s) in enumerate(rows):
            vals = []
            for _, m in panels:
                v = s.get(m)
                vals += [v["median"], v["min"], v["max"]] if v else ["NaN"] * 3
            color = {"ssw": 0x4477AA, "linux": 0x228833, "ovs": 0xEE7733}[label.split("-")[0]]
            f.write(f'{i} "{label}" ' + " ".join(str(x) for x in vals) + f" {color}\n")
    script = [
        "set terminal pngcairo noenhanced size 1600,1300 font 'DejaVu Sans,9'",
        f"set output '{png}'",
        f"set multiplot layout 3,3 title 'sockswitch vs Linux bridge vs OVS — "
        f"{results['mode']} mode, {results['machine']['host']}, {results['date']}'",
        "set style fill solid 0.6 border -1", "set boxwidth 0.7", "set grid ytics",
        "set xtics rotate by -45 left", "set yrange [0:*]", "unset key", "set samples 2",
        "set label 1 'blue: sockswitch (ssw), green: Linux bridge, orange: OVS userspace; "
        "bars: median, whiskers: min-max' at screen 0.01,0.01",
        f"set xrange [-0.6:{len(rows) - 0.4}]",
    ]
    g = results.get("generator_ceiling", {})
    ceilings = {"pps64_mpps": g.get("pps64_rx_mpps"), "pps64_max_fwd_mpps": g.get("pps64_rx_mpps"),
                "gbps1500": g.get("gbps1500")}
    for j, (title, m) in enumerate(panels):
        col = 3 + 3 * j
        line = (f", {ceilings[m]} with lines dt 2 lw 2 lc rgb 'red'" if ceilings.get(m) else "")
        if line:
            title += " (dashed: generator ceiling, no DUT)"
        script += [f"set title '{title}'",
                   f"plot '{data}' using 1:{col}:{3 + 3 * len(panels)}:xtic(2) with boxes "
                   "lc rgb variable, "
                   f"'' using 1:{col}:{col + 1}:{col + 2} with yerrorbars lc rgb 'black' pt 0" + line]
    script.append("unset multiplot")
    (tmp / "chart.gp").write_text("\n".join(script) + "\n")
    run(["gnuplot", str(tmp / "chart.gp")])


# --- main -----------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--out")
    ap.add_argument("--gbench", nargs="*", default=[])
    ap.add_argument("--duts", help="comma-separated subset (names as in the table)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("e2e: needs root (namespaces, veths)", file=sys.stderr)
        return 2
    build = (ROOT / args.build).resolve()
    for tool in ("sockswitch", "traffic_gen"):
        if not (build / tool).exists():
            print(f"e2e: {build / tool} missing: build first", file=sys.stderr)
            return 2
    runs = args.runs or (1 if args.quick else 3)
    stamp = f"{datetime.date.today().isoformat()}-{socket.gethostname().split('.')[0]}"
    out = Path(args.out) if args.out else ROOT / "bench" / "results" / f"{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    t_start = time.time()

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    tmp = Path(tempfile.mkdtemp(prefix="sswb-"))
    bench = Bench(build, args.quick)
    flows = write_flow_files(tmp)
    have_ovs = shutil.which("ovs-vswitchd") is not None
    duts: list[Dut] = [Sockswitch(build, "af_xdp", tmp, ("l2", "vps", "gen1000")),
                       Sockswitch(build, "af_packet", tmp, ("l2",)),
                       Sockswitch(build, "dpdk", tmp, ("l2",)), LinuxBridge()]
    if have_ovs:
        duts.append(Ovs(tmp, ("l2", "vps", "gen1000")))
    if args.duts:
        keep = set(args.duts.split(","))
        duts = [d for d in duts if d.name in keep]
    results: dict = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full", "runs_per_figure": runs,
        "machine": machine_info(), "reference": REFERENCE,
        "method": {
            "step_seconds": bench.step_s, "max_steps_64B": bench.steps, "loss_limit": LOSS_LIMIT,
            "iperf_seconds": bench.iperf_s, "pings": bench.pings, "ping_interval_s": 0.01,
            "idle_seconds": bench.idle_s, "udp_flows": FLOWS,
            "latency": "ping -i 0.01 RTT GEN->SINK->GEN, per-packet times, nearest-rank p50/p99",
            "gbps1500": "1500-byte IP packets (1518-byte frames incl. FCS) received per second "
                        "x 1500 x 8, generator as fast as it can",
        },
        "duts": {}, "generator_ceiling": {},
    }
    rc = 0
    try:
        results["topology"] = setup_topology()
        log("generator ceiling (direct veth, no DUT)")
        p64 = [bench.blast(64, 0, bench.step_s, None, ceiling=True) for _ in range(runs)]
        p1500 = [bench.blast(1518, 0, bench.step_s, None, ceiling=True) for _ in range(runs)]
        results["generator_ceiling"] = {
            "pps64_offered_mpps": statistics.median(t["offered_pps"] for t in p64) / 1e6,
            "pps64_rx_mpps": statistics.median(t["rx_pps"] for t in p64) / 1e6,
            "gbps1500": statistics.median(t["rx_pps"] for t in p1500) * 1500 * 8 / 1e9,
            "trials": p64 + p1500,
        }
        for dut in duts:
            entry: dict = {"cpu_source": dut.cpu_source, "cases": {}}
            results["duts"][dut.name] = entry
            log(f"{dut.name}: start")
            try:
                dut.start(flows["l2"])
                for case in dut.cases:
                    log(f"{dut.name}: {case}")
                    try:
                        if case != "l2":
                            dut.set_flows(flows[case])
                        # Flow cases: 64 B, latency and (full mode) TCP; 1500 B only for l2.
                        rs = [bench.one_run(dut, case == "l2", case == "l2" or not args.quick)
                              for _ in range(runs)]
                        entry["cases"][case] = {"runs": rs, "summary": summarize(rs)}
                    except Exception as e:  # one case failing must not stop the others
                        log(f"{dut.name}/{case} failed: {e}")
                        entry["cases"][case] = {"error": str(e)}
                        rc = 1
                pid = dut.pid()
                if pid:
                    entry["rss_mib"] = (vm_rss_kib(pid) or 0) / 1024
                    entry["idle_cpu_pct"] = bench.idle(dut)
                else:
                    entry["rss_mib"] = None
                    entry["idle_cpu_pct"] = None
            except Exception as e:
                log(f"{dut.name} failed: {e}")
                traceback.print_exc()
                entry["error"] = str(e)
                entry["cases"].setdefault("l2", {"error": str(e)})
                rc = 1
            finally:
                dut.stop()
    except KeyboardInterrupt as e:
        log(f"interrupted: {e}")
        rc = 130
    finally:
        for dut in duts:
            try:
                dut.stop()
            except Exception:  # cleanup goes on whatever happened
                pass
        teardown_topology()

    results["elapsed_seconds"] = round(time.time() - t_start, 1)
    gb = {}
    for f in args.gbench:
        try:
            gb[Path(f).stem] = json.loads(Path(f).read_text())
        except (OSError, json.JSONDecodeError) as e:
            gb[Path(f).stem] = {"error": str(e)}
    results["google_benchmark"] = gb
    out.write_text(json.dumps(results, indent=1) + "\n")
    if results["generator_ceiling"]:
        table = markdown(results)
        print(f"\n## sockswitch end-to-end ({results['mode']} mode, {runs} run(s) per figure; "
              f"median ±half the min–max spread; (×) = ratio to {REFERENCE})\n")
        print(table)
        try:
            chart(results, out.with_suffix(".png"), tmp)
            print(f"\nJSON: {out}\nchart: {out.with_suffix('.png')}")
        except Exception as e:
            log(f"chart failed: {e}")
    print(f"elapsed: {results['elapsed_seconds']} s")
    if rc == 0:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        log(f"kept the DUTs' logs and configs in {tmp}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
