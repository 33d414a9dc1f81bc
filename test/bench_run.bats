#!/usr/bin/env bats
# bench/run.sh --ratelimit: the rate limiter's rows of make bench, each
# algorithm behind the chain's hop and the firewall, and the SYN cookie
# rows (a stage that does not answer with a cookie fails the run), with
# nothing of its namespace or bpffs left behind; --lb and --scrub alike.

load lib/common

setup()
{
	OUT=$(mktemp /run/bgbench-test.XXXXXX)
}

teardown()
{
	rm -f "$OUT" "$OUT.log"
}

@test "bench/run.sh --ratelimit: a row per algorithm and stage, the SYN cookie rows, goals; nothing left" {
	"$BG_REPO/bench/run.sh" --ratelimit --repeat 2000 --out "$OUT" \
		>"$OUT.log" 2>&1 3>&- &
	pid=$!
	wait "$pid" || fail "$(cat "$OUT.log")"
	for algo in token-bucket fixed-window sliding-window leaky-bucket; do
		for stage in "hop -> ratelimit" "firewall -> ratelimit"; do
			grep -qE "^$stage +$algo +[0-9]+ +[0-9.]+$" "$OUT" ||
				fail "$stage $algo: $(cat "$OUT")"
		done
	done
	for stage in "hop -> ratelimit" "firewall -> ratelimit"; do
		grep -qE "^$stage +SYN -> cookie +[0-9]+ +[0-9.]+$" "$OUT" ||
			fail "$stage cookie: $(cat "$OUT")"
	done
	grep -q '^goal: each algorithm, the tail call into it included, <= 4x: ' "$OUT" ||
		fail "$(cat "$OUT")"
	grep -q '^goal: a SYN answered with a cookie <= 10x: ' "$OUT" ||
		fail "$(cat "$OUT")"
	[[ ! -e /run/netns/bgbench-$pid-sc ]] || fail "namespace left"
	if compgen -G "/run/bgbench.*" >/dev/null &&
		grep -q " /run/bgbench\." /proc/mounts; then
		fail "bpffs left: $(grep bgbench /proc/mounts)"
	fi
	! pgrep -f "import socket, time; s = socket.socket\(\); .*80" >/dev/null ||
		fail "listener left: $(pgrep -af 'import socket')"
}

@test "bench/run.sh --lb: the load balancer's rows behind the hop and the firewall, both goals; nothing left" {
	"$BG_REPO/bench/run.sh" --lb --repeat 2000 --out "$OUT" \
		>"$OUT.log" 2>&1 3>&- &
	pid=$!
	wait "$pid" || fail "$(cat "$OUT.log")"
	for row in "hop -> loadbalancer +known flow" "firewall -> loadbalancer +known flow" \
		"hop -> loadbalancer +new flow" "firewall -> loadbalancer +new flow" \
		"hop -> loadbalancer +reply to the VIP"; do
		grep -qE "^$row +[0-9]+ +[0-9.]+$" "$OUT" || fail "$row: $(cat "$OUT")"
	done
	grep -q '^goal: a packet of a known flow, the tail call into it included, <= 4x: ' "$OUT" ||
		fail "$(cat "$OUT")"
	grep -q '^goal: a packet of a new flow, the tail call into it included, <= 8x: ' "$OUT" ||
		fail "$(cat "$OUT")"
	[[ ! -e /run/netns/bgbench-$pid-lb ]] || fail "namespace left"
	! grep -q " /run/bgbench\." /proc/mounts || fail "bpffs left: $(grep bgbench /proc/mounts)"
}

@test "bench/run.sh --scrub: tc_scrub's rows next to the TC no-op, the goal; nothing left" {
	"$BG_REPO/bench/run.sh" --scrub --repeat 2000 --out "$OUT" \
		>"$OUT.log" 2>&1 3>&- &
	pid=$!
	wait "$pid" || fail "$(cat "$OUT.log")"
	grep -qE "^tc_noop +- +[0-9]+ +1.00$" "$OUT" || fail "$(cat "$OUT")"
	for row in "no statement" "ACK, four options" "SYN, max-mss" "SYN, four options" \
		"no statement of 64"; do
		grep -qE "^tc_scrub +$row +[0-9]+ +[0-9.]+$" "$OUT" || fail "$row: $(cat "$OUT")"
	done
	grep -q '^goal: scrub <= 3x (every row): ' "$OUT" || fail "$(cat "$OUT")"
	! grep -q " /run/bgbench\." /proc/mounts || fail "bpffs left: $(grep bgbench /proc/mounts)"
}
