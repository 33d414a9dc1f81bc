#!/usr/bin/env bats
# xdp_ratelimit through BPF_PROG_TEST_RUN: sequences of crafted packets at
# controlled times (the test clock, test/lib/rlcheck.py), each algorithm's
# admitted counts checked against its arithmetic, the policy matching, the
# DDoS protections, the housekeeping timer and the full table.

load lib/common

setup()
{
	bpffs_setup
	UNS=bgr-$BATS_TEST_NUMBER-$$
	ip netns add "$UNS"
	ip -n "$UNS" link set lo up
}

teardown()
{
	netns_del "$UNS"
	bpffs_teardown
}

# Load the firewall and the rate limiter (unattached) and ruleset $1.
rl_load()
{
	in_ns "$UNS" env FW_BPFFS="$FW_BPFFS" BG_QUIET=1 bash -c '
		set -euo pipefail
		source "$1/scripts/lib.sh"
		bg_setup_bpffs mount
		bg_load_prog xdp_firewall.o bg_fw_xdp >/dev/null
		bg_load_prog xdp_ratelimit.o bg_rl_xdp >/dev/null
		bg_apply_ruleset "$2"' bg-test "$BG_REPO" "$1"
}

# rl_run < SCRIPT: rlcheck's output lines.
rl_run()
{
	in_ns "$UNS" "$PY" "$BG_REPO/test/lib/rlcheck.py" --bpffs "$FW_BPFFS"
}

# rl_expect < "SCRIPT LINE => EXPECTED OUTPUT" lines (lines without =>
# print nothing: at, comments). EXPECTED may be "pass LO..HI".
rl_expect()
{
	local script="" want=() got line i bad=0
	while IFS= read -r line; do
		[[ -z ${line// /} ]] && continue
		if [[ $line == *" => "* ]]; then
			script+="${line%% => *}"$'\n'
			want+=("${line#* => }")
		else
			script+="$line"$'\n'
		fi
	done
	mapfile -t got < <(rl_run <<<"$script")
	[ "${#got[@]}" -eq "${#want[@]}" ] ||
		fail "want ${#want[@]} results, got ${#got[@]}: ${got[*]}"
	for i in "${!want[@]}"; do
		# "pass LO..HI": a paced run, whose last packet may fall either
		# side of a refill by the microseconds the runs take.
		if [[ ${want[i]} =~ ^pass\ ([0-9]+)\.\.([0-9]+)$ ]]; then
			local lo=${BASH_REMATCH[1]} hi=${BASH_REMATCH[2]} n
			n=$(awk '{print $2}' <<<"${got[i]}")
			if ! [[ $n =~ ^[0-9]+$ ]] || ((n < lo || n > hi)) ||
				[[ ${got[i]} != *" other 0" ]]; then
				echo "result $((i + 1)): want ${want[i]}, got '${got[i]}'" >&2
				bad=1
			fi
			continue
		fi
		if [[ ${got[i]} != "${want[i]}" ]]; then
			echo "result $((i + 1)): want '${want[i]}', got '${got[i]}'" >&2
			bad=1
		fi
	done
	return $bad
}

# Counter NAME of bg_rl_stats (enum bg_rl_stat without BG_RL_STAT_), summed.
rl_stat()
{
	local idx
	idx=$("$BG_BUILD/bg-abi" | jq ".enums.bg_rl_stat.BG_RL_STAT_$1") || return 1
	bpftool -j map lookup pinned "$FW_BPFFS/tc/globals/bg_rl_stats" \
		key $((idx & 255)) $((idx >> 8)) 0 0 |
		jq '[.formatted.values[].value] | add'
}

A='udp4(src="192.0.2.1", dst="198.51.100.1", dport=53)'
B='udp4(src="192.0.2.2", dst="198.51.100.1", dport=53)'

@test "token bucket: a burst, then the rate; each source its own bucket" {
	rl_load "$(ruleset tb <<-'EOF'
		ratelimit proto udp rate 10/second burst 5 per-source
	EOF
	)"
	rl_expect <<-EOF
		send 20 $A => pass 5 drop 15 other 0
		send 3 $B => pass 3 drop 0 other 0
		at 0.35
		send 10 $A => pass 3 drop 7 other 0
		at 10
		send 20 $A => pass 5 drop 15 other 0
		at 11
		pace 0.01 500 $A => pass 53..56
	EOF
}

@test "token bucket: admitted is rate x time + burst over a long paced run, per minute too" {
	rl_load "$(ruleset tb2 <<-'EOF'
		ratelimit proto udp rate 120/minute burst 10 per-source
	EOF
	)"
	# 2 a second for 100 s plus the burst: 210, offered 4 a second.
	rl_expect <<-EOF
		pace 0.25 400 $A => pass 208..211
	EOF
}

@test "fixed window: rate per aligned window, the double burst at its edge" {
	rl_load "$(ruleset fw <<-'EOF'
		ratelimit proto udp rate 10/second algorithm fixed-window per-source
	EOF
	)"
	rl_expect <<-EOF
		send 15 $A => pass 10 drop 5 other 0
		at 0.5
		send 5 $A => pass 0 drop 5 other 0
		at 1.9
		send 10 $A => pass 10 drop 0 other 0
		at 2.0
		send 15 $A => pass 10 drop 5 other 0
	EOF
}

@test "sliding window: the previous window weighs in, no double burst" {
	rl_load "$(ruleset sw <<-'EOF'
		ratelimit proto udp rate 10/second algorithm sliding-window per-source
	EOF
	)"
	rl_expect <<-EOF
		at 0.9
		send 10 $A => pass 10 drop 0 other 0
		at 1.0
		send 10 $A => pass 0 drop 10 other 0
		at 1.5
		send 10 $A => pass 5 drop 5 other 0
		at 3.0
		send 12 $A => pass 10 drop 2 other 0
	EOF
}

@test "leaky bucket: a constant drain, no burst unless asked" {
	rl_load "$(ruleset lb <<-'EOF'
		ratelimit proto udp from 192.0.2.1 rate 10/second algorithm leaky-bucket
		ratelimit proto udp from 192.0.2.2 rate 10/second burst 3 algorithm leaky-bucket
	EOF
	)"
	rl_expect <<-EOF
		send 5 $A => pass 1 drop 4 other 0
		at 0.05
		send 1 $A => pass 0 drop 1 other 0
		at 0.11
		send 5 $A => pass 1 drop 4 other 0
		# flooded at 1000/s for 4 s: the drain rate, 10/s
		at 0.25
		pace 0.001 4000 $A => pass 39..41
		send 5 $B => pass 3 drop 2 other 0
	EOF
}

@test "state per source: full IPv4 and IPv6 addresses, or a prefix; shared without per-source" {
	rl_load "$(ruleset ps <<-'EOF'
		ratelimit inet6 proto udp from 2001:db8:a::/48 rate 1/second burst 2 per-source
		ratelimit inet6 proto udp from 2001:db8:b::/48 rate 1/second burst 2 per-source prefix 64
		ratelimit inet proto udp from 192.0.2.0/24 rate 1/second burst 2 per-source prefix 28
		ratelimit inet proto udp from 203.0.113.0/24 rate 1/second burst 2
	EOF
	)"
	# The seed folded IPv6 sources into 32 bits (a XOR of the words): the
	# first two fold to the same 32 bits.
	rl_expect <<-'EOF'
		send 3 udp6(src="2001:db8:a::5") => pass 2 drop 1 other 0
		send 3 udp6(src="2001:db8:a::5:0:0") => pass 2 drop 1 other 0
		send 3 udp6(src="2001:db8:a::6") => pass 2 drop 1 other 0
		send 3 udp6(src="2001:db8:b::1") => pass 2 drop 1 other 0
		send 3 udp6(src="2001:db8:b::2") => pass 0 drop 3 other 0
		send 3 udp6(src="2001:db8:b:1::2") => pass 2 drop 1 other 0
		send 3 udp4(src="192.0.2.1") => pass 2 drop 1 other 0
		send 3 udp4(src="192.0.2.15") => pass 0 drop 3 other 0
		send 3 udp4(src="192.0.2.16") => pass 2 drop 1 other 0
		send 3 udp4(src="203.0.113.1") => pass 2 drop 1 other 0
		send 3 udp4(src="203.0.113.2") => pass 0 drop 3 other 0
	EOF
}

@test "matching: longest source prefix, not the network address alone; first fit on the rest" {
	rl_load "$(ruleset m <<-'EOF'
		ratelimit proto udp from 192.0.2.0/24 rate 1/second burst 4 per-source
		ratelimit proto tcp from 192.0.2.128/25 rate 1/second burst 1 per-source
		ratelimit proto udp from 192.0.2.128/25 to 198.51.100.0/24 port 53 rate 1/second burst 2 per-source
		ratelimit proto udp rate 1/second burst 3 per-source
	EOF
	)"
	rl_expect <<-'EOF'
		# a host inside the /24, not its network address: policy 1
		send 6 udp4(src="192.0.2.77", dport=53) => pass 4 drop 2 other 0
		# the /25 for TCP: policy 2
		send 3 tcp4(src="192.0.2.200", dport=80) => pass 1 drop 2 other 0
		# the /25, UDP to the port of policy 3
		send 3 udp4(src="192.0.2.201", dst="198.51.100.9", dport=53) => pass 2 drop 1 other 0
		# the /25, UDP to another port: back to the /24 (policy 1)
		send 6 udp4(src="192.0.2.202", dst="198.51.100.9", dport=54) => pass 4 drop 2 other 0
		# outside every prefix: the policy without "from"
		send 4 udp4(src="203.0.113.5") => pass 3 drop 1 other 0
		# no policy for ICMP: nothing is limited
		send 20 icmp4(src="192.0.2.77") => pass 20 drop 0 other 0
	EOF
	[ "$(rl_stat NO_POLICY)" -eq 20 ] || fail "no_policy $(rl_stat NO_POLICY)"
	[ "$(rl_stat DROP)" -eq 8 ] || fail "drop $(rl_stat DROP)"
}

@test "action log: over the rate passes and is logged with the policy id" {
	rl_load "$(ruleset log <<-'EOF'
		ratelimit proto udp rate 1/second burst 2 per-source action drop label "first"
		ratelimit proto udp from 192.0.2.1 rate 1/second burst 2 per-source action log label "watch"
	EOF
	)"
	in_ns "$UNS" "$BG_BUILD/bg-events" --bpffs "$FW_BPFFS" --count 3 \
		--timeout 10 >"$BG_TMP/events" &
	ev=$!
	sleep 0.3
	rl_expect <<-EOF
		send 5 $A => pass 5 drop 0 other 0
	EOF
	wait "$ev"
	[ "$(wc -l <"$BG_TMP/events")" -eq 3 ] || fail "$(cat "$BG_TMP/events")"
	jq -e -s 'all(.origin == "ratelimit" and .rule == 2 and .src == "192.0.2.1")' \
		"$BG_TMP/events" >/dev/null || fail "$(cat "$BG_TMP/events")"
	[ "$(rl_stat LOG)" -eq 3 ] || fail "log $(rl_stat LOG)"
}

@test "DDoS: SYN rate per source, ICMP rate and size, amplification ports" {
	rl_load "$(ruleset ddos <<-'EOF'
		set syn-flood rate 5/second cookies off
		set icmp-flood rate 4/second max-payload 100
		set udp-amplification ports { 53, 123 } rate 3/second
	EOF
	)"
	rl_expect <<-'EOF'
		send 8 tcp4(src="192.0.2.1", flags="S") => pass 5 drop 3 other 0
		send 2 tcp4(src="192.0.2.2", flags="S") => pass 2 drop 0 other 0
		send 6 icmp4(src="192.0.2.1") => pass 4 drop 2 other 0
		send 2 icmp4(src="192.0.2.3", payload=b"x" * 101) => pass 0 drop 2 other 0
		send 1 icmp4(src="192.0.2.3", payload=b"x" * 100) => pass 1 drop 0 other 0
		send 5 udp4(src="192.0.2.1", sport=53, dport=40000) => pass 3 drop 2 other 0
		send 5 udp4(src="192.0.2.1", sport=123, dport=40000) => pass 3 drop 2 other 0
		send 5 udp4(src="192.0.2.1", sport=1900, dport=40000) => pass 5 drop 0 other 0
		send 5 icmp6(src="2001:db8::1") => pass 4 drop 1 other 0
		send 5 nd_ns(src="fe80::1") => pass 5 drop 0 other 0
	EOF
	[ "$(rl_stat SYN_FLOOD)" -eq 3 ] || fail "syn_flood $(rl_stat SYN_FLOOD)"
	[ "$(rl_stat ICMP_SIZE)" -eq 2 ] || fail "icmp_size $(rl_stat ICMP_SIZE)"
	[ "$(rl_stat ICMP_FLOOD)" -eq 3 ] || fail "icmp_flood $(rl_stat ICMP_FLOOD)"
	[ "$(rl_stat UDP_AMP)" -eq 4 ] || fail "udp_amp $(rl_stat UDP_AMP)"
}

@test "SYN cookies: over the global rate every SYN gets a cookie for a second, then the rate again; no state for new sources meanwhile" {
	# A listener on port 80 of the namespace the program runs in (its
	# socket lookups see that namespace), to an address of its own.
	ip -n "$UNS" addr add 198.51.100.1/32 dev lo
	in_ns "$UNS" sysctl -qw net.ipv4.tcp_syncookies=2
	ns_spawn "$UNS" "$PY" "$BG_REPO/test/lib/syncookie.py" listen 80 16
	wait_port "$UNS" 80
	rl_load "$(ruleset cookies <<-'EOF'
		set syn-flood rate 1000/second global 5/second cookies on
		set tcp-flood half-open 100
	EOF
	)"
	# The global bucket holds 5; the 6th SYN starts the hold, which
	# lasts a second whatever the bucket does meanwhile (at 0.9 it has
	# 4.5 back). A source first seen in the hold gets no entry, neither
	# a SYN rate nor a half-open count (entries stays 2: 192.0.2.1's);
	# after the hold the bucket is full again. Cookies are XDP_TX
	# ("other"); a SYN to no listener is not answered and passes.
	rl_expect <<-'EOF'
		send 5 tcp4(src="192.0.2.1") => pass 5 drop 0 other 0
		send 3 tcp4(src="192.0.2.1") => pass 0 drop 0 other 3
		at 0.9
		send 3 tcp4(src="192.0.2.1") => pass 0 drop 0 other 3
		send 2 tcp4(src="192.0.2.7") => pass 0 drop 0 other 2
		send 1 tcp4(src="192.0.2.7", dport=81) => pass 1 drop 0 other 0
		entries => entries 2
		at 1.5
		send 5 tcp4(src="192.0.2.1") => pass 5 drop 0 other 0
		send 1 tcp4(src="192.0.2.7") => pass 0 drop 0 other 1
		entries => entries 4
	EOF
	[ "$(rl_stat COOKIE_SENT)" -eq 9 ] || fail "cookie_sent $(rl_stat COOKIE_SENT)"
	[ "$(rl_stat COOKIE_FAIL)" -eq 1 ] || fail "cookie_fail $(rl_stat COOKIE_FAIL)"
}

@test "SYN cookies: the firewall checks the ACK of a cookie handshake and judges it as its SYN; forged, stale and blocked ones stay dropped" {
	ip -n "$UNS" addr add 192.0.2.1/32 dev lo
	ip -n "$UNS" addr add 2001:db8:1::1/128 dev lo nodad
	in_ns "$UNS" sysctl -qw net.ipv4.tcp_syncookies=2
	ns_spawn "$UNS" "$PY" "$BG_REPO/test/lib/syncookie.py" listen 8080 16
	wait_port "$UNS" 8080
	# Only the SYNs of port 8080 pass the rules: without the cookie
	# check the client's ACK (of no flow conntrack saw) would be dropped.
	rl_load "$(ruleset cookieack <<-'EOF'
		set default block
		block proto tcp from 192.0.2.66 to port 8080
		block proto tcp from 2001:db8:1::66 to port 8080
		pass proto tcp to port 8080 flags S/SA
		set syn-flood rate 100000/second global 1/second cookies on
	EOF
	)"
	rl=$(compgen -G "$FW_BPFFS/bpfguard/*/bg_rl_xdp")
	bpftool map update pinned "$FW_BPFFS/tc/globals/bg_xdp_chain" \
		key 0 0 0 0 value pinned "$rl"
	# The pass rule is the third: its id is 3.
	run in_ns "$UNS" "$PY" "$BG_REPO/test/lib/cookieack.py" "$FW_BPFFS" 3 \
		192.0.2.66 2001:db8:1::66
	[ "$status" -eq 0 ] || fail "$output"
	for fam in 4 6; do
		for c in synack ack ack-data ack-again forged-cookie forged-cookie2 \
			other-sport no-listener rst fin blocked-source stale; do
			[[ $output == *"ok v$fam-$c"* ]] || fail "v$fam-$c: $output"
		done
	done
}

@test "DDoS: half-open handshakes per source, forgotten after the SYN-RECV timeout" {
	rl_load "$(ruleset ho <<-'EOF'
		set tcp-flood half-open 2
	EOF
	)"
	rl_expect <<-'EOF'
		send 2 tcp4(src="192.0.2.9", sport=1000, flags="S") => pass 2 drop 0 other 0
		send 2 tcp4(src="192.0.2.9", sport=1001, flags="S") => pass 0 drop 2 other 0
		send 1 tcp4(src="192.0.2.8", sport=1001, flags="S") => pass 1 drop 0 other 0
		at 31
		send 1 tcp4(src="192.0.2.9", sport=1001, flags="S") => pass 1 drop 0 other 0
	EOF
	[ "$(rl_stat HALF_OPEN)" -eq 2 ] || fail "half_open $(rl_stat HALF_OPEN)"
}

@test "DDoS: RST, FIN and ACK floods of flows conntrack does not know" {
	rl_load "$(ruleset tcpf <<-'EOF'
		set tcp-flood rst 2/second fin 3/second ack 4/second
	EOF
	)"
	rl_expect <<-'EOF'
		send 5 tcp4(flags="R") => pass 2 drop 3 other 0
		send 5 tcp4(flags="RA") => pass 0 drop 5 other 0
		send 5 tcp4(flags="FA") => pass 3 drop 2 other 0
		send 6 tcp4(flags="A") => pass 4 drop 2 other 0
		send 6 tcp4(flags="PA", payload=b"data") => pass 0 drop 6 other 0
		send 6 tcp4(flags="S") => pass 6 drop 0 other 0
		at 1.1
		send 5 tcp4(flags="R") => pass 2 drop 3 other 0
	EOF
	[ "$(rl_stat RST_FLOOD)" -eq 11 ] || fail "rst $(rl_stat RST_FLOOD)"
	[ "$(rl_stat FIN_FLOOD)" -eq 2 ] || fail "fin $(rl_stat FIN_FLOOD)"
	[ "$(rl_stat ACK_FLOOD)" -eq 8 ] || fail "ack $(rl_stat ACK_FLOOD)"
}

@test "housekeeping: the sweep deletes entries once back at their start, not before" {
	rl_load "$(ruleset sweep <<-'EOF'
		ratelimit proto udp from 192.0.2.1 rate 1/minute burst 5 per-source
		ratelimit proto udp from 192.0.2.2 rate 10/second algorithm fixed-window per-source
	EOF
	)"
	rl_expect <<-EOF
		send 5 $A => pass 5 drop 0 other 0
		send 1 $B => pass 1 drop 0 other 0
		entries => entries 2
		# idle from 1 s on, and 30 s of grace
		at 30
		sweep => swept 0
		at 32
		sweep => swept 1
		entries => entries 1
		# five tokens take five minutes to come back
		at 240
		sweep => swept 0
		send 1 $A => pass 1 drop 0 other 0
		at 600
		sweep => swept 1
		entries => entries 0
	EOF
	[ "$(rl_stat SWEEP_EXPIRED)" -eq 2 ] || fail "expired $(rl_stat SWEEP_EXPIRED)"
}

@test "a new ruleset starts afresh; the sweep takes the old one's state" {
	rl_load "$(ruleset e1 <<-'EOF'
		ratelimit proto udp rate 1/minute burst 2 per-source
	EOF
	)"
	rl_expect <<-EOF
		send 3 $A => pass 2 drop 1 other 0
		entries => entries 1
	EOF
	rl_load "$(ruleset e2 <<-'EOF'
		ratelimit proto udp rate 1/minute burst 3 per-source
	EOF
	)"
	rl_expect <<-EOF
		send 4 $A => pass 3 drop 1 other 0
		entries => entries 2
		sweep => swept 1
		entries => entries 1
	EOF
}

@test "a full state table: new sources share their policy's bucket, limited ones keep their state" {
	rl_load "$(ruleset full <<-'EOF'
		ratelimit inet6 proto udp rate 1/minute burst 2 per-source
	EOF
	)"
	# 70000 new sources: 65535 find room (the first source has one), the
	# rest share the policy's bucket (burst 2). The limited source is
	# still limited after the flood: nothing evicted its entry.
	rl_expect <<-'EOF'
		send 3 udp6(src="2001:db8:1::1") => pass 2 drop 1 other 0
		fill6 70000 => pass 65537 drop 4463 other 0
		send 1 udp6(src="2001:db8:1::1") => pass 0 drop 1 other 0
		entries => entries 65536
	EOF
	[ "$(rl_stat STATE_FULL)" -eq 4465 ] || fail "state_full $(rl_stat STATE_FULL)"
}

@test "one source over two CPUs gets its rate once, not once per CPU" {
	(($(nproc) >= 2)) || fail "needs two CPUs, this machine has $(nproc)"
	rl_load "$(ruleset cpus <<-'EOF'
		ratelimit proto udp rate 2000/second burst 200 per-source
	EOF
	)"
	for cpu in 0 1; do
		in_ns "$UNS" taskset -c "$cpu" "$PY" "$BG_REPO/test/lib/rlcheck.py" \
			--bpffs "$FW_BPFFS" --real <<<"burn 2 $A" >"$BG_TMP/cpu$cpu" &
	done
	wait
	# Admitted over the span both ran: rate x time + burst, within 10%.
	read -r pass0 drop0 start0 end0 < <(awk '{print $2, $4, $8, $10}' "$BG_TMP/cpu0")
	read -r pass1 drop1 start1 end1 < <(awk '{print $2, $4, $8, $10}' "$BG_TMP/cpu1")
	((drop0 > 0 && drop1 > 0)) || fail "no CPU was limited: $(cat "$BG_TMP"/cpu*)"
	first=$((start0 < start1 ? start0 : start1))
	last=$((end0 > end1 ? end0 : end1))
	due=$(((last - first) * 2000 / 1000000000 + 200))
	admitted=$((pass0 + pass1))
	((admitted * 10 >= due * 9 && admitted * 10 <= due * 11)) ||
		fail "admitted $admitted, due $due +-10%: $(cat "$BG_TMP"/cpu*)"
}

@test "the sweep timer runs by itself and deletes idle entries" {
	rl_load "$(ruleset timer <<-'EOF'
		ratelimit proto udp rate 10/second burst 1 per-source
	EOF
	)"
	# The packets, then the clock a minute on (rlcheck leaves it there).
	in_ns "$UNS" "$PY" "$BG_REPO/test/lib/rlcheck.py" --bpffs "$FW_BPFFS" \
		--timer <<<"send 2 $A" >/dev/null
	[ "$(bpftool -j map dump pinned "$FW_BPFFS/tc/globals/bg_rl_state" | jq length)" -eq 1 ]
	in_ns "$UNS" "$PY" "$BG_REPO/test/lib/rlcheck.py" --bpffs "$FW_BPFFS" \
		--timer <<<"at 60" >/dev/null
	# Its bucket was full again a tenth of a second after the packets,
	# the grace is 30 s, and the timer ticks every second.
	for _ in $(seq 30); do
		n=$(bpftool -j map dump pinned "$FW_BPFFS/tc/globals/bg_rl_state" | jq length)
		((n == 0)) && break
		sleep 0.2
	done
	[ "$n" -eq 0 ] || fail "entry still there after 6 s"
	(($(rl_stat SWEEP_TICKS) >= 1)) || fail "ticks $(rl_stat SWEEP_TICKS)"
	[ "$(rl_stat SWEEP_EXPIRED)" -eq 1 ] || fail "expired $(rl_stat SWEEP_EXPIRED)"
}
