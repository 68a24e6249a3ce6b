# scripts/demo/paths-ct.sh: the probes and the report for
# configs/vps-socket-ct.flows, the seed table said with connection tracking
# (sourced by vps.sh when PATHS=ct; report.sh has the helpers). Every path
# here should work as the table means it, with no fix applied.

printf '== make run: the same VPS deployment with connection tracking\n'
printf '   bridge socket = sockswitch in %s, flows: %s verbatim\n' "$VPS" "${FLOWS#"$ROOT"/}"
printf '   topology up in %ss; %s probes per path\n' "$SETUP_SECONDS" "$N"

XRAY_MAC=$(ip -n "$XRAY" -br link show eth0 | awk '{print $3}')
SOCKET_MAC=$(ip -n "$VPS" -br link show socket | awk '{print $3}')

# --- 1. connections Xray opens leave through WARP, its HTTPS included ---------
begin
tcp_probes "$XRAY" 198.51.100.1 80 2
ok80=$OK
tcp_probes "$XRAY" 198.51.100.1 443 2
ok443=$OK
end
acc80=$(count lis-warp-80.log 'accepting connection from')
acc443=$(count lis-warp-443.log 'accepting connection from')
GW_MAC=$(neigh "$XRAY" 10.2.0.1)
if ((ok80 == N && ok443 == N && acc80 == N && acc443 == N)) && [[ $GW_MAC == "$SOCKET_MAC" ]]; then
  verdict ok "1. Xray -> warp0 -> internet 198.51.100.1:80 and :443 (TCP)"
else
  verdict fail "1. Xray -> warp0 -> internet 198.51.100.1:80 and :443 (TCP)"
fi
flows
saw warp "accepted $acc80/$N on :80 and $acc443/$N on :443 from 10.2.0.102"
saw xray "gateway 10.2.0.1 is at ${GW_MAC:-none} (socket: $SOCKET_MAC; warp0 answers only for what lies behind it)"

# --- 2. the internet reaches Xray only with answers ---------------------------
begin
for ((i = 1; i <= N; i++)); do
  echo "warp->xray $i" | in_ns "$WARP" timeout 2 socat -u - UDP-SENDTO:10.2.0.102:9000 || true
done
end
got=$(count lis-xray-udp.log 'warp->xray')
if ((got == 0)); then
  verdict ok "2. internet 198.51.100.1 -> Xray 10.2.0.102:9000 unasked (UDP) is dropped"
else
  verdict fail "2. internet 198.51.100.1 -> Xray 10.2.0.102:9000 unasked (UDP) is dropped"
fi
flows
saw xray "UDP listener got $got/$N datagrams"

# --- 3, 4. users reach Xray on 443 and 8443, and its answers come back --------
for port in 443 8443; do
  n=$((port == 443 ? 3 : 4))
  begin
  tcp_probes "$USER_NS" 10.2.0.102 "$port" 2
  end
  acc=$(count "lis-xray-$port.log" 'accepting connection from')
  if ((OK == N && acc == N)); then
    verdict ok "$n. user 203.0.113.2 <-> Xray 10.2.0.102:$port (TCP handshakes)"
  else
    verdict fail "$n. user 203.0.113.2 <-> Xray 10.2.0.102:$port (TCP handshakes)"
  fi
  flows
  saw user "$OK/$N handshakes completed; Xray accepted $acc"
done

# --- 5. Netmaker: switched normally ------------------------------------------
netmaker_path "5. Netmaker peer 10.2.0.50 (behind nm-server) <-> VPS host 10.2.0.1"

# --- the connection table ------------------------------------------------------
CONNS=$(ctl dump-conntrack socket || true)
printf '\n== ctl dump-conntrack socket: %s connections tracked, e.g.\n' "$(grep -c . <<<"$CONNS")"
grep -m3 . <<<"$CONNS" | cut -c1-150 | sed 's/^/   /' || true

if ((${#FAILED[@]} == 0)); then
  printf '\n== every path did what the table means; %ss in all\n' "$((SECONDS - START))"
else
  printf '\n== FAILED: %s; %ss in all\n' "${FAILED[*]}" "$((SECONDS - START))"
  exit 1
fi
