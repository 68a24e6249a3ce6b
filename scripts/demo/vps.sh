#!/usr/bin/env bash
# scripts/demo/vps.sh BUILD_DIR: the VPS privacy router of seed 000, for real,
# in network namespaces, with configs/vps-socket.flows installed verbatim
# (PATHS=ct: configs/vps-socket-ct.flows and its verdicts; PATHS=soak: the
# same table under traffic and changes for SOAK_MINUTES, scripts/demo/soak.sh;
# FLOWS=FILE: another table on the same topology, judged by the seed table's
# verdicts; WG=native: warp0 is sockswitch's own WireGuard port, from a
# wg-quick file, instead of a wireguard-go device the switch attaches to).
#
#   user ──veth 203.0.113.0/24──┐
#                               vps (sockswitch, bridge `socket`)
#       internal port `socket` 10.2.0.1/24 = LOCAL, the containers' gateway
#       veth102  ── eth0 10.2.0.102/24 ─────────── xray  (listens 443, 8443)
#       warp0    ══ WireGuard (wireguard-go) ═════ warp  ("internet" 198.51.100.1)
#       nm-server══ WireGuard (wireguard-go) ═════ nm    (Netmaker peer 10.2.0.50)
#   The WireGuard underlays are veths vps↔warp 192.0.2.0/30, vps↔nm 192.0.2.4/30.
#
# Sends a few probes along every documented path, then prints for each one the
# flows whose counters moved and what the receiving namespace saw. Exit status
# is 1 when a path that should work did not. Nothing outlives the script.
set -euo pipefail
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SW=$(cd "$ROOT" && realpath "$BUILD/sockswitch")
# PATHS=ct: configs/vps-socket-ct.flows with its own verdicts (paths-ct.sh);
# PATHS=soak: the same table soaked, then those verdicts (soak.sh).
if [[ ${PATHS:-} == ct ]]; then
  FLOWS=${FLOWS:-$ROOT/configs/vps-socket-ct.flows} PATHS_FILE=paths-ct.sh
elif [[ ${PATHS:-} == soak ]]; then
  FLOWS=${FLOWS:-$ROOT/configs/vps-socket-ct.flows} PATHS_FILE=soak.sh
else
  FLOWS=${FLOWS:-$ROOT/configs/vps-socket.flows} PATHS_FILE=paths.sh
fi
HERE=$ROOT/scripts/demo
source "$HERE/lib.sh"

[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces)"
for tool in wireguard-go wg socat nc tcpdump ethtool nsenter; do
  command -v "$tool" >/dev/null || die "missing $tool (scripts/install-deps.sh installs it)"
done
[[ -x $SW ]] || die "no $SW: build first"
WG=${WG:-go}
[[ $WG == go || $WG == native ]] || die "WG=$WG: go (wireguard-go's warp0) or native"
# The soak rekeys warp0 through wireguard-go's UAPI socket.
[[ $WG == go || ${PATHS:-} != soak ]] || die "PATHS=soak drives wireguard-go's warp0: not with WG=native"

DEMO=sswdemo-$$
TMPD=$(mktemp -d "/tmp/$DEMO.XXXXXX")
CTL=$TMPD/ctl.sock
VPS=$DEMO-vps XRAY=$DEMO-xray WARP=$DEMO-warp NM=$DEMO-nm USER_NS=$DEMO-user
START=$SECONDS
# A soak lasts long enough to meet another demo or test on this host: its
# OpenFlow management socket goes to the scratch directory, not to the
# shared /var/run/openvswitch/socket.mgmt. SOAK_CT_MAX: the conntrack bound
# (the daemon's default otherwise), which sizes what the table reserves.
SOAK_LINES=""
if [[ ${PATHS:-} == soak ]]; then
  SOAK_LINES="ovs_rundir = \"$TMPD\""
  [[ -z ${SOAK_CT_MAX:-} ]] || SOAK_LINES+=$'\n'"ct_max = $SOAK_CT_MAX"
fi

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  # A paths file may keep what it made before everything goes (soak.sh: its
  # results, even when interrupted); it must not stop the cleanup.
  if declare -F on_cleanup >/dev/null; then on_cleanup "$status" || true; fi
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do  # bounded: at most 2 s in all, then SIGKILL
    wait_for 20 sh -c "! kill -0 $p" || kill -9 "$p" 2>/dev/null || true
  done
  for p in "${NAMESPACES[@]}"; do ip netns del "$p" 2>/dev/null || true; done
  if [[ ${KEEP_LOGS:-} ]]; then log "demo: logs kept in $TMPD"; else rm -rf "$TMPD"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'log "demo: interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------- topology
for ns in "$VPS" "$XRAY" "$WARP" "$NM" "$USER_NS"; do ns_add "$ns"; done

# Xray container: veth102 (bridge port) <-> eth0. A function: the soak
# deletes and makes it again, as a container restart does.
xray_veth() {
  ip -n "$VPS" link add veth102 type veth peer name eth0 netns "$XRAY"
  ip -n "$XRAY" addr add 10.2.0.102/24 dev eth0
  ip -n "$XRAY" link set eth0 up
  ip -n "$XRAY" route add default via 10.2.0.1
  ip -n "$VPS" link set veth102 up
}
xray_veth

# the internet user, routed by the VPS host
ip -n "$VPS" link add to-user type veth peer name eth0 netns "$USER_NS"
ip -n "$VPS" addr add 203.0.113.1/24 dev to-user
ip -n "$USER_NS" addr add 203.0.113.2/24 dev eth0
ip -n "$VPS" link set to-user up
ip -n "$USER_NS" link set eth0 up
ip -n "$USER_NS" route add default via 203.0.113.1

# WireGuard underlays
ip -n "$VPS" link add ul-warp type veth peer name ul-vps netns "$WARP"
ip -n "$VPS" addr add 192.0.2.1/30 dev ul-warp
ip -n "$WARP" addr add 192.0.2.2/30 dev ul-vps
ip -n "$VPS" link add ul-nm type veth peer name ul-vps netns "$NM"
ip -n "$VPS" addr add 192.0.2.5/30 dev ul-nm
ip -n "$NM" addr add 192.0.2.6/30 dev ul-vps
for d in ul-warp ul-nm; do ip -n "$VPS" link set "$d" up; done
ip -n "$WARP" link set ul-vps up
ip -n "$NM" link set ul-vps up
# Every veth keeps the kernel's default offloads, as containers have them:
# the switch finishes the checksums and cuts the GSO frames they leave.

# warp0: no address in the vps namespace (it is a bridge port); the WARP
# side is "the internet", 198.51.100.1, reaching the containers' subnet.
wg_up "$WARP" wg-warp 198.51.100.1/32 51820; WARP_PID=$WG_PID
if [[ $WG == native ]]; then
  # The switch is warp0 itself: a wg-quick file as the seed's WARP config
  # is one, the peer's AllowedIPs (0.0.0.0/0) saying what lies behind it.
  (umask 077 && wg genkey >"$TMPD/warp0.$VPS.key")
  (umask 077 && printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\n\n[Peer]\nPublicKey = %s\nAllowedIPs = 0.0.0.0/0\nEndpoint = 192.0.2.2:51820\n' \
    "$(cat "$TMPD/warp0.$VPS.key")" "$(wg_pub wg-warp "$WARP")" >"$TMPD/warp0.conf")
  WARP0_LINES="driver = \"wireguard\""$'\n'"wg_config = \"$TMPD/warp0.conf\""
  WG_RUN_LINE="wireguard_run_dir = \"$TMPD/wg\""
else
  wg_up "$VPS" warp0 - 51820; VPS_WARP_PID=$WG_PID
  wg_peer "$VPS_WARP_PID" warp0 "$(wg_pub wg-warp "$WARP")" 0.0.0.0/0 192.0.2.2:51820
  # wg-quick with AllowedIPs = 0.0.0.0/0 puts the default route through
  # warp0 in a table of its own (51820); its policy rule is left out here so
  # that the demo host's own traffic stays put. That route is what tells the
  # switch that the internet lies behind warp0 (it answers ARP for it,
  # nothing else).
  ip -n "$VPS" route add default dev warp0 table 51820
  WARP0_LINES="" WG_RUN_LINE=""
fi
wg_peer "$WARP_PID" wg-warp "$(wg_pub warp0 "$VPS")" 10.2.0.0/24 192.0.2.1:51820
ip -n "$WARP" route add 10.2.0.0/24 dev wg-warp

# nm-server: the Netmaker peer sits on the bridge's own subnet (10.2.0.50),
# so the bridge switches its traffic at L2 like any host's.
wg_up "$VPS" nm-server - 51821;        VPS_NM_PID=$WG_PID
wg_up "$NM" wg-nm 10.2.0.50/24 51821;  NM_PID=$WG_PID
wg_peer "$VPS_NM_PID" nm-server "$(wg_pub wg-nm "$NM")" 10.2.0.50/32 192.0.2.6:51821
wg_peer "$NM_PID" wg-nm "$(wg_pub nm-server "$VPS")" 10.2.0.0/24 192.0.2.5:51821

# The VPS host routes public traffic into the bridge through `socket`. Its
# own IP stack must stay out of the bridge ports' traffic (AF_PACKET sees
# every packet anyway): no forwarding from them, no ARP answers on them, and
# strict reverse-path filtering so nothing arriving on them is taken as local.
in_ns "$VPS" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=1
port_sysctls() {  # port_sysctls DEV: per device, so a new veth102 needs them again
  in_ns "$VPS" sysctl -qw "net.ipv4.conf.$1.forwarding=0" "net.ipv4.conf.$1.arp_ignore=8" \
    "net.ipv4.conf.$1.rp_filter=1"
}
for d in veth102 nm-server; do port_sysctls "$d"; done
[[ $WG == native ]] || port_sysctls warp0

# ---------------------------------------------------------------- the switch
cat >"$TMPD/vps.toml" <<EOF
# Generated by scripts/demo/vps.sh: configs/vps.toml plus the internal port.
control_socket = "$CTL"
$SOAK_LINES
$WG_RUN_LINE

[[bridge]]
name = "socket"
flows = "$FLOWS"

[[bridge.port]]
name = "nm-server"
ofport = 1
# The Netmaker peer sits on the bridge's own subnet, which the host routes
# to socket: only the config can say it lies behind nm-server.
proxy = ["10.2.0.50/32"]

[[bridge.port]]
name = "warp0"
ofport = 2
$WARP0_LINES

[[bridge.port]]
name = "veth102"
ofport = 3

[[bridge.port]]
name = "socket"      # the bridge's own interface, OpenFlow port LOCAL
driver = "internal"
EOF
bg "$TMPD/daemon.log" ip netns exec "$VPS" "$SW" run --config "$TMPD/vps.toml"
DAEMON_PID=$BG_PID
wait_for 50 ip -n "$VPS" link show socket || die "sockswitch did not start: $(cat "$TMPD/daemon.log")"
wait_for 50 ctl show || die "no control socket: $(cat "$TMPD/daemon.log")"
ip -n "$VPS" addr add 10.2.0.1/24 dev socket
ip -n "$VPS" link set socket up
# Probe only once every port is up (a port whose device came up after the
# daemon started is brought up by its hotplug check within a second).
wait_for 50 sh -c "'$SW' ctl --socket '$CTL' show | grep -q 'socket up'" ||
  die "internal port did not come up: $(ctl show)"
wait_for 30 sh -c "! '$SW' ctl --socket '$CTL' show | grep -q ' down'" ||
  die "a port is down: $(ctl show)"
# What `auto` chose: the container's veth on AF_PACKET (its GSO frames kept
# whole), the WireGuard links (bare IP) on AF_PACKET's L3 mode. Anything
# else is a regression to report.
ctl show | grep -q '(auto, af_packet): veth102 up' || die "veth102 is not on AF_PACKET: $(ctl show)"
l3_ports=(nm-server)
if [[ $WG == native ]]; then
  ctl show | grep -q '(wireguard): warp0 up' || die "warp0 is not the native WireGuard port: $(ctl show)"
else
  l3_ports+=(warp0)
fi
for l3 in "${l3_ports[@]}"; do
  ctl show | grep -q "(auto, af_packet L3): $l3 up" || die "$l3 is not on AF_PACKET L3: $(ctl show)"
done

# ---------------------------------------------------------------- receivers
tcp_listener "$XRAY" 443 xray-443
tcp_listener "$XRAY" 8443 xray-8443
udp_listener "$XRAY" 9000 xray-udp
tcp_listener "$WARP" 80 warp-80
tcp_listener "$WARP" 443 warp-443
tcp_listener "$VPS" 8081 vps-8081      # the Netmaker API on the VPS host
capture "$XRAY" eth0 xray
capture "$WARP" wg-warp warp
capture "$VPS" socket host
capture "$NM" wg-nm nm
SETUP_SECONDS=$((SECONDS - START))

# DEMO_HOLD=SECONDS keeps the topology up that long before the probes, for
# poking at by hand (ip netns exec sswdemo-<pid>-xray ...).
if [[ ${DEMO_HOLD:-} ]]; then log "holding $DEMO_HOLD s: $DEMO ($TMPD)"; sleep "$DEMO_HOLD"; fi

source "$HERE/report.sh"
source "$HERE/${PATHS_FILE}"
