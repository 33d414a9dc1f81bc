#!/usr/bin/env bats
# make install lays out a working copy: the installed commands bring the
# firewall up on a lab interface without the checkout.

load lib/common

setup()
{
	bpffs_setup
	LAB_ID=i$BATS_TEST_NUMBER-$$
	lab_setup
	DEST=$BG_TMP/dest
}

teardown()
{
	lab_teardown
	lock_teardown
	bpffs_teardown
}

@test "make install DESTDIR=... PREFIX=/opt/bg: layout and a working up/status/down" {
	run make -s -C "$BG_REPO" install DESTDIR="$DEST" PREFIX=/opt/bg \
		SYSCONFDIR=/etc
	[ "$status" -eq 0 ] || fail "$output"
	L=$DEST/opt/bg/lib/bpfguard
	for f in bpf/xdp_firewall.o bin/fwmapgen bin/bg-load bin/bg-events bin/bg-purge \
		scripts/up.sh scripts/down.sh scripts/status.sh scripts/lib.sh \
		scripts/conntrack.sh scripts/programs scripts/lib/firewall.sh \
		scripts/lib/conntrack.sh scripts/lib/core/hooks.sh \
		scripts/lib/core/iface.sh scripts/lib/core/ruleset.sh \
		scripts/lib/core/registry.sh \
		default.rules; do
		[ -e "$L/$f" ] || fail "missing $L/$f"
	done
	[ -r "$DEST/etc/bpfguard/bpfguard.rules" ]
	for c in bpfguard-up bpfguard-down bpfguard-status bpfguard-events fwmapgen; do
		[ -x "$DEST/opt/bg/sbin/$c" ] || fail "missing sbin/$c"
	done
	# The installed copy runs from anywhere, through its sbin links.
	cp -r "$DEST" "$BG_TMP/elsewhere"
	S=$BG_TMP/elsewhere/opt/bg/sbin
	rules=$(ruleset inst <<<'block from 192.0.2.11')
	run in_dut "$S/bpfguard-up" dut0 --rules "$rules"
	[ "$status" -eq 0 ] || fail "$output"
	run in_cli ping -c 1 -W 1 -I 192.0.2.11 192.0.2.1
	[ "$status" -ne 0 ]
	run in_cli ping -c 1 -W 1 -I 192.0.2.10 192.0.2.1
	[ "$status" -eq 0 ]
	run in_dut "$S/bpfguard-status" --json
	[ "$status" -eq 0 ] || fail "$output"
	echo "$output" | jq -e '.rules[1].packets >= 1'
	# The installed registry and modules: conntrack, then the firewall.
	echo "$output" | jq -e '[.programs[] | select(.state == "enabled")
		| .program] == ["bg_ct_ingress", "bg_ct_egress", "bg_fw_xdp"]'
	run "$S/fwmapgen" --explain "$rules" '192.0.2.11 -> 192.0.2.1'
	[[ $output == *"verdict: block"* ]]
	run in_dut "$S/bpfguard-down" dut0
	[ "$status" -eq 0 ] || fail "$output"
	[ ! -e "$FW_BPFFS/tc/globals/bg_fw_active" ]
}

@test "install.sh --help and --prefix" {
	run "$BG_REPO/install.sh" --help
	[ "$status" -eq 0 ]
	[[ $output == *"--prefix"* ]]
	run "$BG_REPO/install.sh" --no-deps --prefix /opt/bg2 --destdir "$BG_TMP/d2"
	[ "$status" -eq 0 ] || fail "$output"
	[ -x "$BG_TMP/d2/opt/bg2/sbin/bpfguard-up" ]
	run "$BG_TMP/d2/opt/bg2/sbin/bpfguard-up" --help
	[[ $output == Usage:* ]]
}
