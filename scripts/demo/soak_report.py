#!/usr/bin/env python3
"""scripts/demo/soak_report.py: judges a soak run (scripts/demo/soak.sh).

Reads DIR/samples.jsonl (one sample every 10 s), DIR/events.jsonl (the
scheduled changes) and DIR/probe-NAME.log (one line per probe: start end
ok|fail); writes DIR/soak.json (the run's parameters, the samples, the
events and the verdict), DIR/soak.svg (RSS, descriptors and drops over time,
changes marked) and prints a summary. Exit status 1 when the run fails:

* memory not flat: after the warm-up (one rotation of changes, at most a
  quarter of the run) the samples are cut in thirds; the last third's
  highest RSS may exceed the first third's by RSS_SLACK (10 %);
* descriptors not flat: the same, by FD_SLACK descriptors; threads not at all;
* a drop counter (ctl show's drop.*, a port's dropped or errors in
  dump-ports) grew in a 10 s interval that no change explains: ALLOWED
  names, per counter, the changes that may make it grow and why;
* a probe failed when no change on its path explains it (AFFECTS);
* a change did not do what it should (events.jsonl "ok");
* a path did not work at the end (paths-ct.sh), or the run was cut short.

Standard library only (python3 is in scripts/install-deps.sh; gnuplot draws).
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys

RSS_SLACK = 0.10
FD_SLACK = 3

# The paths each change may interrupt for a moment (its probes may fail
# while the change happens and GRACE seconds after it).
XRAY_PATHS = ["user-xray-443", "user-xray-8443", "xray-warp-80", "xray-warp-443",
              "stream-udp", "stream-tcp"]
WARP_PATHS = ["xray-warp-80", "xray-warp-443", "stream-udp", "stream-tcp"]
NM_PATHS = ["nm-ping", "nm-vps-8081"]
AFFECTS = {
    # Xray's only link is gone until it is made again; after it, the host
    # and Xray must learn each other's new MAC (ARP) again.
    "veth": XRAY_PATHS,
    # Between the new key on one end and the peer replaced on the other,
    # and until the new handshake, the tunnel carries nothing.
    "rekey:warp": WARP_PATHS,
    "rekey:nm": NM_PATHS,
    # replace-flows and reload are one atomic table change each: no path
    # may notice them.
}

# Counters that a change may make grow, and why. Anything else growing
# is unexplained.
ALLOWED = {
    # Frames the table sends to veth102 while it is down or gone (the
    # streams and probes towards Xray keep coming from WARP and the host).
    "port:veth102:tx_dropped": ["veth"],
    "port:veth102:tx_errors": ["veth"],
    # A device that changes leaves the bridge's snapshot while its driver
    # reopens (Switch::refresh_ports), so a frame for output:veth102 in that
    # window finds no such port: counted as port_unknown, not on the port.
    "drop.port_unknown": ["veth"],
}


def load_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def event_key(e):
    if e["kind"] == "rekey":
        return "rekey:" + e["target"].split("-")[0]
    return e["kind"]


def explained_by(events, keys, lo, hi, grace):
    """The events of a kind in keys whose [start, end + grace] meets [lo, hi]."""
    return [e for e in events if event_key(e) in keys and e["start"] <= hi and e["end"] + grace >= lo]


def counters(sample):
    """Every drop-like counter of a sample: drop.* and the ports' dropped/errors."""
    out = dict(sample.get("drops", {}))
    for port, c in sample.get("ports", {}).items():
        for k in ("rx_dropped", "tx_dropped", "rx_errors", "tx_errors"):
            out[f"port:{port}:{k}"] = c.get(k, 0)
    return out


def flat(samples, key, warmup):
    post = [s for s in samples if s["t"] >= warmup]
    k = len(post) // 3
    if k == 0:
        return None
    first, last = post[:k], post[-k:]
    n = len(post)
    xs = [s["t"] / 60 for s in post]
    ys = [s[key] for s in post]
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
    return {
        "first_third_max": max(s[key] for s in first),
        "last_third_max": max(s[key] for s in last),
        "after_warmup": post[0][key],
        "at_end": post[-1][key],
        "min": min(ys),
        "max": max(ys),
        "slope_per_minute": round(slope, 2),
        "samples_per_third": k,
    }


def conntrack_maps(ct_max):
    """The sizes (kB) of the two mappings dataplane/conntrack.cc reserves for
    ct_max: the bucket heads (4 bytes x a power of two >= 2 x per shard, 64
    shards) and the connections (128 bytes each, per shard)."""
    per_shard = ct_max // 64 + ct_max // 256 + 16
    buckets = 1
    while buckets < 2 * per_shard:
        buckets <<= 1
    return {"heads": 4 * buckets * 64 // 1024, "connections": 128 * per_shard * 64 // 1024}


def rss_split(samples, ct_max):
    """Per sample: the conntrack reservations' resident kB, and the rest."""
    sizes = conntrack_maps(ct_max)
    for s in samples:
        heads = conns = 0
        for size, rss in (s.get("big_maps") or {}).items():
            size = int(size)
            if size == sizes["heads"]:
                heads += rss
            elif abs(size - sizes["connections"]) <= 1024:  # page rounding, a neighbour merged
                conns += rss
        s["_ct_heads_kb"], s["_ct_conns_kb"] = heads, conns
        s["_rss_other_kb"] = s["rss_kb"] - heads - conns
    return sizes


def probe_results(d, events, grace):
    out = {}
    for path in sorted(glob.glob(os.path.join(d, "probe-*.log"))):
        name = os.path.basename(path)[len("probe-"):-len(".log")]
        ok, fails = 0, []
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) != 3:
                    continue
                start, end, r = float(parts[0]), float(parts[1]), parts[2]
                if r == "ok":
                    ok += 1
                    continue
                keys = [k for k, paths in AFFECTS.items() if name in paths]
                why = explained_by(events, keys, start, end, grace)
                fails.append({"start": start, "end": end,
                              "explained_by": [f'{e["kind"]} {e["target"]}'.strip() for e in why]})
        out[name] = {"ok": ok, "fail": len(fails),
                     "unexplained": [f for f in fails if not f["explained_by"]],
                     "explained": sum(1 for f in fails if f["explained_by"])}
    return out


def udp_loss(d):
    """The iperf3 UDP runs' receiver lines: lost/total datagrams."""
    lost = total = runs = 0
    path = os.path.join(d, "probe-stream-udp.out")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                m = re.search(r"(\d+)/(\d+) \([^)]*\)\s+receiver", line)
                if m and int(m.group(2)) > 0:  # a run cut at its start reports 0/0
                    lost += int(m.group(1))
                    total += int(m.group(2))
                    runs += 1
    return {"runs": runs, "lost": lost, "total": total}


def chart(d, samples, events, t0, duration, ct_max):
    """soak.svg: RSS; descriptors and threads; drop counters, cumulative."""
    dat = os.path.join(d, "soak.dat")
    rss_split(samples, ct_max)
    base = counters(samples[0]) if samples else {}
    # only the counters that moved: a flat zero line per counter says nothing
    names = sorted({k for s in samples for k, v in counters(s).items() if v != base.get(k, 0)})
    with open(dat, "w") as f:
        f.write("# minutes rss_mib fds threads conntrack rss_without_ct_mib " + " ".join(names) + "\n")
        for s in samples:
            c = counters(s)
            ct = (s.get("conntrack") or {}).get("connections", 0)
            f.write(f'{s["t"] / 60:.3f} {s["rss_kb"] / 1024:.2f} {s["fds"]} {s["threads"]} {ct} '
                    f'{s["_rss_other_kb"] / 1024:.2f} '
                    + " ".join(str(c.get(n, 0) - base.get(n, 0)) for n in names) + "\n")
    colours = {"replace-flows": "#1f77b4", "veth": "#d62728", "reload": "#2ca02c", "rekey": "#9467bd"}
    arrows = "\n".join(
        f'set arrow from {(e["start"] - t0) / 60:.3f}, graph 0 to {(e["start"] - t0) / 60:.3f}, graph 1 '
        f'nohead lc rgb "{colours.get(e["kind"], "#888888")}" lw 0.8 back'
        for e in events)
    drop_plot = ", ".join(f'"{dat}" using 1:{7 + i} with steps lw 1.5 title "{n}"'
                          for i, n in enumerate(names)) or '0 with lines lc rgb "#999999" title "no drop counter grew"'
    gp = f"""set terminal svg size 900,900 dynamic font "sans,11"
set output "{os.path.join(d, 'soak.svg')}"
set termoption noenhanced
set multiplot layout 3,1 title "sockswitch soak: VPS deployment, connection-tracking table\\nvertical lines: changes (blue replace-flows, red veth, green reload, purple rekey)"
set grid ytics lc rgb "#dddddd"
set key inside left bottom opaque
set xlabel "minutes"
set xrange [0:{duration / 60 + 0.2:.2f}]
set lmargin 10
set rmargin 10
{arrows}
set ylabel "RSS (MiB)"
set yrange [0:*]
set y2label "conntrack entries"
set y2tics
set y2range [0:*]
plot "{dat}" using 1:2 with linespoints pt 7 ps 0.4 lw 1.5 title "RSS", \\
     "{dat}" using 1:6 with lines lw 1.5 title "RSS without conntrack's table", \\
     "{dat}" using 1:5 axes x1y2 with lines lw 1 lc rgb "#999999" title "conntrack"
unset y2label
unset y2tics
set ylabel "count"
set yrange [0:*]
set key center left
plot "{dat}" using 1:3 with linespoints pt 7 ps 0.4 lw 1.5 title "open fds", \\
     "{dat}" using 1:4 with lines lw 1.5 title "threads"
set ylabel "drops since start"
set yrange [0:*]
set key top left
plot {drop_plot}
unset multiplot
"""
    gp_path = os.path.join(d, "soak.gp")
    with open(gp_path, "w") as f:
        f.write(gp)
    r = subprocess.run(["gnuplot", gp_path], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"soak: gnuplot failed: {r.stderr.strip()}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--duration", type=int, required=True)
    ap.add_argument("--every", type=int, required=True)
    ap.add_argument("--sample-every", type=int, required=True)
    ap.add_argument("--grace", type=float, required=True)
    ap.add_argument("--minutes", type=int, required=True)
    ap.add_argument("--flows", required=True)
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--t0", type=float, required=True)
    ap.add_argument("--paths-end", required=True)
    ap.add_argument("--ct-max", type=int, default=3_000_000)
    ap.add_argument("--interrupted", default="false")
    a = ap.parse_args()

    samples = load_jsonl(os.path.join(a.dir, "samples.jsonl"))
    events = load_jsonl(os.path.join(a.dir, "events.jsonl"))
    warmup = min(4 * a.every, a.duration // 4)
    problems = []

    rss = flat(samples, "rss_kb", warmup)
    # Where RSS went: conntrack's reservation is paged in as its buckets and
    # slots are first touched; the rest is everything else the daemon holds.
    ct_sizes = rss_split(samples, a.ct_max)
    rss_other = flat(samples, "_rss_other_kb", warmup)
    ct_heads = flat(samples, "_ct_heads_kb", warmup)
    ct_conns = flat(samples, "_ct_conns_kb", warmup)
    fds = flat(samples, "fds", warmup)
    threads = flat(samples, "threads", warmup)
    if rss is None:
        problems.append("too few samples to judge memory and descriptors")
    else:
        if rss["last_third_max"] > rss["first_third_max"] * (1 + RSS_SLACK):
            grew = rss["at_end"] - rss["after_warmup"]
            ct = ct_heads["at_end"] - ct_heads["after_warmup"] + ct_conns["at_end"] - ct_conns["after_warmup"]
            problems.append(f'RSS not flat: last third up to {rss["last_third_max"]} kB, '
                            f'first third up to {rss["first_third_max"]} kB; of the {grew:+} kB since '
                            f'the warm-up, {ct:+} kB are conntrack\'s reserved table being paged in '
                            f'(RSS without it: {rss_other["after_warmup"]} -> {rss_other["at_end"]} kB)')
        if fds["last_third_max"] > fds["first_third_max"] + FD_SLACK:
            problems.append(f'descriptors not flat: last third up to {fds["last_third_max"]}, '
                            f'first third up to {fds["first_third_max"]}')
        if threads["last_third_max"] > threads["first_third_max"]:
            problems.append(f'threads grew: {threads["first_third_max"]} -> {threads["last_third_max"]}')

    # Drops: every interval's growth of every counter, each explained or not.
    drops = {}
    for prev, cur in zip(samples, samples[1:]):
        cp, cc = counters(prev), counters(cur)
        lo, hi = a.t0 + prev["t"], a.t0 + cur["t"]
        for name, v in cc.items():
            dv = v - cp.get(name, 0)
            if dv <= 0:
                continue
            d = drops.setdefault(name, {"total": 0, "explained": 0, "unexplained": 0,
                                        "unexplained_at": [], "allowed_for": ALLOWED.get(name, [])})
            d["total"] += dv
            if explained_by(events, ALLOWED.get(name, []), lo, hi, a.grace):
                d["explained"] += dv
            else:
                d["unexplained"] += dv
                d["unexplained_at"].append({"t": cur["t"], "delta": dv})
    for name, d in drops.items():
        if d["unexplained"]:
            problems.append(f'{name} grew by {d["unexplained"]} with no change to explain it '
                            f'(at t={", ".join(str(x["t"]) for x in d["unexplained_at"][:8])} s)')

    probes = probe_results(a.dir, events, a.grace)
    for name, p in probes.items():
        if p["unexplained"]:
            problems.append(f'{len(p["unexplained"])} {name} probes failed with no change on their path '
                            f'(first at t={p["unexplained"][0]["start"] - a.t0:.0f} s)')
    for e in events:
        if not e["ok"]:
            problems.append(f'{e["kind"]} {e["target"]} at t={e["start"] - a.t0:.0f} s: {e["detail"]}')
    if a.paths_end != "ok":
        problems.append(f"paths at the end: {a.paths_end}")
    if a.interrupted == "true":
        problems.append("the run was cut short")

    by_kind = {}
    for e in events:
        by_kind[event_key(e)] = by_kind.get(event_key(e), 0) + 1
    verdict = {"pass": not problems, "problems": problems}
    result = {
        "params": {"minutes": a.minutes, "duration_s": a.duration, "change_every_s": a.every,
                   "sample_every_s": a.sample_every, "grace_s": a.grace, "warmup_s": warmup,
                   "rss_slack": RSS_SLACK, "fd_slack": FD_SLACK, "flows": a.flows,
                   "daemon": a.daemon, "t0_unix": a.t0, "nproc": os.cpu_count(),
                   "pool_occupancy": "not exposed by the daemon (neither ctl show nor /metrics)"},
        "rss_kb": rss, "fds": fds, "threads": threads,
        "rss_split": {"ct_max": a.ct_max, "reserved_kb": ct_sizes, "ct_heads_resident_kb": ct_heads,
                      "ct_connections_resident_kb": ct_conns, "rest_kb": rss_other},
        "drops": drops, "allowed": ALLOWED, "affects": AFFECTS,
        "probes": {k: {"ok": v["ok"], "fail": v["fail"], "explained": v["explained"],
                       "unexplained": len(v["unexplained"])} for k, v in probes.items()},
        "udp_stream": udp_loss(a.dir),
        "changes": by_kind, "paths_at_end": a.paths_end,
        "verdict": verdict, "events": events, "samples": samples,
    }
    for smp in samples:
        for k in ("_ct_heads_kb", "_ct_conns_kb", "_rss_other_kb"):
            smp.pop(k, None)
    with open(os.path.join(a.dir, "soak.json"), "w") as f:
        json.dump(result, f, separators=(",", ":"))
    if samples:
        chart(a.dir, samples, events, a.t0, a.duration, a.ct_max)

    def fig(x, unit=""):
        if x is None:
            return "n/a"
        return (f'{x["after_warmup"]}{unit} after warm-up -> {x["at_end"]}{unit} at the end '
                f'(thirds: {x["first_third_max"]} / {x["last_third_max"]} max, '
                f'{x["slope_per_minute"]:+}{unit}/min)')
    print(f"== soak summary ({a.dir})")
    if samples:
        print(f'   samples: {len(samples)} over {samples[-1]["t"]} s; warm-up {warmup} s; '
              f'changes: {", ".join(f"{k} {v}" for k, v in sorted(by_kind.items()))}')
        print(f'   RSS {fig(rss, " kB")}')
        print(f'   fds {fig(fds)}')
        print(f'   threads {fig(threads)}')
        ct = samples[-1].get("conntrack") or {}
        print(f'   conntrack at the end: {ct.get("connections")} entries, {ct.get("committed")} committed, '
              f'{ct.get("expired")} expired, {ct.get("invalid")} invalid')
    if rss_other is not None:
        print(f'   of which conntrack bucket heads (reserved {ct_sizes["heads"]} kB for ct_max {a.ct_max}) '
              f'{fig(ct_heads, " kB")}')
        print(f'   of which conntrack slots (reserved {ct_sizes["connections"]} kB) {fig(ct_conns, " kB")}')
        print(f'   RSS without those two {fig(rss_other, " kB")}')
    for name, d in sorted(drops.items()):
        print(f'   {name}: +{d["total"]} ({d["explained"]} explained by '
              f'{"/".join(d["allowed_for"]) or "nothing"}, {d["unexplained"]} not)')
    if not drops:
        print("   no drop counter grew")
    for name, p in probes.items():
        print(f'   probe {name}: {p["ok"]} ok, {p["fail"]} failed '
              f'({p["explained"]} during a change on its path, {len(p["unexplained"])} not)')
    u = result["udp_stream"]
    if u["runs"]:
        print(f'   UDP stream: {u["lost"]}/{u["total"]} datagrams lost over {u["runs"]} runs that reported')
    print(f"   pool occupancy: {result['params']['pool_occupancy']}")
    print(f"   paths at the end: {a.paths_end}")
    print(f"   json: {os.path.join(a.dir, 'soak.json')}, chart: {os.path.join(a.dir, 'soak.svg')}")
    if problems:
        print("== soak FAILED:\n" + "\n".join(f"   - {p}" for p in problems))
        return 1
    print("== soak passed: memory and descriptors flat, every drop explained, every path works")
    return 0


if __name__ == "__main__":
    sys.exit(main())
