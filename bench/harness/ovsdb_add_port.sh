#!/usr/bin/env bash
# bench/harness/ovsdb_add_port.sh [N]: N `ovs-vsctl add-port` commands in a row, each
# waiting for the switch to acknowledge (cur_cfg), against sockswitch and
# against ovs-vswitchd (userspace datapath) in the same run, each on its own
# private ovsdb-server and in its own network namespace with N veth pairs.
# Prints the time per command for each, and the time from the last
# add-port returning to the first ping through that port.
set -euo pipefail
n=${1:-200}
bin=${SOCKSWITCH:-$(dirname "$0")/../../build/sockswitch}
schema=/usr/share/openvswitch/vswitch.ovsschema

run_one() {
  local which=$1 d ns vsctl start end
  d=$(mktemp -d)
  ns=ssw-addport-$$-$which
  ip netns add "$ns"
  trap 'ip netns pids "$ns" 2>/dev/null | xargs -r kill; kill $(cat "$d"/s.pid 2>/dev/null) 2>/dev/null; ip netns del "$ns" 2>/dev/null; ip netns del "$ns-c" 2>/dev/null; rm -rf "$d"' RETURN
  ovsdb-tool create "$d/conf.db" "$schema"
  ovsdb-server "$d/conf.db" --remote=punix:"$d/db.sock" --unixctl="$d/s.ctl" \
    --pidfile="$d/s.pid" --detach --log-file="$d/s.log" --no-chdir
  vsctl=(ovs-vsctl --db=unix:"$d/db.sock" --timeout=60)
  "${vsctl[@]}" --no-wait init
  if [[ $which == sockswitch ]]; then
    printf 'control_socket = "%s/ctl.sock"\novsdb = "unix:%s/db.sock"\n' "$d" "$d" >"$d/sw.toml"
    ip netns exec "$ns" "$bin" run --config "$d/sw.toml" >"$d/sw.log" 2>&1 &
    "${vsctl[@]}" add-br br0
  else
    OVS_RUNDIR=$d ip netns exec "$ns" ovs-vswitchd unix:"$d/db.sock" --pidfile="$d/v.pid" \
      --unixctl="$d/v.ctl" --log-file="$d/v.log" --detach --no-chdir
    "${vsctl[@]}" add-br br0 -- set bridge br0 datapath_type=netdev
  fi
  for i in $(seq "$n"); do
    ip -n "$ns" link add "p$i" type veth peer name "q$i"
    ip -n "$ns" link set "p$i" up
    ip -n "$ns" link set "q$i" up
  done
  # The last two ports' peers move into a container namespace for the ping.
  ip netns add "$ns-c"
  ip -n "$ns" link set "q$n" netns "$ns-c"
  ip -n "$ns-c" addr add 10.77.0.2/24 dev "q$n"
  ip -n "$ns-c" link set "q$n" up
  ip -n "$ns" addr add 10.77.0.1/24 dev br0 2>/dev/null || true
  ip -n "$ns" link set br0 up
  start=$(date +%s%N)
  for i in $(seq "$n"); do "${vsctl[@]}" add-port br0 "p$i" >/dev/null; done
  end=$(date +%s%N)
  local first
  first=$(date +%s%N)
  until ip netns exec "$ns" ping -c1 -W0.1 10.77.0.2 >/dev/null 2>&1; do
    (( $(date +%s%N) - first > 10000000000 )) && { echo "$which: no ping in 10 s"; break; }
  done
  local ping_ns=$(( $(date +%s%N) - first ))
  printf '%-11s %d add-port: %.2f s, %.1f ms each; first ping through the last port %.0f ms after it returned\n' \
    "$which" "$n" "$(bc -l <<<"($end - $start) / 1000000000")" "$(bc -l <<<"($end - $start) / 1000000 / $n")" \
    "$(bc -l <<<"$ping_ns / 1000000")"
}

run_one sockswitch
run_one ovs-vswitchd
