#!/usr/bin/env bats
# The firewall's routing actions (route-to, reply-to, dup-to): the
# firewall marks what a routing rule passes, tc_route sends it to the
# rule's next hop (BPF_PROG_TEST_RUN with crafted frames: verdicts and
# the bytes out), and end to end through namespace routers.

load lib/common

setup()
{
	bpffs_setup
}

teardown()
{
	netns_del "${UNS:-}"
	lab_teardown
	lab5_teardown
	bpffs_teardown
}

lab5_teardown()
{
	local ns
	for ns in "${LAB5[@]}"; do
		netns_del "$ns"
	done
	return 0
}

# ------------------------------------------------ BPF_PROG_TEST_RUN

# One namespace with the interfaces the fixtures route through:
#   fwa0 (192.0.2.1/24, 2001:db8:1::1/64)  where packets come in
#   fwc0 (198.51.100.1/28, 2001:db8:c::1/64) next hop 198.51.100.2 /
#        2001:db8:c::2 (02:00:00:00:0d:02), 198.51.100.3 unresolved
#   fwe0 (198.51.100.17/28, MTU 1280) next hop 198.51.100.18
#   fwm0 (203.0.113.1/24) the monitor, 203.0.113.9 behind it; fwn0 its peer
unit_setup()
{
	UNS=bgr-$BATS_TEST_NUMBER-$$
	ip netns add "$UNS"
	local n="ip -n $UNS"
	$n link set lo up
	$n link add fwa0 address 02:00:00:00:0a:01 type veth peer name fwb0
	$n link add fwc0 address 02:00:00:00:0c:01 type veth peer name fwd0
	$n link add fwe0 mtu 1280 address 02:00:00:00:0e:01 type veth peer name fwf0 mtu 1280
	$n link add fwm0 address 02:00:00:00:0f:01 type veth peer name fwn0
	for i in fwa0 fwb0 fwc0 fwd0 fwe0 fwf0 fwm0 fwn0; do
		$n link set "$i" up
	done
	$n addr add 192.0.2.1/24 dev fwa0
	$n addr add 2001:db8:1::1/64 dev fwa0 nodad
	$n addr add 198.51.100.1/28 dev fwc0
	$n addr add 2001:db8:c::1/64 dev fwc0 nodad
	$n addr add 198.51.100.17/28 dev fwe0
	$n addr add 203.0.113.1/24 dev fwm0
	$n neigh add 198.51.100.2 lladdr 02:00:00:00:0d:02 dev fwc0 nud permanent
	$n neigh add 2001:db8:c::2 lladdr 02:00:00:00:0d:02 dev fwc0 nud permanent
	$n neigh add 198.51.100.18 lladdr 02:00:00:00:0f:12 dev fwe0 nud permanent
	$n neigh add 203.0.113.9 lladdr 02:00:00:00:99:09 dev fwm0 nud permanent
	in_ns "$UNS" sysctl -qw net.ipv4.conf.all.forwarding=1 \
		net.ipv6.conf.all.forwarding=1
}

ifindex_of()
{
	in_ns "$UNS" ip -j link show dev "$1" | jq '.[0].ifindex'
}

# The firewall with ruleset $1, conntrack and tc_route's test build, all
# loaded (not attached) into the private bpffs, in the namespace.
unit_load()
{
	in_ns "$UNS" env FW_BPFFS="$FW_BPFFS" BG_QUIET=1 bash -c '
		set -euo pipefail
		source "$1/scripts/lib.sh"
		bg_setup_bpffs mount
		bg_load_prog xdp_firewall.o bg_fw_xdp >/dev/null
		bg_apply_ruleset "$2"' bg-test "$BG_REPO" "$1"
	in_ns "$UNS" "$BG_BUILD/bg-load" --bpffs "$FW_BPFFS" \
		"$BG_BUILD/tc_conntrack.o" "$FW_BPFFS/ctprogs" >/dev/null
	in_ns "$UNS" "$BG_BUILD/bg-load" --bpffs "$FW_BPFFS" \
		"$BG_BUILD/test/tc_route_cb.o" "$FW_BPFFS/rtprogs" >/dev/null
}

rt()
{
	in_ns "$UNS" "$PY" "$BG_REPO/test/lib/routecheck.py" --bpffs "$FW_BPFFS" \
		--progs "$FW_BPFFS/ctprogs" --rt "$FW_BPFFS/rtprogs/bg_rt_ingress"
}

UNIT_RULES='set default pass
pass inet proto udp to 203.0.113.100 port 53 route-to 198.51.100.2 label "route-to"
pass inet6 proto udp to 2001:db8:99::100 route-to 2001:db8:c::2
pass inet proto udp to 203.0.113.100 port 54 route-to 198.51.100.3 label "unresolved"
pass inet proto udp to 203.0.113.100 port 55 route-to 198.51.100.18 label "MTU 1280"
pass inet proto udp to 203.0.113.100 port 56 route-to 198.51.100.200 label "no route"
pass inet proto tcp to 203.0.113.100 port 80 reply-to 198.51.100.2 label "reply-to"
pass inet proto udp to 203.0.113.100 port 57 dup-to fwm0 via 203.0.113.9
pass log inet proto udp to 203.0.113.100 port 58 route-to 198.51.100.2 dup-to fwm0
pass inet proto udp to 203.0.113.100 port 59 label "no routing"
pass inet proto udp to 203.0.113.100 port 61 dup-to nosuch0
block inet proto udp to 203.0.113.100 port 60'

# Frames from 192.0.2.10 (02:..:0b:01) to this host (02:..:0a:01).
IN4='src="192.0.2.10", dst="203.0.113.100", eth_src="02:00:00:00:0b:01", eth_dst="02:00:00:00:0a:01"'
IN6='src="2001:db8:1::10", dst="2001:db8:99::100", eth_src="02:00:00:00:0b:01", eth_dst="02:00:00:00:0a:01"'
# Leaving fwc0 for 02:..:0d:02, fwe0 for 02:..:0f:12.
OUT_C='eth_src="02:00:00:00:0c:01", eth_dst="02:00:00:00:0d:02"'
OUT_E='eth_src="02:00:00:00:0e:01", eth_dst="02:00:00:00:0f:12"'

@test "the firewall marks what a routing rule passes, and nothing else" {
	unit_setup
	unit_load "$(ruleset unit <<<"$UNIT_RULES")"
	a=$(ifindex_of fwa0)
	rt <<-EOF
		mark udp4($IN4, dport=53) @if=$a :: XDP_PASS 1 ROUTE
		mark udp6($IN6, dport=53) @if=$a :: XDP_PASS 2 ROUTE
		mark tcp4($IN4, dport=80) @if=$a :: XDP_PASS 6 ROUTE
		mark udp4($IN4, dport=57) @if=$a :: XDP_PASS 7 ROUTE
		mark udp4($IN4, dport=58) @if=$a :: XDP_PASS 8 LOG+ROUTE
		# a rule without routing, the default policy, a block rule
		mark udp4($IN4, dport=59) @if=$a :: XDP_PASS 9 -
		mark udp4($IN4, dport=9) @if=$a :: XDP_PASS 0 DEFAULT
		mark udp4($IN4, dport=60) @if=$a :: XDP_DROP 11 nometa
		# the same rule's address family only: an IPv6 packet to port 53
		mark udp6(src="2001:db8:1::10", dst="2001:db8:98::1", dport=53) @if=$a :: XDP_PASS 0 DEFAULT
	EOF
}

@test "route-to: TTL or hop limit one less, the IPv4 checksum with it, MACs from the FIB, redirected" {
	unit_setup
	unit_load "$(ruleset unit <<<"$UNIT_RULES")"
	a=$(ifindex_of fwa0)
	rt <<-EOF
		rt udp4($IN4, dport=53, ttl=64) @rule=1 @flags=ROUTE @iif=$a @if=$a :: TC_ACT_REDIRECT -> udp4(src="192.0.2.10", dst="203.0.113.100", dport=53, ttl=63, $OUT_C)
		rt udp4($IN4, dport=53, ttl=2, tos=0xb8, payload=b"x" * 100) @rule=1 @flags=ROUTE @iif=$a @if=$a :: TC_ACT_REDIRECT -> udp4(src="192.0.2.10", dst="203.0.113.100", dport=53, ttl=1, tos=0xb8, payload=b"x" * 100, $OUT_C)
		rt udp6($IN6, dport=53, hlim=64) @rule=2 @flags=ROUTE @iif=$a @if=$a :: TC_ACT_REDIRECT -> udp6(src="2001:db8:1::10", dst="2001:db8:99::100", dport=53, hlim=63, $OUT_C)
		fwstat route_sent :: 3
		# a next hop without a neighbour entry: the neighbour layer
		# resolves it (bpf_redirect_neigh), the MACs stay for it to fill
		rt udp4($IN4, dport=54, ttl=64) @rule=3 @flags=ROUTE @iif=$a @if=$a :: TC_ACT_REDIRECT -> udp4($IN4, dport=54, ttl=63)
		# just fits the MTU of 1280 (IP 1280 bytes): routed; one byte more
		# goes to the stack, which sends the ICMP error
		rt udp4($IN4, dport=55, payload=b"x" * 1252) @rule=4 @flags=ROUTE @iif=$a @if=$a :: TC_ACT_REDIRECT -> udp4(src="192.0.2.10", dst="203.0.113.100", dport=55, ttl=63, payload=b"x" * 1252, $OUT_E)
		rt udp4($IN4, dport=55, payload=b"x" * 1253) @rule=4 @flags=ROUTE @iif=$a @if=$a :: TC_ACT_UNSPEC -> same
		fwstat route_too_big :: 1
		# no route to the next hop: the stack routes it
		rt udp4($IN4, dport=56) @rule=5 @flags=ROUTE @iif=$a @if=$a :: TC_ACT_UNSPEC -> same
		fwstat route_fib_miss :: 1
		# the last hop (the stack sends Time Exceeded), a VLAN tag
		rt udp4($IN4, dport=53, ttl=1) @rule=1 @flags=ROUTE @iif=$a @if=$a :: TC_ACT_UNSPEC -> same
		rt udp4($IN4, dport=53, vlans=[7]) @rule=1 @flags=ROUTE @iif=$a @if=$a :: TC_ACT_UNSPEC -> same
		fwstat route_skipped :: 2
		fwstat route_sent :: 5
	EOF
}

@test "only what the firewall marked, by a rule that routes, is routed" {
	unit_setup
	unit_load "$(ruleset unit <<<"$UNIT_RULES")"
	a=$(ifindex_of fwa0)
	rt <<-EOF
		# the metadata of a rule without routing, of the default policy,
		# of a routing rule without the mark, or none at all
		rt udp4($IN4, dport=53) @rule=9 @flags=ROUTE @iif=$a @if=$a :: TC_ACT_UNSPEC -> same
		rt udp4($IN4, dport=53) @rule=0 @flags=ROUTE+DEFAULT @iif=$a @if=$a :: TC_ACT_UNSPEC -> same
		rt udp4($IN4, dport=53) @rule=1 @flags=LOG @iif=$a @if=$a :: TC_ACT_UNSPEC -> same
		rt udp4($IN4, dport=53) @rule=1 @flags= @iif=$a @if=$a :: TC_ACT_UNSPEC -> same
		# a rule id past the ruleset's
		rt udp4($IN4, dport=53) @rule=4000 @flags=ROUTE @iif=$a @if=$a :: TC_ACT_UNSPEC -> same
		# the rule's family only (an IPv6 frame with an IPv4 rule's id)
		rt udp6($IN6, dport=53) @rule=1 @flags=ROUTE @iif=$a @if=$a :: TC_ACT_UNSPEC -> same
		# a reply-to rule's own packet (its direction: nothing to do)
		rt tcp4($IN4, dport=80) @rule=6 @flags=ROUTE @iif=$a @if=$a :: TC_ACT_UNSPEC -> same
		fwstat route_sent :: 0
		fwstat route_skipped :: 0
	EOF
}

@test "reply-to: the replies of a flow the rule opened, not its own packets, not a reply without a flow" {
	unit_setup
	unit_load "$(ruleset unit <<<"$UNIT_RULES")"
	a=$(ifindex_of fwa0)
	c=$(ifindex_of fwc0)
	rt <<-EOF
		# 192.0.2.10:4000 -> 203.0.113.100:80 opens a flow on fwa0
		in tcp4($IN4, sport=4000, dport=80, flags="S", seq=1000) @if=$a @iif=$a :: NEW
		# its reply (on fwc0): to 198.51.100.2, whatever the routing table
		rt tcp4(src="203.0.113.100", dst="192.0.2.10", sport=80, dport=4000, flags="SA", seq=5000, ack=1001) @rule=6 @flags=CT @iif=$c @if=$c :: TC_ACT_REDIRECT -> tcp4(src="203.0.113.100", dst="192.0.2.10", sport=80, dport=4000, flags="SA", seq=5000, ack=1001, ttl=63, $OUT_C)
		# the initiator's next packet is its own direction: not routed
		rt tcp4($IN4, sport=4000, dport=80, flags="A", seq=1001, ack=5001) @rule=6 @flags=CT @iif=$a @if=$a :: TC_ACT_UNSPEC -> same
		# a "reply" of no flow: another port, another source
		rt tcp4(src="203.0.113.100", dst="192.0.2.10", sport=80, dport=4001, flags="SA") @rule=6 @flags=CT @iif=$c @if=$c :: TC_ACT_UNSPEC -> same
		rt tcp4(src="203.0.113.101", dst="192.0.2.10", sport=80, dport=4000, flags="SA") @rule=6 @flags=CT @iif=$c @if=$c :: TC_ACT_UNSPEC -> same
		# a flow of a route-to rule: its initiator's packets are routed,
		# its replies are not
		in udp4($IN4, sport=4002, dport=53) @if=$a @iif=$a :: NEW
		rt udp4($IN4, sport=4002, dport=53) @rule=1 @flags=CT @iif=$a @if=$a :: TC_ACT_REDIRECT -> udp4(src="192.0.2.10", dst="203.0.113.100", sport=4002, dport=53, ttl=63, $OUT_C)
		rt udp4(src="203.0.113.100", dst="192.0.2.10", sport=53, dport=4002) @rule=1 @flags=CT @iif=$c @if=$c :: TC_ACT_UNSPEC -> same
		fwstat route_sent :: 2
	EOF
}

@test "dup-to: a copy out of the monitor interface (via: to its next hop's MAC), the original unchanged or routed" {
	unit_setup
	unit_load "$(ruleset unit <<<"$UNIT_RULES")"
	a=$(ifindex_of fwa0)
	rt <<-EOF
		tap fwn0
		rt udp4($IN4, dport=57, payload=b"copy me") @rule=7 @flags=ROUTE @iif=$a @if=$a :: TC_ACT_UNSPEC -> same
		copy fwn0 :: udp4(src="192.0.2.10", dst="203.0.113.100", dport=57, payload=b"copy me", eth_src="02:00:00:00:0f:01", eth_dst="02:00:00:00:99:09")
		copy fwn0 :: none
		# with route-to: the copy is the packet as it came in
		rt udp4($IN4, dport=58, ttl=9) @rule=8 @flags=LOG+ROUTE @iif=$a @if=$a :: TC_ACT_REDIRECT -> udp4(src="192.0.2.10", dst="203.0.113.100", dport=58, ttl=8, $OUT_C)
		copy fwn0 :: udp4($IN4, dport=58, ttl=9)
		copy fwn0 :: none
		fwstat dup_sent :: 2
		fwstat route_sent :: 1
		# an interface missing when the ruleset was compiled: no copy
		rt udp4($IN4, dport=61) @rule=10 @flags=ROUTE @iif=$a @if=$a :: TC_ACT_UNSPEC -> same
		copy fwn0 :: none
		fwstat route_skipped :: 1
		# the replies of a dup-to flow are not copied
		in udp4($IN4, sport=4003, dport=57) @if=$a @iif=$a :: NEW
		rt udp4(src="203.0.113.100", dst="192.0.2.10", sport=57, dport=4003) @rule=7 @flags=CT @iif=$a @if=$a :: TC_ACT_UNSPEC -> same
		copy fwn0 :: none
		rt udp4($IN4, sport=4003, dport=57) @rule=7 @flags=CT @iif=$a @if=$a :: TC_ACT_UNSPEC -> same
		copy fwn0 :: udp4(src="192.0.2.10", dst="203.0.113.100", sport=4003, dport=57, eth_src="02:00:00:00:0f:01", eth_dst="02:00:00:00:99:09")
		fwstat dup_sent :: 3
	EOF
}

@test "the routing entries fwmapgen emits are in the kernel's map, byte for byte, and go with their generation" {
	unit_setup
	rules=$(ruleset unit <<<"$UNIT_RULES")
	unit_load "$rules"
	gen=$(bpftool -j map lookup pinned "$FW_BPFFS/tc/globals/bg_fw_active" key hex 00 00 00 00 |
		jq '.formatted.value.gen')
	in_ns "$UNS" "$FWMAPGEN" --gen "$gen" --pin-dir /p "$rules" 2>/dev/null |
		grep ' /p/bg_fw_route ' >"$BG_TMP/want"
	[ "$(wc -l <"$BG_TMP/want")" -eq 10 ] || fail "$(cat "$BG_TMP/want")"
	bpftool -j map dump pinned "$FW_BPFFS/tc/globals/bg_fw_route" | jq -r '.[] |
		"map update pinned /p/bg_fw_route key hex " + (.key | map(ltrimstr("0x")) | join(" "))
		+ " value hex " + (.value | map(ltrimstr("0x")) | join(" "))' | sort >"$BG_TMP/got"
	diff <(sort "$BG_TMP/want") "$BG_TMP/got"
	# another ruleset: its entries only (none), the union gone with them
	in_ns "$UNS" env FW_BPFFS="$FW_BPFFS" BG_QUIET=1 bash -c '
		source "$1/scripts/lib.sh"; bg_setup_bpffs mount; bg_apply_ruleset "$2"' _ "$BG_REPO" \
		"$(ruleset none <<<'pass from 192.0.2.0/24')"
	[ "$(bpftool -j map dump pinned "$FW_BPFFS/tc/globals/bg_fw_route" | jq length)" -eq 0 ]
}
