#!/usr/bin/env bash
# Builds every libFuzzer target (tests/fuzz/*_fuzz.cc) with clang and runs each
# for a bounded time over its seed corpus. Any crash fails the run, and so
# does a sanitizer or libFuzzer report in a fuzzer's log even when it exited 0
# (a report from a thread or an atexit handler need not change the status).
set -euo pipefail
build=${1:-build-fuzz}
seconds=${2:-30}
cd "$(dirname "$0")/.."

shopt -s nullglob
sources=(tests/fuzz/*_fuzz.cc)
((${#sources[@]})) || { echo "fuzz: no targets"; exit 0; }
targets=()
for src in "${sources[@]}"; do targets+=("$(basename "$src" .cc)"); done

CXX=clang++ cmake -S . -B "$build" -G Ninja -DSOCKSWITCH_FUZZ=ON -DSOCKSWITCH_BENCH=OFF \
  -DSOCKSWITCH_WERROR=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}"

reports='runtime error:|ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)'
work=
trap 'rm -rf "$work"' EXIT
for src in "${sources[@]}"; do
  name=$(basename "$src" .cc)
  corpus_seed="tests/fuzz/corpus/${name%_fuzz}"
  rm -rf "$work"
  work=$(mktemp -d)
  [[ -d $corpus_seed ]] && cp "$corpus_seed"/* "$work"/ 2>/dev/null || true
  echo "fuzz: $name for ${seconds}s"
  dict=()
  [[ -f tests/fuzz/${name%_fuzz}.dict ]] && dict=(-dict="tests/fuzz/${name%_fuzz}.dict")
  case $name in
    ovsdb_session_fuzz) max_len=4096 ;;  # whole monitor replies
    # Several frames per input (a burst, an ARP then its answer); config files.
    flow_extractor_fuzz | l3_ethernet_fuzz | pipeline_fuzz | config_fuzz) max_len=2048 ;;
    control_command_fuzz | wg_config_fuzz) max_len=1024 ;;
    *) max_len=512 ;;
  esac
  status=0
  "$build/$name" "${dict[@]}" -max_total_time="$seconds" -max_len="$max_len" -print_final_stats=0 \
    -artifact_prefix="$build/" "$work" 2>"$build/$name.log" || status=$?
  if ((status != 0)) || grep -Eq "$reports" "$build/$name.log"; then
    tail -40 "$build/$name.log"
    echo "fuzz: $name FAILED (exit $status)"
    exit 1
  fi
  echo "fuzz: $name ok ($(grep -c . "$build/$name.log") log lines, no crash)"
done
