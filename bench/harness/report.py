"""Machine description, markdown table and gnuplot chart of the end-to-end harness."""

from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
from pathlib import Path

from common import REFERENCE, ROOT, log, run


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
    for case in CASES:
        # The variants' rows are compared with sockswitch's own variant.
        ref_name = REFERENCE + VARIANT_SUFFIX.get(case, "")
        ref = results["duts"].get(ref_name, {}).get("cases", {}).get(case, {}).get("summary")
        for name, d in results["duts"].items():
            c = d.get("cases", {}).get(case)
            if c is None:
                continue
            if "error" in c:
                lines.append(f"| {name} | {case} | error: {c['error'][:80]} |")
                continue
            s = c["summary"]
            cells = [cell(s, m, ref if name != ref_name else None, dg) for _, m, dg in cols]
            rss = d.get("rss_mib")
            idle = d.get("idle_cpu_pct") if case == "l2" else None
            lines.append(f"| {name} | {case} | " + " | ".join(cells) +
                         f" | {fmt(rss, 1) if case == 'l2' else ''} | "
                         f"{fmt(idle, 2) if case == 'l2' else ''} |")
    if len(lines) == 2:
        lines = []
    g = results["generator_ceiling"]
    lines.append("")
    lines.append(f"Generator ceiling (direct veth, no DUT): 64 B {g['pps64_offered_mpps']:.3f} Mpps "
                 f"offered / {g['pps64_rx_mpps']:.3f} Mpps received; 1500 B "
                 f"{g['gbps1500']:.2f} Gbit/s received" +
                 (f"; 1400 B {g['kpps1400_rx']:.0f} kpps received" if "kpps1400_rx" in g else "")
                 + ".")
    return "\n".join(lines)


WG_COLS = [("TCP Gbit/s", "tcp_gbps", 2), ("DUT CPU s/Gbit (TCP)", "dut_cpu_s_per_gbit", 2),
           ("machine CPU s/Gbit (TCP)", "machine_cpu_s_per_gbit", 2),
           ("1400 B kpps <0.1% loss", "pps1400_kpps", 0),
           ("1400 B max fwd kpps", "pps1400_max_fwd_kpps", 0),
           ("1400 B max fwd Gbit/s", "pps1400_max_fwd_gbps", 2)]


def markdown_wireguard(results: dict) -> str:
    wg = results["wireguard"]
    ref = wg["duts"].get(wg["reference"], {}).get("summary")
    lines = ["| DUT | " + " | ".join(c[0] for c in WG_COLS) + " |",
             "|" + "---|" * (len(WG_COLS) + 1)]
    for name, d in wg["duts"].items():
        if "error" in d:
            lines.append(f"| {name} | error: {d['error'][:100]} |")
            continue
        cells = [cell(d["summary"], m, ref if name != wg["reference"] else None, dg)
                 for _, m, dg in WG_COLS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", f"Native WireGuard port: {wg['native_port']}."]
    return "\n".join(lines)


CASES = ("l2", "vps", "gen1000", "ct", "patch", "l3")
VARIANT_SUFFIX = {"patch": "-patch", "l3": "-tun"}


def chart(results: dict, png: Path, tmp: Path) -> None:
    if not shutil.which("gnuplot"):
        log("gnuplot missing: no chart")
        return
    rows = []
    for case in CASES:
        for name, d in results["duts"].items():
            c = d.get("cases", {}).get(case)
            if c and "summary" in c:
                rows.append((f"{name}/{case}".replace("sockswitch-", "ssw-"), c["summary"]))
    for name, d in results.get("wireguard", {}).get("duts", {}).items():
        if "summary" in d:
            rows.append((f"{name}/wg".replace("sockswitch", "ssw"), d["summary"]))
    panels = [("64-byte frames, Mpps (< 0.1 % loss)", "pps64_mpps"),
              ("64-byte frames, max forwarded Mpps (any loss)", "pps64_max_fwd_mpps"),
              ("1500-byte packets, Gbit/s", "gbps1500"), ("TCP (iperf3), Gbit/s", "tcp_gbps"),
              ("ping RTT p50, µs", "lat_p50_us"), ("ping RTT p99, µs", "lat_p99_us"),
              ("DUT CPU, ms per Mpkt (64 B; bridge: softirq)", "dut_cpu_ms_per_mpkt"),
              ("machine CPU, ms per Mpkt (64 B)", "machine_cpu_ms_per_mpkt")]
    if "wireguard" in results:
        panels += [("WireGuard: 1400 B kpps (< 0.1 % loss)", "pps1400_kpps"),
                   ("WireGuard: machine CPU s per Gbit (TCP)", "machine_cpu_s_per_gbit")]
    # A panel no row has a figure for (e.g. 1500 B in a quick run of the variants alone)
    # would make gnuplot stop.
    panels = [pn for pn in panels if any(pn[1] in s for _, s in rows)]
    data = tmp / "chart.dat"
    with open(data, "w") as f:
        for i, (label, s) in enumerate(rows):
            vals = []
            for _, m in panels:
                v = s.get(m)
                vals += [v["median"], v["min"], v["max"]] if v else ["NaN"] * 3
            color = {"ssw": 0x4477AA, "linux": 0x228833, "ovs": 0xEE7733}[
                label.split("-")[0].split("+")[0]]
            f.write(f'{i} "{label}" ' + " ".join(str(x) for x in vals) + f" {color}\n")
    script = [
        f"set terminal pngcairo noenhanced size 1600,{430 * ((len(panels) + 2) // 3)} "
        "font 'DejaVu Sans,9'",
        f"set output '{png}'",
        f"set multiplot layout {(len(panels) + 2) // 3},3 title 'sockswitch vs Linux bridge vs OVS — "
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
