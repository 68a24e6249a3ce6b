#!/usr/bin/env bash
# The main job, `make run`: first reviews every seed deployment's flow files
# offline, the way an operator would before installing them, then runs the
# VPS deployment for real in network namespaces (scripts/demo/vps.sh) and
# reports where each documented path's traffic went; then the same with
# the connection-tracking table (configs/vps-socket-ct.flows). Needs root.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
sw="$build/sockswitch"

# Each flow file's bridge ports, numbered as the deployment numbers them.
declare -A ports=(
  [configs/vps-socket.flows]="nm-server=1 warp0=2 veth102=3"
  [configs/vps-socket-ct.flows]="nm-server=1 warp0=2 veth102=3"
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

scripts/demo/vps.sh "$build" || status=1
echo
PATHS=ct scripts/demo/vps.sh "$build" || status=1
exit $status
