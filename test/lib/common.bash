# shellcheck shell=bash
# Shared setup for the bats tests: a private bpffs, namespace labs, and
# wrappers around the scripts. Every test runs as root and touches neither
# the host's interfaces nor its pins: the device under test lives in a
# namespace of its own and the pins in a bpffs mounted under /run.

bats_require_minimum_version 1.5.0

BG_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BG_BUILD=$BG_REPO/build
FWMAPGEN=$BG_BUILD/fwmapgen
PY=/usr/bin/python3 # Debian's python3 has scapy, pyenv's does not
BPFRUN=$BG_REPO/test/lib/bpfrun.py
PKT=$BG_REPO/test/lib/pkt.py

# Fail with a message (bats prints the output of failed tests).
fail()
{
	printf '%s\n' "$*" >&2
	return 1
}

# Private bpffs for this test file or test; sets FW_BPFFS and BG_TMP.
bpffs_setup()
{
	BG_TMP=$(mktemp -d /run/bgtest.XXXXXX)
	mkdir "$BG_TMP/bpffs"
	mount -t bpf bpf "$BG_TMP/bpffs"
	export FW_BPFFS=$BG_TMP/bpffs
	export TC_BPF_MNT=$FW_BPFFS
}

bpffs_teardown()
{
	[[ -n ${BG_TMP:-} && -d $BG_TMP ]] || return 0
	# A test that ends with an interface up leaves up.sh's lock
	# directory for its bpffs (down.sh removes it with the last pin).
	lock_teardown
	mountpoint -q "$BG_TMP/bpffs" && umount "$BG_TMP/bpffs"
	rm -rf "$BG_TMP"
}

# A lab of two namespaces joined by a veth pair:
#   $CLI (cli0: 192.0.2.10-12/24, 2001:db8:1::10-12/64)
#   $DUT (dut0: 192.0.2.1/24,     2001:db8:1::1/64)  <- device under test
lab_setup()
{
	LAB_ID=${LAB_ID:-$$}
	DUT=bgt-$LAB_ID-dut
	CLI=bgt-$LAB_ID-cli
	ip netns add "$DUT"
	ip netns add "$CLI"
	ip -n "$DUT" link add name dut0 type veth peer name cli0 netns "$CLI"
	ip -n "$DUT" link set lo up
	ip -n "$CLI" link set lo up
	ip -n "$DUT" addr add 192.0.2.1/24 dev dut0
	ip -n "$DUT" addr add 2001:db8:1::1/64 dev dut0 nodad
	local i
	for i in 10 11 12; do
		ip -n "$CLI" addr add "192.0.2.$i/24" dev cli0
		ip -n "$CLI" addr add "2001:db8:1::$i/64" dev cli0 nodad
	done
	ip -n "$DUT" link set dut0 up
	ip -n "$CLI" link set cli0 up
}

# A gateway lab of three namespaces, named after $1:
#   $OUT  oA0 198.51.100.10 2001:db8:2::10   outside
#   $DUT  dut0 198.51.100.1 2001:db8:2::1    the gateway (outside)
#         dut1 203.0.113.1  2001:db8:3::1    forwarding to the inside
#   $IN   iN0 203.0.113.10  2001:db8:3::10   a host behind the gateway
# with routes both ways and the neighbours resolved.
gw_lab_setup()
{
	local ns
	OUT=bgt-$1-out
	DUT=bgt-$1-dut
	IN=bgt-$1-in
	ip netns add "$OUT"
	ip netns add "$DUT"
	ip netns add "$IN"
	ip -n "$DUT" link add name dut0 type veth peer name oA0 netns "$OUT"
	ip -n "$DUT" link add name dut1 type veth peer name iN0 netns "$IN"
	for ns in "$OUT" "$DUT" "$IN"; do
		ip -n "$ns" link set lo up
	done
	ip -n "$OUT" addr add 198.51.100.10/24 dev oA0
	ip -n "$OUT" addr add 2001:db8:2::10/64 dev oA0 nodad
	ip -n "$DUT" addr add 198.51.100.1/24 dev dut0
	ip -n "$DUT" addr add 2001:db8:2::1/64 dev dut0 nodad
	ip -n "$DUT" addr add 203.0.113.1/24 dev dut1
	ip -n "$DUT" addr add 2001:db8:3::1/64 dev dut1 nodad
	ip -n "$IN" addr add 203.0.113.10/24 dev iN0
	ip -n "$IN" addr add 2001:db8:3::10/64 dev iN0 nodad
	ip -n "$OUT" link set oA0 up
	ip -n "$DUT" link set dut0 up
	ip -n "$DUT" link set dut1 up
	ip -n "$IN" link set iN0 up
	in_ns "$DUT" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	ip -n "$OUT" route add 203.0.113.0/24 via 198.51.100.1
	ip -n "$OUT" route add 2001:db8:3::/64 via 2001:db8:2::1
	ip -n "$IN" route add default via 203.0.113.1
	ip -n "$IN" route add default via 2001:db8:3::1
	in_ns "$OUT" ping -q -c 1 -W 2 198.51.100.1 >/dev/null
	in_ns "$OUT" ping -q -c 1 -W 2 2001:db8:2::1 >/dev/null
	in_ns "$IN" ping -q -c 1 -W 2 203.0.113.1 >/dev/null
	in_ns "$IN" ping -q -c 1 -W 2 2001:db8:3::1 >/dev/null
}

gw_lab_teardown()
{
	netns_del "${OUT:-}"
	netns_del "${DUT:-}"
	netns_del "${IN:-}"
}

# Deleting a namespace does not end its processes: kill them first.
netns_del()
{
	local pids
	[[ -n ${1:-} && -e /run/netns/$1 ]] || return 0
	pids=$(ip netns pids "$1" 2>/dev/null)
	# shellcheck disable=SC2086
	[[ -z $pids ]] || kill $pids 2>/dev/null || true
	ip netns del "$1" 2>/dev/null || true
}

lab_teardown()
{
	netns_del "${DUT:-}"
	netns_del "${CLI:-}"
	return 0
}

# Start a server in a namespace in the background. Its fd 3 is closed:
# bats waits for every holder of that pipe before it finishes.
ns_spawn()
{
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" -- "$@" >/dev/null 2>&1 3>&- &
}

# Run in a namespace without a new mount namespace (ip netns exec would
# hide the private bpffs pins; see PLATFORM.md).
in_ns()
{
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" -- "$@"
}

in_dut()
{
	in_ns "$DUT" "$@"
}

in_cli()
{
	in_ns "$CLI" "$@"
}

up()
{
	in_dut "$BG_REPO/scripts/up.sh" "$@"
}

down()
{
	in_dut "$BG_REPO/scripts/down.sh" "$@"
}

status_json()
{
	in_dut "$BG_REPO/scripts/status.sh" --json "$@"
}

# Write a ruleset to $BG_TMP/NAME.rules from stdin and print its path.
ruleset()
{
	local f=$BG_TMP/$1.rules
	cat >"$f"
	printf '%s' "$f"
}

# Pinned firewall program of the current build (after an up).
fw_prog_pin()
{
	local p
	for p in "$FW_BPFFS"/bpfguard/*/bg_fw_xdp; do
		[[ -e $p ]] && printf '%s' "$p" && return 0
	done
	return 1
}

# Wait until a TCP port listens in a namespace.
wait_port()
{
	local ns=$1 port=$2 i
	for i in $(seq 50); do
		in_ns "$ns" ss -Hltn "sport = :$port" | grep -q . && return 0
		sleep 0.1
	done
	fail "nothing listens on port $port in $ns"
}

# start_http NS PORT: python3's http.server (HTTP/1.0: the server closes
# first) on PORT (both families) in NS, serving "hello".
start_http()
{
	local ns=$1 port=$2
	mkdir -p "$BG_TMP/www"
	echo hello >"$BG_TMP/www/index.html"
	ns_spawn "$ns" /usr/bin/python3 -m http.server "$port" --bind :: \
		--directory "$BG_TMP/www"
	wait_port "$ns" "$port"
}

# up.sh on dut0 with a ruleset given on stdin (written to NAME.rules);
# fails the test with up.sh's output.
up_rules()
{
	local f
	f=$(ruleset "$1")
	run up dut0 --rules "$f"
	[ "$status" -eq 0 ] || fail "up.sh: $output"
}

# A UDP server in NS on ADDR:PORT that answers every datagram with one
# datagram of SIZE bytes, from ADDR: an answer larger than the MTU leaves
# in fragments.
start_udp_answer()
{
	ns_spawn "$1" /usr/bin/python3 "$BG_REPO/test/lib/udpanswer.py" "$2" "$3" "$4"
	wait_udp_port "$1" "$3"
}

wait_udp_port()
{
	local ns=$1 port=$2 i
	for i in $(seq 50); do
		in_ns "$ns" ss -Hlun "sport = :$port" | grep -q . && return 0
		sleep 0.1
	done
	fail "no UDP socket on port $port in $ns"
}

# Ask HOST:PORT from NS with one small datagram; prints the number of
# bytes of the answer (0: none within 2 s).
udp_ask()
{
	local ns=$1 host=$2 port=$3
	[[ $host == *:* ]] && host="[$host]"
	echo q | in_ns "$ns" socat -T 2 - UDP:"$host":"$port" | wc -c
}

# fw_load_in NS RULES [OBJECT:PROGRAM...]: the firewall and the other
# objects named, unattached, and ruleset RULES loaded into the private
# bpffs, run in NS (test runs then take its ifindexes).
fw_load_in()
{
	local ns=$1 rules=$2
	shift 2
	in_ns "$ns" env FW_BPFFS="$FW_BPFFS" BG_QUIET=1 bash -c '
		set -euo pipefail
		source "$1/scripts/lib.sh"
		bg_setup_bpffs mount
		bg_load_prog xdp_firewall.o bg_fw_xdp >/dev/null
		for o in "${@:3}"; do
			bg_load_prog "${o%%:*}" "${o#*:}" >/dev/null
		done
		bg_apply_ruleset "$2"' bg-test "$BG_REPO" "$rules" "$@"
}

# rules_apply_in NS RULES: ruleset RULES (a file) into the maps that
# fw_load_in made, the way up.sh switches to it.
rules_apply_in()
{
	in_ns "$1" env FW_BPFFS="$FW_BPFFS" BG_QUIET=1 bash -c '
		set -euo pipefail
		source "$1/scripts/lib.sh"
		bg_setup_bpffs mount
		bg_apply_ruleset "$2"' bg-test "$BG_REPO" "$2"
}

# gen_entries GEN: "MAP N" for every hash or trie pinned in the private
# bpffs that holds N > 0 entries of ruleset generation GEN, told by the
# "gen" field of the key's BTF-formatted view: independent of the
# scripts' own list of the maps the generations fill. Nothing: none left.
gen_entries()
{
	local p
	for p in "$FW_BPFFS"/tc/globals/*; do
		case $(bpftool -j map show pinned "$p" | jq -r .type) in
		hash | lru_hash | percpu_hash | lru_percpu_hash | lpm_trie) ;;
		*) continue ;;
		esac
		bpftool -j map dump pinned "$p" |
			jq -r --arg m "${p##*/}" --argjson g "$1" '[.[] |
				select((.formatted.key | type) == "object" and
					.formatted.key.gen == $g)] | length |
				select(. > 0) | "\($m) \(.)"'
	done
}

# The lock directory up.sh/down.sh take for bpffs $1.
lock_path_of()
{
	(
		# shellcheck source=scripts/lib.sh
		source "$BG_REPO/scripts/lib.sh"
		export FW_BPFFS=$1
		bg_bpffs_path
		bg_lock_path
	)
}

# up.sh/down.sh remove their lock directory with the last pin; a test that
# unmounts its bpffs with interfaces still up removes it here.
lock_teardown()
{
	[[ -n ${BG_TMP:-} ]] || return 0
	rmdir "$(lock_path_of "$BG_TMP/bpffs")" 2>/dev/null || true
}

# Make the script on stdin an executable NAME that in_dut_faked puts first
# on the PATH (e.g. a bpftool that hides part of its output).
fake_tool()
{
	mkdir -p "$BG_TMP/fakebin"
	cat >"$BG_TMP/fakebin/$1"
	chmod 0755 "$BG_TMP/fakebin/$1"
}

in_dut_faked()
{
	in_dut env PATH="$BG_TMP/fakebin:$PATH" "$@"
}

# capture_start NAME NS IFACE FILTER...: tcpdump on IFACE of NS into
# $BG_TMP/NAME.pcap, back once it listens (immediate mode: see
# PLATFORM.md). Deleting the namespace ends it if the test fails first.
capture_start()
{
	local name=$1 ns=$2 ifc=$3 i
	shift 3
	in_ns "$ns" tcpdump -i "$ifc" -U --immediate-mode -n -w "$BG_TMP/$name.pcap" \
		"$@" 2>"$BG_TMP/$name.err" 3>&- &
	echo $! >"$BG_TMP/$name.pid"
	for i in $(seq 50); do
		grep -q "listening on" "$BG_TMP/$name.err" && return 0
		sleep 0.1
	done
	fail "tcpdump on $ifc in $ns: $(cat "$BG_TMP/$name.err")"
}

# capture_stop NAME: end capture NAME; prints its packets, one a line
# (tcpdump -n -e).
capture_stop()
{
	local pid i
	pid=$(cat "$BG_TMP/$1.pid")
	kill "$pid" 2>/dev/null || true
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	tcpdump -n -e -r "$BG_TMP/$1.pcap" 2>/dev/null
}
