#!/usr/bin/env bash
# Install the Debian packages bpfguard needs to build, run and test.
# Idempotent and quiet when everything is there already.
set -euo pipefail

usage()
{
	cat <<EOF2
Usage: deps.sh [--runtime|--build|--demo|--test|--all]

Install the Debian packages bpfguard needs (default --all); quiet when
they are all there already. Each set includes the ones above it, except
--demo and --test, which both include --build:
  --runtime   to run it: bpftool, iproute2, jq, libbpf1, ethtool, curl
              (the load balancer's http health checks)
  --build     to build it: clang, llvm, gcc, make, libbpf-dev, headers
  --demo      for make demo: python3, ping, curl, hping3
  --test      to test it: bats, scapy, ping, nc, curl, tcpdump, hping3,
              iperf3, trafgen (netsniff-ng), nft, openssl, strace, shellcheck,
              clang-format, qemu (kernel floor check), GNU parallel
              (make test runs test files side by side)
  --all       everything (same as --test)
EOF2
}

runtime=(bpftool iproute2 jq libbpf1 bsdextrautils ethtool curl)
build=(clang llvm gcc make libbpf-dev linux-libc-dev libc6-dev)
demo=(python3 iputils-ping curl hping3)
test=(bats python3-scapy iputils-ping netcat-openbsd curl tcpdump hping3
	iperf3 netsniff-ng ethtool strace shellcheck clang-format
	qemu-system-x86 busybox-static cpio conntrack nftables socat python3
	openssl parallel)

case ${1:---all} in
-h | --help)
	usage
	exit 0
	;;
--runtime) want=("${runtime[@]}") ;;
--build) want=("${runtime[@]}" "${build[@]}") ;;
--demo) want=("${runtime[@]}" "${build[@]}" "${demo[@]}") ;;
--test | --all) want=("${runtime[@]}" "${build[@]}" "${test[@]}") ;;
*)
	echo "deps.sh: unknown option $1 (see --help)" >&2
	exit 2
	;;
esac

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
((${#missing[@]})) || exit 0

[[ $(id -u) == 0 ]] || {
	echo "deps.sh: root needed to install: ${missing[*]}" >&2
	exit 1
}
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
