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
# BENCH_FILTER: passed to the suites as --benchmark_filter.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
mkdir -p bench/results
stamp="$(date +%Y-%m-%d)-$(hostname -s)"
quick=${QUICK:-0}
[[ $quick == 0 ]] && quick=""

gbdir=$(mktemp -d)
trap 'rm -rf "$gbdir"' EXIT
gb=()
if [[ -z $quick ]]; then
  shopt -s nullglob
  for bin in "$build"/*_bench; do
    name=$(basename "$bin")
    echo "== $name"
    "$bin" --benchmark_out="$gbdir/$name.json" --benchmark_out_format=json \
      ${BENCH_FILTER:+--benchmark_filter="$BENCH_FILTER"}
    gb+=("$gbdir/$name.json")
  done
else
  echo "== QUICK: Google Benchmark suites skipped"
fi

echo "== end-to-end harness"
python3 bench/harness/e2e.py --build "$build" ${quick:+--quick} \
  --out "bench/results/$stamp${quick:+-quick}.json" --gbench "${gb[@]}"
