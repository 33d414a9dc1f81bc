#!/usr/bin/env bats
# bg_syncookie_answer() (headers/bg_syncookie.h) through the test program
# test/progs/xdp_syncookie_test.c: SYN cookie SYN-ACKs built in place and
# sent back from XDP, for listeners of the namespace.
#
# BPF_PROG_TEST_RUN runs the program on the loopback of the namespace it is
# called from, so the cases run inside the DUT namespace, where a listener
# waits on port 8080 (test/lib/syncookie.py checks every field and both
# checksums with scapy). The end-to-end tests attach the program to the
# DUT's veth and fetch a page with curl: the handshake must go through the
# cookie path, which the program's counter and the DUT's TcpExt counters
# prove (SyncookiesRecv up, SyncookiesSent still 0: the kernel itself never
# saw the SYN).

load lib/common

SC=$BG_REPO/test/lib/syncookie.py
OBJ=$BG_BUILD/test/xdp_syncookie_test.o

setup()
{
	bpffs_setup
	LAB_ID=$$-$BATS_TEST_NUMBER
	lab_setup
}

teardown()
{
	lab_teardown
	bpffs_teardown
}

# Load the program unattached into the private bpffs: $FW_BPFFS/sc, its
# counters at $FW_BPFFS/sc_stats.
sc_load()
{
	local id
	bpftool prog load "$OBJ" "$FW_BPFFS/sc" type xdp
	id=$(bpftool -j prog show pinned "$FW_BPFFS/sc" | jq '.map_ids[0]')
	bpftool map pin id "$id" "$FW_BPFFS/sc_stats"
}

# A bare listener in the DUT on port 8080 with listen(BACKLOG).
sc_listen()
{
	ns_spawn "$DUT" "$PY" "$SC" listen 8080 "$1"
	wait_port "$DUT" 8080
}

sc_syncookies()
{
	in_dut sysctl -qw net.ipv4.tcp_syncookies="$1"
}

# sc_cases CASE...: each must give its verdict, frame and counter.
sc_cases()
{
	local c
	for c in "$@"; do
		run in_dut "$PY" "$SC" run "$FW_BPFFS/sc" "$FW_BPFFS/sc_stats" "$c"
		[ "$status" -eq 0 ] || fail "$output"
		[[ $output == "ok $c "* ]] || fail "$output"
	done
}

# TcpExt counter NAME of the DUT namespace.
tcpext()
{
	in_dut awk -v n="$1" '$1 == "TcpExt:" {
		if (!h) { for (i = 2; i <= NF; i++) f[$i] = i; h = 1; next }
		print $f[n] }' /proc/net/netstat
}

# Counter IDX of the program attached to dut0.
attached_count()
{
	local prog map
	prog=$(in_dut ip -j -d link show dev dut0 | jq '.[0].xdp.prog.id')
	for map in $(bpftool -j prog show id "$prog" | jq '.map_ids[]'); do
		[[ $(bpftool -j map show id "$map" | jq -r .name) == bg_test_sc_* ]] ||
			continue
		bpftool -j map lookup id "$map" key "$1" 0 0 0 |
			jq '.formatted.value // (.value | map(tonumber) |
				to_entries | map(.value * pow(256; .key)) | add)'
		return 0
	done
	fail "no counters on dut0's program"
}

@test "syncookie: a SYN to a listener gets a correct cookie SYN-ACK (IPv4, IPv6, VLAN, payload, padding)" {
	sc_syncookies 2
	sc_load
	sc_listen 16
	sc_cases v4 v6 v4-vlan v6-vlan v4-noopt v4-payload v6-payload v4-padded
}

@test "syncookie: no listener, not a pure SYN, truncated: XDP_PASS and the frame unchanged" {
	sc_syncookies 2
	sc_load
	sc_listen 16
	sc_cases v4-noport v6-noport v4-synack v6-synack v4-synrst v4-synfin \
		v4-rst v4-trunc v6-trunc v4-baddoff
}

@test "syncookie: IPv4 options, IPv6 extension headers, multicast and broadcast: passed to the stack" {
	sc_syncookies 2
	sc_load
	sc_listen 16
	sc_cases v4-ipopt v6-ext v4-mcast-src v4-bcast-mac v6-mcast-dst
}

@test "syncookie: on a router, a SYN passing through is not answered by a wildcard listener" {
	sc_syncookies 2
	in_dut sysctl -qw net.ipv4.conf.all.forwarding=1
	in_dut sysctl -qw net.ipv6.conf.all.forwarding=1
	in_dut ip route add 198.51.100.0/24 via 192.0.2.10
	in_dut ip route add 2001:db8:2::/64 via 2001:db8:1::10
	sc_load
	sc_listen 16
	sc_cases v4-transit v6-transit v4-router v6-router
}

@test "syncookie: tcp_syncookies=0: the helper refuses, the SYN passes" {
	sc_syncookies 0
	sc_load
	sc_listen 16
	sc_cases v4-refused v6-refused
}

# sc_fill N: N half-open requests in the SYN queue of the listener on 8080
# (SYNs from the client side whose SYN-ACKs nobody answers). Their sources
# get a permanent neighbour entry nobody holds: an unresolved one would
# fail after 3 s, and the ICMP host unreachable the kernel then sends
# itself takes the requests out of the queue (tcp_req_err()).
sc_fill()
{
	local mac i
	mac=$(in_dut ip -j link show dev dut0 | jq -r ".[0].address")
	for ((i = 0; i < $1; i++)); do
		in_dut ip neigh replace "192.0.2.$((50 + i))" \
			lladdr 02:00:00:00:00:99 dev dut0 nud permanent
	done
	in_cli "$PY" "$SC" fill cli0 "$mac" "$1"
	for i in $(seq 50); do
		(($(in_dut ss -Htn state syn-recv "sport = :8080" | wc -l) >= $1)) &&
			return 0
		sleep 0.1
	done
	fail "the SYN queue holds $(in_dut ss -Htn state syn-recv | wc -l), not $1"
}

@test "syncookie: tcp_syncookies=1: cookies only once the listener's SYN queue is full" {
	sc_syncookies 1
	sc_load
	sc_listen 2
	# Room in the SYN queue: the kernel would queue the request itself,
	# and tcp_get_syncookie_mss() refuses.
	sc_cases v4-refused v6-refused
	# Full (3 requests > listen(2), as a flood makes it): cookies.
	sc_fill 3
	sc_cases v4 v6
}

# e2e_setup SYSCTL BACKLOG: an HTTP server in the DUT with listen(BACKLOG)
# and tcp_syncookies=SYSCTL, the program on dut0.
e2e_setup()
{
	sc_syncookies "$1"
	mkdir -p "$BG_TMP/www"
	echo hello >"$BG_TMP/www/index.html"
	ns_spawn "$DUT" "$PY" "$SC" http 8080 "$2" "$BG_TMP/www"
	wait_port "$DUT" 8080
	in_dut ip link set dev dut0 xdpdrv obj "$OBJ" sec xdp
	# XDP_TX into a veth needs an XDP program on its peer.
	in_cli ip link set dev cli0 xdpdrv obj "$BG_BUILD/bench/xdp_noop.o" sec xdp
}

# e2e_fetch FAMILY: curl fetches the page; the handshake must have gone
# through the cookie path: the program sent a SYN-ACK, the kernel
# validated a cookie and never sent one of its own.
e2e_fetch()
{
	local host recv0 recv1 tx0 tx1 page
	recv0=$(tcpext SyncookiesRecv)
	tx0=$(attached_count 0)
	if [ "$1" = 4 ]; then host=192.0.2.1; else host='[2001:db8:1::1]'; fi
	page=$(in_cli curl -sS -g --max-time 10 "http://$host:8080/index.html" 2>&1) ||
		fail "curl: $page"
	[ "$page" = hello ] || fail "page: $page"
	recv1=$(tcpext SyncookiesRecv)
	tx1=$(attached_count 0)
	[ "$tx1" -gt "$tx0" ] || fail "no cookie SYN-ACK sent by XDP ($tx0 -> $tx1)"
	[ "$recv1" -gt "$recv0" ] ||
		fail "TcpExtSyncookiesRecv did not go up ($recv0 -> $recv1)"
	[ "$(tcpext SyncookiesSent)" -eq 0 ] ||
		fail "the kernel sent cookies itself: $(tcpext SyncookiesSent)"
	[ "$(tcpext SyncookiesFailed)" -eq 0 ] ||
		fail "the kernel rejected cookies: $(tcpext SyncookiesFailed)"
}

@test "syncookie e2e: curl over IPv4, handshake through the XDP cookie (tcp_syncookies=2)" {
	e2e_setup 2 5
	e2e_fetch 4
}

@test "syncookie e2e: curl over IPv6, handshake through the XDP cookie (tcp_syncookies=2)" {
	e2e_setup 2 5
	e2e_fetch 6
}

@test "syncookie e2e: tcp_syncookies=1 and a full SYN queue, IPv4 and IPv6" {
	e2e_setup 1 2
	sc_fill 3
	e2e_fetch 4
	e2e_fetch 6
}
