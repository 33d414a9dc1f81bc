#!/usr/bin/env bats
# The scripts' interface: --help, and a clear one-line error with a
# non-zero exit for every precondition an operator can get wrong.

load lib/common

setup()
{
	bpffs_setup
	LAB_ID=s$BATS_TEST_NUMBER-$$
	lab_setup
}

teardown()
{
	lab_teardown
	lock_teardown
	bpffs_teardown
}

@test "every script and helper has --help" {
	for s in up down status conntrack deps demo check-kernels; do
		run "$BG_REPO/scripts/$s.sh" --help
		[ "$status" -eq 0 ] || fail "$s: $output"
		[[ ${output,,} == *usage:* ]] || fail "$s: $output"
	done
	for c in "$BG_REPO/install.sh" "$BG_REPO/bench/run.sh" \
		"$BG_BUILD/bg-load" "$BG_BUILD/bg-events" "$BG_BUILD/bg-purge"; do
		run "$c" --help
		[ "$status" -eq 0 ] || fail "$c: $output"
		[[ $output == Usage:* ]] || fail "$c: $output"
	done
	run "$FWMAPGEN" --help
	[ "$status" -eq 0 ]
}

@test "not root: clear error, non-zero exit" {
	for s in up down status; do
		run setpriv --reuid=65534 --regid=65534 --clear-groups \
			"$BG_REPO/scripts/$s.sh" dut0
		[ "$status" -ne 0 ]
		[[ $output == *"must run as root"* ]] || fail "$s: $output"
	done
}

@test "no such interface" {
	for s in up status; do
		run in_dut "$BG_REPO/scripts/$s.sh" nosuch0
		[ "$status" -ne 0 ]
		[[ $output == *"no such interface: nosuch0"* ]] || fail "$s: $output"
	done
}

@test "bpffs missing" {
	mkdir -p "$BG_TMP/plain"
	for s in up status; do
		run in_dut env FW_BPFFS="$BG_TMP/plain" "$BG_REPO/scripts/$s.sh" dut0
		[ "$status" -ne 0 ]
		[[ $output == *"bpffs missing"* ]] || fail "$s: $output"
	done
	[ -z "$(ls "$BG_TMP/plain")" ]
}

@test "a bpffs that would vanish (private /sys of ip netns exec) is refused" {
	run ip netns exec "$DUT" env FW_BPFFS=/sys/fs/bpf \
		"$BG_REPO/scripts/up.sh" dut0
	[ "$status" -ne 0 ]
	[[ $output == *"private /sys"* ]] || fail "$output"
	run in_dut ip -d link show dev dut0
	[[ $output != *xdp* ]]
}

@test "objects not built" {
	run in_dut env BG_OBJ_DIR="$BG_TMP/none" "$BG_REPO/scripts/up.sh" dut0
	[ "$status" -ne 0 ]
	[[ $output == *"objects not built"* ]] || fail "$output"
}

@test "ruleset invalid: error names file:line:column, nothing is attached or pinned" {
	bad=$(ruleset bad <<-'EOF'
		set default block
		block from 192.0.2.300
	EOF
	)
	run up dut0 --rules "$bad"
	[ "$status" -ne 0 ]
	[[ $output == *"bad.rules:2:12:"* ]] || fail "$output"
	[[ $output == *"nothing changed"* ]] || fail "$output"
	run in_dut ip -d link show dev dut0
	[[ $output != *xdp* ]]
	[ -z "$(ls "$FW_BPFFS/tc/globals" 2>/dev/null)" ]
}

@test "status without a running toolkit says so" {
	run in_dut "$BG_REPO/scripts/status.sh"
	[ "$status" -ne 0 ]
	[[ $output == *"not running"* ]] || fail "$output"
}

@test "unknown options are refused" {
	for s in up down status; do
		run "$BG_REPO/scripts/$s.sh" --bogus
		[ "$status" -ne 0 ]
		[[ $output == *"unknown option --bogus"* ]] || fail "$s: $output"
	done
	run "$BG_REPO/scripts/up.sh" dut0 --mode turbo
	[[ $output == *"native or generic"* ]]
}

@test "BG_BPFFS names the bpffs, FW_BPFFS is its old name; two names for two bpffs are refused" {
	mkdir -p "$BG_TMP/other"
	mount -t bpf bpf "$BG_TMP/other"
	# Both set, naming different bpffs: an error before anything changes.
	for s in up down status; do
		run in_dut env BG_BPFFS="$BG_TMP/other" FW_BPFFS="$FW_BPFFS" \
			"$BG_REPO/scripts/$s.sh" dut0
		[ "$status" -ne 0 ] || fail "$s: $output"
		[[ $output == *"BG_BPFFS=$BG_TMP/other and FW_BPFFS=$FW_BPFFS name different bpffs"* ]] ||
			fail "$s: $output"
	done
	run in_dut ip -d link show dev dut0
	[[ $output != *prog/xdp* ]] || fail "$output"
	[ -z "$(ls -A "$BG_TMP/other/tc" "$FW_BPFFS/tc" 2>/dev/null)" ]

	# BG_BPFFS alone.
	run in_dut env -u FW_BPFFS BG_BPFFS="$FW_BPFFS" "$BG_REPO/scripts/up.sh" dut0
	[ "$status" -eq 0 ] || fail "$output"
	[ -e "$FW_BPFFS/tc/globals/bg_fw_active" ]
	[ ! -e "$BG_TMP/other/tc" ]
	run in_dut env -u FW_BPFFS BG_BPFFS="$FW_BPFFS" "$BG_REPO/scripts/status.sh" --json
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(jq -r .bpffs <<<"$output")" = "$FW_BPFFS" ]
	# FW_BPFFS alone (what the other tests use), and both naming one
	# bpffs in two spellings.
	run in_dut env -u BG_BPFFS FW_BPFFS="$FW_BPFFS" "$BG_REPO/scripts/status.sh" --json
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(jq -r .bpffs <<<"$output")" = "$FW_BPFFS" ]
	run in_dut env BG_BPFFS="$FW_BPFFS/" FW_BPFFS="$FW_BPFFS" \
		"$BG_REPO/scripts/up.sh" dut0
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output == *"ruleset unchanged"* ]] || fail "$output"
	# One lock for either name.
	[ "$(env -u FW_BPFFS BG_BPFFS="$FW_BPFFS" bash -c \
		'source "$1/scripts/lib.sh"; bg_bpffs_path; bg_lock_path' _ "$BG_REPO")" = \
		"$(lock_path_of "$FW_BPFFS")" ]
	run in_dut env -u FW_BPFFS BG_BPFFS="$FW_BPFFS" "$BG_REPO/scripts/down.sh" dut0
	[ "$status" -eq 0 ] || fail "$output"
	[ ! -e "$FW_BPFFS/tc/globals/bg_fw_active" ]
	umount "$BG_TMP/other"
}

@test "--help names BG_BPFFS and its old name FW_BPFFS" {
	for s in up down status conntrack; do
		run "$BG_REPO/scripts/$s.sh" --help
		[[ $output == *"BG_BPFFS"*"FW_BPFFS, its old name"* ]] || fail "$s: $output"
	done
}
