"""TCP-only case (--tcp-only): iperf3 through each l2 DUT, Gbit/s and CPU per Gbit.

What a container user feels first: one TCP stream GEN -> SINK through the
DUT with `actions=normal`, repeated --runs times for --tcp-seconds each, on
veths with the offloads --offloads says (default: as containers have them).
CPU per Gbit: the DUT process's user+system time (the Linux bridge has no
process: its softirq work is in the machine figure) and the whole machine's
busy time, both divided by the Gbit received.
"""

from __future__ import annotations

import statistics

from common import log


def run_tcp_case(bench, duts, flows, runs: int, seconds: float) -> dict:
    out: dict = {}
    for dut in duts:
        if "l2" not in dut.cases:
            continue
        log(f"{dut.name}: tcp")
        try:
            dut.start(flows[dut.start_flows])
            bench.iperf(dut, 1)  # warm-up: ARP, MAC learning, caches
            rs = [bench.iperf(dut, seconds) for _ in range(runs)]
            gbps = [r["gbps"] for r in rs]
            out[dut.name] = {
                "runs": rs,
                "gbps": statistics.median(gbps), "gbps_min": min(gbps), "gbps_max": max(gbps),
                "dut_cpu_s_per_gbit": statistics.median(r["dut_cpu_s"] / r["gbit"] for r in rs),
                "machine_cpu_s_per_gbit": statistics.median(
                    r["machine_cpu_s"] / r["gbit"] for r in rs),
            }
        except Exception as e:  # one DUT failing must not stop the others
            log(f"{dut.name}/tcp failed: {e}")
            out[dut.name] = {"error": str(e)}
        finally:
            dut.stop()
    return out


def markdown_tcp(tcp: dict, reference: str) -> str:
    ref = tcp.get(reference, {}).get("gbps")
    lines = ["| DUT | TCP Gbit/s (min–max) | vs " + reference +
             " | DUT CPU s/Gbit | machine CPU s/Gbit |", "|---|---|---|---|---|"]
    for name, d in tcp.items():
        if "error" in d:
            lines.append(f"| {name} | error: {d['error'][:100]} | | | |")
            continue
        ratio = f"{d['gbps'] / ref:.2f}×" if ref else ""
        lines.append(f"| {name} | {d['gbps']:.2f} ({d['gbps_min']:.2f}–{d['gbps_max']:.2f}) | "
                     f"{ratio} | {d['dut_cpu_s_per_gbit']:.3f} | "
                     f"{d['machine_cpu_s_per_gbit']:.3f} |")
    return "\n".join(lines)
