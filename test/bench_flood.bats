#!/usr/bin/env bats
# bench/flood.sh (make bench-flood): its --help and usage errors, and a
# short flood whose table has the three receivers, each dropping packets,
# with nothing of the lab left behind.

load lib/common

setup()
{
	OUT=$(mktemp /run/bgflood-test.XXXXXX)
}

teardown()
{
	rm -f "$OUT"
}

@test "bench/flood.sh --help says what it measures; bad options are refused" {
	run "$BG_REPO/bench/flood.sh" --help
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output == *Usage:* && $output == *floor* && $output == *bpfguard* &&
		$output == *nftables* ]] || fail "$output"
	for bad in "--rounds 0" "--seconds 100" "--rules 65537" "--bogus"; do
		# shellcheck disable=SC2086 # option and value
		run "$BG_REPO/bench/flood.sh" $bad
		[ "$status" -ne 0 ] || fail "$bad: $output"
		[[ $output == flood:* ]] || fail "$bad: $output"
	done
}

# What of the bench's kind exists now (another run's lab may be there:
# only what this run adds is its own).
flood_leftovers()
{
	ip netns list | grep -o '^bgflood-[^ ]*' || true
	grep -o ' /run/bgflood\.[^ ]*' /proc/mounts || true
	compgen -G '/run/bgflood.*' || true
	pgrep -x trafgen || true
}

@test "a short flood: the floor, bpfguard and nftables each drop the flood; the lab is gone after" {
	local before after
	before=$(flood_leftovers | sort)
	run "$BG_REPO/bench/flood.sh" --seconds 1 --rounds 1 --rules 64 --out "$OUT"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(grep -cE '^(floor|bpfguard|nftables) ' "$OUT")" -eq 3 ] || fail "$(cat "$OUT")"
	for kind in floor bpfguard nftables; do
		read -r _ off ref n x ns < <(grep "^$kind " "$OUT")
		((off > 0 && ref >= 0 && n > 0)) || fail "$kind: $(cat "$OUT")"
		[[ $x =~ ^[0-9]+\.[0-9]{3}$ ]] || fail "$kind: $(cat "$OUT")"
		if [[ $kind == nftables ]]; then
			[ "$ns" = - ] || fail "$kind: $(cat "$OUT")"
		else
			[[ $ns =~ ^[0-9]+$ ]] || fail "$kind: $(cat "$OUT")"
		fi
	done
	grep -q '^goal: bpfguard >= 0.90 of the floor: ' "$OUT" || fail "$(cat "$OUT")"
	# no namespace, mount, work directory or trafgen of its own left
	after=$(flood_leftovers | sort)
	[ -z "$(comm -13 <(echo "$before") <(echo "$after"))" ] ||
		fail "left behind: $(comm -13 <(echo "$before") <(echo "$after"))"
}
