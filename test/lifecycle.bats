#!/usr/bin/env bats
# The lifecycle scripts on the edge cases: devices the programs cannot
# parse, the lock, foreign programs the checks miss, operations that fail
# or are interrupted half way, and maps bpftool cannot format.

load lib/common

setup()
{
	bpffs_setup
	LAB_ID=l$BATS_TEST_NUMBER-$$
	lab_setup
	OLD_LOCK=""
	HOLDER=""
}

teardown()
{
	[[ -z $HOLDER ]] || kill "$HOLDER" 2>/dev/null || true
	[[ -z $OLD_LOCK ]] || rm -f "$OLD_LOCK"
	[[ -z ${LOCK2:-} ]] || rmdir "$LOCK2" 2>/dev/null || true
	lab_teardown
	lock_teardown
	bpffs_teardown
}

ping_from()
{
	in_cli ping -q -c 3 -i 0.2 -W 1 -I "$1" 192.0.2.1 >/dev/null 2>&1
}

# Nothing of bpfguard on interface $1 of the DUT: no XDP, no TC filter.
assert_bare()
{
	run in_dut ip -d link show dev "$1"
	[[ $output != *prog/xdp* ]] || fail "XDP left on $1: $output"
	run in_dut tc filter show dev "$1" ingress
	[ -z "$output" ] || fail "TC ingress filter left on $1: $output"
	run in_dut tc filter show dev "$1" egress
	[ -z "$output" ] || fail "TC egress filter left on $1: $output"
}

# Raw value of a pinned array map's entry 0.
raw0()
{
	bpftool -j map lookup pinned "$FW_BPFFS/tc/globals/$1" \
		key hex 00 00 00 00 | jq -c '.value'
}

# Hold a flock on $2 as user $1 (root or nobody) until killed: one
# process, so that killing $HOLDER releases the lock.
hold_lock()
{
	local who=()
	[[ $1 == root ]] || who=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	# Created by the holder before the probe below (flock(1) would create
	# it as root).
	[[ -e $2 ]] || "${who[@]}" touch "$2"
	"${who[@]}" bash -c 'if [[ -d $1 ]]; then exec 8<"$1"; else exec 8<>"$1"; fi
		flock 8; exec sleep 60' _ "$2" 3>&- &
	HOLDER=$!
	local i
	for i in $(seq 50); do
		flock -n "$2" true 2>/dev/null || return 0
		sleep 0.1
	done
	fail "could not take the lock $2 as $1"
}

@test "5: devices without Ethernet (tun, loopback) are refused, nothing left behind" {
	in_dut ip tuntap add dev tun0 mode tun
	in_dut ip addr add 198.51.100.1/24 dev tun0
	in_dut ip link set tun0 up
	for dev in tun0 lo; do
		for m in native generic; do
			run up "$dev" --mode "$m"
			[ "$status" -ne 0 ] || fail "$dev $m: $output"
			[[ $output == *"$dev has link type '"*"', not Ethernet"* ]] ||
				fail "$dev $m: $output"
			assert_bare "$dev"
		done
	done
	[[ $(in_dut ip -j link show dev tun0 | jq -r '.[0].link_type') == none ]]
	[ ! -e "$FW_BPFFS/tc" ] && [ ! -e "$FW_BPFFS/bpfguard" ] ||
		fail "pinned: $(ls -R "$FW_BPFFS")"
	[ ! -e "$(lock_path_of "$FW_BPFFS")" ]
	# An Ethernet device of the same namespace still works.
	run up dut0
	[ "$status" -eq 0 ] || fail "$output"
}

@test "11: an unprivileged user holding the old /run/lock file cannot block up.sh or down.sh" {
	OLD_LOCK=/run/lock/bpfguard$(printf '%s' "$FW_BPFFS" | tr -c 'A-Za-z0-9' '_').lock
	rm -f "$OLD_LOCK"
	hold_lock nobody "$OLD_LOCK"
	run timeout 20 nsenter --net="/run/netns/$DUT" "$BG_REPO/scripts/up.sh" dut0
	[ "$status" -eq 0 ] || fail "up.sh blocked or failed: $output"
	run timeout 20 nsenter --net="/run/netns/$DUT" "$BG_REPO/scripts/down.sh" dut0
	[ "$status" -eq 0 ] || fail "down.sh blocked or failed: $output"
}

@test "11: the lock is keyed on the canonical bpffs path and taken before the bpffs is mounted" {
	# Spellings of one bpffs (a trailing slash, a dot, a symlink to it)
	# name one lock: held under one, up.sh under another waits for it.
	ln -s "$FW_BPFFS" "$BG_TMP/bpffs-link"
	lock=$(lock_path_of "$FW_BPFFS")
	for alias in "$FW_BPFFS/" "$FW_BPFFS/./" "$BG_TMP/bpffs-link"; do
		[ "$(lock_path_of "$alias")" = "$lock" ] ||
			fail "$alias: $(lock_path_of "$alias") is not $lock"
	done
	mkdir -p "$(dirname "$lock")"
	mkdir -m 0700 "$lock"
	hold_lock root "$lock"
	run in_dut env FW_BPFFS="$BG_TMP/bpffs-link/" BG_LOCK_WAIT=1 \
		"$BG_REPO/scripts/up.sh" dut0
	[ "$status" -ne 0 ]
	[[ $output == *"another bpfguard command holds the lock"* ]] || fail "$output"
	assert_bare dut0
	# A bpffs not mounted yet: the lock comes first (up.sh waits for it
	# instead of finding the mount missing), so two commands cannot both
	# mount one.
	mkdir "$BG_TMP/unmounted"
	LOCK2=$(lock_path_of "$BG_TMP/unmounted")
	mkdir -m 0700 "$LOCK2"
	kill "$HOLDER"
	wait "$HOLDER" 2>/dev/null || true
	hold_lock root "$LOCK2"
	run in_dut env FW_BPFFS="$BG_TMP/unmounted" BG_LOCK_WAIT=1 \
		"$BG_REPO/scripts/up.sh" dut0
	[ "$status" -ne 0 ]
	[[ $output == *"another bpfguard command holds the lock of $BG_TMP/unmounted"* ]] ||
		fail "$output"
	kill "$HOLDER"
	wait "$HOLDER" 2>/dev/null || true
	rmdir "$lock" "$LOCK2"
}

@test "11: the lock is root-only: nobody can create, open or hold it" {
	up dut0
	lock=$(lock_path_of "$FW_BPFFS")
	dir=$(dirname "$lock")
	[ -d "$lock" ] && [ ! -L "$lock" ]
	[ "$(stat -c '%u %a' "$dir")" = "0 700" ]
	for p in "$dir" "$lock"; do
		run setpriv --reuid=65534 --regid=65534 --clear-groups \
			flock -n "$p" true
		[ "$status" -ne 0 ] || fail "nobody could lock $p"
	done
	run setpriv --reuid=65534 --regid=65534 --clear-groups \
		mkdir "$dir/planted"
	[ "$status" -ne 0 ]
	# The lock goes with the last pin: nothing left behind.
	down dut0
	[ ! -e "$lock" ]
}

@test "11: a symlink planted at the old or the new lock path is neither followed nor truncated" {
	echo precious >"$BG_TMP/victim"
	chmod 0644 "$BG_TMP/victim"
	# The old path, in world-writable /run/lock: planted by nobody (this
	# machine runs with fs.protected_symlinks=0, so root would follow it).
	OLD_LOCK=/run/lock/bpfguard$(printf '%s' "$FW_BPFFS" | tr -c 'A-Za-z0-9' '_').lock
	rm -f "$OLD_LOCK"
	chmod 0755 "$BG_TMP"
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		ln -s "$BG_TMP/victim" "$OLD_LOCK"
	run up dut0
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(cat "$BG_TMP/victim")" = precious ] || fail "victim truncated"
	run down dut0
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(cat "$BG_TMP/victim")" = precious ] || fail "victim truncated"

	# The new path (BG_LOCK_DIR moves it for the test): a lock directory
	# that is a symlink, or a lock that is one, is refused, not followed.
	mkdir -m 0700 "$BG_TMP/real"
	ln -s "$BG_TMP/real" "$BG_TMP/locks"
	run in_dut env BG_LOCK_DIR="$BG_TMP/locks" "$BG_REPO/scripts/up.sh" dut0
	[ "$status" -ne 0 ]
	[[ $output == *"lock directory $BG_TMP/locks must be a directory owned by root with mode 0700, not a symlink"* ]] ||
		fail "$output"
	assert_bare dut0
	[ -z "$(ls -A "$BG_TMP/real")" ]
	rm "$BG_TMP/locks"
	mkdir -m 0700 "$BG_TMP/locks"
	lock=$(BG_LOCK_DIR=$BG_TMP/locks lock_path_of "$FW_BPFFS")
	ln -s "$BG_TMP/victim" "$lock"
	run in_dut env BG_LOCK_DIR="$BG_TMP/locks" "$BG_REPO/scripts/up.sh" dut0
	[ "$status" -ne 0 ]
	[[ $output == *"lock $lock must be a directory owned by root"* ]] ||
		fail "$output"
	[ "$(cat "$BG_TMP/victim")" = precious ] || fail "victim truncated"
	assert_bare dut0
	# A lock directory others may enter is refused too.
	rm "$lock"
	chmod 0755 "$BG_TMP/locks"
	run in_dut env BG_LOCK_DIR="$BG_TMP/locks" "$BG_REPO/scripts/up.sh" dut0
	[ "$status" -ne 0 ]
	[[ $output == *"mode 0700"*"is: directory, owner root, mode 755"* ]] ||
		fail "$output"
}

@test "11: concurrent up.sh and down.sh still take turns" {
	ip -n "$DUT" link add name dut1 type veth peer name cli1 netns "$CLI"
	in_dut ip link set dut1 up
	a=$(ruleset a <<<'block from 192.0.2.11')
	b=$(ruleset b <<<'block from 192.0.2.12')
	# Waits while the lock is held, goes on when it is released.
	[ -d /run/bpfguard ] || mkdir -m 0700 /run/bpfguard
	lock=$(lock_path_of "$FW_BPFFS")
	mkdir -m 0700 "$lock"
	hold_lock root "$lock"
	up dut0 --rules "$a" >"$BG_TMP/up.out" 2>&1 3>&- &
	pid=$!
	sleep 1.5
	kill -0 "$pid" || fail "up.sh did not wait: $(cat "$BG_TMP/up.out")"
	assert_bare dut0
	kill "$HOLDER"
	HOLDER=""
	wait "$pid" || fail "$(cat "$BG_TMP/up.out")"
	# Two runs at once with different rulesets: one after the other.
	up dut1 --rules "$b" >"$BG_TMP/1.out" 2>&1 3>&- &
	p1=$!
	up dut0 --rules "$a" --mode generic >"$BG_TMP/2.out" 2>&1 3>&- &
	p2=$!
	wait "$p1" || fail "$(cat "$BG_TMP/1.out")"
	wait "$p2" || fail "$(cat "$BG_TMP/2.out")"
	run status_json
	[ "$status" -eq 0 ] || fail "$output"
	echo "$output" | jq -e '(.interfaces | length) == 2 and .ruleset.loaded'
	echo "$output" | jq -e --arg a "$a" --arg b "$b" \
		'.ruleset.source == $a or .ruleset.source == $b'
	down dut0 >/dev/null 2>&1 3>&- &
	p1=$!
	down dut1 >/dev/null 2>&1 3>&- &
	p2=$!
	wait "$p1"
	wait "$p2"
	assert_bare dut0
	assert_bare dut1
	[ -z "$(ls -A "$FW_BPFFS/tc/globals")" ] || fail "left: $(ls "$FW_BPFFS/tc/globals")"
	[ ! -e "$lock" ]
}

@test "16: a foreign XDP program the checks miss is refused by the kernel itself; --force replaces it" {
	in_dut ip link set dev dut0 xdpdrv obj "$BG_BUILD/bench/xdp_noop.o" sec xdp
	foreign=$(in_dut ip -j -d link show dev dut0 | jq '.[0].xdp.prog.id')
	# An ip whose JSON lacks the XDP program: up.sh's own check sees none.
	real=$(command -v ip)
	fake_tool ip <<-EOF
		#!/bin/bash
		if [[ " \$* " == *" -j "*" link show "* ]]; then
			"$real" "\$@" | jq -c 'map(del(.xdp))'
			exit "\${PIPESTATUS[0]}"
		fi
		exec "$real" "\$@"
	EOF
	run in_dut_faked "$BG_REPO/scripts/up.sh" dut0
	[ "$status" -ne 0 ]
	[[ $output == *"kernel refused to replace the XDP program"*"use --force"* ]] ||
		fail "$output"
	[ "$(in_dut ip -j -d link show dev dut0 | jq '.[0].xdp.prog.id')" = "$foreign" ]
	run in_dut tc filter show dev dut0 ingress
	[ -z "$output" ] || fail "conntrack left attached: $output"
	[ -z "$(ls -A "$FW_BPFFS/tc/globals" 2>/dev/null)" ] || fail "pins left"
	run in_dut_faked "$BG_REPO/scripts/up.sh" dut0 --force
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(in_dut ip -j -d link show dev dut0 | jq -r '.[0].xdp.prog.name')" = bg_fw_xdp ]
}

@test "17a: a failed up.sh on a second interface leaves the first on its ruleset" {
	a=$(ruleset a <<-'EOF'
		set timeout tcp.established 1000
		block from 192.0.2.11
	EOF
	)
	b=$(ruleset b <<-'EOF'
		set timeout tcp.established 2000
		block from 192.0.2.10
	EOF
	)
	up dut0 --rules "$a"
	before=$(status_json)
	ct_before=$(raw0 bg_ct_config)
	# A bridge has no native XDP: attaching br0 fails after the ruleset
	# was compiled and loaded into the spare generation.
	in_dut ip link add name br0 type bridge
	in_dut ip link set br0 up
	run up br0 --rules "$b" --mode native
	[ "$status" -ne 0 ]
	[[ $output == *"native mode failed"* ]] || fail "$output"
	assert_bare br0
	run in_dut tc qdisc show dev br0
	[[ $output != *clsact* ]] || fail "$output"
	after=$(status_json)
	jq -e --arg a "$a" '.ruleset.source == $a and (.interfaces | length) == 1' \
		<<<"$after" || fail "$after"
	[ "$(jq .ruleset.switches <<<"$after")" = "$(jq .ruleset.switches <<<"$before")" ]
	[ "$(raw0 bg_ct_config)" = "$ct_before" ] || fail "conntrack settings changed"
	# The spare generation is empty again.
	spare=$((1 - $(jq .ruleset.generation <<<"$after")))
	bpftool -j map lookup pinned "$FW_BPFFS/tc/globals/bg_fw_gens" \
		key hex "0$spare" 00 00 00 | jq -e '.value[0] == "0x00"'
	left=$(gen_entries "$spare")
	[ -z "$left" ] || fail "left of generation $spare: $left"
	ping_from 192.0.2.10
	run ! ping_from 192.0.2.11
}

@test "17b: a half-filled program pin directory (older bg-load interrupted) does not break up.sh" {
	d=$FW_BPFFS/bpfguard/$(sha256sum "$BG_BUILD/tc_conntrack.o" | cut -c1-16)
	"$BG_BUILD/bg-load" --bpffs "$FW_BPFFS" "$BG_BUILD/tc_conntrack.o" "$d" >/dev/null
	rm "$d/bg_ct_egress"
	run up dut0
	[ "$status" -eq 0 ] || fail "$output"
	[ -e "$d/bg_ct_egress" ]
	run in_dut tc filter show dev dut0 egress
	[[ $output == *bg_ct_egress* ]] || fail "$output"
	run down dut0
	[ "$status" -eq 0 ] || fail "$output"
	[ ! -e "$FW_BPFFS/bpfguard" ]
}

@test "17b: bg-load killed at any point leaves no half-filled directory; up.sh clears what it left" {
	load=("$BG_BUILD/bg-load" --bpffs "$FW_BPFFS" "$BG_BUILD/tc_conntrack.o")
	d=$FW_BPFFS/bpfguard/$(sha256sum "$BG_BUILD/tc_conntrack.o" | cut -c1-16)
	# Maps pinned by a first load, so that every later load makes the
	# same system calls; one traced load shows which bpf() calls pin the
	# programs.
	"${load[@]}" "$d" >/dev/null
	rm -rf "$d"
	strace -s 4096 -o "$BG_TMP/trace" -e trace=bpf "${load[@]}" "$d" >/dev/null
	mapfile -t names < <(ls "$d")
	rm -rf "$d"
	mapfile -t pins < <(grep -n "BPF_OBJ_PIN, {pathname=\"$d" "$BG_TMP/trace" |
		cut -d: -f1)
	[ "${#pins[@]}" -eq "${#names[@]}" ] && [ "${#names[@]}" -ge 2 ] ||
		fail "pins at ${pins[*]} for ${names[*]}"
	# Killed before each program pin, and before the final rename.
	for k in "${pins[@]}"; do
		run strace -o /dev/null -e trace=bpf \
			-e inject=bpf:signal=KILL:when="$k" "${load[@]}" "$d"
		[ "$status" -ne 0 ] || fail "not killed at bpf call $k"
		if [ -e "$d" ]; then
			for n in "${names[@]}"; do
				[ -e "$d/$n" ] || fail "killed at bpf call $k: $d lacks $n"
			done
		fi
	done
	run strace -o /dev/null -e trace=rename,renameat,renameat2 \
		-e inject=rename,renameat,renameat2:signal=KILL "${load[@]}" "$d"
	[ ! -e "$d" ] || [ "$(find "$d" -mindepth 1 | wc -l)" -eq "${#names[@]}" ]
	# What the kills left, only temporary directories, goes with up.sh.
	run up dut0
	[ "$status" -eq 0 ] || fail "$output"
	run ls "$FW_BPFFS/bpfguard"
	[[ $output != *-tmp-* ]] || fail "left: $output"
	for n in "${names[@]}"; do
		[ -e "$d/$n" ] || fail "$d lacks $n"
	done
}

@test "17c: down.sh with the pins gone still detaches bpfguard's programs" {
	ip -n "$DUT" link add name dut1 type veth peer name cli1 netns "$CLI"
	in_dut ip link set dut1 up
	in_dut ip link set dev dut1 xdpdrv obj "$BG_BUILD/bench/xdp_noop.o" sec xdp
	up dut0
	# Pins removed by hand.
	rm -f "$FW_BPFFS"/tc/globals/bg_*
	rm -rf "$FW_BPFFS/bpfguard"
	run down dut0
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output == *"3 bpfguard program(s) still ran: detached"* ]] || fail "$output"
	assert_bare dut0
	# A program that is not bpfguard's stays.
	run down dut1
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output == *"not running"* ]] || fail "$output"
	in_dut ip -d link show dev dut1 | grep -q 'prog/xdp'
	# The whole bpffs unmounted.
	up dut0
	umount "$FW_BPFFS"
	run down dut0
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output == *"detached"* ]] || fail "$output"
	assert_bare dut0
	run down dut0
	[ "$status" -eq 0 ]
	[[ $output == *"not running"* ]] || fail "$output"
}

@test "18: without bpftool's BTF formatting, up.sh and down.sh decide from the raw values" {
	ip -n "$DUT" link add name dut1 type veth peer name cli1 netns "$CLI"
	in_dut ip link set dut1 up
	in_cli ip link set cli1 up
	real=$(command -v bpftool)
	fake_tool bpftool <<-EOF
		#!/bin/bash
		[[ " \$* " == *" -j "* ]] || exec "$real" "\$@"
		out=\$("$real" "\$@")
		rc=\$?
		[[ -z \$out ]] ||
			jq -c 'walk(if type == "object" then del(.formatted) else . end)' <<<"\$out"
		exit "\$rc"
	EOF
	run in_dut_faked bpftool -j map show
	[[ $output != *formatted* ]]
	a=$(ruleset a <<<'block from 192.0.2.11')
	b=$(ruleset b <<<'block from 192.0.2.10')
	run in_dut_faked "$BG_REPO/scripts/up.sh" dut0 --rules "$a"
	[ "$status" -eq 0 ] || fail "$output"
	run ! ping_from 192.0.2.11
	run in_dut_faked "$BG_REPO/scripts/up.sh" dut0 --rules "$b"
	[ "$status" -eq 0 ] || fail "$output"
	run ! ping_from 192.0.2.10
	ping_from 192.0.2.11
	run in_dut_faked "$BG_REPO/scripts/up.sh" dut0 --rules "$b"
	[[ $output == *unchanged* ]] || fail "$output"
	run in_dut_faked "$BG_REPO/scripts/up.sh" dut1
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output == *"ruleset unchanged (running: $b)"* ]] || fail "$output"
	run in_dut_faked "$BG_REPO/scripts/up.sh" dut1 --mode generic
	[ "$status" -eq 0 ] || fail "$output"
	run status_json
	echo "$output" | jq -e --arg b "$b" '.ruleset.source == $b and
		.ruleset.switches == 2 and (.interfaces | length) == 2'
	run in_dut_faked "$BG_REPO/scripts/down.sh" dut1
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output == *"still use"* ]] || fail "$output"
	run in_dut_faked "$BG_REPO/scripts/down.sh" dut0
	[ "$status" -eq 0 ] || fail "$output"
	assert_bare dut0
	assert_bare dut1
	[ ! -e "$FW_BPFFS/tc/globals/bg_fw_active" ]
}

@test "18: a generation that is neither 0 nor 1 is reported as such" {
	up dut0
	bpftool map update pinned "$FW_BPFFS/tc/globals/bg_fw_active" \
		key hex 00 00 00 00 value hex 07 00 00 00 01 00 00 00
	run up dut0 --rules "$(ruleset x <<<'block from 192.0.2.12')"
	[ "$status" -ne 0 ]
	[[ $output == *"bg_fw_active says generation 7, not 0 or 1"* ]] ||
		fail "$output"
	[ "$(raw0 bg_fw_active)" = '["0x07","0x00","0x00","0x00","0x01","0x00","0x00","0x00"]' ]
}

@test "6: up.sh turns receive VLAN offload off (XDP must see the tags TC sees) and down.sh restores it" {
	in_dut ethtool -K dut0 rxvlan on
	run up dut0
	[ "$status" -eq 0 ] || fail "up.sh: $output"
	[[ $output == *"receive VLAN offload turned off"* ]]
	in_dut ethtool -k dut0 | grep -qx 'rx-vlan-offload: off'
	# Running again keeps it off and the note of what to restore.
	run up dut0
	[ "$status" -eq 0 ] || fail "up.sh again: $output"
	in_dut ethtool -k dut0 | grep -qx 'rx-vlan-offload: off'
	run down dut0
	[ "$status" -eq 0 ] || fail "down.sh: $output"
	in_dut ethtool -k dut0 | grep -qx 'rx-vlan-offload: on'
	# An offload the operator had off stays off.
	in_dut ethtool -K dut0 rxvlan off
	run up dut0
	[ "$status" -eq 0 ] || fail "up.sh: $output"
	run down dut0
	in_dut ethtool -k dut0 | grep -qx 'rx-vlan-offload: off'
}
