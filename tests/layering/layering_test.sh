#!/usr/bin/env bash
# tests/layering/layering_test.sh: no source file includes a layer above its own.
#
# The layers, bottom up (CMakeLists.txt and README say the same): wire/,
# flowtable/ and ports/wireguard/ depend on nothing of ours; packet/ on wire/
# and flowtable/'s port numbers; ports/ on those; dataplane/ on ports/ and
# below; control/ on everything. An include of a folder not in the file's
# own list fails the test, naming the file, the line and the include.
#
# Usage: layering_test.sh SOURCE_DIR
set -euo pipefail
cd "${1:?source dir}"

allowed_for() {
  case "$1" in
    ports/wireguard/*) echo "ports/wireguard" ;;
    wire/*) echo "wire" ;;
    flowtable/*) echo "flowtable" ;;
    packet/*) echo "packet wire flowtable" ;;
    ports/*) echo "ports ports/wireguard packet wire flowtable" ;;
    dataplane/*) echo "dataplane ports ports/wireguard packet wire flowtable" ;;
    control/*) echo "control dataplane ports ports/wireguard packet wire flowtable" ;;
  esac
}

bad=0
checked=0
while IFS= read -r file; do
  allowed=$(allowed_for "$file")
  checked=$((checked + 1))
  while IFS=: read -r line include; do
    target=${include#*\"}
    target=${target%%\"*}
    folder=${target%%/*}
    [[ $target == ports/wireguard/* ]] && folder=ports/wireguard
    # Only the project's own folders are layers; "foo.h" beside the file is its own.
    [[ $target == */* ]] || continue
    case " control dataplane ports ports/wireguard packet wire flowtable " in
      *" $folder "*) ;;
      *) continue ;;
    esac
    if [[ " $allowed " != *" $folder "* ]]; then
      echo "$file:$line: includes $target, a layer above its own (${file%/*}/ may include: $allowed)"
      bad=$((bad + 1))
    fi
  done < <(grep -n '^#include "' "$file" || true)
done < <(find wire packet flowtable ports dataplane control -name '*.h' -o -name '*.cc' | sort)

if ((checked < 100)); then
  echo "only $checked source files found: is $PWD the source tree?"
  exit 1
fi
if ((bad > 0)); then
  echo "$bad include(s) run up the layers"
  exit 1
fi
echo "$checked files, every include points down"
