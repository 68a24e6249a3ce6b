# scripts/demo/report.sh: what every path's report is made of (sourced by
# vps.sh before its paths file). Each path: snapshot the counters, send N
# probes, snapshot again, print the verdict with the flows whose n_packets
# moved and what the receiving namespace saw.

N=3              # probes per path
FAILED=()        # paths that should work and did not
declare -A MARK

begin() {  # begin: remember every counter and log position
  flows_snapshot >"$TMPD/flows.before"
  REFLECT_BEFORE=$(drop_count drop.reflect)
  local f
  for f in "$TMPD"/cap-* "$TMPD"/lis-*.log; do
    [[ $f == *.err ]] || MARK[$f]=$(lines "$f")
  done
}
end() {  # end: let the poll thread and the captures catch up, then snapshot
  sleep 0.3
  flows_snapshot >"$TMPD/flows.after"
  REFLECT_AFTER=$(drop_count drop.reflect)
}
new() { since "$TMPD/$1" "${MARK[$TMPD/$1]:-0}"; }           # new FILE: its lines since begin
count() { new "$1" | grep -cE -- "$2" || true; }              # count FILE REGEX
sample() { new "$1" | grep -m1 -E -- "$2" | cut -c1-90 || true; }
delta() { flow_delta "$TMPD/flows.before" "$TMPD/flows.after" "$1"; }

# verdict MARK TITLE: MARK is ok, fail (should work, counts as a failure) or
# expected (a documented-table problem shown as found, not a failure).
verdict() {
  local sym
  case $1 in
    ok) sym="✔" ;;
    fail) sym="✘"; FAILED+=("$2") ;;
    expected) sym="✘" ;;
  esac
  printf '\n%s %s\n' "$sym" "$2"
}
neigh() { ip -n "$1" neigh show "$2" | sed -nE 's/.*lladdr ([0-9a-f:]+).*/\1/p'; }  # neigh NS IP
flows() { flow_deltas "$TMPD/flows.before" "$TMPD/flows.after"; }
saw() { printf '      %-5s %s\n' "$1" "$2"; }

# netmaker_path TITLE: pings and TCP handshakes from the Netmaker peer to the
# VPS host's API (:8081), with the verdict and what each side saw.
netmaker_path() {
  begin
  local pings acc
  pings=$( (in_ns "$NM" timeout 5 ping -c "$N" -i 0.2 -W 1 10.2.0.1 2>/dev/null || true) |
    sed -nE 's/.* ([0-9]+) received.*/\1/p')
  tcp_probes "$NM" 10.2.0.1 8081 2
  end
  acc=$(count lis-vps-8081.log 'accepting connection from')
  if ((${pings:-0} == N && acc == N)); then verdict ok "$1"; else verdict fail "$1"; fi
  flows
  saw nm "ping: ${pings:-0}/$N replies; TCP to the Netmaker API :8081: $OK/$N handshakes"
  saw host "listener :8081 accepted $acc connections from 10.2.0.50"
}
