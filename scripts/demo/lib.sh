# scripts/demo/lib.sh: helpers for the namespace demo (sourced, not run).
#
# Everything the demo creates lives in network namespaces named
# "$DEMO-<role>" (DEMO=sswdemo-<pid>), in processes whose pids are recorded
# in PIDS, and in the scratch directory $TMPD. cleanup() removes all three;
# it is idempotent and runs from the EXIT trap.

PIDS=()          # processes we started (daemon, wireguard-go, listeners, captures)
NAMESPACES=()    # namespaces we created

log() { printf '%s\n' "$*" >&2; }
die() { log "demo: $*"; exit 1; }

# wait_for TRIES CMD...: run CMD every 0.1 s until it succeeds, at most TRIES times.
wait_for() {
  local tries=$1; shift
  local i
  for ((i = 0; i < tries; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

ns_add() {  # ns_add NAME: a namespace with lo up and IPv6 off (keeps ND noise out of counters)
  ip netns add "$1"
  NAMESPACES+=("$1")
  ip -n "$1" link set lo up
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
    net.ipv6.conf.default.disable_ipv6=1
}

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# bg LOGFILE CMD...: start CMD in the background, remember its pid in BG_PID.
bg() {
  local out=$1; shift
  "$@" >"$out" 2>&1 &
  BG_PID=$!
  PIDS+=("$BG_PID")
}

# wg_up NS DEV ADDR|- LISTEN_PORT: a wireguard-go interface in NS. wireguard-go
# and `wg` talk over /var/run/wireguard/DEV.sock, a path shared by every
# namespace, so each instance gets a private mount namespace with its own
# /run (nothing is written to the host's /run, and two demos cannot collide).
# Sets WG_PID; configure with wg_set.
wg_up() {
  local ns=$1 dev=$2 addr=$3 port=$4
  (umask 077 && wg genkey >"$TMPD/$dev.$ns.key")
  bg "$TMPD/wg-$dev-${ns##*-}.log" ip netns exec "$ns" unshare -m --propagation private \
    sh -c 'mount -t tmpfs sswdemo-wg /run && exec env WG_PROCESS_FOREGROUND=1 wireguard-go "$1"' \
    sh "$dev"
  WG_PID=$BG_PID
  wait_for 50 nsenter -t "$WG_PID" -m -n test -S "/run/wireguard/$dev.sock" ||
    die "wireguard-go $dev in $ns did not start ($(cat "$TMPD/wg-$dev-${ns##*-}.log"))"
  nsenter -t "$WG_PID" -m -n wg set "$dev" private-key "$TMPD/$dev.$ns.key" listen-port "$port"
  [[ $addr == - ]] || ip -n "$ns" addr add "$addr" dev "$dev"
  ip -n "$ns" link set "$dev" up
}
wg_pub() { wg pubkey <"$TMPD/$1.$2.key"; }  # wg_pub DEV NS

# wg_peer PID DEV PEER_PUB ALLOWED ENDPOINT
wg_peer() {
  nsenter -t "$1" -m -n wg set "$2" peer "$3" allowed-ips "$4" endpoint "$5"
}

# --- the switch's counters ------------------------------------------------

ctl() { timeout 5 "$SW" ctl --socket "$CTL" "$@"; }

# flows_snapshot: "n_packets<TAB>flow" for every flow of bridge socket (without
# idle_age, which moves between two snapshots of the same flow).
flows_snapshot() {
  ctl dump-flows socket |
    sed -nE 's/.*n_packets=([0-9]+), n_bytes=[0-9]+, (idle_age=[0-9]+, )?(.*)$/\1\t\3/p'
}

# flow_deltas BEFORE AFTER: "  +N  flow" for every flow whose count moved.
flow_deltas() {
  awk -F'\t' 'NR == FNR { before[$2] = $1; next }
              $1 != before[$2] { printf "      flow  n_packets %+d  %s\n", $1 - before[$2], $2 }' \
    "$1" "$2"
}
# flow_delta BEFORE AFTER PATTERN: the delta of the one flow whose text contains PATTERN.
flow_delta() {
  awk -F'\t' -v pat="$3" 'NR == FNR { before[$2] = $1; next }
              index($2, pat) { print $1 - before[$2]; found = 1; exit }
              END { if (!found) print 0 }' "$1" "$2"
}

drop_count() {  # drop_count NAME: a poll-thread drop counter from `ctl show`
  ctl show | awk -v n="$1:" '$1 == n { print $2; found = 1 } END { if (!found) print 0 }'
}

# --- receiver-side evidence ---------------------------------------------

# capture NS DEV NAME: tcpdump in NS on DEV, one line per packet into $TMPD/cap-NAME.
capture() {
  bg "$TMPD/cap-$3.err" ip netns exec "$1" sh -c \
    'exec tcpdump -n -l -t -i "$1" "ip or arp" >"$2"' sh "$2" "$TMPD/cap-$3"
  wait_for 50 grep -q 'listening on' "$TMPD/cap-$3.err" ||
    die "tcpdump on $2 in $1 did not start ($(cat "$TMPD/cap-$3.err"))"
}

lines() { [[ -f $1 ]] && wc -l <"$1" || echo 0; }
# since FILE MARK: the lines of FILE after line MARK
since() { tail -n +"$(($2 + 1))" "$1" 2>/dev/null; }

# tcp_listener NS PORT NAME: accepts and closes; one log line per connection.
tcp_listener() {
  bg "$TMPD/lis-$3.log" ip netns exec "$1" socat -d -d TCP-LISTEN:"$2",fork,reuseaddr \
    SYSTEM:'echo hello'
  wait_for 50 sh -c "ip netns exec '$1' ss -Hltn 'sport = :$2' | grep -q ." ||
    die "listener $3 did not start"
}
accepted() { grep -c 'accepting connection from' "$TMPD/lis-$1.log" || true; }

# udp_listener NS PORT NAME: every datagram's payload is a line of the log.
udp_listener() {
  bg "$TMPD/lis-$3.err" ip netns exec "$1" socat -u UDP-RECV:"$2" \
    OPEN:"$TMPD/lis-$3.log",creat,append
  wait_for 50 sh -c "ip netns exec '$1' ss -Hlun 'sport = :$2' | grep -q ." ||
    die "listener $3 did not start"
}

# tcp_probes NS HOST PORT SECONDS: N connection attempts in parallel; sets OK
# to how many were accepted.
tcp_probes() {
  local i pids=() ok=0
  for ((i = 0; i < N; i++)); do
    in_ns "$1" timeout $(($4 + 1)) nc -z -w "$4" "$2" "$3" >/dev/null 2>&1 &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" && ok=$((ok + 1)); done
  OK=$ok
}
