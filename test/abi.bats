#!/usr/bin/env bats
# bg-abi, the ABI the scripts and tests read map bytes with, against the
# BTF of the built objects (what the kernel and bpftool see): a struct
# changed in a header changes both, a consumer that reads bg-abi follows.

load lib/common

# Every struct of bg-abi that an object's BTF has: {name: {size, fields:
# [[name, offset]...]}}, from the BTF of all objects.
btf_structs()
{
	local o
	for o in "$BG_BUILD"/*.o; do
		bpftool -j btf dump file "$o"
	done | jq -s '[.[].types[] | select(.kind == "STRUCT" and (.name | startswith("bg_")))
		| {key: .name, value: {size, fields: [.members[] | [.name, (.bits_offset / 8)]]}}]
		| from_entries'
}

@test "bg-abi: sizes and every member's offset agree with the objects' BTF" {
	abi=$("$BG_BUILD/bg-abi")
	btf=$(btf_structs)
	# The ABI structs of the maps are all there.
	for s in bg_ct_entry bg_ct4_key bg_ct6_key bg_ct_config bg_ct_count \
		bg_fw_gen bg_fw_active bg_fw_hit bg_fw_rule bg_iface_val bg_ct_local_key; do
		jq -e --arg s "$s" 'has($s)' <<<"$btf" >/dev/null || fail "$s not in any BTF"
	done
	run jq -n --argjson a "$abi" --argjson b "$btf" '
		[$a.structs | to_entries[] | select($b[.key] != null)
		 | . as $e | $b[$e.key] as $t
		 | select($e.value.size != $t.size or
			([$e.value.fields[] | [.name, .offset]] != $t.fields))
		 | $e.key]'
	[ "$status" -eq 0 ]
	[ "$output" = "[]" ] || fail "differ from BTF: $output"
	n=$(jq -n --argjson a "$abi" --argjson b "$btf" \
		'[$a.structs | keys[] | select($b[.] != null)] | length')
	((n >= 11)) || fail "only $n structs compared"
}

@test "bg-abi: enums and constants are the compiler's, and --help" {
	run "$BG_BUILD/bg-abi"
	[ "$status" -eq 0 ]
	jq -e '.enums.bg_ct_stat.BG_CT_STAT_SPOOFED == 16 and
		.enums.bg_xdp_slot.BG_XDP_SLOT_LB == 1 and
		.consts.BG_FW_HITS_PER_GEN == .consts.BG_FW_MAX_IDS + 1 and
		.consts.BG_PIN_SUBDIR == "tc/globals" and
		.structs.bg_xdp_meta.size == 8' <<<"$output" >/dev/null || fail "$output"
	run "$BG_BUILD/bg-abi" --help
	[ "$status" -eq 0 ] && [[ $output == Usage:* ]]
	run "$BG_BUILD/bg-abi" extra
	[ "$status" -eq 2 ]
	run "$BG_BUILD/bg-abi" --version
	[ "$status" -eq 0 ] && [[ $output == "bg-abi (bpfguard) "* ]]
}

@test "bg-abi follows a changed header; the Python tools decode with it" {
	# A copy of the headers with a field added in front of bg_ct_entry:
	# the generated tool reports every later offset moved by 8.
	cp -r "$BG_REPO/headers" "$BATS_TEST_TMPDIR/h"
	sed -i 's/^struct bg_ct_entry {$/struct bg_ct_entry {\n\t__u64 added;/' \
		"$BATS_TEST_TMPDIR/h/bg_ct_abi.h"
	sed -i -E 's/\(sizeof\(struct bg_ct_entry\) == ([0-9]+)/(sizeof(struct bg_ct_entry) == \1 + 8/' \
		"$BATS_TEST_TMPDIR/h/bg_ct_abi.h"
	rm "$BATS_TEST_TMPDIR/h/bg_abi.h"
	awk -f "$BG_REPO/tools/gen-abi.awk" "$BATS_TEST_TMPDIR"/h/bg_*abi*.h \
		>"$BATS_TEST_TMPDIR/bg_abi_gen.h"
	cp "$BG_REPO/headers/bg_abi.h" "$BATS_TEST_TMPDIR/h/"
	gcc -O2 -Wall -Werror -I"$BATS_TEST_TMPDIR/h" -I"$BATS_TEST_TMPDIR" \
		-I"$BG_REPO/lib" -o "$BATS_TEST_TMPDIR/bg-abi" "$BG_REPO/tools/bg-abi.c" \
		"$BG_BUILD/libbg.a"
	old=$("$BG_BUILD/bg-abi" | jq '.structs.bg_ct_entry.fields[] | select(.name == "state") | .offset')
	new=$("$BATS_TEST_TMPDIR/bg-abi" | jq '.structs.bg_ct_entry.fields[] | select(.name == "state") | .offset')
	[ "$new" -eq $((old + 8)) ] || fail "state at $old, then $new"
	# test/lib/abi.py decodes an entry by name, at the layout bg-abi gives.
	run python3 - "$BG_REPO/test/lib" <<-'PY'
		import struct, sys
		sys.path.insert(0, sys.argv[1])
		import abi
		raw = bytearray(abi.size("bg_ct_entry"))
		abi.pack_into("bg_ct_entry", raw, "state", 7)
		struct.pack_into("<I", raw, abi.offset("bg_ct_entry", "ifindex") + 4, 9)
		e = abi.unpack("bg_ct_entry", bytes(raw))
		assert e["state"] == 7 and e["ifindex"] == [0, 9], e
		print("ok")
	PY
	[ "$status" -eq 0 ] && [ "$output" = ok ] || fail "$output"
}

@test "no consumer keeps a layout of its own" {
	# What the scripts and test tools once hard-coded: a struct format,
	# a size, a stat index.
	run grep -nE 'ENTRY_FMT|COUNT_FMT|HITS_PER_GEN = [0-9]|ENTRY_SIZE = [0-9]|CONFIG_SIZE = [0-9]' \
		"$BG_REPO"/test/lib/*.py
	[ "$status" -eq 1 ] || fail "$output"
	# The scripts: stat indices, the hits stride, bg_fw_gen's digest and
	# size, the conntrack key's fields.
	run grep -nE '\."[0-9]+"|8193|\[40:72\]|\{1\.\.240\}|: 17 : 41|fam == 4 \? (9|13) :' \
		"$BG_REPO"/scripts/*.sh "$BG_REPO"/scripts/lib/*.sh "$BG_REPO"/scripts/lib/core/*.sh
	[ "$status" -eq 1 ] || fail "$output"
}
