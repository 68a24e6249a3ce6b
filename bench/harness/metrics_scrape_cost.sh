#!/usr/bin/env bash
# bench/harness/metrics_scrape_cost.sh [SECONDS]: what a Prometheus scrape
# every second costs the daemon. One bridge of two veth ports (AF_XDP by
# default) in a namespace, no traffic; the daemon's CPU time (utime+stime
# from /proc/PID/stat) over SECONDS without scrapes, then over SECONDS with
# one GET /metrics a second, then the size of one scrape.
set -euo pipefail
secs=${1:-30}
bin=${SOCKSWITCH:-$(dirname "$0")/../../build/sockswitch}
d=$(mktemp -d)
ns=ssw-metrics-$$
ip netns add "$ns"
trap 'kill $(cat "$d"/pid 2>/dev/null) 2>/dev/null; ip netns del "$ns" 2>/dev/null; rm -rf "$d"' EXIT
for i in 1 2; do
  ip -n "$ns" link add "p$i" type veth peer name "q$i"
  ip -n "$ns" link set "p$i" up
  ip -n "$ns" link set "q$i" up
done
ip -n "$ns" link set lo up
cat >"$d/sw.toml" <<TOML
control_socket = "$d/ctl.sock"
[[bridge]]
name = "br0"
flow = ["priority=10,actions=normal"]
[[bridge.port]]
name = "p1"
[[bridge.port]]
name = "p2"
TOML
ip netns exec "$ns" "$bin" run --config "$d/sw.toml" >"$d/sw.log" 2>&1 &
echo $! >"$d/pid"
pid=$(cat "$d/pid")
for _ in $(seq 50); do [[ -S $d/ctl.sock ]] && break; sleep 0.1; done
sleep 2
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
scrape() { ip netns exec "$ns" bash -c 'exec 3<>/dev/tcp/127.0.0.1/9477; printf "GET /metrics HTTP/1.0\r\n\r\n" >&3; cat <&3' ; }
a=$(cpu); sleep "$secs"; b=$(cpu)
for _ in $(seq "$secs"); do scrape >/dev/null; sleep 1; done
c=$(cpu)
bytes=$(scrape | wc -c)
awk -v a="$a" -v b="$b" -v c="$c" -v s="$secs" -v t="$ticks" -v n="$bytes" 'BEGIN {
  printf "idle, no scrape:     %.3f %% of a core\n", 100 * (b - a) / t / s;
  printf "idle, 1 s scrape:    %.3f %% of a core (the loop sleeps 1 s between scrapes)\n", 100 * (c - b) / t / s;
  printf "one scrape:          %d bytes\n", n }'
