#!/usr/bin/env bash
# Runs every Google Benchmark suite of the build and keeps the JSON results in
# bench/results/<date>-<host>-<suite>.json. The end-to-end harness (traffic
# through namespaces against Linux bridge and OVS) joins this script when it
# lands.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
mkdir -p bench/results
stamp="$(date +%Y-%m-%d)-$(hostname -s)"
shopt -s nullglob
for bin in "$build"/*_bench; do
  name=$(basename "$bin")
  echo "== $name"
  "$bin" --benchmark_out="bench/results/$stamp-$name.json" --benchmark_out_format=json \
    ${BENCH_FILTER:+--benchmark_filter="$BENCH_FILTER"}
done
