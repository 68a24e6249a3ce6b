#!/usr/bin/env bash
# tests/deploy/package_test.sh: the Debian package `make deb` builds,
# unpacked into a scratch root.
#
# Plan. Build: cpack in the build directory given (what `make deb` runs).
# Verify: dpkg-deb lists the daemon, the unit, the README and the example
# configs; the control file's Depends names the libraries the daemon links
# (dpkg-shlibdeps found their packages); unpacked into a scratch root, the
# unit's ExecStart= names the daemon where the package put it, and that
# binary runs there (--version, and `flows check` of the VPS example flows).
# Exit 77 (skip) when a Debian packaging tool is missing, unless CI is set.
set -euo pipefail
build=$1

for tool in cpack dpkg-deb dpkg-shlibdeps; do
  if ! command -v "$tool" >/dev/null; then
    [[ -n ${CI:-} ]] && { echo "package_test: $tool is missing" >&2; exit 1; }
    echo "package_test: $tool is missing: skipped"
    exit 77
  fi
done

scratch=$(mktemp -d /tmp/ssw-package.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
fail() {
  echo "package_test: $*" >&2
  exit 1
}

if ! (cd "$build" && cpack -G DEB -B "$scratch/out") >"$scratch/cpack.log" 2>&1; then
  cat "$scratch/cpack.log" >&2
  fail "cpack failed"
fi
deb=$(find "$scratch/out" -maxdepth 1 -name 'sockswitch_*.deb' | head -n 1)
[[ -n $deb ]] || fail "cpack made no sockswitch_*.deb: $(ls "$scratch/out")"

listing=$(dpkg-deb -c "$deb")
for path in ./usr/bin/sockswitch ./usr/lib/systemd/system/sockswitch.service \
  ./usr/share/doc/sockswitch/README.md ./usr/share/doc/sockswitch/examples/vps.toml \
  ./usr/share/doc/sockswitch/examples/vps-socket.flows; do
  grep -q " $path\$" <<<"$listing" || fail "$path is not in the package:"$'\n'"$listing"
done

depends=$(dpkg-deb -f "$deb" Depends)
for lib in libxdp libbpf libpcap liburcu; do
  grep -q "$lib" <<<"$depends" || fail "Depends does not name $lib: $depends"
done

root=$scratch/root
dpkg-deb -x "$deb" "$root"
unit=$root/usr/lib/systemd/system/sockswitch.service
exec_start=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$unit")
[[ $exec_start == /usr/bin/sockswitch ]] || fail "the unit's ExecStart= runs '$exec_start'"
[[ -x $root$exec_start ]] || fail "$exec_start is not in the package"
version=$("$root$exec_start" --version)
[[ $version == "sockswitch "* ]] || fail "--version printed '$version'"
"$root$exec_start" flows check "$root/usr/share/doc/sockswitch/examples/vps-socket.flows" \
  >/dev/null || fail "the installed daemon refuses the example flows"

echo "package_test: $(basename "$deb"), $(dpkg-deb -f "$deb" Installed-Size) KiB installed," \
  "Depends: $depends"
