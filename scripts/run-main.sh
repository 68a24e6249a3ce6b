#!/usr/bin/env bash
# The main job, `make run`. Until the daemon lands (control issue) it reviews
# every seed deployment's flow files the way an operator would before
# installing them, then traces the documented traffic of the VPS table.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
sw="$build/sockswitch"

# Each flow file's bridge ports, numbered as the deployment numbers them.
declare -A ports=(
  [configs/vps-socket.flows]="nm-server=1 warp0=2 veth102=3"
  [configs/oo1424oo-socket.flows]="nm-privacy=1 veth200=2 veth201=3 veth202=4 veth203=5 veth204=6"
  [configs/oo1424oo-dual-mesh.flows]="nm-privacy=1 to-privacy=2 veth200=3 veth201=4"
  [configs/oo1424oo-dual-vmbr0.flows]="from-mesh=1 warp0=2 veth100=3 veth102=4"
)

status=0
for file in configs/*.flows; do
  args=()
  for p in ${ports[$file]:-}; do args+=(--port "$p"); done
  echo "== sockswitch flows check ${args[*]} $file"
  "$sw" flows check "${args[@]}" "$file" || status=1
  echo
done

vps_ports=(--port nm-server=1 --port warp0=2 --port veth102=3)
echo "== VPS socket: where the documented traffic goes (sockswitch trace)"
while IFS='|' read -r what packet; do
  printf '%-44s %s\n    -> ' "$what" "$packet"
  "$sw" trace --flows configs/vps-socket.flows "${vps_ports[@]}" "$packet" | head -n 1
done <<'PATHS'
user HTTPS to Xray|in_port=nm-server,tcp,nw_dst=10.2.0.102,tp_dst=443
user VMess to Xray|in_port=nm-server,tcp,nw_dst=10.2.0.102,tp_dst=8443
Xray to WARP (HTTP out)|in_port=veth102,tcp,nw_src=10.2.0.102,tp_dst=80
Xray's own HTTPS out (the overlap)|in_port=veth102,tcp,nw_src=10.2.0.102,tp_dst=443
WARP return to Xray|in_port=warp0,tcp,nw_dst=10.2.0.102,tp_src=443,tp_dst=40000
Netmaker mesh traffic|in_port=nm-server,udp,tp_dst=51821
PATHS
exit $status
