#!/usr/bin/env bats
# Randomized differential test: many random rulesets x random packets, the
# kernel's verdict and rule id equal those of fwmapgen's reference
# evaluator (which walks the rules; the kernel never does).

load lib/common

setup()
{
	bpffs_setup
	UNS=bgr-$BATS_TEST_NUMBER-$$
	ip netns add "$UNS"
	ip -n "$UNS" link add name fwa0 type veth peer name fwb0
}

teardown()
{
	netns_del "$UNS"
	bpffs_teardown
}

@test "random rulesets x random packets: kernel == reference evaluator" {
	run in_ns "$UNS" "$PY" "$BG_REPO/test/lib/randfw.py" --repo "$BG_REPO" \
		--bpffs "$FW_BPFFS" --seeds "${BG_RANDOM_SEEDS:-40}" \
		--packets 250 --ifaces fwa0,fwb0 --workdir "$BG_TMP"
	echo "$output" | tail -5
	[ "$status" -eq 0 ]
	[[ ${lines[-1]} == *"kernel and reference agree"* ]]
}
