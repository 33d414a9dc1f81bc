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
	labns_teardown
	bpffs_teardown
}

labns_teardown()
{
	local ns
	for ns in "${LABNS[@]}"; do
		netns_del "$ns"
	done
	return 0
}

# labns_add NS...: namespaces of a lab (deleted by teardown), lo up,
# no reverse path filter (the labs route asymmetrically on purpose).
labns_add()
{
	local ns
	for ns in "$@"; do
		LABNS+=("$ns")
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		in_ns "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0
	done
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
	fw_load_in "$UNS" "$1"
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
block inet proto udp to 203.0.113.100 port 60
pass inet6 proto tcp to 2001:db8:99::100 port 80 reply-to 2001:db8:c::2 label "reply-to (IPv6)"'

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
		rt udp4($IN4, dport=55, payload=b"x" * 1400) @rule=4 @flags=ROUTE @iif=$a @if=$a :: TC_ACT_UNSPEC -> same
		fwstat route_too_big :: 2
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
		# A reply datagram in fragments: the firewall records the first
		# one's ports (here it passes it by the default: the flow has not
		# learnt where its replies come from, which only its egress
		# teaches it), through which tc_route finds the flow of the later
		# ones: all take reply-to's way.
		in udp4($IN4, sport=4005, dport=80) @if=$a @iif=$a :: NEW
		ctrule udp 192.0.2.10 4005 203.0.113.100 80 6
		mark udp4(src="203.0.113.100", dst="192.0.2.10", sport=80, dport=4005, payload=b"r" * 1472, mf=True, ident=31) @if=$c :: XDP_PASS 0 DEFAULT
		rt udp4(src="203.0.113.100", dst="192.0.2.10", sport=80, dport=4005, payload=b"r" * 1472, mf=True, ident=31) @rule=6 @flags=CT @iif=$c @if=$c :: TC_ACT_REDIRECT -> udp4(src="203.0.113.100", dst="192.0.2.10", sport=80, dport=4005, payload=b"r" * 1472, mf=True, ident=31, ttl=63, $OUT_C)
		rt ipv4(l4=b"s" * 100, proto=17, src="203.0.113.100", dst="192.0.2.10", ident=31, frag=185) @rule=6 @flags=CT @iif=$c @if=$c :: TC_ACT_REDIRECT -> ipv4(l4=b"s" * 100, proto=17, src="203.0.113.100", dst="192.0.2.10", ident=31, frag=185, ttl=63, $OUT_C)
		fwstat route_sent :: 4
		# one of a datagram whose first fragment was not seen: no flow
		rt ipv4(l4=b"s" * 100, proto=17, src="203.0.113.100", dst="192.0.2.10", ident=32, frag=185) @rule=6 @flags=CT @iif=$c @if=$c :: TC_ACT_UNSPEC -> same
		fwstat route_sent :: 4
	EOF
}

# A reply this host makes to 192.0.2.10:4000 (or 2001:db8:1::10), leaving
# fwa0 for the client's MAC as the routing table would send it.
BACK4='src="203.0.113.100", dst="192.0.2.10", sport=80, dport=4000'
BACK6='src="2001:db8:99::100", dst="2001:db8:1::10", sport=80, dport=4000'
BY_A='eth_src="02:00:00:00:0a:01", eth_dst="02:00:00:00:0b:01"'

@test "reply-to at egress: a reply this host makes, of a flow the rule opened, to the rule's next hop (MACs from the FIB, TTL kept); nothing else" {
	unit_setup
	unit_load "$(ruleset unit <<<"$UNIT_RULES")"
	a=$(ifindex_of fwa0)
	c=$(ifindex_of fwc0)
	rt <<-EOF
		in tcp4($IN4, sport=4000, dport=80, flags="S", seq=1000) @if=$a @iif=$a :: NEW
		# the firewall passed it by rule 6: reply-to 198.51.100.2 (fwc0)
		ctrule tcp 192.0.2.10 4000 203.0.113.100 80 6
		# fwc0 is no interface of bpfguard's (conntrack would not see
		# the reply leave): the routing table's
		rte tcp4($BACK4, flags="SA", seq=5000, ack=1001, $BY_A) @if=$a :: TC_ACT_UNSPEC -> same
		fwstat route_skipped :: 1
		ifidx $c
		rte tcp4($BACK4, flags="SA", seq=5000, ack=1001, ttl=64, $BY_A) @if=$a :: TC_ACT_REDIRECT -> tcp4($BACK4, flags="SA", seq=5000, ack=1001, ttl=64, $OUT_C)
		fwstat route_sent :: 1
		# leaving fwc0 already, for another router there: to the rule's
		rte tcp4($BACK4, flags="A", eth_src="02:00:00:00:0c:01", eth_dst="02:00:00:00:0d:99") @if=$c :: TC_ACT_UNSPEC -> tcp4($BACK4, flags="A", $OUT_C)
		fwstat route_sent :: 2
		# as a redirect here left it: nothing to do
		rte tcp4($BACK4, flags="A", $OUT_C) @if=$c :: TC_ACT_UNSPEC -> same
		# back from bpf_redirect_neigh's queue with its route's header
		# (another interface's address): put right, not counted again
		rte tcp4($BACK4, flags="A", $BY_A) @if=$c :: TC_ACT_UNSPEC -> tcp4($BACK4, flags="A", $OUT_C)
		fwstat route_sent :: 2
		# forwarded (routed or not at its ingress); the initiator's way
		rte tcp4($BACK4, flags="A", $BY_A) @iif=$a @if=$a :: TC_ACT_UNSPEC -> same
		rte tcp4($IN4, sport=4000, dport=80, flags="A") @if=$a :: TC_ACT_UNSPEC -> same
		# replies of flows of a rule without reply-to, of the default
		# policy, of none
		in udp4($IN4, sport=4001, dport=59) @if=$a @iif=$a :: NEW
		ctrule udp 192.0.2.10 4001 203.0.113.100 59 9
		rte udp4(src="203.0.113.100", dst="192.0.2.10", sport=59, dport=4001, $BY_A) @if=$a :: TC_ACT_UNSPEC -> same
		in udp4($IN4, sport=4002, dport=9) @if=$a @iif=$a :: NEW
		rte udp4(src="203.0.113.100", dst="192.0.2.10", sport=9, dport=4002, $BY_A) @if=$a :: TC_ACT_UNSPEC -> same
		rte udp4(src="203.0.113.100", dst="192.0.2.10", sport=80, dport=4003, $BY_A) @if=$a :: TC_ACT_UNSPEC -> same
		fwstat route_sent :: 2
		# IPv6: the hop limit kept
		in tcp6($IN6, sport=4000, dport=80, flags="S") @if=$a @iif=$a :: NEW
		ctrule tcp 2001:db8:1::10 4000 2001:db8:99::100 80 12
		rte tcp6($BACK6, flags="SA", hlim=64, $BY_A) @if=$a :: TC_ACT_REDIRECT -> tcp6($BACK6, flags="SA", hlim=64, $OUT_C)
		fwstat route_sent :: 3
		# a flow gone (expired): the routing table's
		clock 1000
		rte tcp4($BACK4, flags="A", $BY_A) @if=$a :: TC_ACT_UNSPEC -> same
		fwstat route_sent :: 3
		fwstat route_fib_miss :: 0
	EOF
	# The FIB answers for the host's own traffic only with forwarding
	# on for lo.
	in_ns "$UNS" sysctl -qw net.ipv4.conf.lo.forwarding=0
	rt <<-EOF
		in tcp4($IN4, sport=4010, dport=80, flags="S") @if=$a @iif=$a :: NEW
		ctrule tcp 192.0.2.10 4010 203.0.113.100 80 6
		rte tcp4(src="203.0.113.100", dst="192.0.2.10", sport=80, dport=4010, flags="SA", $BY_A) @if=$a :: TC_ACT_UNSPEC -> same
		fwstat route_fib_miss :: 1
		fwstat route_sent :: 3
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
	[ "$(wc -l <"$BG_TMP/want")" -eq 11 ] || fail "$(cat "$BG_TMP/want")"
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

# ------------------------------------------------------- end to end

# Namespace routers, the device under test in the middle:
#
#   CLI c0 192.0.2.10 --- d0 192.0.2.1   DUT   d1 198.51.100.1  --- g1a .2  GW1  g1b 203.0.113.1  --- s1 .2   SRV
#                                              d2 198.51.100.17 --- g2a .18 GW2  g2b 203.0.113.17 --- s2 .18  SRV
#                                              d3 203.0.113.129 --- m0 .130 MON (the monitor)
#
# SRV answers from 203.0.113.100 through GW1 and from 203.0.113.200
# through GW2 (source routing), so each path is symmetric; the DUT's own
# route to 203.0.113.0/24 is through GW1. IPv6 the same way: CLI
# 2001:db8:1::10, d0 ::1; d1/g1a 2001:db8:a::1/::2, d2/g2a 2001:db8:b::1/::2,
# g1b/s1 2001:db8:c::1/::2, g2b/s2 2001:db8:d::1/::2; SRV 2001:db8:100::100
# and ::200. bpfguard runs on d0, d1, d2 (d2
# with --reverse-path loose: SRV reaches CLI through GW2, which the DUT's
# route back does not say). The gateways count what they forward (nft).
lab5_setup()
{
	local id=bgr$BATS_TEST_NUMBER-$$ ns
	CLI=$id-cli DUT=$id-dut GW1=$id-gw1 GW2=$id-gw2 SRV=$id-srv MON=$id-mon
	labns_add "$CLI" "$DUT" "$GW1" "$GW2" "$SRV" "$MON"
	link "$CLI" c0 192.0.2.10/24 "$DUT" d0 192.0.2.1/24 2001:db8:1::10/64 2001:db8:1::1/64
	link "$DUT" d1 198.51.100.1/28 "$GW1" g1a 198.51.100.2/28 2001:db8:a::1/64 2001:db8:a::2/64
	link "$DUT" d2 198.51.100.17/28 "$GW2" g2a 198.51.100.18/28 2001:db8:b::1/64 2001:db8:b::2/64
	link "$DUT" d3 203.0.113.129/28 "$MON" m0 203.0.113.130/28
	link "$GW1" g1b 203.0.113.1/28 "$SRV" s1 203.0.113.2/28 2001:db8:c::1/64 2001:db8:c::2/64
	link "$GW2" g2b 203.0.113.17/28 "$SRV" s2 203.0.113.18/28 2001:db8:d::1/64 2001:db8:d::2/64
	for ns in "$DUT" "$GW1" "$GW2"; do
		in_ns "$ns" sysctl -qw net.ipv4.conf.all.forwarding=1 \
			net.ipv6.conf.all.forwarding=1
	done
	ip -n "$CLI" route add default via 192.0.2.1
	ip -n "$CLI" route add default via 2001:db8:1::1
	ip -n "$DUT" route add 203.0.113.0/24 via 198.51.100.2
	ip -n "$DUT" route add 2001:db8:100::/64 via 2001:db8:a::2
	ip -n "$GW1" route add 192.0.2.0/24 via 198.51.100.1
	ip -n "$GW1" route add 203.0.113.0/24 via 203.0.113.2
	ip -n "$GW1" route add 2001:db8:1::/64 via 2001:db8:a::1
	ip -n "$GW1" route add 2001:db8:100::/64 via 2001:db8:c::2
	ip -n "$GW2" route add 192.0.2.0/24 via 198.51.100.17
	ip -n "$GW2" route add 203.0.113.0/24 via 203.0.113.18
	ip -n "$GW2" route add 2001:db8:1::/64 via 2001:db8:b::1
	ip -n "$GW2" route add 2001:db8:100::/64 via 2001:db8:d::2
	ip -n "$SRV" addr add 203.0.113.100/32 dev lo
	ip -n "$SRV" addr add 203.0.113.200/32 dev lo
	ip -n "$SRV" addr add 2001:db8:100::100/128 dev lo nodad
	ip -n "$SRV" addr add 2001:db8:100::200/128 dev lo nodad
	ip -n "$SRV" route add 192.0.2.0/24 via 203.0.113.1
	ip -n "$SRV" route add 2001:db8:1::/64 via 2001:db8:c::1
	ip -n "$SRV" rule add from 203.0.113.200 lookup 200
	ip -n "$SRV" route add 192.0.2.0/24 via 203.0.113.17 table 200
	ip -n "$SRV" -6 rule add from 2001:db8:100::200 lookup 200
	ip -n "$SRV" route add 2001:db8:1::/64 via 2001:db8:d::1 table 200
	ip -n "$MON" route add 192.0.2.0/24 via 203.0.113.129
	for ns in "$GW1" "$GW2"; do
		in_ns "$ns" nft -f - <<-'EOF'
			table inet count {
				chain forwarded {
					type filter hook forward priority 0;
					tcp dport 8080 counter comment "to 8080"
					tcp sport 8080 counter comment "from 8080"
					udp dport 9000 counter comment "to 9000"
					udp sport 9000 counter comment "from 9000"
					udp sport 9001 counter comment "from 9001"
					tcp sport 9000 counter comment "tcp from 9000"
					icmp type echo-request counter comment "ping"
					udp dport 7777 counter comment "to 7777"
					udp dport 7778 counter comment "to 7778"
				}
				chain arriving {
					type filter hook prerouting priority 0;
					udp sport 9000 counter comment "arriving from 9000"
				}
			}
		EOF
	done
}

# link NS1 IF1 ADDR1 NS2 IF2 ADDR2 [ADDR1_6 ADDR2_6]: a veth pair between
# two namespaces (IPv6 addresses too, if given).
link()
{
	ip -n "$1" link add "$2" type veth peer name "$5" netns "$4"
	ip -n "$1" addr add "$3" dev "$2"
	ip -n "$4" addr add "$6" dev "$5"
	if (($# > 6)); then
		ip -n "$1" addr add "$7" dev "$2" nodad
		ip -n "$4" addr add "$8" dev "$5" nodad
	fi
	ip -n "$1" link set "$2" up
	ip -n "$4" link set "$5" up
}

# Packets gateway $1 counted with its nft rule named (comment) $2.
counted()
{
	in_ns "$1" nft -j list table inet count |
		jq --arg r "$2" '[.nftables[].rule? // empty | select(.comment == $r)
			| .expr[] | .counter? // empty | .packets] | add // 0'
}

dut_up()
{
	local out
	out=$(in_ns "$DUT" "$BG_REPO/scripts/up.sh" "$@" 2>&1) ||
		fail "up.sh $*: $out"
}

fw_counter()
{
	in_ns "$DUT" "$BG_REPO/scripts/status.sh" --json | jq ".counters.$1"
}

E2E_RULES='set default block
block state invalid label "invalid"
pass on d0 inet proto tcp to 203.0.113.200 port 8080 state new route-to 198.51.100.18 label "to .200 through GW2"
pass on d0 inet proto tcp to 203.0.113.100 port 8080 state new label "main route"
pass on d2 inet proto udp to 192.0.2.10 port 9000 state new reply-to 198.51.100.18 label "replies through GW2"
pass on d2 inet proto udp to 192.0.2.10 port 9001 state new label "no reply-to"
pass on d0 inet proto udp from 192.0.2.10 to 203.0.113.100 port 7777 dup-to d3 via 203.0.113.130 label "watched"
pass on d0 inet proto udp to 203.0.113.100 port { 7777, 7778 } label "not watched"
pass on d0 inet proto udp from 192.0.2.10 port 9000 to 203.0.113.200 label "no routing"
pass on d0 inet proto icmp to 203.0.113.200 route-to 198.51.100.18 label "ping through GW2"
pass on d0 inet proto icmp to 203.0.113.100 route-to 198.51.100.99 label "no route to the next hop"'

# The lab up with $E2E_RULES on d0, d1 and d2.
lab5_up()
{
	local rules
	rules=$(ruleset e2e <<<"$E2E_RULES")
	dut_up d0 --rules "$rules"
	dut_up d1
	dut_up d2 --reverse-path loose
}

# start_tcp_source [NS [PORT]]: NS (SRV) serves 200000 bytes on TCP port
# PORT (8080), both families, to whoever connects.
start_tcp_source()
{
	local ns=${1:-$SRV} port=${2:-8080}
	ns_spawn "$ns" socat TCP6-LISTEN:"$port",ipv6only=0,reuseaddr,fork \
		SYSTEM:'head -c 200000 /dev/zero'
	wait_port "$ns" "$port"
}

# tcp_fetch NS ADDR PORT [SOCAT-OPTIONS]: how many bytes a TCP connection
# from NS to ADDR (either family) brings.
tcp_fetch()
{
	local a=$2
	[[ $a != *:* ]] || a="[$a]"
	in_ns "$1" timeout 20 socat -u "TCP:$a:$3,connect-timeout=5${4:+,$4}" - | wc -c
}

@test "e2e: route-to sends a TCP transfer through the second gateway; conntrack follows it (default block, invalid blocked)" {
	lab5_setup
	lab5_up
	# tc_route runs where the ruleset routes: on all three interfaces,
	# also those brought up keeping the running ruleset
	for d in d0 d1 d2; do
		[ -n "$(in_ns "$DUT" tc -j filter show dev "$d" ingress pref 80 |
			jq -r '.[].options.prog.name // empty')" ] || fail "no tc_route on $d"
	done
	# the DUT's own route to the server is through GW1
	[[ $(in_ns "$DUT" ip route get 203.0.113.200) == *"via 198.51.100.2 dev d1"* ]]
	start_tcp_source
	n=$(tcp_fetch "$CLI" 203.0.113.200 8080)
	[ "$n" -eq 200000 ] || fail "received $n bytes through route-to"
	# the client's segments went through GW2 only, the replies came back
	# through GW2 too
	(($(counted "$GW2" 'to 8080') > 10)) ||
		fail "GW2 forwarded $(counted "$GW2" 'to 8080') segments to the server"
	[ "$(counted "$GW1" 'to 8080')" -eq 0 ] ||
		fail "GW1 forwarded $(counted "$GW1" 'to 8080') segments"
	(($(counted "$GW2" 'from 8080') > 10))
	# the same transfer by the main route (control): through GW1
	n=$(tcp_fetch "$CLI" 203.0.113.100 8080)
	[ "$n" -eq 200000 ] || fail "received $n bytes by the main route"
	(($(counted "$GW1" 'to 8080') > 10))
	# conntrack saw the routed flow both ways, on d0 and d2
	in_ns "$DUT" "$BG_REPO/scripts/conntrack.sh" --json | jq -e '
		[.[] | select(.dst == "203.0.113.200" and .dport == 8080)]
		| length == 1 and .[0].packets.orig > 10 and .[0].packets.reply > 10' \
		>/dev/null || fail "$(in_ns "$DUT" "$BG_REPO/scripts/conntrack.sh" --json)"
	(($(fw_counter route_sent) > 10)) || fail "route_sent $(fw_counter route_sent)"
	[ "$(fw_counter route_fib_miss)" -eq 0 ]
	[ "$(fw_counter route_too_big)" -eq 0 ]
}

E2E6_RULES='set default block
block state invalid label "invalid"
pass inet6 proto icmp6 label "neighbour discovery"
pass on d0 inet6 proto tcp to 2001:db8:100::200 port 8080 state new route-to 2001:DB8:B::2 label "to ::200 through GW2"
pass on d0 inet6 proto tcp to 2001:db8:100::100 port 8080 state new label "main route"
pass on d2 inet6 proto tcp to 2001:db8:1::10 port 9000 state new reply-to 2001:db8:b:0::2 label "replies through GW2"'

@test "e2e: IPv6: route-to sends a TCP transfer through the second gateway, reply-to the replies of one the other way; conntrack follows both (default block, invalid blocked)" {
	lab5_setup
	dut_up d0 --rules "$(ruleset e2e6 <<<"$E2E6_RULES")"
	dut_up d1
	dut_up d2 --reverse-path loose
	[[ $(in_ns "$DUT" ip route get 2001:db8:100::200) == *"via 2001:db8:a::2 dev d1"* ]]
	start_tcp_source
	start_tcp_source "$CLI" 9000
	# route-to: CLI's transfer from SRV's ::200 through GW2, both ways
	n=$(tcp_fetch "$CLI" 2001:db8:100::200 8080)
	[ "$n" -eq 200000 ] || fail "received $n bytes through route-to"
	(($(counted "$GW2" 'to 8080') > 10)) ||
		fail "GW2 forwarded $(counted "$GW2" 'to 8080') segments to the server"
	[ "$(counted "$GW1" 'to 8080')" -eq 0 ] ||
		fail "GW1 forwarded $(counted "$GW1" 'to 8080') segments"
	(($(counted "$GW2" 'from 8080') > 10))
	# the main route (control): through GW1
	n=$(tcp_fetch "$CLI" 2001:db8:100::100 8080)
	[ "$n" -eq 200000 ] || fail "received $n bytes by the main route"
	(($(counted "$GW1" 'to 8080') > 10))
	# reply-to: SRV's ::200 fetches from CLI; the flow comes in on d2
	# (through GW2), CLI's replies would leave by the DUT's route
	# (GW1): reply-to sends them through GW2
	n=$(tcp_fetch "$SRV" 2001:db8:1::10 9000 "bind=[2001:db8:100::200]")
	[ "$n" -eq 200000 ] || fail "received $n bytes through reply-to"
	(($(counted "$GW2" 'tcp from 9000') > 10)) ||
		fail "GW2 forwarded $(counted "$GW2" 'tcp from 9000') replies"
	[ "$(counted "$GW1" 'tcp from 9000')" -eq 0 ] ||
		fail "GW1 forwarded $(counted "$GW1" 'tcp from 9000') replies"
	# conntrack saw both routed flows both ways
	ct=$(in_ns "$DUT" "$BG_REPO/scripts/conntrack.sh" --json)
	jq -e '[.[] | select((.dst == "2001:db8:100::200" and .dport == 8080)
			or (.dst == "2001:db8:1::10" and .dport == 9000))]
		| length == 2 and all(.packets.orig > 10 and .packets.reply > 10)' \
		<<<"$ct" >/dev/null || fail "$ct"
	(($(fw_counter route_sent) > 20)) || fail "route_sent $(fw_counter route_sent)"
	[ "$(fw_counter route_fib_miss)" -eq 0 ]
	[ "$(fw_counter route_too_big)" -eq 0 ]
	[ "$(fw_counter route_skipped)" -eq 0 ]
}

# UDP echo server on PORT in NS.
start_udp_echo()
{
	local i
	ns_spawn "$1" socat UDP-RECVFROM:"$2",fork,reuseaddr PIPE
	for i in $(seq 50); do
		in_ns "$1" ss -Hlun "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	fail "no UDP echo server on $2 in $1"
}

# udp_send NS SRC SPORT DST DPORT N [WAIT]: N datagrams from SRC:SPORT;
# prints how many answers came back within WAIT seconds (default 0: none
# awaited).
udp_send()
{
	in_ns "$1" /usr/bin/python3 - "${@:2}" <<-'PY'
		import socket, sys, time
		src, sport, dst, dport, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
		wait = float(sys.argv[6]) if len(sys.argv) > 6 else 0
		s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
		s.bind((src, sport))
		got = 0
		for i in range(n):
		    s.sendto(b"datagram %d" % i, (dst, dport))
		    if wait:
		        s.settimeout(wait)
		        try:
		            s.recvfrom(2048)
		            got += 1
		        except socket.timeout:
		            pass
		    else:
		        time.sleep(0.005)
		print(got)
	PY
}

@test "e2e: reply-to sends the replies of flows the rule opened through the named gateway, not by the routing table" {
	lab5_setup
	lab5_up
	start_udp_echo "$CLI" 9000
	start_udp_echo "$CLI" 9001
	# SRV reaches CLI through GW2; the DUT's route back is through GW1
	[[ $(in_ns "$DUT" ip route get 203.0.113.200) == *"via 198.51.100.2 dev d1"* ]]
	[ "$(udp_send "$SRV" 203.0.113.200 4000 192.0.2.10 9000 20 2)" -eq 20 ]
	[ "$(counted "$GW2" 'from 9000')" -eq 20 ] ||
		fail "GW2 forwarded $(counted "$GW2" 'from 9000') replies"
	[ "$(counted "$GW1" 'from 9000')" -eq 0 ] ||
		fail "GW1 forwarded $(counted "$GW1" 'from 9000') replies"
	[ "$(fw_counter route_sent)" -eq 20 ] || fail "route_sent $(fw_counter route_sent)"
	# the rule without reply-to (control): replies by the routing table
	[ "$(udp_send "$SRV" 203.0.113.200 4001 192.0.2.10 9001 10 2)" -eq 10 ]
	[ "$(counted "$GW1" 'from 9001')" -eq 10 ]
	[ "$(counted "$GW2" 'from 9001')" -eq 0 ]
	[ "$(fw_counter route_sent)" -eq 20 ]
}

@test "e2e: too big for the next hop's MTU goes to the stack (ICMP fragmentation needed reaches the sender); a FIB miss goes by the routing table, counted" {
	lab5_setup
	lab5_up
	# no route to 198.51.100.99 on the DUT: the stack routes the pings
	# (through GW1), each counted
	in_ns "$CLI" ping -q -c 3 -i 0.2 -W 2 203.0.113.100 >/dev/null ||
		fail "ping by the routing table failed"
	[ "$(fw_counter route_fib_miss)" -eq 3 ]
	[ "$(counted "$GW1" ping)" -eq 3 ]
	[ "$(counted "$GW2" ping)" -eq 0 ]
	# GW2's link takes 1280 bytes; the stack's own route as little
	in_ns "$DUT" ip link set dev d2 mtu 1280
	in_ns "$GW2" ip link set dev g2a mtu 1280
	in_ns "$DUT" ip route replace 203.0.113.0/24 via 198.51.100.2 mtu lock 1280
	in_ns "$CLI" ping -q -c 2 -i 0.2 -W 2 -s 1252 -M 'do' 203.0.113.200 >/dev/null ||
		fail "a ping of 1280 bytes did not go through GW2"
	[ "$(counted "$GW2" ping)" -eq 2 ]
	run in_ns "$CLI" ping -c 1 -W 2 -s 1372 -M 'do' 203.0.113.200
	[[ $output == *"mtu = 1280"* || $output == *"mtu=1280"* ]] || fail "$output"
	[ "$(fw_counter route_too_big)" -eq 1 ]
	[ "$(fw_counter route_fib_miss)" -eq 3 ]
	# the sender learnt the path MTU; nothing too big reached GW2
	[[ $(in_ns "$CLI" ip route get 203.0.113.200) == *"mtu 1280"* ]] ||
		fail "$(in_ns "$CLI" ip route get 203.0.113.200)"
	[ "$(counted "$GW2" ping)" -eq 2 ]
	[ "$(counted "$GW1" ping)" -eq 3 ]
}

@test "e2e: dup-to: the monitor captures exactly the matching packets, the originals arrive" {
	lab5_setup
	in_ns "$CLI" ip addr add 192.0.2.11/24 dev c0
	lab5_up
	# dup-to's next hop must be in the neighbour table
	in_ns "$DUT" ping -q -c 1 -W 2 203.0.113.130 >/dev/null
	monmac=$(ip -n "$MON" -j link show m0 | jq -r '.[0].address')
	capture_start mon "$MON" m0 udp
	udp_send "$CLI" 192.0.2.10 5000 203.0.113.100 7777 20 >/dev/null
	udp_send "$CLI" 192.0.2.10 5001 203.0.113.100 7778 15 >/dev/null
	udp_send "$CLI" 192.0.2.11 5002 203.0.113.100 7777 5 >/dev/null
	udp_send "$CLI" 192.0.2.10 5003 203.0.113.100 7777 7 >/dev/null
	sleep 0.5
	capture_stop mon >"$BG_TMP/mon.txt"
	# every copy: from 192.0.2.10 to port 7777, to the monitor's MAC
	[ "$(wc -l <"$BG_TMP/mon.txt")" -eq 27 ] || fail "$(cat "$BG_TMP/mon.txt")"
	[ "$(grep -c "> $monmac, .* 192.0.2.10.500[03] > 203.0.113.100.7777: UDP" "$BG_TMP/mon.txt")" -eq 27 ] ||
		fail "$(cat "$BG_TMP/mon.txt")"
	# the originals went on by the routing table
	[ "$(counted "$GW1" 'to 7777')" -eq 32 ]
	[ "$(counted "$GW1" 'to 7778')" -eq 15 ]
	[ "$(fw_counter dup_sent)" -eq 27 ]
	[ "$(fw_counter route_skipped)" -eq 0 ]
}

@test "e2e: forged packets are not routed: no reply-to without the flow, no reply from the wrong side, no routing by a rule that did not pass them" {
	lab5_setup
	lab5_up
	start_udp_echo "$CLI" 9000
	# A real reply-to flow, its replies through GW2.
	[ "$(udp_send "$SRV" 203.0.113.200 4000 192.0.2.10 9000 3 2)" -eq 3 ]
	[ "$(counted "$GW2" 'from 9000')" -eq 3 ]
	# CLI sends from port 9000 what looks like a reply, to a port of SRV
	# that opened no flow: passed by "no routing" by the routing table,
	# through GW1, not reply-to's GW2.
	udp_send "$CLI" 192.0.2.10 9000 203.0.113.200 4444 10 >/dev/null
	[ "$(counted "$GW1" 'from 9000')" -eq 10 ]
	[ "$(counted "$GW2" 'from 9000')" -eq 3 ]
	# The flow's reply forged on GW2's side (arriving on d2, where the
	# flow's requests come in): INVALID, dropped, not sent back to GW2
	# (whose own packet socket bypasses its prerouting count).
	d2mac=$(ip -n "$DUT" -j link show d2 | jq -r '.[0].address')
	before=$(counted "$GW2" 'arriving from 9000')
	drops=$(fw_counter drop)
	in_ns "$GW2" /usr/bin/python3 - "$d2mac" <<-'PY'
		import sys
		from scapy.all import Ether, IP, UDP, sendp
		sendp(Ether(dst=sys.argv[1]) / IP(src="192.0.2.10", dst="203.0.113.200") /
		      UDP(sport=9000, dport=4000) / b"forged", iface="g2a", count=5, verbose=False)
	PY
	sleep 0.3
	[ "$(counted "$GW2" 'arriving from 9000')" -eq "$before" ] ||
		fail "$(($(counted "$GW2" 'arriving from 9000') - before)) forged replies came back to GW2"
	[ "$(fw_counter drop)" -eq $((drops + 5)) ] || fail "drops $drops -> $(fw_counter drop)"
	# The route-to rule is "on d0": the same packet arriving on d1 is
	# not its to route (default block).
	d1mac=$(ip -n "$DUT" -j link show d1 | jq -r '.[0].address')
	in_ns "$GW1" /usr/bin/python3 - "$d1mac" <<-'PY'
		import sys
		from scapy.all import Ether, IP, TCP, sendp
		sendp(Ether(dst=sys.argv[1]) / IP(src="192.0.2.10", dst="203.0.113.200") /
		      TCP(sport=5555, dport=8080, flags="S"), iface="g1a", count=5, verbose=False)
	PY
	sleep 0.3
	[ "$(counted "$GW2" 'to 8080')" -eq 0 ]
	[ "$(fw_counter drop)" -eq $((drops + 10)) ]
	[ "$(fw_counter route_sent)" -eq 3 ]
}

@test "e2e: tc_route runs only while the ruleset routes: attached with it, taken off without it, status says why" {
	LAB_ID=r$BATS_TEST_NUMBER-$$
	lab_setup
	route=$(ruleset route <<<'pass inet proto udp to 192.0.2.99 dup-to lo')
	plain=$(ruleset plain <<<'pass from any')
	pref80()
	{
		in_dut tc -j filter show dev dut0 ingress pref 80 | jq -r '.[].options.prog.name // empty'
	}
	run up dut0 --rules "$plain"
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output == *"skipping route (bg_rt_ingress, tc-ingress 80): the ruleset does not use feature route"* ]] ||
		fail "$output"
	[ -z "$(pref80)" ]
	run up dut0 --rules "$route"
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output == *"dut0: bg_rt_ingress attached (tc ingress, pref 80)"* ]] || fail "$output"
	[ "$(pref80)" = bg_rt_ingress ]
	# up again keeping the running ruleset: the maps say it routes
	run up dut0
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(pref80)" = bg_rt_ingress ]
	run status_json
	jq -e '(.programs[] | select(.name == "route") | .state == "enabled")
		and .routing == [{id: 1, actions: ["dup-to"], dup_ifindex: 1}]
		and (.counters | has("route_sent") and has("route_fib_miss")
			and has("route_too_big") and has("route_skipped") and has("dup_sent"))' \
		<<<"$output" >/dev/null || fail "$output"
	run up dut0 --rules "$plain"
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output == *"dut0: bg_rt_ingress detached (tc ingress, pref 80)"* ]] || fail "$output"
	[ -z "$(pref80)" ]
	run status_json
	jq -e '(.programs[] | select(.name == "route")
		| .state == "skipped" and .reason == "the ruleset does not use feature route")
		and .routing == []' <<<"$output" >/dev/null || fail "$output"
	run up dut0 --rules "$route"
	[ "$status" -eq 0 ] || fail "$output"
	run down dut0
	[ "$status" -eq 0 ] || fail "$output"
	[ -z "$(pref80)" ]
	[ -z "$(ls -A "$FW_BPFFS/tc/globals" 2>/dev/null)" ]
}

# A server with two uplinks, the device under test:
#
#   CLI c1 203.0.113.2  --- r1c 203.0.113.1  R1 r1d 198.51.100.2  --- d1 198.51.100.1  DUT
#   CLI c2 203.0.113.18 --- r2c 203.0.113.17 R2 r2d 198.51.100.18 --- d2 198.51.100.17 DUT
#
# (IPv6: 2001:db8:1::/64, 2001:db8:2::/64, 2001:db8:a::/64 and
# 2001:db8:b::/64 the same way, ::1 on the side of R1/R2 towards CLI, ::2
# on theirs towards the DUT, the DUT ::1.) The client is 192.0.2.10 and
# 2001:db8:10::10 and reaches the DUT through R2; the DUT's routing table
# sends the client's network through R1, so its replies would leave by
# d1. The DUT forwards nothing; bpfguard runs on d1 and d2.
labh_setup()
{
	local id=bgh$BATS_TEST_NUMBER-$$ ns
	CLI=$id-cli DUT=$id-dut R1=$id-r1 R2=$id-r2
	labns_add "$CLI" "$DUT" "$R1" "$R2"
	link "$CLI" c1 203.0.113.2/28 "$R1" r1c 203.0.113.1/28 2001:db8:1::2/64 2001:db8:1::1/64
	link "$CLI" c2 203.0.113.18/28 "$R2" r2c 203.0.113.17/28 2001:db8:2::2/64 2001:db8:2::1/64
	link "$R1" r1d 198.51.100.2/28 "$DUT" d1 198.51.100.1/28 2001:db8:a::2/64 2001:db8:a::1/64
	link "$R2" r2d 198.51.100.18/28 "$DUT" d2 198.51.100.17/28 2001:db8:b::2/64 2001:db8:b::1/64
	for ns in "$R1" "$R2"; do
		in_ns "$ns" sysctl -qw net.ipv4.conf.all.forwarding=1 \
			net.ipv6.conf.all.forwarding=1
	done
	ip -n "$CLI" addr add 192.0.2.10/32 dev lo
	ip -n "$CLI" addr add 2001:db8:10::10/128 dev lo nodad
	ip -n "$CLI" route add 198.51.100.0/24 via 203.0.113.17 src 192.0.2.10
	ip -n "$CLI" route add 2001:db8:b::/64 via 2001:db8:2::1 src 2001:db8:10::10
	ip -n "$R1" route add 192.0.2.10/32 via 203.0.113.2
	ip -n "$R1" route add 2001:db8:10::10/128 via 2001:db8:1::2
	ip -n "$R2" route add 192.0.2.10/32 via 203.0.113.18
	ip -n "$R2" route add 2001:db8:10::10/128 via 2001:db8:2::2
	ip -n "$DUT" route add 192.0.2.0/24 via 198.51.100.2
	ip -n "$DUT" route add 2001:db8:10::/48 via 2001:db8:a::2
}

LABH_RULES='set default block
block state invalid label "invalid"
pass inet6 proto icmp6 label "neighbour discovery"
pass on d2 inet proto tcp to port 8080 state new reply-to 198.51.100.18 label "replies through R2"
pass on d2 inet6 proto tcp to port 8080 state new reply-to 2001:db8:b::2 label "replies through R2 (IPv6)"
pass on d2 proto tcp to port 8081 state new label "replies by the routing table"'

# curl_dut URL: the DUT's page, as CLI fetches it.
curl_dut()
{
	in_ns "$CLI" curl -s -g -m 5 "$1"
}

@test "e2e: reply-to for a local socket: the host's own replies leave through the rule's next hop, not by the routing table; conntrack tracks them once" {
	labh_setup
	dut_up d1 --rules "$(ruleset host <<<"$LABH_RULES")"
	dut_up d2
	# tc_route's egress runs first on both uplinks
	for d in d1 d2; do
		[ "$(in_ns "$DUT" tc -j filter show dev "$d" egress pref 5 |
			jq -r '.[].options.prog.name // empty')" = bg_rt_egress ] ||
			fail "no bg_rt_egress on $d"
	done
	start_http "$DUT" 8080
	start_http "$DUT" 8081
	[[ $(in_ns "$DUT" ip route get 192.0.2.10) == *"via 198.51.100.2 dev d1"* ]]
	# The FIB answers only where forwarding is on, for the host's own
	# replies on lo: off, the replies go by the routing table, counted.
	[ "$(curl_dut http://198.51.100.17:8080/)" = hello ]
	(($(fw_counter route_fib_miss) >= 3)) || fail "route_fib_miss $(fw_counter route_fib_miss)"
	[ "$(fw_counter route_sent)" -eq 0 ]
	in_ns "$DUT" sysctl -qw net.ipv4.conf.lo.forwarding=1 net.ipv6.conf.lo.forwarding=1
	misses=$(fw_counter route_fib_miss)
	# R2 unknown to the neighbour table: the first replies wait for it
	# (bpf_redirect_neigh)
	in_ns "$DUT" ip neigh flush dev d2

	capture_start r1 "$R1" r1d tcp src port 8080 or tcp src port 8081
	capture_start r2 "$R2" r2d tcp src port 8080 or tcp src port 8081
	[ "$(curl_dut http://198.51.100.17:8080/)" = hello ] || fail "IPv4 through reply-to"
	[ "$(curl_dut 'http://[2001:db8:b::1]:8080/')" = hello ] || fail "IPv6 through reply-to"
	[ "$(curl_dut http://198.51.100.17:8081/)" = hello ] || fail "by the routing table"
	sleep 0.3
	capture_stop r1 >"$BG_TMP/r1.txt"
	capture_stop r2 >"$BG_TMP/r2.txt"
	# reply-to's replies all reached R2, from d2's MAC to R2's; none R1
	v4=$(grep -c ' 198\.51\.100\.17\.8080 > 192\.0\.2\.10\.' "$BG_TMP/r2.txt")
	v6=$(grep -c ' 2001:db8:b::1\.8080 > 2001:db8:10::10\.' "$BG_TMP/r2.txt")
	((v4 >= 3 && v6 >= 3)) || fail "R2 got: $(cat "$BG_TMP/r2.txt")"
	r2mac=$(ip -n "$R2" -j link show r2d | jq -r '.[0].address')
	d2mac=$(ip -n "$DUT" -j link show d2 | jq -r '.[0].address')
	[ "$(grep -c "^[0-9:.]* $d2mac > $r2mac," "$BG_TMP/r2.txt")" -eq $((v4 + v6)) ] ||
		fail "$(cat "$BG_TMP/r2.txt")"
	! grep -q '\.8080 >' "$BG_TMP/r1.txt" || fail "R1 got: $(cat "$BG_TMP/r1.txt")"
	# the rule without reply-to: its replies by the routing table, R1
	grep -q ' 198\.51\.100\.17\.8081 > 192\.0\.2\.10\.' "$BG_TMP/r1.txt" || fail "R1: $(cat "$BG_TMP/r1.txt")"
	! grep -q '\.8081 >' "$BG_TMP/r2.txt" || fail "R2 got: $(cat "$BG_TMP/r2.txt")"
	# one route_sent per reply; no miss any more
	[ "$(fw_counter route_sent)" -eq $((v4 + v6)) ] ||
		fail "route_sent $(fw_counter route_sent), replies $((v4 + v6)): $(cat "$BG_TMP/r2.txt") R1: $(cat "$BG_TMP/r1.txt")"
	[ "$(fw_counter route_fib_miss)" -eq "$misses" ]
	# conntrack counted each reply once, where it left (d2). The flow is
	# the one whose client port R2 saw: the first fetch's flow (by the
	# routing table) may count as many replies or one more (delayed ACKs)
	sport=$(grep -om1 ' 198\.51\.100\.17\.8080 > 192\.0\.2\.10\.[0-9]*' "$BG_TMP/r2.txt")
	sport=${sport##*.}
	in_ns "$DUT" "$BG_REPO/scripts/conntrack.sh" --json | jq -e --argjson n "$v4" --argjson sp "$sport" '
		[.[] | select(.src == "192.0.2.10" and .dport == 8080)] | length == 2
		and ([.[] | select(.src == "192.0.2.10" and .dport == 8080 and .sport == $sp)
			| .packets.reply] == [$n])' >/dev/null ||
		fail "replies $v4 (port $sport): $(in_ns "$DUT" "$BG_REPO/scripts/conntrack.sh" --json)"
}

@test "e2e: reply-to sends no reply to an address of another of the host's links: a SYN forged in R1's name through R2 gets its SYN-ACK by the routing table" {
	labh_setup
	dut_up d1 --rules "$(ruleset host <<<"$LABH_RULES")"
	dut_up d2
	in_ns "$DUT" sysctl -qw net.ipv4.conf.lo.forwarding=1 net.ipv6.conf.lo.forwarding=1
	start_http "$DUT" 8080
	capture_start r1 "$R1" r1d tcp src port 8080
	capture_start r2 "$R2" r2d tcp src port 8080
	# From R2's side, a SYN in the name of 198.51.100.2 (R1, directly on
	# d1's link): the rule passes it and conntrack opens its flow (the
	# DUT forwards nothing: no reverse-path answer), but reply-to would
	# hand the forger the SYN-ACK and with it a session in R1's name.
	in_ns "$R2" hping3 -q -c 1 -S -p 8080 -s 40123 -k -a 198.51.100.2 \
		198.51.100.17 >/dev/null 2>&1 || true
	# A real client through R2 is still answered through R2.
	[ "$(curl_dut http://198.51.100.17:8080/)" = hello ] || fail "client through R2"
	sleep 0.3
	capture_stop r1 >"$BG_TMP/r1.txt"
	capture_stop r2 >"$BG_TMP/r2.txt"
	grep -q ' 198\.51\.100\.17\.8080 > 198\.51\.100\.2\.40123: Flags \[S\.\]' "$BG_TMP/r1.txt" ||
		fail "no SYN-ACK to R1: $(cat "$BG_TMP/r1.txt")"
	! grep -q ' > 198\.51\.100\.2\.' "$BG_TMP/r2.txt" || fail "R2 got: $(cat "$BG_TMP/r2.txt")"
	grep -q ' 198\.51\.100\.17\.8080 > 192\.0\.2\.10\.' "$BG_TMP/r2.txt" ||
		fail "the client's replies: $(cat "$BG_TMP/r2.txt")"
	(($(fw_counter route_skipped) >= 1)) || fail "route_skipped $(fw_counter route_skipped)"
}
