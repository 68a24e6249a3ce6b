#!/usr/bin/env bash
# Builds every libFuzzer target (tests/fuzz/*_fuzz.cc) with clang and runs each
# for a bounded time over its seed corpus. Any crash fails the run.
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

for src in "${sources[@]}"; do
  name=$(basename "$src" .cc)
  corpus_seed="tests/fuzz/corpus/${name%_fuzz}"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  [[ -d $corpus_seed ]] && cp "$corpus_seed"/* "$work"/ 2>/dev/null || true
  echo "fuzz: $name for ${seconds}s"
  dict=()
  [[ -f tests/fuzz/${name%_fuzz}.dict ]] && dict=(-dict="tests/fuzz/${name%_fuzz}.dict")
  max_len=512
  [[ $name == ovsdb_session_fuzz ]] && max_len=4096  # whole monitor replies
  "$build/$name" "${dict[@]}" -max_total_time="$seconds" -max_len="$max_len" -print_final_stats=0 \
    -artifact_prefix="$build/" "$work" 2>"$build/$name.log" ||
    { tail -40 "$build/$name.log"; echo "fuzz: $name FAILED"; exit 1; }
  echo "fuzz: $name ok ($(grep -c . "$build/$name.log") log lines, no crash)"
done
