#!/bin/bash
# Install what building, testing (and, with flags, benchmarking or fuzzing) sluice needs on
# Debian 12. Only missing packages are installed; `apt-get update` runs once, and only then.
#
#   scripts/deps.sh [--bench] [--fuzz]     install
#   scripts/deps.sh --list [--bench] [--fuzz]   print the package names (for .ci/run)
set -eu

BASE=(make meson ninja-build pkg-config gcc libc6-dev libssl-dev libmnl-dev libseccomp-dev
	libcmocka-dev iproute2 iputils-ping iperf3 nftables jq netcat-openbsd openssl procps coreutils
	openvpn openconnect ocserv gnutls-bin libcrypt-dev liburing-dev
	clang libclang-rt-14-dev) # clang: make test builds the fuzz targets and an ASan+UBSan build
BENCH=(wireguard-go wireguard-tools openvpn valgrind gnuplot-nox fonts-dejavu-core
	linux-perf ethtool) # linux-perf: bench/profile.sh; ethtool: its VETH_GRO=1
FUZZ=(clang libclang-rt-14-dev)

want=("${BASE[@]}")
list=0
for arg in "$@"; do
	case $arg in
	--bench) want+=("${BENCH[@]}") ;;
	--fuzz) want+=("${FUZZ[@]}") ;;
	--list) list=1 ;;
	-h | --help)
		sed -n '2,7s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	*)
		echo "deps.sh: unknown option '$arg' (try --help)" >&2
		exit 2
		;;
	esac
done

if [ "$list" = 1 ]; then
	echo "${want[@]}"
	exit 0
fi

missing=()
for pkg in "${want[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$pkg")
	fi
done
if [ "${#missing[@]}" -eq 0 ]; then
	exit 0
fi

echo "deps.sh: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: these packages are missing and installing them needs root:" >&2
	echo "  apt-get install -y ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
