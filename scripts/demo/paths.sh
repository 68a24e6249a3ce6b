# scripts/demo/paths.sh: the probes and the report for the seed table
# (sourced by vps.sh once the topology is up; report.sh has the helpers).

printf '== make run: the VPS deployment (seed 000) in network namespaces\n'
printf '   bridge socket = sockswitch in %s, flows: %s verbatim\n' "$VPS" "${FLOWS#"$ROOT"/}"
printf '   ports: nm-server, warp0 (WireGuard, %s), veth102 (Xray), socket (internal, 10.2.0.1/24)\n' \
  "$([[ ${WG:-go} == native ]] && echo "sockswitch's native port" || echo wireguard-go)"
printf '   topology up in %ss; %s probes per path\n' "$SETUP_SECONDS" "$N"

XRAY_MAC=$(ip -n "$XRAY" -br link show eth0 | awk '{print $3}')
SOCKET_MAC=$(ip -n "$VPS" -br link show socket | awk '{print $3}')

# --- 0. the seed table as written: Xray's gateway -----------------------------
# in_port=veth102 sends everything Xray says to warp0, its ARP included, and an
# L3 port answers only for what lies behind its device: the gateway 10.2.0.1
# is on the bridge's own subnet, so nobody answers (OVS would drop that ARP on
# an L3 port too).
begin
tcp_probes "$XRAY" 198.51.100.1 80 1
end
if [[ -z $(neigh "$XRAY" 10.2.0.1) ]] && ((OK == 0)); then
  verdict expected "0. with the seed table as written, Xray cannot resolve its gateway 10.2.0.1 (finding)"
else
  verdict fail "0. with the seed table as written, Xray was expected not to resolve its gateway"
fi
flows
saw xray "$(count cap-xray 'who-has 10\.2\.0\.1 tell') ARP requests for 10.2.0.1, $(count cap-xray 'Reply 10\.2\.0\.1 is-at') answered; $OK/$N connections"
saw note "warp0 answers ARP/ND for: $(ctl show | grep -A3 ': warp0 ' | sed -n 's/.*answers ARP\/ND for: //p')"
ARP_FIX='priority=110,arp,actions=normal'
timeout 10 ovs-ofctl add-flow socket "$ARP_FIX" || die "ovs-ofctl add-flow socket failed"
saw note "fix 0, by the host's own ovs-ofctl: add-flow socket '$ARP_FIX'"

# --- 1. Xray -> WARP exit (TCP 80 to an internet host) ------------------------
begin
tcp_probes "$XRAY" 198.51.100.1 80 2
end
acc=$(count lis-warp-80.log 'accepting connection from')
if ((acc == N && OK == N)); then
  verdict ok "1. Xray -> warp0 -> internet 198.51.100.1:80 (TCP)"
else
  verdict fail "1. Xray -> warp0 -> internet 198.51.100.1:80 (TCP)"
fi
flows
saw warp "listener accepted $acc/$N connections from 10.2.0.102; Xray completed $OK/$N handshakes"
GW_MAC=$(neigh "$XRAY" 10.2.0.1)
saw xray "gateway 10.2.0.1 is at $GW_MAC ($([[ $GW_MAC == "$SOCKET_MAC" ]] && echo "the bridge's own port socket" || echo "NOT socket, $SOCKET_MAC"))"

# --- 2. WARP return -> Xray --------------------------------------------------
begin
for ((i = 1; i <= N; i++)); do
  echo "warp->xray $i" | in_ns "$WARP" timeout 2 socat -u - UDP-SENDTO:10.2.0.102:9000 || true
done
end
got=$(count lis-xray-udp.log 'warp->xray')
if ((got == N)); then verdict ok "2. internet 198.51.100.1 -> warp0 -> Xray 10.2.0.102:9000 (UDP)"
else verdict fail "2. internet 198.51.100.1 -> warp0 -> Xray 10.2.0.102:9000 (UDP)"; fi
flows
saw xray "UDP listener got $got/$N datagrams: $(new lis-xray-udp.log | tr '\n' ' ')"

# --- 3. the VPS host resolves the Xray container -----------------------------
# (The host learned Xray's address from Xray's ARP for its gateway in 1:
# forget it, so that the host asks and every answer shows.)
ip -n "$VPS" neigh del 10.2.0.102 dev socket 2>/dev/null || true
begin
in_ns "$VPS" timeout 3 ping -c 1 -W 1 10.2.0.102 >/dev/null 2>&1 || true
end
HOST_SAYS=$(neigh "$VPS" 10.2.0.102)
if [[ $HOST_SAYS == "$XRAY_MAC" ]] && (($(count cap-host 'is-at') == 1)); then
  verdict ok "3. VPS host ARP for 10.2.0.102 resolves to Xray's eth0, and only Xray answers"
else
  verdict fail "3. VPS host ARP for 10.2.0.102 resolves to Xray's eth0, and only Xray answers"
fi
flows
saw host "neighbour 10.2.0.102 = ${HOST_SAYS:-none}; Xray's eth0 is $XRAY_MAC"
saw host "$(count cap-host 'is-at') answer(s): $(sample cap-host 'is-at')"
saw note "nm-server answers ARP/ND for: $(ctl show | grep -A3 ': nm-server ' | sed -n 's/.*answers ARP\/ND for: //p')"

# --- 4, 5. the user reaches Xray on 443 and 8443 -----------------------------
for port in 443 8443; do
  begin
  tcp_probes "$USER_NS" 10.2.0.102 "$port" 1
  end
  syn=$(count cap-xray "203\.0\.113\.2\.[0-9]+ > 10\.2\.0\.102\.$port: Flags \[S\]")
  synack_warp=$(count cap-warp "10\.2\.0\.102\.$port > 203\.0\.113\.2\.[0-9]+: Flags \[S\.\]")
  n=$((port == 443 ? 4 : 5))
  if ((syn >= N)); then
    verdict ok "$n. user 203.0.113.2 -> Xray 10.2.0.102:$port arrives at Xray"
  else
    verdict fail "$n. user 203.0.113.2 -> Xray 10.2.0.102:$port arrives at Xray"
  fi
  flows
  saw xray "eth0 got $syn SYN for :$port, e.g. $(sample cap-xray "> 10\.2\.0\.102\.$port: Flags \[S\]")"
  if ((OK == N)); then
    saw user "$OK/$N handshakes completed"
  else
    saw user "$OK/$N handshakes completed; Xray's SYN-ACKs left by in_port=veth102 -> warp0:"
    saw warp "$synack_warp SYN-ACK for the user arrived on the WARP side (finding: replies exit via WARP)"
  fi
done

# --- 6. Netmaker: switched normally ------------------------------------------
netmaker_path "6. Netmaker peer 10.2.0.50 (behind nm-server) <-> VPS host 10.2.0.1 (NORMAL)"

# --- 7. Xray's gateway, resolved again after the host has ARPed ---------------
# Xray's neighbour entry for 10.2.0.1 expires within a minute; flushing it
# is what time would do. Only the gateway itself may answer, whatever the
# L3 ports have seen meanwhile.
ip -n "$XRAY" neigh flush dev eth0
begin
tcp_probes "$XRAY" 198.51.100.1 80 1
end
acc=$(count lis-warp-80.log 'accepting connection from')
GW_MAC=$(neigh "$XRAY" 10.2.0.1)
if ((acc == N)) && [[ $GW_MAC == "$SOCKET_MAC" ]]; then
  verdict ok "7. ...and once its ARP entry expires, Xray resolves its gateway again"
else
  verdict fail "7. ...and once its ARP entry expires, Xray resolves its gateway again"
fi
flows
saw xray "$(count cap-xray 'who-has 10\.2\.0\.1 tell') ARP requests for 10.2.0.1, $(count cap-xray 'Reply 10\.2\.0\.1 is-at') answered (by ${GW_MAC:-nobody}); $acc/$N connections"

# --- 8. the latent bug: Xray's own HTTPS out ---------------------------------
egress_443() {
  begin
  tcp_probes "$XRAY" 198.51.100.1 443 1
  end
  ACC443=$(count lis-warp-443.log 'accepting connection from')
  SEEN443=$(count cap-warp '> 198\.51\.100\.1\.443: Flags \[S\]')
  R443=$(delta 'priority=100,tcp,tp_dst=443 ')
  REFLECTED=$((REFLECT_AFTER - REFLECT_BEFORE))
}
egress_443
if ((SEEN443 == 0 && R443 > 0 && REFLECTED > 0)); then
  verdict expected "8. Xray -> 198.51.100.1:443 is NOT delivered (the latent bug, as predicted)"
else
  verdict fail "8. Xray -> 198.51.100.1:443 was expected to be dropped by the seed table"
fi
flows
saw show "drop.reflect +$REFLECTED (output to the ingress port veth102)"
saw warp "listener :443 accepted $ACC443, WARP side saw $SEEN443 SYN for :443 (port 80 above: delivered)"

# --- 9. the README's fix, applied live by the host's own ovs-ofctl ----------
# (over OpenFlow: the daemon's management socket is where ovs-vswitchd's was,
# /var/run/openvswitch/socket.mgmt)
FIX='priority=110,in_port=veth102,actions=output:warp0'
timeout 10 ovs-ofctl add-flow socket "$FIX" || die "ovs-ofctl add-flow socket failed"
egress_443
if ((ACC443 == N && OK == N)); then
  verdict ok "9. with the first fix line (ovs-ofctl add-flow socket '$FIX'): Xray -> 198.51.100.1:443 delivered"
else
  verdict fail "9. with the first fix line (ovs-ofctl add-flow socket '$FIX'): Xray -> 198.51.100.1:443 delivered"
fi
flows
saw warp "listener :443 accepted $ACC443/$N; drop.reflect +$REFLECTED"

# --- 10. what the users' traffic also needs: Xray's replies back to the host --
REPLY_FIX=(
  'priority=120,tcp,in_port=veth102,tp_src=443,actions=LOCAL'
  'priority=120,tcp,in_port=veth102,tp_src=8443,actions=LOCAL'
)
for f in "${REPLY_FIX[@]}"; do ctl add-flow socket "$f" >/dev/null; done
# (Xray's gateway is `socket`'s MAC: the host takes only frames addressed to it.)
begin
tcp_probes "$USER_NS" 10.2.0.102 443 2
ok443=$OK
tcp_probes "$USER_NS" 10.2.0.102 8443 2
ok8443=$OK
tcp_probes "$XRAY" 198.51.100.1 443 2
okout=$OK
end
if ((ok443 == N && ok8443 == N && okout == N)); then
  verdict ok "10. plus Xray's replies to LOCAL (tp_src=443/8443): the users' handshakes complete"
else
  verdict fail "10. plus Xray's replies to LOCAL (tp_src=443/8443): the users' handshakes complete"
fi
flows
saw user "handshakes to :443 $ok443/$N, to :8443 $ok8443/$N; Xray -> 198.51.100.1:443 still $okout/$N"
saw xray "listeners accepted $(count lis-xray-443.log accepting) on :443, $(count lis-xray-8443.log accepting) on :8443"

# --- summary -----------------------------------------------------------------
printf '\n== sockswitch flows check configs/vps-socket.flows (offline) predicted 8:\n'
(cd "$ROOT" && "$SW" flows check --port nm-server=1 --port warp0=2 --port veth102=3 \
  configs/vps-socket.flows 2>/dev/null) |
  grep -A2 'vps-socket.flows:9:1: warning: overlaps line 5' | sed 's/^/   /' || true
if [[ ${WG:-go} == native ]]; then WARP_BEHIND="its peer's AllowedIPs"; else WARP_BEHIND="its default route"; fi
cat <<EOF

== Fix (README "Checking flow files"), four lines added to the seed table:
     $ARP_FIX
   lets Xray reach its gateway at all (0 -> 1), and the host reach Xray (3, 7);
     $FIX
   makes Xray's own HTTPS exit via WARP (8 -> 9); and Xray's replies to users,
   which also match in_port=veth102 and would leave through WARP (4, 5), need (10):
     ${REPLY_FIX[0]}
     ${REPLY_FIX[1]}
   No neighbour is pinned: warp0 and nm-server answer ARP only for what lies
   behind them (warp0: $WARP_BEHIND; nm-server: its peer, by 'proxy').
EOF
if ((${#FAILED[@]} == 0)); then
  printf '\n== every path that should work did; %ss in all\n' "$((SECONDS - START))"
else
  printf '\n== FAILED: %s; %ss in all\n' "${FAILED[*]}" "$((SECONDS - START))"
  exit 1
fi
