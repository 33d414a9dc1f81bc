#!/usr/bin/env bats
# tc_conntrack on two CPUs at once (BPF_PROG_TEST_RUN from two processes
# pinned to CPU 0 and 1). A test build widens the entry's critical section
# to microseconds so the two CPUs really meet in it; a build of it without
# the entry lock is the negative control that shows the test can fail.

load lib/common

setup()
{
	(($(nproc) >= 2)) || fail "needs two CPUs"
	bpffs_setup
	UNS=bgr-$BATS_TEST_NUMBER-$$
	ip netns add "$UNS"
}

teardown()
{
	netns_del "$UNS"
	bpffs_teardown
}

# race OBJECT WHAT N: load OBJECT into a fresh bpffs, run ct_race.py
race()
{
	umount "$FW_BPFFS" && mount -t bpf bpf "$FW_BPFFS"
	in_ns "$UNS" "$BG_BUILD/bg-load" --bpffs "$FW_BPFFS" "$1" \
		"$FW_BPFFS/ctprogs" >/dev/null
	in_ns "$UNS" "$PY" "$BG_REPO/test/lib/ct_race.py" \
		--bpffs "$FW_BPFFS" --progs "$FW_BPFFS/ctprogs" "$2" "$3"
}

@test "both FINs of a flow on two CPUs at once: no update lost silently (the lock), lost without it" {
	run race "$BG_BUILD/test/tc_conntrack_slow_nolock.o" fin 300
	echo "without the lock: $output"
	[ "$status" -eq 0 ]
	[[ $output =~ other=([0-9]+) ]] && ((BASH_REMATCH[1] > 0)) ||
		fail "the control lost no update: the race was not made"
	run race "$BG_BUILD/test/tc_conntrack_slow.o" fin 300
	echo "with the lock: $output"
	[ "$status" -eq 0 ]
	# None lost silently. A test run, unlike TC in softirq, can be
	# preempted while it holds the lock: a writer that waited out the
	# whole spin gives its update up and counts it (lock_busy). Allow a
	# handful of those, never more.
	[[ $output =~ other=([0-9]+) ]] && other=${BASH_REMATCH[1]}
	[[ $output =~ lock_busy=([0-9]+) ]] && busy=${BASH_REMATCH[1]}
	((other == busy && other <= 6)) ||
		fail "$other updates lost, $busy of them given up under a held lock"
}

@test "flows made while the sweep runs on another CPU are counted exactly, none as evicted" {
	run race "$BG_BUILD/tc_conntrack.o" sweep 20000
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output =~ sweeps=([0-9]+) ]] && ((BASH_REMATCH[1] > 10)) ||
		fail "too few sweeps ran meanwhile"
	[[ $output == *"count=20000 live=20000 evicted=0"* ]]
}

@test "a source's first two flows on two CPUs at once: both counted (lost without the fix)" {
	run race "$BG_BUILD/test/tc_conntrack_slow_nolock.o" src 200
	echo "without the fix: $output"
	[ "$status" -eq 0 ]
	[[ $output =~ short=([0-9]+) ]] && ((BASH_REMATCH[1] > 0)) ||
		fail "the control lost no count: the race was not made"
	run race "$BG_BUILD/test/tc_conntrack_slow.o" src 200
	echo "with it: $output"
	[ "$status" -eq 0 ]
	[[ $output == *"exact=200 short=0"* ]]
}
