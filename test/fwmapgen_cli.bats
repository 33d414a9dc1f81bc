#!/usr/bin/env bats
# fwmapgen, command line: --help, usage errors and their exit codes, the pin dir
# default, -o.
# Needs build/fwmapgen (make build/fwmapgen).

# Rulesets quote $MACROS literally; bats sets $stderr and $stderr_lines.
# shellcheck disable=SC2016,SC2154

load lib/fwmapgen

@test "help: --help and -h print the usage and exit 0 in every mode" {
	local args
	for args in "--help" "-h" "--check --help" "--explain -h" "--eval --help" \
		"--digest -h" "--gen 1 -o x --help" "--explain t.rules --help" \
		"nonexistent.rules -h" "--bogus --help"; do
		# shellcheck disable=SC2086
		run --separate-stderr "$FWMAPGEN" $args
		assert_eq "$status" 0
		assert_eq "${lines[0]}" "$USAGE_LINE1"
		assert_eq "$stderr" ""
		[[ "$output" == *"--explain FILE 'PACKET'"* ]]
		[[ "$output" == *"PACKET := [on IFACE] [PROTO] SRC[:PORT] -> DST[:PORT] [state STATE] [frag]"* ]]
	done
	[ ! -e x ]
}

@test "usage: bad usage exits 2 with a one-line error" {
	rules <<<'pass'
	local -a cases=(
		""
		"--bogus t.rules"
		"--gen 2 t.rules"
		"--gen t.rules"
		"t.rules extra"
		"--check --digest t.rules"
		"--explain t.rules"
		"--explain t.rules 1.2.3.4 x"
		"--check --gen 1 t.rules"
		"--digest -o out t.rules"
		"--pin-dir /a#b t.rules"
		"--explain t.rules 192.0.2.1"
		"--explain t.rules 192.0.2.1->2001:db8::1"
		"--explain t.rules 192.0.2.0/24->192.0.2.1"
		"--pin-dir"
	)
	local c
	for c in "${cases[@]}"; do
		# shellcheck disable=SC2086
		run --separate-stderr "$FWMAPGEN" $c
		echo "case: $c" >&2
		assert_eq "$status" 2
		assert_eq "$output" ""
		assert_eq "${#stderr_lines[@]}" 1
		[[ "$stderr" == fwmapgen:* ]]
	done
	run --separate-stderr "$FWMAPGEN" --gen 2 t.rules
	assert_eq "$stderr" 'fwmapgen: --gen must be 0 or 1, not "2" (see fwmapgen --help)'
	run --separate-stderr "$FWMAPGEN"
	assert_eq "$stderr" 'fwmapgen: missing ruleset FILE (see fwmapgen --help)'
	run --separate-stderr "$FWMAPGEN" --explain t.rules '192.0.2.1 -> 2001:db8::1'
	assert_eq "$stderr" 'fwmapgen: bad PACKET: SRC and DST are not of the same family (see fwmapgen --help)'
	[ ! -e out ]
}

@test "usage: a missing ruleset file is exit 1" {
	run --separate-stderr "$FWMAPGEN" --check nope.rules
	assert_eq "$status" 1
	assert_eq "$stderr" "nope.rules: cannot read ruleset: No such file or directory"
}

@test "emit: pin dir defaults to \$FW_BPFFS/tc/globals" {
	rules <<<'pass'
	FW_BPFFS=/mnt/bpf run --separate-stderr "$FWMAPGEN" t.rules
	assert_eq "$status" 0
	[ "$(grep -c '^map update pinned /mnt/bpf/tc/globals/bg_' <<<"$output")" -eq "$(grep -vc '^#' <<<"$output")" ]
	run --separate-stderr "$FWMAPGEN" t.rules
	grep -q '^map update pinned /sys/fs/bpf/tc/globals/bg_fw_gens key hex 00 00 00 00 value hex 01 ' <<<"$output"
	run --separate-stderr "$FWMAPGEN" --pin-dir /x/y/ t.rules
	grep -q '^map update pinned /x/y/bg_fw_gens key' <<<"$output"
}

@test "emit: -o writes atomically and only on success" {
	local good
	rules <<<'pass from 192.0.2.0/24'
	good=$("$FWMAPGEN" --pin-dir /p t.rules)
	run --separate-stderr "$FWMAPGEN" --pin-dir /p -o out.batch t.rules
	assert_eq "$status" 0
	assert_eq "$output" ""
	assert_eq "$(cat out.batch)" "$good"
	assert_eq "$(stat -c %a out.batch)" "$(printf '%o' $((0666 & ~$(umask))))"
	# a failed compilation leaves the previous batch alone
	rules <<<'pass from 192.0.2.1/24'
	run --separate-stderr "$FWMAPGEN" --pin-dir /p -o out.batch t.rules
	assert_eq "$status" 1
	assert_eq "$(cat out.batch)" "$good"
	[ -z "$(ls out.batch.tmp.* 2>/dev/null)" ]
	run --separate-stderr "$FWMAPGEN" -o nodir/out.batch t.rules
	assert_eq "$status" 1
	[ ! -e nodir ]
}
