"""Traffic and measurements: blasts, 64-byte rate search, iperf3, ping, idle CPU."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import time
from pathlib import Path

from common import (CEILING_PATH, CLK_TCK, FLOWS, LOSS_LIMIT, TrafficPath, machine_ticks, nsexec,
                    run, rx_packets)
from duts import Dut


# --- traffic ----------------------------------------------------------------------


class Bench:
    def __init__(self, build: Path, quick: bool):
        self.gen = str(build / "traffic_gen")
        self.quick = quick
        # Quick mode is a smoke test that must finish in under a minute with every DUT and
        # case (17 DUT-case pairs): few, short steps. The full run (3 runs of each) must
        # finish in under ten minutes with the Google Benchmark suites: 1 s steps.
        self.step_s = 0.25 if quick else 1.0
        self.steps = 3 if quick else 5
        self.iperf_s = 1 if quick else 2
        self.pings = 30 if quick else 200
        self.idle_s = 1 if quick else 10

    def blast(self, size: int, rate: float, seconds: float, dut: Dut | None,
              ceiling: bool = False) -> dict:
        """One generator run of `size`-byte frames (with FCS) at `rate` pps (0: as fast as
        it can) along the DUT's path (or the direct ceiling veth); what the sink counted."""
        p: TrafficPath = CEILING_PATH if ceiling or dut is None else dut.path()
        rx0 = rx_packets(p.sink_ns, p.sink_dev)
        cpu0 = dut.cpu_ticks() if dut else 0
        m0 = machine_ticks()
        out = run(nsexec(p.gen_ns, [self.gen, "--dev", p.gen_dev, "--src-mac", p.src_mac,
                                    "--dst-mac", p.dst_mac, "--src-ip", p.src_ip, "--dst-ip",
                                    p.dst_ip, "--size", str(size), "--rate", str(rate),
                                    "--seconds", str(seconds), "--flows", str(FLOWS)]),
                  timeout=seconds + 10)
        time.sleep(0.05)  # frames still in rings and backlogs
        rx1 = rx_packets(p.sink_ns, p.sink_dev)
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

    def rate_search(self, dut: Dut, size: int = 64) -> dict:
        """Highest offered rate of `size`-byte frames with < 0.1 % loss, in a bounded number
        of steps."""
        trials = []
        first = self.blast(size, 0, self.step_s, dut)
        trials.append(first)
        best = first if first["loss"] < LOSS_LIMIT else None
        if best is None:
            hi = first["offered_pps"]
            lo = 0.0
            rate = first["rx_pps"] * 0.97
            for _ in range(self.steps - 1):
                t = self.blast(size, rate, self.step_s, dut)
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

    def iperf(self, dut: Dut, seconds: float | None = None) -> dict:
        """One iperf3 TCP stream GEN -> SINK along the DUT's path: Gbit/s received, and the
        CPU (DUT processes, whole machine) it took."""
        p = dut.path()
        secs = seconds or self.iperf_s
        port = "5201"
        server = subprocess.Popen(
            nsexec(p.sink_ns, ["timeout", str(secs + 15), "iperf3", "-s", "-1", "-p", port]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(30):
                time.sleep(0.1)
                cpu0, m0 = dut.cpu_ticks(), machine_ticks()
                r = subprocess.run(nsexec(p.gen_ns, [
                    "iperf3", "-c", p.dst_ip, "-p", port, "-t", str(secs), "-J",
                    "--connect-timeout", "1000"]), capture_output=True, text=True,
                    timeout=secs + 10)
                cpu1, m1 = dut.cpu_ticks(), machine_ticks()
                if r.returncode == 0:
                    report = json.loads(r.stdout)
                    if "sum_received" not in report.get("end", {}):
                        raise RuntimeError("iperf3 transferred nothing (no connection): "
                                           + str(report.get("error", ""))[:200])
                    end = report["end"]["sum_received"]
                    gbit = end["bytes"] * 8 / 1e9
                    return {"gbps": end["bits_per_second"] / 1e9, "gbit": gbit,
                            "dut_cpu_s": (cpu1 - cpu0) / CLK_TCK,
                            "machine_cpu_s": (m1[0] - m0[0]) / CLK_TCK}
            raise RuntimeError(f"iperf3 failed: {r.stdout[-300:]} {r.stderr[-300:]}")
        finally:
            if server.poll() is None:
                server.kill()
            server.wait()

    def latency(self, dut: Dut) -> dict:
        p = dut.path()
        out = run(nsexec(p.gen_ns, ["ping", "-n", "-i", "0.01", "-W", "1", "-c", str(self.pings),
                                    p.dst_ip]), timeout=self.pings * 0.01 + 15, check=False)
        rtts = sorted(float(x) * 1000 for x in re.findall(r"time=([\d.]+) ms", out))
        if not rtts:
            raise RuntimeError("no ping replies")

        def pct(q: float) -> float:
            return rtts[min(len(rtts) - 1, max(0, int(round(q / 100 * len(rtts) + 0.5)) - 1))]

        return {"p50_us": pct(50), "p99_us": pct(99), "replies": len(rtts), "sent": self.pings}

    def warm_up(self, dut: Dut) -> None:
        p = dut.path()
        out = run(nsexec(p.gen_ns, ["ping", "-n", "-i", "0.05", "-W", "1", "-c", "4", p.dst_ip]),
                  timeout=15, check=False)
        if "time=" not in out:
            raise RuntimeError("no connectivity GEN -> SINK through the DUT")
        self.blast(64, 50_000, 0.2, dut)  # every one of the FLOWS 5-tuples, once or more
        # One unmeasured blast at full rate: buffer pools and rings touched, caches
        # filled, before the first measured step (else its page faults count as loss).
        self.blast(64, 0, 0.1 if self.quick else 0.5, dut)

    def one_run(self, dut: Dut, with_1500: bool, with_tcp: bool, with_latency: bool = True,
                warm: bool = True) -> dict:
        if warm:  # once per DUT and case: what it warms stays warm for the next runs
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
            r["tcp_gbps"] = self.iperf(dut)["gbps"]
        if with_latency:
            lat = self.latency(dut)
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


def summarize(runs: list[dict], metrics: list[str] = METRICS) -> dict:
    out = {}
    for m in metrics:
        vals = [r[m] for r in runs if r.get(m) is not None]
        if vals:
            out[m] = {"median": statistics.median(vals), "min": min(vals), "max": max(vals),
                      "n": len(vals)}
    return out
