#!/usr/bin/env bash
# `make soak` (issue 17; a benchmark, not a CI test): the VPS deployment of
# `make run`, with configs/vps-socket-ct.flows, under traffic for
# SOAK_MINUTES (default 30) while flows are replaced, the config reloaded,
# Xray's veth deleted and made again and WireGuard peers rekeyed; memory,
# descriptors and drops sampled every 10 s (scripts/demo/soak.sh). Writes
# soak.json and soak.svg to SOAK_OUT (default BUILD/soak-DATE) and exits 1
# when something grew, dropped or broke that the schedule does not explain.
# Needs root.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
PATHS=soak exec scripts/demo/vps.sh "$build"
