#!/usr/bin/env bash
# bench/harness/openflow_add_flows.sh [N]: FLOW_MOD throughput over the
# OpenFlow channel, sockswitch against ovs-vswitchd (userspace datapath) in
# the same run, both driven by the same `ovs-ofctl` commands through their
# unix management sockets:
#   add-flows of N distinct flows (a FLOW_MOD each, one barrier at the end),
#   replace-flows onto a file where half of them changed,
#   dump-flows of the N flows,
#   del-flows of everything.
# Each switch runs in its own namespace with its sockets in a temp dir.
set -euo pipefail
n=${1:-100000}
bin=${SOCKSWITCH:-$(dirname "$0")/../../build/sockswitch}
schema=/usr/share/openvswitch/vswitch.ovsschema
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# N flows, and the same N with every second one's action changed.
python3 - "$n" "$work" <<'EOF'
import sys
n, work = int(sys.argv[1]), sys.argv[2]
with open(f"{work}/a.flows", "w") as a, open(f"{work}/b.flows", "w") as b:
    for i in range(n):
        m = f"priority={100 + i % 7},tcp,nw_dst=10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255},tp_dst={1 + i % 1000}"
        a.write(f"{m},actions=output:1\n")
        b.write(f"{m},actions=output:{2 if i % 2 else 1}\n")
EOF

ms() { bc -l <<<"($2 - $1) / 1000000"; }

run_one() {
  local which=$1 d ns target t0 t1 t2 t3 t4 count
  d=$(mktemp -d)
  ns=ssw-ofadd-$$-$which
  ip netns add "$ns"
  trap 'ip netns pids "$ns" 2>/dev/null | xargs -r kill; kill $(cat "$d"/s.pid 2>/dev/null) 2>/dev/null; sleep 0.2; ip netns del "$ns" 2>/dev/null; rm -rf "$d"' RETURN
  if [[ $which == sockswitch ]]; then
    printf 'control_socket = "%s/ctl.sock"\novs_rundir = "%s"\n[[bridge]]\nname = "br0"\n[[bridge.port]]\nname = "p1"\ndriver = "pcap"\n' \
      "$d" "$d" >"$d/sw.toml"
    ip netns exec "$ns" "$bin" run --config "$d/sw.toml" >"$d/sw.log" 2>&1 &
  else
    ovsdb-tool create "$d/conf.db" "$schema"
    ovsdb-server "$d/conf.db" --remote=punix:"$d/db.sock" --unixctl="$d/s.ctl" \
      --pidfile="$d/s.pid" --detach --log-file="$d/s.log" --no-chdir
    ovs-vsctl --db=unix:"$d/db.sock" --no-wait init
    OVS_RUNDIR=$d ip netns exec "$ns" ovs-vswitchd unix:"$d/db.sock" --pidfile="$d/v.pid" \
      --unixctl="$d/v.ctl" --log-file="$d/v.log" --detach --no-chdir
    ovs-vsctl --db=unix:"$d/db.sock" --timeout=30 add-br br0 -- set bridge br0 datapath_type=netdev
  fi
  target=unix:$d/br0.mgmt
  for _ in $(seq 100); do [[ -S $d/br0.mgmt ]] && break; sleep 0.1; done
  ovs-ofctl del-flows "$target"
  t0=$(date +%s%N)
  ovs-ofctl add-flows "$target" "$work/a.flows"
  t1=$(date +%s%N)
  ovs-ofctl replace-flows "$target" "$work/b.flows"
  t2=$(date +%s%N)
  count=$(ovs-ofctl dump-flows "$target" | grep -c actions=)
  t3=$(date +%s%N)
  ovs-ofctl del-flows "$target"
  t4=$(date +%s%N)
  printf '%-12s add-flows %d: %8.0f ms (%.1f us/flow)  replace-flows (half changed): %8.0f ms  dump-flows (%d): %6.0f ms  del-flows: %5.0f ms\n' \
    "$which" "$n" "$(ms "$t0" "$t1")" "$(bc -l <<<"($t1 - $t0) / 1000 / $n")" "$(ms "$t1" "$t2")" \
    "$count" "$(ms "$t2" "$t3")" "$(ms "$t3" "$t4")"
}

run_one sockswitch
run_one ovs-vswitchd
