#!/usr/bin/env bash
# tests/deploy/unit_capabilities_test.sh: the systemd unit's privileges are
# both small and enough.
#
#   tests/deploy/unit_capabilities_test.sh SOCKSWITCH [UNIT]
#
# UNIT defaults to configs/sockswitch.service beside this script. Checks:
#
#  1. `systemd-analyze security --offline=true UNIT` rates the unit MEDIUM or
#     better (systemd's scale: 9.0 UNSAFE, 7.5 EXPOSED, 5.0 MEDIUM, 1.0 OK),
#     and every exposure it still counts has an "exposure: ITEM (" comment
#     in the unit saying why.
#  2. The real daemon, run the way the unit runs it -- uid 0 with exactly
#     the unit's CapabilityBoundingSet= and AmbientCapabilities= (and its
#     SecureBits=), NoNewPrivileges, its LimitMEMLOCK= when this machine lets
#     us set it (else the current limit, which is stricter), NOTIFY_SOCKET --
#     in a fresh network namespace, on a bridge with two veth ports to two
#     more namespaces (driver af_xdp and auto, default offloads) and an
#     internal port: it sends READY=1, holds only those capabilities,
#     `ctl show` answers, the af_xdp port runs on AF_XDP (the offloads line,
#     `dump-ports`, no AF_PACKET fallback, a prog/xdp on its device) and the
#     auto one on AF_PACKET (what `auto` takes for a veth), ping
#     crosses the switch and reaches the internal port's tap device, a 4 MiB
#     TCP transfer arrives intact, and SIGTERM ends it with status 0 leaving
#     no XDP program and no tap device.
#  3. Without CAP_NET_ADMIN, CAP_NET_RAW or CAP_BPF (each in turn) the same
#     check fails with "Operation not permitted": the pass in 2 is not an
#     accident of a check that cannot fail.
#  4. Under strace (a start, ctl, ping, reload, SIGHUP and stop): every
#     system call the daemon makes is in the unit's SystemCallFilter= allow
#     list, every socket family in RestrictAddressFamilies=, and no mapping
#     is writable and executable (MemoryDenyWriteExecute=). What the test
#     cannot do without systemd as PID 1 is apply the mount namespace
#     (ProtectSystem=, ReadWritePaths=) and the device cgroup itself.
#
# Needs root, ip, setpriv (util-linux), systemd-analyze (systemd), strace,
# socat and ping. When something is missing it exits 77 (skip), unless the
# CI environment variable is set: then it fails. Names carry the script's
# pid (namespaces sswcap-PID-*, links scPID*), everything it makes is
# removed on exit, and leftovers of earlier runs that died are swept.
set -uo pipefail

# The whole test is bounded: at 240 s timeout sends SIGTERM, and the trap
# below cleans up as on any other exit.
if [[ -z ${SSWCAP_WATCHDOG:-} ]]; then
  SSWCAP_WATCHDOG=1 exec timeout 240 bash "$0" "$@"
fi

SW=${1:?usage: $0 SOCKSWITCH [UNIT]}
UNIT=${2:-$(cd "$(dirname "$0")/../.." && pwd)/configs/sockswitch.service}

NS=sswcap-$$            # namespaces $NS-sw (the switch), $NS-a, $NS-b
PFX=sc$$                # links: ${PFX}a, ${PFX}b (switch side), ${PFX}i (internal)
TMPD=""
DPID=""                 # the daemon now running, if any
BG=()                   # other processes we started
FAILED=0

log() { printf '%s\n' "$*" >&2; }
fail() { log "FAIL: $*"; FAILED=1; }
ok() { log "ok: $*"; }

missing() {  # missing WHAT: skip the test, or fail it in CI
  if [[ -n ${CI:-} ]]; then
    log "FAIL: $* (CI is set, so this is an error, not a skip)"
    exit 1
  fi
  log "SKIP: $*"
  exit 77
}

[[ -x $SW ]] || { log "FAIL: $SW is not an executable"; exit 1; }
[[ -r $UNIT ]] || { log "FAIL: cannot read $UNIT"; exit 1; }
for tool in systemd-analyze setpriv ip ping socat strace timeout ss; do
  command -v "$tool" >/dev/null 2>&1 || missing "$tool is not installed (scripts/install-deps.sh)"
done
[[ $(id -u) -eq 0 ]] || missing "needs root (network namespaces, XDP)"

# --- cleanup ---------------------------------------------------------------

# the process that is the daemon: DPID, or (under strace) its traced child
daemon_pid() {
  local p=$DPID
  if ((${#WRAP[@]})); then p=$(pgrep -P "$DPID" | head -1); fi
  printf '%s\n' "${p:-$DPID}"
}

stop_daemon() {  # SIGTERM, then SIGKILL after 5 s
  [[ -n $DPID ]] || return 0
  local pid i
  pid=$(daemon_pid)
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < 50; i++)); do
    kill -0 "$DPID" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" "$DPID" 2>/dev/null
  wait "$DPID" 2>/dev/null
  DPID=""
}

cleanup() {
  stop_daemon
  exec 2>/dev/null  # bash's "Killed" notices for the helpers below
  local p
  for p in "${BG[@]}"; do  # socat, or timeout (which passes SIGTERM on and reaps)
    kill -TERM "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  for p in sw a b; do ip netns del "$NS-$p" 2>/dev/null; done
  [[ -n $TMPD ]] && rm -rf "$TMPD"
}
trap cleanup EXIT
trap 'log "FAIL: interrupted"; exit 1' INT TERM

# Namespaces and scratch directories of earlier runs whose script is gone
# (killed before its trap ran; their daemons died with them, --pdeathsig).
for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^sswcap-[0-9]+-/ {print $1}'); do
  pid=${ns#sswcap-}; pid=${pid%%-*}
  kill -0 "$pid" 2>/dev/null || ip netns del "$ns" 2>/dev/null
done
for dir in /tmp/sswcap-[0-9]*.*; do
  [[ -d $dir ]] || continue
  pid=${dir#/tmp/sswcap-}; pid=${pid%%.*}
  kill -0 "$pid" 2>/dev/null || rm -rf "$dir"
done

TMPD=$(mktemp -d "/tmp/sswcap-$$.XXXXXX")

# --- 1. systemd-analyze ------------------------------------------------------

# LC_ALL=C: plain "-" for an exposure (not a glyph) whatever the locale.
analysis=$(cd "$TMPD" && LC_ALL=C timeout 60 systemd-analyze security --offline=true --no-pager \
  "$UNIT" 2>&1)
overall=$(grep -E 'Overall exposure level' <<<"$analysis" | sed 's/\x1b\[[0-9;]*m//g' | tail -1)
if [[ $overall =~ :\ ([0-9]+\.[0-9])\ ([A-Z]+) ]]; then
  score=${BASH_REMATCH[1]}
  level=${BASH_REMATCH[2]}
  # systemd's own thresholds (analyze-security.c): from 7.5 on it is EXPOSED.
  if [[ $level =~ ^(MEDIUM|OK|SAFE|PERFECT)$ ]] && ((10#${score/./} < 75)); then
    ok "systemd-analyze security: $score $level"
  else
    fail "systemd-analyze security rates the unit $score $level (MEDIUM or better wanted):"
    log "$analysis"
  fi
else
  fail "no overall exposure level in systemd-analyze's output:"
  log "$analysis"
fi
# Every exposure still counted is justified in the unit, on a comment line
# with "exposure: ITEM (WEIGHT)" ("~..." for systemd's "~…").
unjustified=""
while read -r item; do
  item=${item//…/...}
  grep -F "exposure: $item (" "$UNIT" | grep -q '^#' || unjustified+=" $item"
done < <(sed -nE 's/^(-|✗) ([^ ]+) .*[0-9]\.[0-9]$/\2/p' <<<"$analysis")
if [[ -n $unjustified ]]; then
  fail "exposures with no 'exposure: ITEM (' comment in the unit:$unjustified"
else
  ok "every remaining exposure has its 'exposure:' comment in the unit"
fi

# --- the unit's settings ---------------------------------------------------

# unit_values KEY: the words of every KEY= line of [Service], in order; an
# empty assignment resets the list, as systemd reads it.
unit_values() {
  awk -v key="$1" '
    /^\[/ { service = ($0 == "[Service]"); next }
    !service || /^[ \t]*[#;]/ { next }
    {
      eq = index($0, "="); if (!eq) next
      k = substr($0, 1, eq - 1); gsub(/[ \t]/, "", k)
      if (k != key) next
      v = substr($0, eq + 1)
      if (v ~ /^[ \t]*$/) { out = ""; next }
      out = out " " v
    }
    END { sub(/^ +/, "", out); print out }' "$UNIT"
}

read -r -a BOUNDING <<<"$(unit_values CapabilityBoundingSet)"
read -r -a AMBIENT <<<"$(unit_values AmbientCapabilities)"
NNP=$(unit_values NoNewPrivileges)
MEMLOCK=$(unit_values LimitMEMLOCK)
SECUREBITS=$(unit_values SecureBits)
FILTER=$(unit_values SystemCallFilter)

((${#BOUNDING[@]} > 0)) || { fail "the unit has no CapabilityBoundingSet="; exit 1; }
[[ ${BOUNDING[*]} == "${AMBIENT[*]}" ]] ||
  fail "AmbientCapabilities= (${AMBIENT[*]}) differs from CapabilityBoundingSet= (${BOUNDING[*]})"
[[ $NNP =~ ^(yes|true|on|1)$ ]] || fail "the unit does not set NoNewPrivileges=yes"
[[ ${BOUNDING[*]} != *"~"* ]] || { fail "a negated CapabilityBoundingSet= is not understood here"; exit 1; }

CAP_NAMES=(chown dac_override dac_read_search fowner fsetid kill setgid setuid setpcap
  linux_immutable net_bind_service net_broadcast net_admin net_raw ipc_lock ipc_owner
  sys_module sys_rawio sys_chroot sys_ptrace sys_pacct sys_admin sys_boot sys_nice
  sys_resource sys_time sys_tty_config mknod lease audit_write audit_control setfcap
  mac_override mac_admin syslog wake_alarm block_suspend audit_read perfmon bpf
  checkpoint_restore)

cap_mask() {  # cap_mask CAP_X...: the capability set as /proc/PID/status prints it
  local mask=0 c n i found
  for c in "$@"; do
    n=${c,,}; n=${n#cap_}; found=""
    for i in "${!CAP_NAMES[@]}"; do
      [[ ${CAP_NAMES[$i]} == "$n" ]] && { mask=$((mask | (1 << i))); found=1; }
    done
    [[ -n $found ]] || { log "FAIL: unknown capability $c"; exit 1; }
  done
  printf '%016x\n' "$mask"
}

setpriv_caps() {  # setpriv_caps CAP_X...: "-all,+x,+y" for setpriv
  local out=-all c
  for c in "$@"; do c=${c,,}; out+=",+${c#cap_}"; done
  printf '%s\n' "$out"
}

# SecureBits= words as setpriv spells them (noroot-locked -> noroot_locked).
SETPRIV_SECUREBITS=()
if [[ -n $SECUREBITS ]]; then
  bits=""
  for b in $SECUREBITS; do bits+="${bits:+,}+${b//-/_}"; done
  SETPRIV_SECUREBITS=(--securebits "$bits")
fi

# LimitMEMLOCK=: systemd sets it from PID 1, which may raise it; we can only
# if we hold CAP_SYS_RESOURCE. A lower limit is only stricter.
MEMLOCK_PREFIX=()
if [[ -n $MEMLOCK ]]; then
  want=$MEMLOCK
  [[ $want == infinity ]] && want=unlimited
  if prlimit --memlock="$want:$want" true 2>/dev/null; then
    MEMLOCK_PREFIX=(prlimit --memlock="$want:$want")
  else
    log "note: cannot set LimitMEMLOCK=$MEMLOCK here (no CAP_SYS_RESOURCE); the daemon runs" \
      "with RLIMIT_MEMLOCK $(ulimit -l) KiB, a stricter limit than the unit's"
  fi
fi

# --- the network -------------------------------------------------------------

for p in sw a b; do
  ip netns add "$NS-$p" || { fail "ip netns add $NS-$p"; exit 1; }
  ip -n "$NS-$p" link set lo up
done
i=1
for p in a b; do
  ip link add "${PFX}$p" netns "$NS-sw" type veth peer name eth0 netns "$NS-$p" ||
    { fail "veth ${PFX}$p"; exit 1; }
  ip -n "$NS-$p" addr add "10.213.0.$i/24" dev eth0
  ip -n "$NS-$p" link set eth0 up
  ip -n "$NS-sw" link set "${PFX}$p" up
  i=$((i + 1))
done
# The switch-side ends must have carrier before the daemon looks at them.
for ((i = 0; i < 50; i++)); do
  [[ $(ip -n "$NS-sw" -br link show up | grep -c "^${PFX}[ab]@.* UP ") -eq 2 ]] && break
  sleep 0.1
done

mkdir -p "$TMPD/run"
cat >"$TMPD/switch.toml" <<EOF
control_socket = "$TMPD/run/sockswitch.sock"
ovs_rundir = "$TMPD/run/openvswitch"
metrics_address = "127.0.0.1:9477"   # inside the switch's own namespace

[[bridge]]
name = "br"
flow = ["priority=0,actions=normal"]

[[bridge.port]]
name = "${PFX}a"
driver = "af_xdp"
ofport = 1

[[bridge.port]]
name = "${PFX}b"
driver = "auto"
ofport = 2

[[bridge.port]]
name = "${PFX}i"
driver = "internal"
EOF

ctl() { timeout 5 ip netns exec "$NS-sw" "$SW" ctl --socket "$TMPD/run/sockswitch.sock" "$@"; }

# start_daemon CAPS... : the daemon in $NS-sw with exactly CAPS, as the unit
# starts it (sets DPID; the log is $TMPD/daemon.log). WRAP (an array) goes
# in front of it (strace).
WRAP=()
NOTIFY_PID=""
start_daemon() {
  local caps
  caps=$(setpriv_caps "$@")
  rm -f "$TMPD/daemon.log" "$TMPD/notify.log" "$TMPD/notify"
  # A new internal port has a new MAC: forget the last run's.
  ip -n "$NS-a" neigh flush all
  ip -n "$NS-b" neigh flush all
  # Type=notify: what systemd would read from NOTIFY_SOCKET.
  if [[ -n $NOTIFY_PID ]]; then kill -TERM "$NOTIFY_PID" 2>/dev/null; wait "$NOTIFY_PID"; fi
  socat -u UNIX-RECV:"$TMPD/notify" OPEN:"$TMPD/notify.log",creat,append 2>/dev/null &
  NOTIFY_PID=$!
  BG+=("$NOTIFY_PID")
  local i
  for ((i = 0; i < 50; i++)); do [[ -S $TMPD/notify ]] && break; sleep 0.1; done
  # --pdeathsig: should this script be killed outright (no trap), the daemon
  # (or strace, whose exit then ends it) goes too.
  NOTIFY_SOCKET=$TMPD/notify ip netns exec "$NS-sw" "${WRAP[@]}" "${MEMLOCK_PREFIX[@]}" \
    setpriv --pdeathsig TERM \
    --reuid=0 --regid=0 --clear-groups --no-new-privs "${SETPRIV_SECUREBITS[@]}" \
    --bounding-set="$caps" --inh-caps="$caps" --ambient-caps="$caps" \
    "$SW" run --config "$TMPD/switch.toml" >"$TMPD/daemon.log" 2>&1 &
  DPID=$!
  for ((i = 0; i < 150; i++)); do
    grep -q 'ready;' "$TMPD/daemon.log" 2>/dev/null && return 0
    kill -0 "$DPID" 2>/dev/null || break
    sleep 0.1
  done
  return 1
}

# check_switch CAPS...: start the daemon with CAPS and check everything
# (stops at the first failure; the reason is in CHECK_FAILURE).
CHECK_FAILURE=""
nope() { CHECK_FAILURE=$*; return 1; }
check_switch() {
  CHECK_FAILURE=""
  start_daemon "$@" || nope "the daemon did not get ready: $(tail -5 "$TMPD/daemon.log")" || return 1
  local show ports pid status want
  show=$(ctl show) || nope "ctl show did not answer" || return 1
  # Both veth ports up, or one given up on ("cannot open"), within 5 s.
  local i
  for ((i = 0; i < 50; i++)); do
    [[ $(grep -cE "^ +port [12] \([a-z_]+(, [a-z_ ]+)?\): ${PFX}[ab] up$" <<<"$show") -eq 2 ]] && break
    grep -q 'cannot open' <<<"$show" && break
    sleep 0.1
    show=$(ctl show) || nope "ctl show did not answer" || return 1
  done
  # AF_XDP first: it is what the missing capabilities break.
  for p in a; do
    # show names the engine: "port 1 (af_xdp, af_xdp native): NAME up".
    grep -A1 -E "port [12] \([a-z_]+, af_xdp native\): ${PFX}$p up" <<<"$show" |
      grep -q 'XDP program is attached' ||
      nope "port ${PFX}$p is not up on AF_XDP: $(grep -A1 "${PFX}$p" <<<"$show" | tr -s ' \n' ' ')" ||
      return 1
    ip -n "$NS-sw" -d link show dev "${PFX}$p" | grep -q 'prog/xdp' ||
      nope "no XDP program on ${PFX}$p" || return 1
  done
  grep -qE "port 2 \(auto, af_packet\): ${PFX}b up" <<<"$show" ||
    nope "port ${PFX}b is not up on AF_PACKET (auto on a veth): $(grep "${PFX}b" <<<"$show")" ||
    return 1
  ports=$(ctl dump-ports br) || nope "ctl dump-ports did not answer" || return 1
  grep -q "${PFX}a (af_xdp, link up)" <<<"$ports" || nope "dump-ports: ${PFX}a: $ports" || return 1
  if grep -q 'using AF_PACKET' "$TMPD/daemon.log"; then
    nope "a port fell back to AF_PACKET: $(grep 'using AF_PACKET' "$TMPD/daemon.log")"
    return 1
  fi
  grep -qE "port 65534 \(internal\): ${PFX}i " <<<"$show" && ! grep -q "${PFX}i.*cannot open" <<<"$show" ||
    nope "the internal port did not open: $(grep "${PFX}i" <<<"$show")" || return 1
  # The internal port is the host's own interface on the bridge: give it
  # an address, as an administrator would, and reach it from $NS-a.
  ip -n "$NS-sw" addr add 10.213.0.3/24 dev "${PFX}i" 2>/dev/null &&
    ip -n "$NS-sw" link set "${PFX}i" up ||
    nope "no tap device ${PFX}i to configure" || return 1
  grep -q 'READY=1' "$TMPD/notify.log" 2>/dev/null || nope "no READY=1 on NOTIFY_SOCKET" || return 1

  pid=$(daemon_pid)
  status=$(cat "/proc/$pid/status" 2>/dev/null) || nope "no /proc/$pid/status" || return 1
  want=$(cap_mask "${BOUNDING[@]}")
  local field
  for field in CapEff CapPrm CapBnd CapAmb; do
    [[ $(awk -v f="$field:" '$1 == f {print $2}' <<<"$status") == "$want" ]] ||
      nope "$field is $(awk -v f="$field:" '$1 == f {print $2}' <<<"$status"), want $want" ||
      return 1
  done
  [[ $(awk '$1 == "NoNewPrivs:" {print $2}' <<<"$status") == 1 ]] ||
    nope "NoNewPrivs is not set" || return 1
  [[ $(awk '$1 == "Uid:" {print $2}' <<<"$status") == 0 ]] || nope "not uid 0" || return 1

  timeout 10 ip netns exec "$NS-a" ping -c 3 -i 0.2 -W 2 10.213.0.2 >/dev/null ||
    nope "no ping from $NS-a to $NS-b through the switch" || return 1
  for ((i = 0; i < 5; i++)); do  # the port sees the link come up within a second
    timeout 5 ip netns exec "$NS-a" ping -c 1 -W 1 10.213.0.3 >/dev/null && return 0
  done
  nope "no ping from $NS-a to the internal port ${PFX}i: $(ctl show | grep -A1 "${PFX}i" | tr -s " \n" " ") $(ip -n "$NS-sw" -br link show dev "${PFX}i")"
}

# tcp_transfer: 4 MiB from $NS-a to $NS-b through the switch, byte for byte.
tcp_transfer() {
  head -c 4194304 /dev/urandom >"$TMPD/tx"
  rm -f "$TMPD/rx"
  timeout 30 ip netns exec "$NS-b" socat -u TCP-LISTEN:5201,reuseaddr \
    OPEN:"$TMPD/rx",creat,trunc 2>"$TMPD/socat-rx.log" &
  local rx=$! i
  BG+=("$rx")
  for ((i = 0; i < 50; i++)); do
    ip netns exec "$NS-b" ss -Hltn 'sport = :5201' | grep -q . && break
    sleep 0.1
  done
  timeout 30 ip netns exec "$NS-a" socat -u OPEN:"$TMPD/tx" TCP:10.213.0.2:5201 \
    2>"$TMPD/socat-tx.log" || { log "$(cat "$TMPD/socat-tx.log")"; return 1; }
  wait "$rx" || return 1
  cmp -s "$TMPD/tx" "$TMPD/rx"
}

# stop_checked: SIGTERM ends the daemon cleanly and takes its XDP programs
# and its tap device with it.
stop_checked() {
  local pid=$DPID i status
  kill -TERM "$(daemon_pid)"
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    stop_daemon
    fail "SIGTERM did not stop the daemon within 10 s"
    return
  fi
  wait "$pid"
  status=$?
  DPID=""
  if ((status == 0)); then ok "SIGTERM: exit status 0"; else fail "SIGTERM: exit status $status"; fi
  if ip -n "$NS-sw" -d link show | grep -qE 'prog/xdp|xdpgeneric|xdpdrv| xdp '; then
    fail "an XDP program is left after SIGTERM: $(ip -n "$NS-sw" link show | grep xdp)"
  else
    ok "no XDP program left after SIGTERM"
  fi
  if ip -n "$NS-sw" link show dev "${PFX}i" >/dev/null 2>&1; then
    fail "the internal port's tap device ${PFX}i is left after SIGTERM"
  else
    ok "the tap device went with the daemon"
  fi
}

# --- 2. the unit's capabilities are enough --------------------------------

log "capabilities: ${BOUNDING[*]}"
if check_switch "${BOUNDING[@]}"; then
  ok "with ${BOUNDING[*]}: READY=1, only these capabilities, ctl answers, both veth ports on AF_XDP, ping across the switch and to the internal port"
  if tcp_transfer; then
    ok "4 MiB over TCP through the switch, byte for byte"
  else
    fail "the TCP transfer through the switch failed"
  fi
  stop_checked
else
  fail "with the unit's capabilities: $CHECK_FAILURE"
  log "--- daemon log"; log "$(cat "$TMPD/daemon.log")"
  stop_daemon
fi

# --- 3. ... and each of these is needed --------------------------------------

for drop in CAP_NET_ADMIN CAP_NET_RAW CAP_BPF; do
  [[ " ${BOUNDING[*]} " == *" $drop "* ]] || continue
  fewer=()
  for c in "${BOUNDING[@]}"; do [[ $c == "$drop" ]] || fewer+=("$c"); done
  if check_switch "${fewer[@]}"; then
    fail "without $drop the switch still passes every check: the check proves nothing"
  elif grep -q 'Operation not permitted' "$TMPD/daemon.log"; then
    ok "without $drop: fails ($CHECK_FAILURE)"
  else
    fail "without $drop the check fails, but not for want of a permission: $CHECK_FAILURE"
  fi
  stop_daemon
done

# --- 4. SystemCallFilter= covers what the daemon calls ----------------------

# expand_filter WORD...: the system calls of an allow list (groups expanded).
expand_filter() {
  local w
  for w in "$@"; do
    if [[ $w == @* ]]; then
      # shellcheck disable=SC2046
      expand_filter $(systemd-analyze syscall-filter --no-pager "$w" 2>/dev/null |
        sed -e '1d' -e 's/#.*//' | tr -d ' \t' | grep -v '^$')
    else
      printf '%s\n' "$w"
    fi
  done
}

if [[ -z $FILTER ]]; then
  fail "the unit has no SystemCallFilter="
elif [[ $FILTER == "~"* ]]; then
  fail "a deny-list SystemCallFilter= is not understood here"
else
  # shellcheck disable=SC2086
  expand_filter $FILTER | sort -u >"$TMPD/allowed"
  WRAP=(setpriv --pdeathsig TERM strace -f -qq -o "$TMPD/strace")
  if check_switch "${BOUNDING[@]}"; then
    ctl dump-flows br >/dev/null
    ctl reload >/dev/null
    kill -HUP "$(daemon_pid)"
    sleep 0.5
    ctl show >/dev/null || fail "ctl show after a reload (traced run)"
    stop_checked
  else
    fail "the traced run: $CHECK_FAILURE"
    stop_daemon
  fi
  WRAP=()
  # The calls made after the daemon's own execve (setpriv's are not the unit's).
  awk -v exe="\"$SW\"" 'started { print } /execve\(/ && index($0, exe) && / = 0$/ { started = 1 }' \
    "$TMPD/strace" >"$TMPD/daemon.strace"
  sed -nE 's/^[0-9]+ +([a-z0-9_]+)\(.*/\1/p' "$TMPD/daemon.strace" | sort -u >"$TMPD/called"
  if [[ ! -s $TMPD/called ]]; then
    fail "strace recorded no system calls of the daemon"
  else
    outside=$(comm -23 "$TMPD/called" "$TMPD/allowed" | tr '\n' ' ')
    if [[ -n $outside ]]; then
      fail "system calls outside SystemCallFilter=$FILTER: $outside"
    else
      ok "all $(wc -l <"$TMPD/called") system calls the daemon made are in SystemCallFilter=$FILTER"
    fi
  fi
fi

# RestrictAddressFamilies= and MemoryDenyWriteExecute= against the same trace.
if [[ -s $TMPD/daemon.strace ]]; then
  families=$(unit_values RestrictAddressFamilies)
  used=$(grep -oE ' socket(pair)?\(AF_[A-Z0-9]+' "$TMPD/daemon.strace" | sed 's/.*(//' | sort -u)
  outside=""
  for f in $used; do [[ " $families " == *" $f "* ]] || outside+=" $f"; done
  if [[ -z $families ]]; then
    fail "the unit has no RestrictAddressFamilies="
  elif [[ -n $outside ]]; then
    fail "socket families outside RestrictAddressFamilies=$families:$outside"
  else
    ok "socket families used ($(tr '\n' ' ' <<<"$used")) are all in RestrictAddressFamilies="
  fi
  if [[ $(unit_values MemoryDenyWriteExecute) =~ ^(yes|true|on|1)$ ]]; then
    # What systemd's filter refuses: W+X mappings, and making memory executable.
    wx=$(grep -E ' (mmap|mmap2)\(.*PROT_WRITE\|PROT_EXEC| (mprotect|pkey_mprotect)\(.*PROT_EXEC| shmat\(.*SHM_EXEC' \
      "$TMPD/daemon.strace" | head -3)
    if [[ -n $wx ]]; then
      fail "MemoryDenyWriteExecute=yes would refuse: $wx"
    else
      ok "no writable-and-executable memory (MemoryDenyWriteExecute=yes holds)"
    fi
  fi
fi

if ((FAILED)); then
  log "unit_capabilities_test: FAILED"
  exit 1
fi
log "unit_capabilities_test: passed"
