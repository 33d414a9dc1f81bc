#!/usr/bin/env bats
# Properties of every built BPF object and the maps it pins.

load lib/common

setup()
{
	bpffs_setup
}

teardown()
{
	bpffs_teardown
}

@test "every pinned map: bg_ prefix, unique in 15 characters, BTF for key and value" {
	local o names
	for o in "$BG_BUILD"/*.o; do
		"$BG_BUILD/bg-load" --bpffs "$FW_BPFFS" "$o" \
			"$FW_BPFFS/objs/$(basename "$o" .o)" >/dev/null ||
			fail "bg-load $o failed"
	done
	names=$(ls "$FW_BPFFS/tc/globals")
	[ -n "$names" ]
	for n in $names; do
		[[ $n == bg_* ]] || fail "map $n lacks the bg_ prefix"
		info=$(bpftool -j map show pinned "$FW_BPFFS/tc/globals/$n")
		[ "$(jq -r .name <<<"$info")" = "${n:0:15}" ] || fail "$n: $info"
		# The kernel takes no BTF for a ring buffer, a PROG_ARRAY or a
		# map of maps (map_check_no_btf): their values are not data.
		case $(jq -r .type <<<"$info") in
		ringbuf | prog_array | array_of_maps) ;;
		*) jq -e '.btf_id > 0' <<<"$info" >/dev/null || fail "$n has no BTF" ;;
		esac
	done
	dups=$(cut -c1-15 <<<"$names" | sort | uniq -d)
	[ -z "$dups" ] || fail "names not unique in 15 characters: $dups"
	# bpftool shows named fields for a map with BTF
	bpftool -j map dump pinned "$FW_BPFFS/tc/globals/bg_fw_gens" |
		jq -e '.[0].formatted.value | has("default_action")' >/dev/null
}

@test "every program section holds exactly one program (iproute2 picks by section)" {
	for o in "$BG_BUILD"/*.o; do
		# index and name of the program sections
		secs=$(readelf -SW "$o" |
			sed -n 's/^ *\[ *\([0-9]*\)\] \([^ ]*\) .*/\1 \2/p' |
			grep -E ' (xdp|tc|classifier|uprobe)' || true)
		[ -n "$secs" ] || fail "$o: no program section"
		while read -r idx name; do
			n=$(readelf -sW "$o" | awk -v i="$idx" \
				'$4 == "FUNC" && $5 == "GLOBAL" && $7 == i' | wc -l)
			[ "$n" -eq 1 ] || fail "$o: section $name holds $n programs"
		done <<<"$secs"
	done
}

@test "no BPF object includes a glibc header (a bare Debian 12 has no i386 glibc headers)" {
	local f hdrs bad
	for f in "$BG_REPO"/progs/*.c "$BG_REPO"/bench/*.bpf.c "$BG_REPO"/test/progs/*.c; do
		hdrs=$(clang -O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 \
			-I"$BG_REPO/headers" -I/usr/include/x86_64-linux-gnu \
			-H -fsyntax-only "$f" 2>&1 | sed -n 's/^\.\+ //p')
		[ -n "$hdrs" ] || fail "$f: clang -H listed no header"
		# Kernel UAPI (linux-libc-dev), libbpf's headers and ours only.
		bad=$(grep -vE '^(/usr/include/(linux|asm-generic|bpf)/|/usr/include/x86_64-linux-gnu/asm/|'"$BG_REPO"'/headers/)' <<<"$hdrs" || true)
		[ -z "$bad" ] || fail "$f includes: $bad"
	done
}
