#!/usr/bin/env bash
# Installs every Debian package sockswitch needs to build, test and run its
# demo. Idempotent: it asks apt only for what is missing, and refreshes the
# package lists only when something is.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config g++ clang libclang-rt-14-dev
  clang-format
  libdpdk-dev libbpf-dev libxdp-dev libboost-dev libboost-system-dev
  libfmt-dev libspdlog-dev libcli11-dev libtomlplusplus-dev liburcu-dev
  libssl-dev nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev libpcap-dev
  iproute2 iputils-ping netcat-openbsd iperf3 tcpdump ethtool procps bash
  wireguard-go wireguard-tools socat
  openvswitch-switch gnuplot-nox python3
  python3-os-ken openvswitch-testcontroller  # OpenFlow controllers for the tests
  systemd util-linux strace  # the unit's test: systemd-analyze, setpriv, syscalls
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
    missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]} (run as root to install)" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# openvswitch-switch's postinst would start a system ovsdb-server and
# ovs-vswitchd; the benchmark starts its own private ones and must not meet a
# system daemon. A policy-rc.d that refuses every start keeps invoke-rc.d (and
# deb-systemd-invoke) from starting anything during this install; one the
# machine already has is left as it is.
policy=/usr/sbin/policy-rc.d
own_policy=""
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  own_policy=1
fi
trap 'if [[ -n $own_policy ]]; then rm -f "$policy"; fi' EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}"
