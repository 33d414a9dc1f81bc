#!/usr/bin/env bats
# The TCP state machine and expiry (headers/bg_ct_state.h) as a userspace
# unit test with a fake clock: test/unit/ct_state_test.c.

load lib/common

@test "ct_state: TCP handshake, window, RST, close and expiry with a fake clock (unit test)" {
	run gcc -O2 -Wall -Wextra -Werror -I"$BG_REPO/headers" \
		-o "$BATS_TEST_TMPDIR/ct_state_test" "$BG_REPO/test/unit/ct_state_test.c"
	echo "$output"
	[ "$status" -eq 0 ]
	run "$BATS_TEST_TMPDIR/ct_state_test"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ ${lines[-1]} =~ ^ct_state_test:\ all\ [0-9]+\ checks\ passed$ ]]
}

@test "ct_state: bg_ct_state.h needs no map, helper or packet header" {
	# Pure: nothing but the ABI and the compiler workarounds.
	run grep -nE '#include|bpf_[a-z_]+\(' "$BG_REPO/headers/bg_ct_state.h"
	echo "$output"
	bad=$(grep -vE '#include (<linux/(types|in)\.h>|"bg_ct_abi\.h"|"bg_compiler\.h")' <<<"$output" || true)
	[ -z "$bad" ] || fail "bg_ct_state.h uses: $bad"
}
