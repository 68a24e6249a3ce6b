#!/usr/bin/env bash
# bench/harness/openflow_add_flows.sh [N]: FLOW_MOD throughput over the
# OpenFlow channel, sockswitch against ovs-vswitchd (userspace datapath) in
# the same run, both driven by the same `ovs-ofctl` commands through their
# unix management sockets:
#   add-flows of N distinct flows (ovs-ofctl sends each FLOW_MOD with its own
#     BARRIER and waits for the reply: a round trip and a publish per flow),
#   a raw burst: the same N flows as OpenFlow 1.3 FLOW_MODs written back to
#     back with one BARRIER at the end (what a controller pushing a table
#     does), timed to the barrier's reply,
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

# burst TARGET_PATH N: N OpenFlow 1.3 FLOW_MODs (table 1, the same matches)
# then one BARRIER; prints the milliseconds to the barrier's reply.
burst() {
  python3 - "$1" "$2" <<'EOF2'
import socket, struct, sys, time
path, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
def msg(t, xid, body=b""):
    return struct.pack(">BBHI", 4, t, 8 + len(body), xid) + body
def read_until(pred):
    buf = b""
    while True:
        while len(buf) >= 8:
            ln = struct.unpack(">H", buf[2:4])[0]
            if len(buf) < ln: break
            m, buf = buf[:ln], buf[ln:]
            if pred(m): return m
        chunk = s.recv(65536)
        if not chunk: raise SystemExit("connection closed")
        buf += chunk
s.sendall(struct.pack(">BBHIHHI", 4, 0, 16, 1, 1, 8, 0x12))  # HELLO, bitmap 1.0 + 1.3
read_until(lambda m: m[1] == 0)
out = bytearray()
for i in range(n):
    oxm = (struct.pack(">IH", 0x80000A02, 0x0800) + struct.pack(">IB", 0x80001401, 6) +
           struct.pack(">II", 0x80001804, 0x0A000000 | i) + struct.pack(">IH", 0x80001C02, 1 + i % 1000))
    match = struct.pack(">HH", 1, 4 + len(oxm)) + oxm
    match += b"\0" * ((8 - len(match) % 8) % 8)
    inst = struct.pack(">HH4x", 4, 24) + struct.pack(">HHIH6x", 0, 16, 1, 0)
    body = struct.pack(">QQBBHHHIIIH2x", 0, 0, 1, 0, 0, 0, 100 + i % 7, 0xFFFFFFFF,
                       0xFFFFFFFF, 0xFFFFFFFF, 0) + match + inst
    out += msg(14, 10 + i, body)
t0 = time.monotonic()
s.sendall(out + msg(20, 7))
read_until(lambda m: m[1] in (1, 21) and (m[1] == 1 or struct.unpack(">I", m[4:8])[0] == 7))
print(round((time.monotonic() - t0) * 1000))
EOF2
}

run_one() {
  local which=$1 d ns target t0 t1 t2 t3 t4 count
  d=$(mktemp -d)
  ns=ssw-ofadd-$$-$which
  ip netns add "$ns"
  cleanup() {
    ip netns pids "$ns" 2>/dev/null | xargs -r kill
    kill $(cat "$d"/s.pid 2>/dev/null) 2>/dev/null || true
    sleep 0.2
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$d"
  }
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
  local burst_ms burst_count
  burst_ms=$(burst "$d/br0.mgmt" "$n")
  burst_count=$(ovs-ofctl -O OpenFlow13 dump-flows "$target" table=1 | grep -c actions=)
  printf '%-12s add-flows %d: %8.0f ms (%.1f us/flow)  replace-flows (half changed): %8.0f ms  dump-flows (%d): %6.0f ms  del-flows: %5.0f ms  raw burst: %6.0f ms (%.1f us/flow, %d installed)\n' \
    "$which" "$n" "$(ms "$t0" "$t1")" "$(bc -l <<<"($t1 - $t0) / 1000 / $n")" "$(ms "$t1" "$t2")" \
    "$count" "$(ms "$t2" "$t3")" "$(ms "$t3" "$t4")" "$burst_ms" "$(bc -l <<<"$burst_ms * 1000 / $n")" \
    "$burst_count"
  cleanup
}

[[ ${ONLY:-} == ovs ]] || run_one sockswitch
run_one ovs-vswitchd
