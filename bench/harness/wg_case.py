"""The WireGuard case (issue 8): TCP, 1400-byte rate and CPU per Gbit through warp0.

Per DUT (duts_wireguard.py) and run: the tunnel is brought up by pings (first
handshake, ARP pinned), then
  * TCP: one iperf3 stream CLIENT -> 198.51.100.1 (the peer's wgp), the
    receiver's Gbit/s; CPU per Gbit: the DUT's processes' user+system time and
    the whole machine's busy time during that transfer, per Gbit received
    (seconds of CPU per Gbit = cores busy per Gbit/s);
  * 1400-byte IP packets (UDP, 1 000 flows) from traffic_gen: the same
    bounded search as the 64-byte rate (the highest offered rate with < 0.1 %
    loss), and what arrived during the first, as-fast-as-possible step (max
    forwarded); counted by wgp's rx_packets in the peer namespace.
"""

from __future__ import annotations

from pathlib import Path

from common import LOSS_LIMIT, log
from duts_wireguard import LinuxRoutingWg, SockswitchWg, WgDut, native_wireguard_available
from measure import Bench, summarize
from wg_topology import SIZE_1400, WgTopology

WG_METRICS = ["tcp_gbps", "dut_cpu_s_per_gbit", "machine_cpu_s_per_gbit", "pps1400_kpps",
              "pps1400_max_fwd_kpps", "pps1400_max_fwd_gbps"]
WG_REFERENCE = "sockswitch+wireguard-go"


def one_run(bench: Bench, dut: WgDut, iperf_s: float) -> dict:
    dut.path()  # tunnel up, gateway pinned
    tcp = bench.iperf(dut, iperf_s)
    r: dict = {"tcp_gbps": tcp["gbps"], "tcp": tcp,
               "dut_cpu_s_per_gbit": tcp["dut_cpu_s"] / max(tcp["gbit"], 1e-9),
               "machine_cpu_s_per_gbit": tcp["machine_cpu_s"] / max(tcp["gbit"], 1e-9)}
    bench.blast(SIZE_1400, 0, 0.2, dut)  # unmeasured: rings, pools, the peer's queues
    s = bench.rate_search(dut, SIZE_1400)
    b = s["best"]
    r["pps1400_kpps"] = b["offered_pps"] / 1e3
    r["pps1400_loss"] = b["loss"]
    r["pps1400_max_fwd_kpps"] = s["trials"][0]["rx_pps"] / 1e3
    r["pps1400_max_fwd_gbps"] = s["trials"][0]["rx_pps"] * 1400 * 8 / 1e9
    r["pps1400_trials"] = s["trials"]
    if b.get("no_rate_passed"):
        r["pps1400_note"] = f"no step had < {LOSS_LIMIT:.1%} loss; lowest step reported"
    return r


def run_wireguard_case(bench: Bench, build: Path, tmp: Path, runs: int, flows: Path) -> tuple[dict, int]:
    """Every WireGuard DUT back to back; (results["wireguard"], exit status)."""
    native, why = native_wireguard_available(build / "sockswitch")
    log(f"wireguard: {why}")
    topo = WgTopology(tmp)
    duts: list[WgDut] = []
    if native:
        duts.append(SockswitchWg(build, topo, tmp, native=True))
    duts += [SockswitchWg(build, topo, tmp, native=False), LinuxRoutingWg(topo, tmp)]
    iperf_s = 2 if bench.quick else 3
    out: dict = {"native_port": why, "reference": WG_REFERENCE, "iperf_seconds": iperf_s,
                 "packet_bytes": 1400, "duts": {}}
    rc = 0
    try:
        topo.up()
        for dut in duts:
            log(f"{dut.name}: start")
            entry: dict = {"cpu_source": dut.cpu_source}
            out["duts"][dut.name] = entry
            try:
                dut.start(flows)
                rs = [one_run(bench, dut, iperf_s) for _ in range(runs)]
                entry.update(runs=rs, summary=summarize(rs, WG_METRICS))
                entry["peer_wireguard_go_pid"] = topo.peer_pid()
            except Exception as e:  # one DUT failing must not stop the others
                log(f"{dut.name} failed: {e}")
                entry["error"] = str(e)
                rc = 1
            finally:
                dut.stop()
    finally:
        for dut in duts:
            try:
                dut.stop()
            except Exception:  # cleanup goes on whatever happened
                pass
        topo.down()
    return out, rc
