#!/usr/bin/env bats
# The kernel floor: every BPF object in build/ must pass the verifier of
# Debian 12's stock 6.1 kernel (booted under qemu by scripts/check-kernels.sh)
# and of the running kernel. Needs root, qemu-system-x86 and the
# linux-image-6.1.0-NN-amd64 package (the script installs/downloads them).
# Nothing is skipped: a missing tool or kernel is a failure.

setup() {
	ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	SCRIPT="$ROOT/scripts/check-kernels.sh"
	BUILD_DIR=${BUILD:-build}
	[[ $BUILD_DIR = /* ]] || BUILD_DIR="$ROOT/$BUILD_DIR"
	shopt -s nullglob
	OBJS=("$BUILD_DIR"/*.o)
	shopt -u nullglob
}

# fail_with MESSAGE: print MESSAGE and the script's output, then fail.
fail_with() {
	printf '%s\n--- check-kernels.sh output ---\n%s\n' "$1" "$output" >&2
	return 1
}

# assert_ok_lines LABEL_RE: the run exited 0 and has "LABEL: OK name.o"
# for every object in build/.
assert_ok_lines() {
	local label_re=$1 obj name
	((${#OBJS[@]})) || fail_with "no objects in $BUILD_DIR/*.o: run make first"
	[[ $status -eq 0 ]] || fail_with "check-kernels.sh exited $status"
	for obj in "${OBJS[@]}"; do
		name=$(basename "$obj")
		grep -Eq "^${label_re}: OK ${name//./\\.}\$" <<<"$output" ||
			fail_with "no OK line for $name"
	done
}

@test "every object loads on Debian 12's 6.1 kernel" {
	[[ $(id -u) -eq 0 ]] || fail_with "needs root (apt-get, qemu, bpftool)"
	run "$SCRIPT" --vm-only
	grep -q 'guest kernel 6\.1\.0-' <<<"$output" ||
		fail_with "the 6.1 VM never reported its kernel (qemu or kernel package unavailable?)"
	assert_ok_lines '6\.1\.0-[0-9]+'
}

@test "every object loads on the host kernel" {
	[[ $(id -u) -eq 0 ]] || fail_with "needs root (bpftool prog loadall)"
	run "$SCRIPT" --host-only
	assert_ok_lines "host $(uname -r | sed 's/[.]/\\./g')"
}

@test "host check reports a verifier rejection and pins nothing on the host" {
	[[ $(id -u) -eq 0 ]] || fail_with "needs root (bpftool prog loadall)"
	local src="$BATS_TEST_TMPDIR/bad.c" obj="$BATS_TEST_TMPDIR/bad.o" before after
	cat >"$src" <<-'EOF'
		#include <linux/bpf.h>
		#include <bpf/bpf_helpers.h>
		struct {
			__uint(type, BPF_MAP_TYPE_HASH);
			__uint(max_entries, 4);
			__type(key, __u32);
			__type(value, __u32);
			__uint(pinning, LIBBPF_PIN_BY_NAME);
		} bg_floor_selftest SEC(".maps");
		SEC("xdp")
		int bad(struct xdp_md *ctx)
		{
			unsigned char *data = (void *)(long)ctx->data;
			__u32 k = 0;
			bpf_map_lookup_elem(&bg_floor_selftest, &k);
			return data[12]; /* no bounds check: every verifier rejects it */
		}
		char LICENSE[] SEC("license") = "GPL";
	EOF
	clang -O2 -g -target bpf -mcpu=v3 -I"/usr/include/$(gcc -dumpmachine)" \
		-c "$src" -o "$obj" || fail_with "clang could not build the self-test object"
	before=$(find /sys/fs/bpf -mindepth 1 2>/dev/null | sort)
	run "$SCRIPT" --host-only "$obj"
	after=$(find /sys/fs/bpf -mindepth 1 2>/dev/null | sort)
	[[ $status -eq 1 ]] || fail_with "expected exit 1, got $status"
	grep -q ": FAIL bad\.o\$" <<<"$output" || fail_with "no FAIL line for bad.o"
	grep -q "invalid access to packet" <<<"$output" || fail_with "no verifier log"
	[[ $before = "$after" ]] || fail_with "the host's /sys/fs/bpf changed"
	! grep -q bpfguard-bpffs /proc/mounts || fail_with "private bpffs left mounted"
}
