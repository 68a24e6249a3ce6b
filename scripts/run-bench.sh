#!/usr/bin/env bash
# `make bench`: every Google Benchmark suite of the build, then the end-to-end
# harness (bench/harness/e2e.py: traffic through namespaces, sockswitch with
# each engine vs the Linux bridge vs OVS userspace). Everything lands in one
# file, bench/results/<date>-<host>.json (the suites' --benchmark_out JSON is
# merged in under "google_benchmark"), with a chart beside it (.png) and a
# markdown table on stdout.
#
# QUICK=1: the end-to-end harness in quick mode (1 run per figure, short
# steps; under a minute) and no Google Benchmark suites; its results go to
# <date>-<host>-quick.json so that they never replace a full run's.
# CASE=wireguard: only the WireGuard comparison of issue 8 (warp0 as a
# wireguard-go interface attached to sockswitch, kernel routing into it, and
# sockswitch's native WireGuard port when the build has it), no suites;
# results in <date>-<host>-wireguard[-quick].json. CASE=all: everything
# (the full run then takes longer than ten minutes). Default: switching.
# BENCH_FILTER: passed to the suites as --benchmark_filter.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
mkdir -p bench/results
stamp="$(date +%Y-%m-%d)-$(hostname -s)"
quick=${QUICK:-0}
[[ $quick == 0 ]] && quick=""
case=${CASE:-switching}
suffix=""
[[ $case != switching ]] && suffix="-$case"

gbdir=$(mktemp -d)
trap 'rm -rf "$gbdir"' EXIT
gb=()
if [[ -z $quick && $case != wireguard ]]; then
  shopt -s nullglob
  for bin in "$build"/*_bench; do
    name=$(basename "$bin")
    echo "== $name"
    "$bin" --benchmark_out="$gbdir/$name.json" --benchmark_out_format=json \
      ${BENCH_FILTER:+--benchmark_filter="$BENCH_FILTER"}
    gb+=("$gbdir/$name.json")
  done
else
  echo "== QUICK or CASE=wireguard: Google Benchmark suites skipped"
fi

echo "== end-to-end harness"
python3 bench/harness/e2e.py --build "$build" ${quick:+--quick} --case "$case" \
  --out "bench/results/$stamp$suffix${quick:+-quick}.json" --gbench "${gb[@]}"
