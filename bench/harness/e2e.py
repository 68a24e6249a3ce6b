#!/usr/bin/env python3
"""End-to-end benchmark: sockswitch vs the Linux bridge vs Open vSwitch.

One topology, three network namespaces this script makes (and always removes):

    GEN ns                     DUT ns                          SINK ns
    g0 10.97.0.1 ==veth== warp0 [device under test] veth102 ==veth== s0 10.97.0.2
                               nm-server ==veth== nmp (spare third port)
    c0 10.98.0.1 =================== veth (no DUT) ================== c1 10.98.0.2

The DUT's ports carry the seed VPS names (warp0, veth102, nm-server), so the
seed flow file configs/vps-socket.flows loads unchanged on sockswitch and OVS.
Every veth keeps the kernel's default offloads (checksums and segmentation
left to the device, as in a container), unless --offloads off turns them off
on both ends (the second column). The sink drops the generator's UDP at tc
ingress (flower, if the kernel has it), after the veth has counted it.

DUTs, one after the other in the same run: sockswitch with each engine
(af_xdp, af_packet, dpdk net_af_packet vdevs), the Linux bridge, and OVS
userspace (netdev datapath; its own ovsdb-server and ovs-vswitchd with a
private database and run directory under a temporary directory).

Flow cases: l2 (one flow, actions=normal; the Linux bridge is plain MAC
learning), vps (the seed table) and gen1000 (1 000 generated flows that the
traffic hits one by one, plus the two return/default flows) and ct (every IP
packet through ct(table=1), what warp0 opens committed and passed both ways);
the flow cases run on sockswitch (af_xdp) and OVS.

Patch-pair variant (case "patch"): two bridges, the generator's port on the
first, the sink's on the second, actions=normal on both, joined by sockswitch
`patch` ports (af_xdp engine), by a veth pair (Linux: lbr0, lbr1) or by OVS
`patch` ports (two netdev bridges); 64-byte rate and max forwarded only.

L3 variant (case "l3", duts_l3.py): the DUT hands warp0's traffic to its
namespace's IP stack through an L3 port (sockswitch tun port, the Linux
bridge's own interface, OVS's LOCAL port, or warp0 itself for plain routing),
which routes it out of veth102 to the sink.

WireGuard case (--case wireguard; wg_case.py): its own namespaces, client ->
switch (veth102, warp0) -> wireguard-go peer; warp0 = wireguard-go attached
to sockswitch, kernel routing into wireguard-go, or sockswitch's native
WireGuard port when the build has it. TCP, 1400-byte rate, CPU per Gbit.

Modules: common (constants, paths, counters), topology (namespaces, veths,
flow files), duts / duts_l3 / duts_wireguard (the devices under test),
measure (traffic, measurements), wg_topology and wg_case (the WireGuard
case), report (machine, tables, chart); this file is main.

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
  * CPU used when idle, over 10 s (1 s with --quick), after the traffic.
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
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import FLOWS, LOSS_LIMIT, REFERENCE, ROOT, log, vm_rss_kib  # noqa: E402
from duts import Dut, LinuxBridge, LinuxBridgePair, Ovs, OvsPatch, Sockswitch  # noqa: E402
from duts_l3 import LinuxBridgeL3, LinuxRouter, OvsL3, SockswitchTun  # noqa: E402
from measure import Bench, summarize  # noqa: E402
from report import chart, machine_info, markdown, markdown_wireguard  # noqa: E402
from tcp_case import markdown_tcp, run_tcp_case  # noqa: E402
from wg_case import run_wireguard_case  # noqa: E402
from wg_topology import SIZE_1400  # noqa: E402
import topology  # noqa: E402
from topology import setup_topology, teardown_topology, write_flow_files  # noqa: E402


# --- main -----------------------------------------------------------------------


def figures(case: str, quick: bool) -> tuple[bool, bool, bool]:
    """What a flow case measures besides the 64-byte rate: (1500 B, TCP, latency)."""
    if case == "patch":
        return False, False, False
    if case == "l2":
        return True, True, True
    # vps, gen1000, l3: TCP in full mode only; no 1500 B (the full run's ten minutes; TCP
    # shows MTU-sized traffic).
    return False, not quick, True


def switching_duts(build: Path, tmp: Path) -> list[Dut]:
    """Every DUT of the switching cases, in the order they run."""
    have_ovs = shutil.which("ovs-vswitchd") is not None
    duts: list[Dut] = [Sockswitch(build, "af_xdp", tmp, ("l2", "vps", "gen1000", "ct")),
                       Sockswitch(build, "af_packet", tmp, ("l2",)),
                       Sockswitch(build, "dpdk", tmp, ("l2",)), LinuxBridge()]
    if have_ovs:
        duts.append(Ovs(tmp, ("l2", "vps", "gen1000", "ct")))
    # Patch-pair variant: two bridges joined in the switch (sockswitch patch ports, OVS
    # patch ports) or by a veth pair (Linux); 64-byte rate and max forwarded only.
    duts += [Sockswitch(build, "af_xdp", tmp, ("patch",), patch=True), LinuxBridgePair()]
    if have_ovs:
        duts.append(OvsPatch(tmp))
    # L3 variant: from warp0 into the DUT namespace's IP stack through the DUT's L3 port,
    # routed out of veth102 (duts_l3.py).
    duts += [SockswitchTun(build, tmp), LinuxBridgeL3()]
    if have_ovs:
        duts.append(OvsL3(tmp))
    duts.append(LinuxRouter())
    return duts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--out")
    ap.add_argument("--gbench", nargs="*", default=[])
    ap.add_argument("--duts", help="comma-separated subset (names as in the table)")
    ap.add_argument("--tcp-only", action="store_true",
                    help="only one TCP stream per l2 DUT (tcp_case.py), --tcp-seconds long")
    ap.add_argument("--tcp-seconds", type=float, default=5)
    ap.add_argument("--offloads", choices=("default", "off"), default="default",
                    help="default: veths as users have them; off: every offload off on both ends")
    ap.add_argument("--case", choices=("switching", "wireguard", "all"), default="switching",
                    help="switching: l2, vps, gen1000, patch and l3 (default); wireguard: the "
                         "WireGuard comparison of issue 8 alone; all: both")
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
    topology.OFFLOADS["mode"] = args.offloads
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
    duts = switching_duts(build, tmp) if args.case in ("switching", "all") else []
    if args.duts:
        keep = set(args.duts.split(","))
        duts = [d for d in duts if d.name in keep]
    results: dict = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full", "case": args.case, "runs_per_figure": runs,
        "offloads": args.offloads,
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
        if args.tcp_only:
            results["tcp"] = run_tcp_case(bench, duts, flows, runs, args.tcp_seconds)
            out.write_text(json.dumps(results, indent=1))
            print(markdown_tcp(results["tcp"], "linux-bridge"))
            return 0 if all("error" not in d for d in results["tcp"].values()) else 1
        log("generator ceiling (direct veth, no DUT)")
        p64 = [bench.blast(64, 0, bench.step_s, None, ceiling=True) for _ in range(runs)]
        p1500 = [bench.blast(1518, 0, bench.step_s, None, ceiling=True) for _ in range(runs)]
        results["generator_ceiling"] = {
            "pps64_offered_mpps": statistics.median(t["offered_pps"] for t in p64) / 1e6,
            "pps64_rx_mpps": statistics.median(t["rx_pps"] for t in p64) / 1e6,
            "gbps1500": statistics.median(t["rx_pps"] for t in p1500) * 1500 * 8 / 1e9,
            "trials": p64 + p1500,
        }
        if args.case != "switching":
            p1400 = [bench.blast(SIZE_1400, 0, bench.step_s, None, ceiling=True)
                     for _ in range(runs)]
            results["generator_ceiling"]["kpps1400_rx"] = statistics.median(
                t["rx_pps"] for t in p1400) / 1e3
            results["generator_ceiling"]["trials"] += p1400
        for dut in duts:
            entry: dict = {"cpu_source": dut.cpu_source, "cases": {}}
            results["duts"][dut.name] = entry
            log(f"{dut.name}: start")
            try:
                dut.start(flows[dut.start_flows])
                for case in dut.cases:
                    log(f"{dut.name}: {case}")
                    try:
                        if case in ("vps", "gen1000", "ct"):  # others keep start()'s table
                            dut.set_flows(flows[case])
                        with_1500, with_tcp, with_latency = figures(case, args.quick)
                        rs = [bench.one_run(dut, with_1500, with_tcp, with_latency, warm=i == 0)
                              for i in range(runs)]
                        entry["cases"][case] = {"runs": rs, "summary": summarize(rs)}
                    except Exception as e:  # one case failing must not stop the others
                        log(f"{dut.name}/{case} failed: {e}")
                        entry["cases"][case] = {"error": str(e)}
                        rc = 1
                pid = dut.pid()
                if pid and "l2" in dut.cases:
                    entry["rss_mib"] = (vm_rss_kib(pid) or 0) / 1024
                    entry["idle_cpu_pct"] = bench.idle(dut)
                else:
                    entry["rss_mib"] = None
                    entry["idle_cpu_pct"] = None
            except Exception as e:
                log(f"{dut.name} failed: {e}")
                traceback.print_exc()
                entry["error"] = str(e)
                entry["cases"].setdefault(dut.cases[0], {"error": str(e)})
                rc = 1
            finally:
                dut.stop()
        teardown_topology()
        if args.case != "switching":
            log("wireguard case")
            results["wireguard"], wg_rc = run_wireguard_case(bench, build, tmp, runs,
                                                             flows["vps"])
            rc = rc or wg_rc
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
        if results["duts"]:
            print(f"\n## sockswitch end-to-end ({results['mode']} mode, {runs} run(s) per figure; "
                  f"median ±half the min–max spread; (×) = ratio to {REFERENCE}, in the "
                  f"variants to its -patch / -tun row)\n")
        print(table)
        if "wireguard" in results:
            print(f"\n## WireGuard: client -> switch ns (warp0) -> wireguard-go peer "
                  f"({runs} run(s) per figure; ratios to the sockswitch+wireguard-go row)\n")
            print(markdown_wireguard(results))
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
