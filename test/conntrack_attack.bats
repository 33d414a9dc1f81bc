#!/usr/bin/env bats
# End to end, through the real stack: forged packets against connection
# tracking and the firewall's phase 0. A gateway lab of three namespaces:
#
#   $OUT  oA0 198.51.100.10 2001:db8:2::10   the attacker, on the wire
#   $DUT  dut0 198.51.100.1 2001:db8:2::1    bpfguard here (outside)
#         dut1 203.0.113.1  2001:db8:3::1    forwarding to the inside
#   $IN   iN0 203.0.113.10  2001:db8:3::10   a host behind the gateway

load lib/common

ATTACK=$BG_REPO/test/lib/attack.py

setup()
{
	bpffs_setup
	gw_lab_setup "atk$BATS_TEST_NUMBER-$$"
	# No reverse-path filter in the lab: the firewall must hold by itself.
	in_ns "$DUT" sysctl -qw net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.dut0.rp_filter=0
	DUTMAC=$(in_ns "$DUT" ip -j link show dut0 | jq -r '.[0].address')
}

teardown()
{
	gw_lab_teardown
	netns_del "${CLI:-}"
	bpffs_teardown
}

# up.sh on dut0 with the ruleset on stdin (and options $@).
up_dut()
{
	local f
	f=$(ruleset rules)
	run in_ns "$DUT" "$BG_REPO/scripts/up.sh" dut0 --rules "$f" "$@"
	[ "$status" -eq 0 ] || fail "up.sh: $output"
}

# Listen on UDP port 161 in NS until listen_end, after sending a query
# from it to $3:$4 if given; output in $BG_TMP/NAME.udp
listen161()
{
	local ns=$1 name=$2 i
	UDP_LISTEN_STOP=$BG_TMP/listen.stop in_ns "$ns" /usr/bin/python3 \
		"$ATTACK" udp-listen 161 60 ${3:+"$3" "$4"} \
		>"$BG_TMP/$name.udp" 2>&1 3>&- &
	for i in $(seq 100); do
		grep -q listening "$BG_TMP/$name.udp" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "no UDP listener in $ns"
}

# Every datagram is sent: a second for the last ones to arrive, then the
# listeners stop and report.
listen_end()
{
	sleep 1
	touch "$BG_TMP/listen.stop"
	wait
	rm -f "$BG_TMP/listen.stop"
}

# The forged first packet V:161 -> A:53, then A's "reply" A:53 -> V:161.
udp_attack()
{
	local victim=$1 attacker=$2
	in_ns "$OUT" /usr/bin/python3 "$ATTACK" spoof oA0 "$DUTMAC" \
		"$victim" 161 "$attacker" 53 udp
	sleep 0.2
	in_ns "$OUT" /usr/bin/python3 "$ATTACK" udp-send 53 "$victim" 161
}

@test "a forged first UDP packet opens no pinhole: the host, v4 and v6" {
	# Control: without bpfguard the "reply" reaches the listener.
	listen161 "$DUT" control
	udp_attack 198.51.100.1 198.51.100.10
	listen_end
	grep -q "^got 198.51.100.10 53" "$BG_TMP/control.udp" ||
		fail "control: nothing reached the listener: $(cat "$BG_TMP/control.udp")"
	up_dut <<-'EOF'
		set default block
		pass proto udp to port 53
	EOF
	listen161 "$DUT" host
	udp_attack 198.51.100.1 198.51.100.10
	udp_attack 2001:db8:2::1 2001:db8:2::10
	listen_end
	cat "$BG_TMP/host.udp"
	grep -q "^done 0" "$BG_TMP/host.udp" ||
		fail "a forged flow let A's datagram through: $(cat "$BG_TMP/host.udp")"
	run in_ns "$DUT" "$BG_REPO/scripts/status.sh" --json
	jq -c '.counters, .conntrack.counters' <<<"$output"
	# Dropped by XDP (no flow, no rule passes port 161), never passed
	# as established.
	jq -e '.counters.drop >= 2 and .counters.ct_pass == 0' <<<"$output"
	# The forged packets opened no flow at all: their source is the
	# host's own (up.sh put its addresses in bg_ct_local).
	jq -e '.conntrack.counters.spoofed >= 2' <<<"$output"
	no_flow_on 161
}

@test "an unprivileged user sending from a foreign address (IPV6_FREEBIND) teaches conntrack nothing" {
	up_dut <<-'EOF'
		set default block
		block state invalid
		pass proto tcp to port 22
	EOF
	# As nobody, UDP from 2001:db8:2::10 (A's address, not the DUT's)
	# out of dut0: IPv6 lets any user send from an address that is not
	# the host's (IPv4 refuses it without CAP_NET_ADMIN). Had it been
	# learnt as the host's own, A's SYNs would open no flow and "block
	# state invalid" would drop them.
	in_ns "$DUT" setpriv --reuid=65534 --regid=65534 --clear-groups \
		/usr/bin/python3 -c '
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, 78, 1)  # IPV6_FREEBIND
s.bind(("2001:db8:2::10", 4444))
s.sendto(b"x", ("2001:db8:2::10", 53))'
	sleep 0.2
	run in_ns "$DUT" "$BG_REPO/scripts/status.sh" --json
	jq -e '.conntrack.counters.created >= 1' <<<"$output" >/dev/null ||
		fail "the forged datagram did not even leave: $(jq -c .conntrack <<<"$output")"
	run bpftool -j map dump pinned "$FW_BPFFS/tc/globals/bg_ct_local"
	[ "$status" -eq 0 ]
	local a_key own_key
	a_key='["0x20","0x01","0x0d","0xb8","0x00","0x02","0x00","0x00","0x00","0x00","0x00","0x00","0x00","0x00","0x00","0x10"]'
	own_key='["0x20","0x01","0x0d","0xb8","0x00","0x02","0x00","0x00","0x00","0x00","0x00","0x00","0x00","0x00","0x00","0x01"]'
	jq -e --argjson k "$a_key" 'all(.[]; .key[4:20] != $k)' <<<"$output" >/dev/null ||
		fail "2001:db8:2::10 was learnt as local: $output"
	# The host's own address is there (up.sh put it in).
	jq -e --argjson k "$own_key" 'any(.[]; .key[4:20] == $k)' <<<"$output" >/dev/null ||
		fail "2001:db8:2::1 is not in bg_ct_local: $output"
	# A's connection still opens a flow and works.
	in_ns "$DUT" /usr/bin/python3 -c '
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("2001:db8:2::1", 22)); s.listen(1)
c, _ = s.accept(); c.sendall(b"hello"); c.close()' 3>&- &
	wait_port "$DUT" 22
	run in_ns "$OUT" /usr/bin/python3 -c '
import socket
s = socket.create_connection(("2001:db8:2::1", 22), timeout=5)
print(s.recv(5).decode())'
	[ "$status" -eq 0 ] && [ "$output" = hello ] || fail "A could not connect: $output"
	wait
}

# Fails when conntrack in $DUT lists a flow with port $1 on either side.
no_flow_on()
{
	local flows
	flows=$(in_ns "$DUT" "$BG_REPO/scripts/conntrack.sh" --json) ||
		fail "conntrack.sh: $flows"
	jq -e --argjson p "$1" 'all(.[]; .sport != $p and .dport != $p)' \
		<<<"$flows" >/dev/null || fail "a forged flow is tracked: $flows"
}

@test "a forged first UDP packet opens no pinhole: a host behind the gateway, v4 and v6" {
	listen161 "$IN" control
	udp_attack 203.0.113.10 198.51.100.10
	listen_end
	grep -q "^got 198.51.100.10 53" "$BG_TMP/control.udp" ||
		fail "control: nothing reached the inside: $(cat "$BG_TMP/control.udp")"
	up_dut <<-'EOF'
		set default block
		pass proto udp to port 53
	EOF
	listen161 "$IN" inside
	udp_attack 203.0.113.10 198.51.100.10
	udp_attack 2001:db8:3::10 2001:db8:2::10
	listen_end
	cat "$BG_TMP/inside.udp"
	grep -q "^done 0" "$BG_TMP/inside.udp" ||
		fail "a forged flow let A's datagram in: $(cat "$BG_TMP/inside.udp")"
	# A real query from the inside still gets its answer.
	listen161 "$IN" real 198.51.100.10 53
	in_ns "$OUT" /usr/bin/python3 "$ATTACK" udp-send 53 203.0.113.10 161
	listen_end
	grep -q "^got 198.51.100.10 53" "$BG_TMP/real.udp" ||
		fail "the answer to a real query was lost: $(cat "$BG_TMP/real.udp")"
}

@test "a gateway (strict reverse path, the default): a forged inside source opens no flow, v4 and v6, UDP and TCP" {
	# The lab's kernel filters nothing (rp_filter 0): conntrack asks a
	# new flow's source to be routed back through the interface it came
	# in on (for IPv6 too, where the kernel has no such filter).
	up_dut <<-'EOF'
		set default block
		pass proto udp to port 53
		pass proto tcp to port 443
	EOF
	listen161 "$IN" inside
	udp_attack 203.0.113.10 198.51.100.10
	udp_attack 2001:db8:3::10 2001:db8:2::10
	listen_end
	grep -q "^done 0" "$BG_TMP/inside.udp" ||
		fail "a forged flow let A's datagram in: $(cat "$BG_TMP/inside.udp")"
	tcp_attack 203.0.113.10 198.51.100.10
	tcp_attack 2001:db8:3::10 2001:db8:2::10
	run in_ns "$DUT" "$BG_REPO/scripts/status.sh" --json
	jq -c '.conntrack.counters' <<<"$output"
	jq -e '.conntrack.counters.spoofed >= 4' <<<"$output" >/dev/null ||
		fail "not counted as spoofed: $(jq -c .conntrack.counters <<<"$output")"
	no_flow_on 161
	no_flow_on 5432
	# The inside host's real flows, which do come from its side, open
	# and get their answers.
	listen161 "$IN" real 198.51.100.10 53
	in_ns "$OUT" /usr/bin/python3 "$ATTACK" udp-send 53 203.0.113.10 161
	listen_end
	grep -q "^got 198.51.100.10 53" "$BG_TMP/real.udp" ||
		fail "the answer to a real query was lost: $(cat "$BG_TMP/real.udp")"
}

@test "--reverse-path loose: a forged inside source opens a flow bound to the outside, no reply gets in" {
	run in_ns "$DUT" "$BG_REPO/scripts/up.sh" dut0 --reverse-path sideways
	[ "$status" -ne 0 ]
	[[ $output == *"--reverse-path must be strict or loose, not 'sideways'"* ]] || fail "$output"
	up_dut --reverse-path loose <<-'EOF'
		set default block
		pass proto udp to port 53
	EOF
	listen161 "$IN" inside
	udp_attack 203.0.113.10 198.51.100.10
	listen_end
	grep -q "^done 0" "$BG_TMP/inside.udp" ||
		fail "a forged flow let A's datagram in: $(cat "$BG_TMP/inside.udp")"
	run in_ns "$DUT" "$BG_REPO/scripts/conntrack.sh" --json
	local out
	out=$(in_ns "$DUT" ip -j link show dut0 | jq '.[0].ifindex')
	# Loose: such a packet (which the stack takes, rp_filter 0) is
	# tracked, as the flow of the side it came from only.
	jq -e --argjson o "$out" 'any(.[]; .sport == 161 and .src == "203.0.113.10"
		and .iface.orig == $o and .iface.reply != $o)' <<<"$output" ||
		fail "no bound entry: $output"
}

# Capture TCP port $3 on IFACE $2 in NS $1 into $BG_TMP/$4.pcap; waits
# until tcpdump listens. Stop with stop_capture.
capture()
{
	local i
	in_ns "$1" tcpdump -i "$2" -U --immediate-mode -n -w "$BG_TMP/$4.pcap" \
		"tcp port $3" 2>"$BG_TMP/$4.err" 3>&- &
	CAPTURES+=("$!")
	for i in $(seq 50); do
		grep -q "listening on" "$BG_TMP/$4.err" && return 0
		sleep 0.1
	done
	fail "tcpdump did not start: $(cat "$BG_TMP/$4.err")"
}

stop_capture()
{
	local p
	sleep 0.3
	for p in "${CAPTURES[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	CAPTURES=()
}

# Packets in capture $1 (matching the filter $2, if any).
captured()
{
	tcpdump -n -r "$BG_TMP/$1.pcap" ${2:+"$2"} 2>/dev/null | wc -l
}

tcp_attack()
{
	local victim=$1 attacker=$2
	in_ns "$OUT" /usr/bin/python3 "$ATTACK" spoof oA0 "$DUTMAC" \
		"$victim" 5432 "$attacker" 443 syn 1000
	sleep 0.2
	in_ns "$OUT" /usr/bin/python3 "$ATTACK" spoof oA0 "$DUTMAC" \
		"$attacker" 443 "$victim" 5432 synack 7000 1001
}

@test "a forged SYN opens no pinhole for the SYN+ACK: the host and a host behind the gateway, v4 and v6" {
	up_dut <<-'EOF'
		set default block
		pass proto tcp to port 443
	EOF
	CAPTURES=()
	# What XDP passes is what a capture on the device under test sees;
	# what the gateway forwards, a capture on the inside host.
	capture "$DUT" dut0 5432 host
	capture "$IN" iN0 5432 inside
	tcp_attack 198.51.100.1 198.51.100.10
	tcp_attack 2001:db8:2::1 2001:db8:2::10
	tcp_attack 203.0.113.10 198.51.100.10
	tcp_attack 2001:db8:3::10 2001:db8:2::10
	stop_capture
	tcpdump -n -r "$BG_TMP/host.pcap" 2>/dev/null
	tcpdump -n -r "$BG_TMP/inside.pcap" 2>/dev/null
	# The forged SYNs themselves pass (the rule allows port 443); no
	# SYN+ACK from A may.
	(($(captured host 'tcp src port 443') == 0)) ||
		fail "SYN+ACKs reached the host"
	(($(captured inside 'tcp src port 443') == 0)) ||
		fail "SYN+ACKs reached the inside"
	(($(captured host) >= 4)) || fail "the forged SYNs were not even seen"
}

# The two-namespace lab of test/lib/common.bash for the blind RST test.
rst_lab()
{
	netns_del "$OUT"
	netns_del "$IN"
	netns_del "$DUT"
	LAB_ID=rst$BATS_TEST_NUMBER-$$
	lab_setup
}

@test "blind RSTs: 10,000 forged RSTs with random sequence numbers do not close a live transfer" {
	rst_lab
	local f port out n
	f=$(ruleset rst <<-'EOF'
		set default block
		block state invalid label "invalid"
		pass proto tcp to port 5000 state new
	EOF
	)
	run up dut0 --rules "$f"
	[ "$status" -eq 0 ] || fail "up.sh: $output"
	in_dut /usr/bin/python3 "$ATTACK" bulk-server 5000 >"$BG_TMP/server.out" 2>&1 3>&- &
	local server=$!
	wait_port "$DUT" 5000
	# 3 MB/s until told to stop: a window of megabytes, open all the
	# time the forged RSTs take to arrive, however long that is.
	in_cli /usr/bin/python3 "$ATTACK" bulk-client 192.0.2.1 5000 3000000 \
		"$BG_TMP/stop" >"$BG_TMP/client.out" 2>&1 3>&- &
	local client=$!
	sleep 2
	port=$(in_cli ss -Htn state established '( dport = :5000 )' |
		awk '{ n = split($3, a, ":"); print a[n] }' | head -1)
	[[ -n $port ]] || fail "no connection to port 5000"
	mac=$(in_dut ip -j link show dut0 | jq -r '.[0].address')
	in_cli /usr/bin/python3 "$ATTACK" rst-flood cli0 "$mac" 192.0.2.10 "$port" \
		192.0.2.1 5000 10000
	in_dut "$BG_REPO/scripts/conntrack.sh" --json |
		jq -e --argjson p "$port" '[.[] | select(.sport == $p and .state == "established")] | length == 1' ||
		fail "the flow is no longer established: $(in_dut "$BG_REPO/scripts/conntrack.sh")"
	# Still sending after the flood, then every byte arrives.
	sleep 1
	touch "$BG_TMP/stop"
	wait "$client" || fail "client: $(cat "$BG_TMP/client.out")"
	wait "$server" || fail "server: $(cat "$BG_TMP/server.out")"
	out=$(cat "$BG_TMP/client.out")
	n=$(cat "$BG_TMP/server.out")
	echo "client: $out, server received: $n"
	[[ $out == "sent $n" ]] && ((n > 6000000)) || fail "transfer cut short"
	run status_json
	jq -c '.counters, .conntrack.counters' <<<"$output"
}
