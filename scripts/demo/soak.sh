# scripts/demo/soak.sh: the soak (issue 17), sourced by vps.sh when
# PATHS=soak, on its topology and configs/vps-socket-ct.flows. A benchmark,
# not a CI test: for SOAK_MINUTES (default 30) low-rate traffic runs on every
# documented path while, every SOAK_EVERY seconds (default 30), one change of
# a rotation happens:
#   replace-flows  `ctl replace-flows` to an equivalent table (the same
#                  flows with another cookie), so every flow is replaced;
#   veth           Xray's veth102 deleted and made again with the same names
#                  and addresses (a container restart; hotplug must notice);
#   reload         mac_aging toggled in the TOML and `ctl reload` (which also
#                  puts the file's table, cookie 0, back);
#   rekey          a new private key on one end of a wireguard-go tunnel and
#                  the other end's peer replaced (warp/nm, remote/local end in
#                  turn), until the new handshake is seen.
# Every 10 s the daemon's RSS, descriptors, threads, CPU, `ctl show` drop and
# conntrack counters, `ctl dump-ports` counters and a metrics scrape are
# sampled. At the end the traffic stops, paths-ct.sh's checks run again, and
# soak_report.py writes soak.json and soak.svg and judges (flat memory and
# descriptors, every drop and failed probe explained by a change, every
# change done, every path working). Output: $SOAK_OUT (default
# BUILD/soak-DATE), kept.

for tool in iperf3 gnuplot python3; do
  command -v "$tool" >/dev/null || die "missing $tool (scripts/install-deps.sh installs it)"
done
SOAK_MINUTES=${SOAK_MINUTES:-30}
[[ $SOAK_MINUTES =~ ^[0-9]+$ ]] && ((SOAK_MINUTES > 0)) || die "SOAK_MINUTES must be whole minutes"
DURATION=${SOAK_SECONDS:-$((SOAK_MINUTES * 60))}  # SOAK_SECONDS: shorter runs while developing
EVERY=${SOAK_EVERY:-30}
SAMPLE_EVERY=10
GRACE=${SOAK_GRACE:-10}  # seconds after a change in which its effects are expected
OUT=${SOAK_OUT:-$(cd "$ROOT" && realpath -m "$BUILD")/soak-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
# The daemon itself: `ip netns exec` execs it, so bg's pid is sockswitch's.
[[ $(readlink "/proc/$DAEMON_PID/exe") == "$SW" ]] ||
  die "pid $DAEMON_PID is not the daemon"

printf '== soak: the VPS deployment with connection tracking, %s s (SOAK_MINUTES=%s)\n' \
  "$DURATION" "$SOAK_MINUTES"
printf '   bridge socket = sockswitch (pid %s) in %s, flows: %s\n' "$DAEMON_PID" "$VPS" \
  "${FLOWS#"$ROOT"/}"
printf '   a change every %s s (replace-flows, veth, reload, rekey), a sample every %s s\n' \
  "$EVERY" "$SAMPLE_EVERY"
printf '   output: %s\n' "$OUT"

now() { printf '%s' "$EPOCHREALTIME"; }  # one clock for samples, events and probes

# --- background traffic ------------------------------------------------------
# probe_loop INTERVAL CMD...: CMD again and again until TERM, one line per
# try: "START END ok|fail"; CMD's output is appended to the loop's .out. It
# waits in the background so that TERM stops it at once, with its child.
probe_loop() {
  local every=$1; shift
  local child="" t0 r
  trap '[[ -z $child ]] || kill "$child" 2>/dev/null; exit 0' TERM
  while :; do
    t0=$(now)
    "$@" >>"$LOOP_OUT" 2>&1 &
    child=$!
    if wait "$child"; then r=ok; else r=fail; fi
    child=""
    printf '%s %s %s\n' "$t0" "$(now)" "$r"
    sleep "$every" &
    child=$!
    wait "$child" || true
    child=""
  done
}
LOOPS=()
start_loop() {  # start_loop NAME INTERVAL CMD...: its log is $TMPD/probe-NAME.log
  local name=$1; shift
  LOOP_OUT=$TMPD/probe-$name.out bg "$TMPD/probe-$name.log" probe_loop "$@"
  LOOPS+=("$BG_PID")
}
stop_loops() {
  local p
  for p in "${LOOPS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${LOOPS[@]}"; do wait_for 50 sh -c "! kill -0 $p" || kill -9 "$p" 2>/dev/null || true; done
  LOOPS=()
}

# Two iperf3 servers on the internet side: Xray's long-lived streams out
# through WARP (UDP and TCP, 1 Mbit/s each, 60 s per run).
bg "$TMPD/iperf-udp.log" ip netns exec "$WARP" iperf3 -s -p 5201
bg "$TMPD/iperf-tcp.log" ip netns exec "$WARP" iperf3 -s -p 5202
wait_for 50 sh -c "ip netns exec '$WARP' ss -Hltn 'sport = :5202' | grep -q ." ||
  die "iperf3 servers did not start"

T0=$SECONDS T0_EPOCH=$(now)  # t = 0: the traffic starts
# The probes: a TCP handshake (to the listeners vps.sh started) or a ping per
# try, on each documented path. `ip netns exec` execs the tool, so that the
# loop's TERM reaches it (not a function's subshell that would leave it).
start_loop user-xray-443 1 ip netns exec "$USER_NS" nc -z -w 3 10.2.0.102 443
start_loop user-xray-8443 1 ip netns exec "$USER_NS" nc -z -w 3 10.2.0.102 8443
start_loop xray-warp-80 1 ip netns exec "$XRAY" nc -z -w 3 198.51.100.1 80
start_loop xray-warp-443 1 ip netns exec "$XRAY" nc -z -w 3 198.51.100.1 443
start_loop nm-vps-8081 2 ip netns exec "$NM" nc -z -w 3 10.2.0.1 8081
start_loop nm-ping 1 ip netns exec "$NM" ping -n -c 1 -W 3 10.2.0.1
start_loop stream-udp 1 ip netns exec "$XRAY" iperf3 -c 198.51.100.1 -p 5201 -u -b 1M -t 60 \
  --connect-timeout 3000
start_loop stream-tcp 1 ip netns exec "$XRAY" iperf3 -c 198.51.100.1 -p 5202 -b 1M -t 60 \
  --connect-timeout 3000

# --- the changes ----------------------------------------------------------------
# The equivalent table: every flow of the file with cookie 0x50a4, so that a
# replace-flows changes every flow (an identical file would change nothing).
FLOWS_B=$TMPD/flows-cookie.flows
sed -E '/^table=/s/^/cookie=0x50a4,/' "$FLOWS" >"$FLOWS_B"
N_FLOWS=$(grep -c '^table=' "$FLOWS")
TABLE="file"  # which of the two is installed: "file" or "cookie"
# mac_aging is written out (the default, 300) so that reload can toggle it.
sed -i "s|^flows = .*|&\nmac_aging = 300|" "$TMPD/vps.toml"
AGING=300

cookie_flows() { ctl dump-flows socket | grep -c 'cookie=0x50a4' || true; }
all_flows() { ctl dump-flows socket | grep -c 'priority=' || true; }

ev_replace_flows() {
  local file=$FLOWS_B want=$N_FLOWS
  if [[ $TABLE == cookie ]]; then file=$FLOWS want=0; fi
  ctl replace-flows socket "$file" >/dev/null || { EV_DETAIL="replace-flows failed"; return 1; }
  if [[ $file == "$FLOWS" ]]; then TABLE="file"; else TABLE="cookie"; fi
  EV_DETAIL="to ${file##*/}: $(cookie_flows)/$(all_flows) flows with the cookie"
  [[ $(cookie_flows) == "$want" && $(all_flows) == "$N_FLOWS" ]]
}

ev_reload() {
  local next=$((AGING == 300 ? 299 : 300))
  sed -i "s/^mac_aging = $AGING\$/mac_aging = $next/" "$TMPD/vps.toml"
  ctl reload >/dev/null || { EV_DETAIL="reload failed"; return 1; }
  AGING=$next TABLE="file"
  EV_DETAIL="mac_aging $next; $(cookie_flows)/$(all_flows) flows with the cookie"
  ctl show | head -1 | grep -q "aging $next s" && [[ $(cookie_flows) == 0 ]]
}

ev_veth() {
  local t0 t1
  ip -n "$VPS" link del veth102
  t0=$(now)
  # The switch notices a device gone within its hotplug second.
  wait_for 50 sh -c "'$SW' ctl --socket '$CTL' show | grep -q 'veth102 down'" ||
    { EV_DETAIL="veth102 not seen down"; xray_veth; port_sysctls veth102; return 1; }
  t1=$(now)
  # A container restart leaves its veth gone for seconds, not microseconds:
  # long enough for traffic to meet the missing port.
  sleep 3
  xray_veth
  port_sysctls veth102
  wait_for 100 sh -c "'$SW' ctl --socket '$CTL' show | grep -q 'veth102 up'" ||
    { EV_DETAIL="veth102 not back up"; return 1; }
  EV_DETAIL=$(awk -v a="$t0" -v b="$t1" -v c="$(now)" \
    'BEGIN { printf "seen down after %.2f s, gone 3 s, up again %.2f s after it was made", b - a, c - b - 3 }')
}

# rekey_end PID DEV NS PEER_PID PEER_DEV ALLOWED ENDPOINT: a new private key
# for DEV (in NS, wireguard-go PID); its peer PEER_DEV drops the old public
# key and takes the new one. Done when PEER_DEV has a handshake with it.
rekey_end() {
  local pid=$1 dev=$2 ns=$3 ppid=$4 pdev=$5 allowed=$6 endpoint=$7
  local old new i hs=0 t0
  t0=$(now)
  old=$(wg_pub "$dev" "$ns")
  (umask 077 && wg genkey >"$TMPD/$dev.$ns.key")
  new=$(wg_pub "$dev" "$ns")
  nsenter -t "$pid" -m -n wg set "$dev" private-key "$TMPD/$dev.$ns.key"
  nsenter -t "$ppid" -m -n wg set "$pdev" peer "$old" remove
  wg_peer "$ppid" "$pdev" "$new" "$allowed" "$endpoint"
  # The background traffic (a ping or the streams every second) starts it.
  for ((i = 0; i < 150; i++)); do
    hs=$(nsenter -t "$ppid" -m -n wg show "$pdev" latest-handshakes |
      awk -v k="$new" '$1 == k { print $2 }')
    [[ ${hs:-0} != 0 ]] && break
    sleep 0.1
  done
  EV_DETAIL="$dev's new key ${new:0:8}..., handshake with $pdev $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }') s after"
  [[ ${hs:-0} != 0 ]] || { EV_DETAIL="$dev's new key: no handshake with $pdev in 15 s"; return 1; }
}
REKEYS=(warp-remote nm-remote warp-local nm-local)
N_REKEY=0
ev_rekey() {
  EV_TARGET=${REKEYS[N_REKEY++ % 4]}
  case $EV_TARGET in
    warp-remote) rekey_end "$WARP_PID" wg-warp "$WARP" "$VPS_WARP_PID" warp0 0.0.0.0/0 192.0.2.2:51820 ;;
    warp-local) rekey_end "$VPS_WARP_PID" warp0 "$VPS" "$WARP_PID" wg-warp 10.2.0.0/24 192.0.2.1:51820 ;;
    nm-remote) rekey_end "$NM_PID" wg-nm "$NM" "$VPS_NM_PID" nm-server 10.2.0.50/32 192.0.2.6:51821 ;;
    nm-local) rekey_end "$VPS_NM_PID" nm-server "$VPS" "$NM_PID" wg-nm 10.2.0.0/24 192.0.2.5:51821 ;;
  esac
}

EVENTS=(replace-flows veth reload rekey)
N_EVENTS=0
run_event() {  # the next change of the rotation, one line in events.jsonl
  local kind=${EVENTS[N_EVENTS++ % ${#EVENTS[@]}]} t0 ok=true
  EV_DETAIL="" EV_TARGET=""
  t0=$(now)
  "ev_${kind//-/_}" || ok=false
  printf '{"kind":"%s","target":"%s","start":%s,"end":%s,"ok":%s,"detail":"%s"}\n' \
    "$kind" "$EV_TARGET" "$t0" "$(now)" "$ok" "$EV_DETAIL" >>"$OUT/events.jsonl"
  printf '   %5ss  %-13s %s%s\n' "$((SECONDS - T0))" "$kind${EV_TARGET:+ $EV_TARGET}" \
    "$([[ $ok == true ]] || echo 'FAILED: ')" "$EV_DETAIL"
}

# --- sampling -------------------------------------------------------------------
CLK_TCK=$(getconf CLK_TCK)
metrics_scrape() {  # the endpoint in the daemon's namespace, by socat (no curl needed)
  printf 'GET /metrics HTTP/1.0\r\n\r\n' |
    in_ns "$VPS" timeout 5 socat -t 5 - TCP:127.0.0.1:9477 2>/dev/null
}
probe_counts() {  # "name":{"ok":N,"fail":N},... so far
  local f name sep=""
  for f in "$TMPD"/probe-*.log; do
    name=${f##*/probe-}
    printf '%s"%s":{"ok":%s,"fail":%s}' "$sep" "${name%.log}" \
      "$(grep -c ' ok$' "$f" || true)" "$(grep -c ' fail$' "$f" || true)"
    sep=,
  done
}
take_sample() {  # one line of samples.jsonl
  local t=$1 show ports metrics rss fds threads cpu
  show=$(ctl show) || show=""
  ports=$(ctl dump-ports socket) || ports=""
  metrics=$(metrics_scrape) || metrics=""
  rss=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$DAEMON_PID/status")
  threads=$(awk '$1 == "Threads:" { print $2 }' "/proc/$DAEMON_PID/status")
  fds=$(find "/proc/$DAEMON_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)
  # utime + stime (fields 14, 15; the name in field 2 has no spaces here)
  cpu=$(awk -v hz="$CLK_TCK" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$DAEMON_PID/stat")
  {
    printf '{"t":%s,"unix":%s,"rss_kb":%s,"fds":%s,"threads":%s,"cpu_s":%s' \
      "$t" "$(now)" "$rss" "$fds" "$threads" "$cpu"
    # every drop.* line of `ctl show` (it lists the reasons that counted)
    printf ',"drops":{%s}' "$(awk '$1 ~ /^drop\./ { sub(/:$/, "", $1); printf "%s\"%s\":%s", s, $1, $2; s = "," }' <<<"$show")"
    # "conntrack: N connections (ct_max M), C committed, R refused at ct_max, I invalid, E expired"
    printf ',"conntrack":%s' "$(awk '$1 == "conntrack:" { gsub(/[(),]/, ""); printf "{\"connections\":%s,\"committed\":%s,\"refused\":%s,\"invalid\":%s,\"expired\":%s}", $2, $6, $8, $12, $14; f = 1 } END { if (!f) printf "null" }' <<<"$show")"
    printf ',"ports_down":%s' "$(grep -cE '^    port .* down$' <<<"$show" || true)"
    printf ',"flows":%s' "$(awk '$1 == "bridge" && $2 == "socket:" { print $3; f = 1 } END { if (!f) print "null" }' <<<"$show")"
    # dump-ports: "port N: NAME (...)" then "rx pkts=, bytes=, drop=, errs=" and "tx ..."
    printf ',"ports":{%s}' "$(awk '
      $1 == "port" { name = $3; next }
      $1 == "rx" || $1 == "tx" {
        gsub(/[a-z]+=|,/, ""); d = $1
        if (d == "rx") { printf "%s\"%s\":{", s, name; s = "," } else printf ","
        printf "\"%s_packets\":%s,\"%s_dropped\":%s,\"%s_errors\":%s", d, $2, d, $4, d, $5
        if (d == "tx") printf "}"
      }' <<<"$ports")"
    printf ',"metrics":{"ok":%s,"rss_bytes":%s,"conntrack_connections":%s}' \
      "$(grep -q '^HTTP/1.1 200' <<<"$metrics" && echo true || echo false)" \
      "$(awk '$1 == "process_resident_memory_bytes" { print $2; f = 1 } END { if (!f) print "null" }' <<<"$metrics")" \
      "$(awk '$1 == "sockswitch_conntrack_connections" { print $2; f = 1 } END { if (!f) print "null" }' <<<"$metrics")"
    # The large anonymous mappings' resident part, by size in kB: conntrack
    # reserves its table for ct_max at start and pages it in as touched.
    printf ',"big_maps":{%s}' "$(awk '
      /^[0-9a-f]+-[0-9a-f]+ / { anon = (NF == 5) }
      $1 == "Size:" { size = $2 }
      $1 == "Rss:" && anon && size >= 16384 { rss[size] += $2 }
      END { for (k in rss) { printf "%s\"%s\":%s", s, k, rss[k]; s = "," } }' \
      "/proc/$DAEMON_PID/smaps")"
    printf ',"probes":{%s}}\n' "$(probe_counts)"
  } >>"$OUT/samples.jsonl"
}

# --- the report (also on Ctrl-C: vps.sh's cleanup calls on_cleanup) --------------
REPORTED=""
PATHS_END=not-run
report() {  # report INTERRUPTED: soak.json, soak.svg, the summary; its status
  REPORTED=1
  local f
  for f in "$TMPD"/probe-*.log "$TMPD"/probe-*.out "$TMPD/daemon.log" "$TMPD"/iperf-*.log; do
    if [[ -f $f ]]; then cp "$f" "$OUT/"; fi
  done
  python3 "$HERE/soak_report.py" --dir "$OUT" --duration "$DURATION" --every "$EVERY" \
    --sample-every "$SAMPLE_EVERY" --grace "$GRACE" --minutes "$SOAK_MINUTES" \
    --flows "${FLOWS#"$ROOT"/}" --daemon "$SW" --t0 "$T0_EPOCH" --ct-max "${SOAK_CT_MAX:-3000000}" --paths-end "$PATHS_END" --interrupted "$1"
}
on_cleanup() {
  [[ -z $REPORTED && -d ${OUT:-} ]] || return 0
  stop_loops
  log "soak: interrupted after $((SECONDS - ${T0:-$SECONDS})) s; partial results in $OUT"
  report true >&2 || true
}

# --- the run ---------------------------------------------------------------------
sleep 3  # the loops' first handshakes, the tunnels' first packets
take_sample "$((SECONDS - T0))"
next_sample=$SAMPLE_EVERY next_event=$((EVERY / 2))
while ((SECONDS - T0 < DURATION)); do
  t=$((SECONDS - T0))
  if ((t >= next_event)); then
    run_event
    next_event=$((next_event + EVERY))
  fi
  if ((SECONDS - T0 >= next_sample)); then
    take_sample "$((SECONDS - T0))"
    next_sample=$((next_sample + SAMPLE_EVERY))
  fi
  sleep 0.5
done

# The end: traffic stops, the last sample is taken with the switch quiet, then
# every path is checked again as `make run` checks it (in a subshell: its own
# verdicts and exit status, and its probes counted against quiet listeners).
stop_loops
sleep 2
take_sample "$((SECONDS - T0))"
printf '\n== the paths after the soak (scripts/demo/paths-ct.sh)\n'
set +e
(source "$HERE/paths-ct.sh") 2>&1 | tee "$OUT/paths-end.txt" | sed 's/^/   /'
paths_status=${PIPESTATUS[0]}
set -e
if ((paths_status == 0)); then PATHS_END=ok; else PATHS_END=fail; fi
printf '\n'
report false
