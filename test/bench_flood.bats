#!/usr/bin/env bats
# bench/flood.sh (make bench-flood): its --help and usage errors, and a
# short flood whose table has the three receivers, each dropping packets,
# a short spoofed SYN flood answered with cookies, a short flood of new
# connections through the load balancer and nftables DNAT, with nothing
# of the lab left behind.

load lib/common

setup()
{
	OUT=$(mktemp /run/bgflood-test.XXXXXX)
}

teardown()
{
	rm -f "$OUT" "$OUT.log"
}

# lab_gone PID: nothing of flood.sh PID's lab is left: its namespaces,
# work directory and bpffs, up.sh's lock, trafgen and the listener.
lab_gone()
{
	local pid=$1
	if [[ -e /run/netns/bgflood-$pid-client || -e /run/netns/bgflood-$pid-dut ||
		-e /run/netns/bgflood-$pid-backends ]]; then
		fail "namespaces left: $(ip netns list)"
	fi
	if compgen -G "/run/bgflood-$pid.*" >/dev/null ||
		grep -q " /run/bgflood-$pid\." /proc/mounts; then
		fail "work directory or bpffs left"
	fi
	if compgen -G "/run/bpfguard/_run_bgflood_${pid}_*" >/dev/null; then
		fail "up.sh's lock left: $(ls /run/bpfguard)"
	fi
	if pgrep -f "/run/bgflood-$pid\." >/dev/null; then
		fail "trafgen or the listener still running: $(pgrep -af "/run/bgflood-$pid\.")"
	fi
}

# receivers_ok KIND...: $OUT has exactly these receivers' rows, each with
# frames offered and counted, its ratio, and the XDP program's ns per
# frame (nftables' rows: "-").
receivers_ok()
{
	local kind off ref n x ns
	[ "$(grep -cE "^($(
		IFS='|'
		echo "$*"
	)) " "$OUT")" -eq $# ] || fail "$(cat "$OUT")"
	for kind; do
		read -r _ off ref n x ns < <(grep "^$kind " "$OUT")
		((off > 0 && ref >= 0 && n > 0)) || fail "$kind: $(cat "$OUT")"
		[[ $x =~ ^[0-9]+\.[0-9]{3}$ ]] || fail "$kind: $(cat "$OUT")"
		if [[ $kind == nft* ]]; then
			[ "$ns" = - ] || fail "$kind: $(cat "$OUT")"
		else
			[[ $ns =~ ^[0-9]+$ ]] || fail "$kind: $(cat "$OUT")"
		fi
	done
}

@test "bench/flood.sh --help says what it measures; bad options are refused" {
	run "$BG_REPO/bench/flood.sh" --help
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output == *Usage:* && $output == *floor* && $output == *bpfguard* &&
		$output == *nftables* && $output == *--syn* && $output == *--lb* ]] ||
		fail "$output"
	for bad in "--rounds 0" "--seconds 100" "--rules 65537" "--bogus" "--syn --lb"; do
		# shellcheck disable=SC2086 # option and value
		run "$BG_REPO/bench/flood.sh" $bad
		[ "$status" -ne 0 ] || fail "$bad: $output"
		[[ $output == flood:* ]] || fail "$bad: $output"
	done
}

@test "a short flood: the floor, bpfguard and nftables each drop the flood; the lab is gone after" {
	# Not `run`: the script's pid names its lab (bgflood-PID), so that
	# what another flood.sh runs meanwhile is not taken for a leftover.
	"$BG_REPO/bench/flood.sh" --seconds 1 --rounds 1 --rules 64 \
		--out "$OUT" >"$OUT.log" 2>&1 3>&- &
	pid=$!
	wait "$pid" || fail "$(cat "$OUT.log")"
	receivers_ok floor bpfguard nftables
	grep -q '^goal: bpfguard >= 0.90 of the floor: ' "$OUT" || fail "$(cat "$OUT")"
	lab_gone "$pid"
}

@test "a short spoofed SYN flood (--syn): bpfguard answers with cookie SYN-ACKs that reach the client; the lab is gone after" {
	"$BG_REPO/bench/flood.sh" --syn --seconds 1 --rounds 1 \
		--out "$OUT" >"$OUT.log" 2>&1 3>&- &
	pid=$!
	wait "$pid" || fail "$(cat "$OUT.log")"
	[ "$(grep -cE '^(floor|bpfguard|nftables) ' "$OUT")" -eq 2 ] || fail "$(cat "$OUT")"
	read -r _ off _ floor _ < <(grep '^floor ' "$OUT")
	read -r _ _ _ cookies _ ns < <(grep '^bpfguard ' "$OUT")
	((off > 0 && floor > 0 && cookies > 0)) || fail "$(cat "$OUT")"
	[[ $ns =~ ^[0-9]+$ ]] || fail "$(cat "$OUT")"
	# The SYN-ACKs came back over the veth: at least a second's worth of
	# the cookies (the floods last about three seconds).
	synacks=$(sed -n 's/^client: \([0-9]*\) SYN-ACKs .*/\1/p' "$OUT")
	((synacks >= cookies)) || fail "$(cat "$OUT")"
	grep -q '^goal: cookies answered at >= 0.50 of the floor: ' "$OUT" || fail "$(cat "$OUT")"
	lab_gone "$pid"
}

@test "a short flood of new connections (--lb): bpfguard and nftables DNAT (jhash, numgen) each forward to the backends; the lab is gone after" {
	"$BG_REPO/bench/flood.sh" --lb --seconds 1 --rounds 1 \
		--out "$OUT" >"$OUT.log" 2>&1 3>&- &
	pid=$!
	wait "$pid" || fail "$(cat "$OUT.log")"
	receivers_ok bpfguard nft-jhash nft-numgen
	grep -q '^goal: bpfguard >= 2x the better nftables DNAT: ' "$OUT" || fail "$(cat "$OUT")"
	lab_gone "$pid"
}
