#!/usr/bin/env bats
# The rate limiter end to end: bpfguard on a DUT namespace with two client
# namespaces, a flooder (over a two-queue veth, its packets judged on both
# CPUs) and a legitimate client, real tools (hping3, curl), the scripts as
# an operator runs them.

load lib/common

setup()
{
	bpffs_setup
	local id=$BATS_TEST_NUMBER-$$
	DUT=bgrl-$id-dut FLD=bgrl-$id-fld CLI=bgrl-$id-cli
	ip netns add "$DUT"
	ip netns add "$FLD"
	ip netns add "$CLI"
	# Two queues each way: the flood's packets are spread over both RX
	# queues of d0, whose NAPI runs on the CPU of the sender.
	ip -n "$DUT" link add name d0 numtxqueues 2 numrxqueues 2 type veth \
		peer name f0 numtxqueues 2 numrxqueues 2 netns "$FLD"
	ip -n "$DUT" link add name d1 type veth peer name c0 netns "$CLI"
	ip -n "$DUT" addr add 192.0.2.1/24 dev d0
	ip -n "$FLD" addr add 192.0.2.66/24 dev f0
	ip -n "$DUT" addr add 198.51.100.1/24 dev d1
	ip -n "$CLI" addr add 198.51.100.10/24 dev c0
	for ns in "$DUT" "$FLD" "$CLI"; do
		ip -n "$ns" link set lo up
	done
	ip -n "$DUT" link set d0 up
	ip -n "$DUT" link set d1 up
	ip -n "$FLD" link set f0 up
	ip -n "$CLI" link set c0 up
}

teardown()
{
	netns_del "$FLD"
	netns_del "$CLI"
	netns_del "$DUT"
	lock_teardown
	bpffs_teardown
}

# Policy 1 of the running ruleset: "PACKETS OVER NOW_NS", its counters
# summed over CPUs and the clock right after reading them.
pol1_counts()
{
	local gen slot
	gen=$(bpftool -j map lookup pinned "$FW_BPFFS/tc/globals/bg_fw_active" \
		key 0 0 0 0 | jq '.formatted.value.gen')
	slot=$((gen * 257 + 1))
	bpftool -j map lookup pinned "$FW_BPFFS/tc/globals/bg_rl_pstats" \
		key $((slot & 255)) $((slot >> 8)) 0 0 |
		jq -j '[([.formatted.values[].value.packets] | add),
			([.formatted.values[].value.over] | add)] | "\(.[0]) \(.[1]) "'
	date +%s%N
}

rl_status()
{
	in_dut "$BG_REPO/scripts/status.sh" --json
}

# cookie_lab NAME < RULESET: up.sh on d1 with it, the kernel handing out
# cookies for every SYN (tcp_syncookies=2), an HTTP server on the DUT's
# port 8080, and the client ready for answers sent with XDP_TX.
cookie_lab()
{
	local rules
	rules=$(ruleset "$1")
	run up d1 --rules "$rules"
	[ "$status" -eq 0 ] || fail "$output"
	in_dut sysctl -qw net.ipv4.tcp_syncookies=2
	# XDP_TX into a veth needs an XDP program on its peer.
	in_ns "$CLI" ip link set dev c0 xdpdrv obj "$BG_BUILD/bench/xdp_noop.o" sec xdp
	start_http "$DUT" 8080
}

# fetch_n N: how many of N requests from the client got the DUT's page.
fetch_n()
{
	local ok=0
	for _ in $(seq "$1"); do
		[[ $(in_ns "$CLI" curl -s -m 3 http://198.51.100.1:8080/) == hello ]] &&
			ok=$((ok + 1))
	done
	echo "$ok"
}

@test "a flood is held to its rate over two CPUs while a client elsewhere keeps working" {
	(($(nproc) >= 2)) || fail "needs two CPUs, this machine has $(nproc)"
	rules=$(ruleset flood <<-'EOF'
		set default pass
		ratelimit inet proto udp to 192.0.2.1 port 9999 rate 2000/second burst 200 per-source label "udp-9999"
	EOF
	)
	run up d0 --rules "$rules"
	[ "$status" -eq 0 ] || fail "$output"
	run up d1 --rules "$rules"
	[ "$status" -eq 0 ] || fail "$output"
	start_http "$DUT" 8080
	# One hping3 per CPU, from one source, until the operator's view was
	# read below (30 s at most); meanwhile a client on the other link asks
	# 100 times.
	pids=() floods=()
	for cpu in 0 1; do
		in_ns "$FLD" timeout 30 taskset -c "$cpu" hping3 --udp --flood \
			-p 9999 -d 32 192.0.2.1 >/dev/null 2>&1 3>&- &
		floods+=($!)
	done
	(
		ok=0
		for _ in $(seq 100); do
			[[ $(in_ns "$CLI" curl -s -m 3 http://198.51.100.1:8080/) == hello ]] &&
				ok=$((ok + 1))
		done
		echo "$ok" >"$BG_TMP/ok"
	) 3>&- &
	pids+=($!)
	# What the policy admits over 2 s in the middle of the flood (its
	# burst spent by then): the rate, +-10%, however many CPUs.
	sleep 1
	read -r p0 o0 t0 < <(pol1_counts)
	sleep 2
	read -r p1 o1 t1 < <(pol1_counts)
	# The operator's view while the flood lasts: once it ends, the sweep
	# may take the talker's entry (idle, its bucket full again) at any
	# moment, on a busy machine between two status.sh runs.
	st=$(rl_status)
	run in_dut "$BG_REPO/scripts/status.sh"
	[ "$status" -eq 0 ] || fail "$output"
	text=$output
	# The floods are all that runs in $FLD.
	# shellcheck disable=SC2046 # one pid a word
	kill $(ip netns pids "$FLD") 2>/dev/null || true
	# Not a bare wait: the HTTP server is a child too.
	wait "${floods[@]}" || true
	wait "${pids[@]}"
	ok=$(<"$BG_TMP/ok")
	((ok >= 99)) || fail "only $ok of 100 requests succeeded during the flood"
	admitted=$(((p1 - o1) - (p0 - o0)))
	due=$(((t1 - t0) * 2000 / 1000000000))
	(((o1 - o0) > 10 * admitted)) || fail "the flood was not limited: $((p1 - p0)) packets, $((o1 - o0)) over"
	((admitted * 10 >= due * 9 && admitted * 10 <= due * 11)) ||
		fail "admitted $admitted in $(((t1 - t0) / 1000000)) ms, due $due +-10%"
	# The flood's packets went through both CPUs.
	seen=$(bpftool -j map lookup pinned "$FW_BPFFS/tc/globals/bg_rl_stats" key 0 0 0 0 |
		jq -c '[.formatted.values[].value]')
	jq -e 'add as $t | map(select(. > $t / 10)) | length >= 2' <<<"$seen" >/dev/null ||
		fail "packets per CPU: $seen"
	# The operator's view: the policy with its counts, the top talker.
	jq -e '.ratelimit.top[0].source == "192.0.2.66" and .ratelimit.top[0].over > 0
		and .ratelimit.policies[0].id == 1 and (.ratelimit.policies[0].text | test("rate 2000/second"))
		and .ratelimit.counters.drop > 0' <<<"$st" >/dev/null || fail "$st"
	[[ $text == *"%1 ratelimit "*"packets"* ]] || fail "$text"
	[[ $text == *"top talkers: 192.0.2.66 (policy 1)"* ]] || fail "$text"
}

@test "the limiter's result reaches conntrack through the metadata; down takes it all away" {
	rules=$(ruleset meta <<-'EOF'
		set default pass
		ratelimit inet proto tcp to any port 8080 rate 100/second per-source
	EOF
	)
	run up d1 --rules "$rules"
	[ "$status" -eq 0 ] || fail "$output"
	start_http "$DUT" 8080
	[[ $(in_ns "$CLI" curl -s -m 3 http://198.51.100.1:8080/) == hello ]]
	pass=$("$BG_BUILD/bg-abi" | jq '.enums.bg_rl_verdict.BG_RL_V_PASS')
	run in_dut "$BG_REPO/scripts/conntrack.sh" --json
	[ "$status" -eq 0 ] || fail "$output"
	jq -e --argjson v "$pass" '[.[] | select(.dport == 8080 and .src == "198.51.100.10")]
		| length >= 1 and all(.xdp_status % 256 == $v)' <<<"$output" >/dev/null ||
		fail "$output"
	run in_dut "$BG_REPO/scripts/status.sh" --json
	jq -e '.xdp_chain[0].prog_id != null and .xdp_chain[0].name == "ratelimit"' <<<"$output" >/dev/null ||
		fail "$output"
	run down d1
	[ "$status" -eq 0 ] || fail "$output"
	for p in "$FW_BPFFS"/tc/globals/bg_rl_*; do
		[[ ! -e $p ]] || fail "pins left: $(ls "$FW_BPFFS/tc/globals")"
	done
}

@test "a spoofed SYN flood: XDP answers with cookies, a real client keeps connecting, the listener never overflows" {
	(($(nproc) >= 2)) || fail "needs two CPUs, this machine has $(nproc)"
	# up.sh sets tcp_syncookies from 0 to 1 for a ruleset with cookies.
	in_dut sysctl -qw net.ipv4.tcp_syncookies=0
	rules=$(ruleset syn <<-'EOF'
		set default pass
		set syn-flood rate 100000/second global 100/second cookies on
	EOF
	)
	run up d0 --rules "$rules"
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output == *"tcp_syncookies was 0: set to 1"* ]] || fail "$output"
	[ "$(in_dut sysctl -n net.ipv4.tcp_syncookies)" = 1 ]
	run up d1 --rules "$rules"
	[ "$status" -eq 0 ] || fail "$output"
	# With 1 the kernel cookies only a listener whose SYN queue is full,
	# which conntrack's state limit keeps this flood from filling: 2,
	# every SYN above the global rate (README, "The rate limiter").
	in_dut sysctl -qw net.ipv4.tcp_syncookies=2
	start_http "$DUT" 8080
	in_dut nstat -n
	# Random IPv4 sources, inside the lab only: the cookie SYN-ACKs go
	# back to the flooder's namespace, which has none of the addresses.
	in_ns "$FLD" timeout 4 taskset -c 1 hping3 -S --flood --rand-source \
		-p 8080 192.0.2.1 >/dev/null 2>&1 3>&- &
	flood=$!
	sleep 1
	ok=0
	for _ in $(seq 50); do
		[[ $(in_ns "$CLI" curl -s -m 3 http://198.51.100.1:8080/) == hello ]] &&
			ok=$((ok + 1))
	done
	wait "$flood" || true # timeout ends it: 124
	((ok >= 49)) || fail "only $ok of 50 requests succeeded during the SYN flood"
	st=$(rl_status)
	sent=$(jq '.ratelimit.counters.cookie_sent' <<<"$st")
	((sent > 1000)) || fail "cookie SYN-ACKs sent: $sent: $st"
	stats=$(in_dut nstat -az TcpExtSyncookiesRecv TcpExtListenOverflows TcpExtListenDrops)
	recv=$(awk '$1 == "TcpExtSyncookiesRecv" { print $2 }' <<<"$stats")
	overflows=$(awk '$1 == "TcpExtListenOverflows" { print $2 }' <<<"$stats")
	# The client's handshakes completed through the cookies (the flood's
	# never do: its sources cannot answer), and the accept queue never
	# overflowed.
	((recv >= 1)) || fail "no cookie ACK came back: $stats"
	((overflows == 0)) || fail "the listener overflowed: $stats"
}

@test "cookie handshakes under a stateful ruleset: curl completes, the firewall checks the cookie ACK, conntrack opens the flow from it" {
	# Only SYNs pass the rules: the client's ACK of a cookie SYN-ACK
	# belongs to no flow conntrack saw, and passes only because the
	# firewall's phase 0 checks its cookie.
	cookie_lab cookiestate <<-'EOF'
		set default block
		pass proto tcp to port 8080 flags S/SA
		set syn-flood rate 100000/second global 1/second cookies on
	EOF
	in_dut nstat -n
	ok=$(fetch_n 20)
	st=$(rl_status)
	((ok == 20)) || fail "only $ok of 20 requests succeeded: $st $(in_dut "$BG_REPO/scripts/conntrack.sh" --json)"
	# One SYN a second goes to the listener; the others got cookies,
	# and each of those handshakes' ACK was checked once: conntrack
	# tracks the flow from it on.
	sent=$(jq '.ratelimit.counters.cookie_sent' <<<"$st")
	acks=$(jq '.counters.cookie_ack' <<<"$st")
	opened=$(jq '.conntrack.counters.cookie' <<<"$st")
	((sent >= 10)) || fail "cookie SYN-ACKs sent: $sent: $st"
	((acks >= sent && acks <= sent + 2)) || fail "cookie ACKs passed: $acks of $sent: $st"
	((opened >= sent && opened <= acks)) || fail "flows opened from cookie ACKs: $opened: $st"
	recv=$(in_dut nstat -az TcpExtSyncookiesRecv | awk '$1 == "TcpExtSyncookiesRecv" { print $2 }')
	((recv >= sent)) || fail "the kernel took $recv cookie ACKs of $sent"
}

@test "scrub's max-mss reaches the SYNs answered with cookies from XDP, which tc_scrub never sees" {
	cookie_lab cookiemss <<-'EOF'
		set default pass
		set syn-flood rate 100000/second global 1/second cookies on
		scrub on d1 (max-mss 1200)
	EOF
	capture_start synack "$CLI" c0 'tcp src port 8080 and tcp[tcpflags] & tcp-syn != 0'
	ok=$(fetch_n 10)
	capture_stop synack >"$BG_TMP/synack.txt"
	st=$(rl_status)
	((ok == 10)) || fail "only $ok of 10 requests succeeded: $st"
	sent=$(jq '.ratelimit.counters.cookie_sent' <<<"$st")
	((sent >= 5)) || fail "cookie SYN-ACKs sent: $sent: $st"
	# Every cookie SYN-ACK was clamped (the client asked for 1460; the
	# cookie's table rounds 1200 down to 536), the listener's own by
	# tc_scrub on the way out: none of them says more than 1200.
	(($(jq '.scrub.counters.mss_clamped' <<<"$st") >= sent)) || fail "$(jq -c .scrub <<<"$st")"
	mapfile -t mss < <(sed -n 's/.*options \[mss \([0-9]*\).*/\1/p' "$BG_TMP/synack.txt")
	((${#mss[@]} >= 10)) || fail "SYN-ACKs seen: $(cat "$BG_TMP/synack.txt")"
	local m cookie=0
	for m in "${mss[@]}"; do
		((m <= 1200)) || fail "a SYN-ACK with mss $m: $(cat "$BG_TMP/synack.txt")"
		((m != 536)) || cookie=$((cookie + 1))
	done
	((cookie >= sent)) || fail "$cookie SYN-ACKs with the cookie's 536 of $sent sent"
}

@test "every algorithm end to end: three floods at once, each held to its policy's rate" {
	rules=$(ruleset algos <<-'EOF'
		set default pass
		ratelimit inet proto udp to any port 9001 rate 300/second algorithm fixed-window per-source
		ratelimit inet proto udp to any port 9002 rate 300/second algorithm sliding-window per-source
		ratelimit inet proto udp to any port 9003 rate 300/second burst 10 algorithm leaky-bucket per-source
	EOF
	)
	run up d0 --rules "$rules"
	[ "$status" -eq 0 ] || fail "$output"
	# Three seconds of UDP to the three ports in turn, as fast as one
	# process sends (thousands a second to each).
	in_ns "$FLD" "$PY" -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.monotonic() + 3
while time.monotonic() < end:
    for port in (9001, 9002, 9003):
        s.sendto(b"x" * 16, ("192.0.2.1", port))'
	st=$(rl_status)
	for id in 1 2 3; do
		read -r pk over < <(jq -r --argjson id "$id" \
			'.ratelimit.policies[] | select(.id == $id) | "\(.packets) \(.over)"' <<<"$st")
		admitted=$((pk - over))
		# Three seconds at 300/s: 900. The windows may admit up to one
		# window's worth more (the flood's first window, filled at
		# once), the leaky bucket its burst of 10: +-10% around that.
		((over > 0 && admitted >= 810)) ||
			fail "policy $id: $pk packets, $over over: $st"
		if ((id == 3)); then
			((admitted <= 1000)) || fail "policy $id admitted $admitted: $st"
		else
			((admitted <= 1320)) || fail "policy $id admitted $admitted: $st"
		fi
	done
}
