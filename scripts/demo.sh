#!/usr/bin/env bash
# make demo: a two-namespace lab, bpfguard up with the default ruleset on
# the lab's "edge" interface, real traffic through it, status, teardown.
# Nothing touches the host's interfaces or pins.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

usage()
{
	cat <<EOF2
Usage: $BG_PROG [--keep]

Build a lab (namespaces bgdemo-edge and bgdemo-net joined by a veth pair,
addresses from 192.0.2.0/24 and 2001:db8:d::/64, a private bpffs under
/run), bring bpfguard up on the edge with the default ruleset, send
real traffic (ping, HTTP with curl, spoofed martian sources with hping3),
print status.sh and conntrack.sh, and tear everything down again.

  --keep      leave the lab up (tear down later with: $BG_PROG --down)
  --down      tear down a lab left by --keep
  -h, --help  this text
EOF2
}

EDGE=bgdemo-edge NET=bgdemo-net
DEMO_DIR=/run/bpfguard-demo
SCRIPTS=$(dirname "$(readlink -f "$0")")

teardown()
{
	if [[ -d /run/netns && -e /run/netns/$EDGE ]]; then
		env -u FW_BPFFS BG_BPFFS=$DEMO_DIR/bpffs nsenter --net=/run/netns/$EDGE \
			"$SCRIPTS/down.sh" edge0 >/dev/null 2>&1 || true
	fi
	local ns pids
	for ns in "$EDGE" "$NET"; do
		[[ -e /run/netns/$ns ]] || continue
		# Deleting a namespace does not end its processes.
		pids=$(ip netns pids "$ns" 2>/dev/null)
		# shellcheck disable=SC2086 # one argument per pid
		[[ -z $pids ]] || kill $pids 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done
	mountpoint -q "$DEMO_DIR/bpffs" && umount "$DEMO_DIR/bpffs"
	rm -rf "$DEMO_DIR"
}

keep=0
case ${1:-} in
-h | --help)
	usage
	exit 0
	;;
--keep) keep=1 ;;
--down)
	bg_require_root
	teardown
	exit 0
	;;
"") ;;
*) bg_die "unknown option $1 (see --help)" ;;
esac

bg_require_root
bg_require_tools ip jq bpftool ping curl hping3 python3
bg_registry_load
bg_require_programs
[[ ! -e /run/netns/$EDGE ]] || bg_die "a demo lab exists already ($BG_PROG --down removes it)"
((keep)) || trap teardown EXIT

edge() { nsenter --net=/run/netns/$EDGE -- "$@"; }
net() { nsenter --net=/run/netns/$NET -- "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "lab: $NET (client, 192.0.2.10) <-> $EDGE (edge0, 192.0.2.1, device under test)"
mkdir -p "$DEMO_DIR/bpffs" "$DEMO_DIR/www"
mount -t bpf bpf "$DEMO_DIR/bpffs"
export BG_BPFFS=$DEMO_DIR/bpffs
unset FW_BPFFS
ip netns add "$EDGE"
ip netns add "$NET"
ip -n "$EDGE" link add name edge0 type veth peer name net0 netns "$NET"
ip -n "$EDGE" addr add 192.0.2.1/24 dev edge0
ip -n "$EDGE" addr add 2001:db8:d::1/64 dev edge0 nodad
ip -n "$NET" addr add 192.0.2.10/24 dev net0
ip -n "$NET" addr add 2001:db8:d::10/64 dev net0 nodad
for ns in "$EDGE" "$NET"; do ip -n "$ns" link set lo up; done
ip -n "$EDGE" link set edge0 up
ip -n "$NET" link set net0 up
echo "bpfguard demo page" >"$DEMO_DIR/www/index.html"
edge python3 -m http.server 80 --bind :: --directory "$DEMO_DIR/www" \
	>/dev/null 2>&1 &

step "up.sh edge0 (default ruleset: $BG_DEFAULT_RULES)"
edge "$SCRIPTS/up.sh" edge0

step "traffic: ping and HTTP from the client (passed)"
net ping -c 3 -i 0.2 192.0.2.1 | tail -2
net ping -c 3 -i 0.2 2001:db8:d::1 | tail -2
sleep 0.5
net curl -s -m 3 http://192.0.2.1/ || echo "(HTTP failed)"
net curl -s -m 3 "http://[2001:db8:d::1]/" || echo "(HTTP failed)"

step "traffic: 20 SYNs from spoofed martian sources (127.0.0.1, 240.0.0.1): dropped"
for spoof in 127.0.0.1 240.0.0.1; do
	net hping3 -q -S -p 80 -c 10 -i u10000 -a "$spoof" 192.0.2.1 2>&1 |
		grep 'packets transmitted' || true
done

step "log: the martian rule says 'log'; the first records (bg-events)"
edge "$BG_BIN_DIR/bg-events" --count 3 --timeout 2 || true

step "why: fwmapgen --explain"
"$FWMAPGEN" --explain "$BG_DEFAULT_RULES" '127.0.0.1 -> 192.0.2.1'
"$FWMAPGEN" --explain "$BG_DEFAULT_RULES" '192.0.2.10 -> 192.0.2.1'

step "status.sh"
edge "$SCRIPTS/status.sh"

step "conntrack.sh: the flows tc_conntrack tracks"
edge "$SCRIPTS/conntrack.sh"

if ((keep)); then
	step "lab kept: BG_BPFFS=$BG_BPFFS nsenter --net=/run/netns/$EDGE $SCRIPTS/status.sh"
else
	step "down.sh edge0 and lab teardown"
fi
