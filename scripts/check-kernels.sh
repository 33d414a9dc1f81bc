#!/usr/bin/env bash
# check-kernels.sh - prove every BPF object passes the verifier of the oldest
# kernel we support (Linux 6.1, Debian 12's stock kernel) and of the running
# kernel.
#
# The 6.1 check boots Debian's own linux-image-6.1.0-NN-amd64 under qemu (TCG)
# with a busybox initramfs holding bpftool and the objects; its /init
# (scripts/kernel-init/init) runs `bpftool prog loadall` for each object.
# The host check loads each object with `bpftool prog loadall` in a private
# mount namespace whose /sys/fs/bpf is a private, temporary bpffs, so nothing
# is ever pinned under the host's /sys/fs/bpf.
#
# Output, one line per object and kernel:
#   6.1.0-NN: OK name.o          host 6.x.y: OK name.o
#   6.1.0-NN: FAIL name.o        followed by the tail of bpftool -d output
# Exit status: 0 all loaded, 1 a failure (or no objects, or the VM did not
# finish), 2 usage error.
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
ROOT=$(cd "$(dirname "$SELF")/.." && pwd)
INIT_TEMPLATE="$ROOT/scripts/kernel-init/init"
BUILD_DIR=${BUILD:-build}
[[ $BUILD_DIR = /* ]] || BUILD_DIR="$ROOT/$BUILD_DIR"
KERNEL_CACHE="$BUILD_DIR/kernels"
KERNEL_PKG_RE='^linux-image-6\.1\.0-[0-9]+-amd64$'
VM_TIMEOUT=${CHECK_KERNELS_TIMEOUT:-300}
VM_MEM=1024
LOG_INDENT='    | '

usage() {
	cat <<EOF
usage: scripts/check-kernels.sh [options] [OBJ.o ...]

Load every BPF object under Debian 12's stock 6.1 kernel (qemu, TCG) and on
the running kernel, with \`bpftool prog loadall\`. Objects default to
$BUILD_DIR/*.o (not bench/). Needs root; installs qemu-system-x86,
busybox-static, cpio and bpftool with apt-get when they are missing.

options:
  --kernel FILE     boot this linux-image .deb or vmlinuz instead of the newest
                    linux-image-6.1.0-NN-amd64 from apt (cached in
                    ${KERNEL_CACHE#"$ROOT"/})
  --refresh-kernel  ask apt for the newest 6.1 kernel even if one is cached
  --host-only       only load on the running kernel
  --vm-only         only load under the 6.1 kernel
  --timeout SECS    give up on the VM after SECS seconds (default $VM_TIMEOUT)
  -h, --help        this text

Output: "6.1.0-NN: OK name.o" / "host VERSION: OK name.o" per object; on
FAIL the last lines of the verifier/libbpf log follow. Exit 0 when every
object loaded everywhere, 1 otherwise (also when there are no objects or the
VM did not finish), 2 on a usage error.
EOF
}

die() {
	echo "check-kernels: $*" >&2
	exit 1
}

usage_error() {
	echo "check-kernels: $*" >&2
	echo "try: scripts/check-kernels.sh --help" >&2
	exit 2
}

info() {
	echo "check-kernels: $*" >&2
}

# ---------------------------------------------------------------- packages

APT_UPDATED=0

apt_update_once() {
	((APT_UPDATED)) && return 0
	info "apt-get update"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null ||
		die "apt-get update failed"
	APT_UPDATED=1
}

# ensure_tools CMD...: install the Debian packages of the missing commands.
ensure_tools() {
	local -A pkg_of=(
		[qemu-system-x86_64]=qemu-system-x86
		[busybox]=busybox-static
		[cpio]=cpio
		[bpftool]=bpftool
		[timeout]=coreutils
		[unshare]=util-linux
	)
	local cmd missing=()
	for cmd in "$@"; do
		command -v "$cmd" >/dev/null 2>&1 || missing+=("${pkg_of[$cmd]}")
	done
	((${#missing[@]})) || return 0
	[[ $(id -u) -eq 0 ]] || die "missing ${missing[*]} and not root to install them"
	apt_update_once
	info "apt-get install ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
	for cmd in "$@"; do
		command -v "$cmd" >/dev/null 2>&1 ||
			die "$cmd still missing after installing ${pkg_of[$cmd]}"
	done
}

# ----------------------------------------------------------------- kernel

# newest_kernel_pkg: set KERNEL_PKG to the newest linux-image-6.1.0-NN-amd64
# apt knows (not -rt/-cloud/-dbg/-unsigned: the pattern excludes them).
newest_kernel_pkg() {
	local try
	for try in 1 2; do
		KERNEL_PKG=$(apt-cache search --names-only "$KERNEL_PKG_RE" 2>/dev/null |
			awk '{print $1}' | sort -V | tail -n 1)
		[[ -z $KERNEL_PKG && $try -eq 1 ]] || break
		apt_update_once
	done
	[[ -n $KERNEL_PKG ]] || die "apt knows no package matching $KERNEL_PKG_RE (is this Debian 12?)"
}

# vmlinuz_from_deb DEB OUT: extract boot/vmlinuz-* of a linux-image .deb.
vmlinuz_from_deb() {
	local deb=$1 out=$2 x vmlinuz
	x=$(mktemp -d "$KERNEL_CACHE/extract.XXXXXX")
	if ! dpkg -x "$deb" "$x"; then
		rm -rf "$x"
		die "dpkg -x $deb failed"
	fi
	vmlinuz=$(find "$x/boot" -maxdepth 1 -name 'vmlinuz-*' 2>/dev/null | head -n 1)
	if [[ -z $vmlinuz ]]; then
		rm -rf "$x"
		die "no boot/vmlinuz-* in $deb"
	fi
	if ! cp "$vmlinuz" "$out.tmp" || ! mv "$out.tmp" "$out"; then
		rm -rf "$x"
		die "cannot write $out"
	fi
	rm -rf "$x"
}

# download_kernel: set VMLINUZ to the newest 6.1 kernel, downloading its
# package into the cache unless its vmlinuz is already there.
download_kernel() {
	local ver deb
	newest_kernel_pkg
	ver=${KERNEL_PKG#linux-image-}
	VMLINUZ="$KERNEL_CACHE/vmlinuz-$ver"
	[[ ! -s $VMLINUZ ]] || return 0
	info "downloading $KERNEL_PKG"
	if ! (cd "$KERNEL_CACHE" && apt-get download -qq "$KERNEL_PKG" >/dev/null 2>&1); then
		# Stale package lists point at versions the mirror no longer has.
		apt_update_once
		newest_kernel_pkg
		ver=${KERNEL_PKG#linux-image-}
		VMLINUZ="$KERNEL_CACHE/vmlinuz-$ver"
		(cd "$KERNEL_CACHE" && apt-get download -qq "$KERNEL_PKG" >/dev/null) ||
			die "apt-get download $KERNEL_PKG failed"
	fi
	deb=$(find "$KERNEL_CACHE" -maxdepth 1 -name "${KERNEL_PKG}_*.deb" | sort -V | tail -n 1)
	[[ -n $deb ]] || die "apt-get download $KERNEL_PKG left no .deb in $KERNEL_CACHE"
	vmlinuz_from_deb "$deb" "$VMLINUZ"
	rm -f "$deb" # 70 MB; the 8 MB vmlinuz is all a later run needs
}

# find_kernel KERNEL_ARG REFRESH: set VMLINUZ to the kernel to boot.
find_kernel() {
	local arg=$1 refresh=$2
	mkdir -p "$KERNEL_CACHE"
	if [[ -n $arg ]]; then
		[[ -f $arg ]] || die "--kernel $arg: no such file"
		if [[ $arg = *.deb ]]; then
			VMLINUZ="$KERNEL_CACHE/vmlinuz-from-$(basename "$arg" .deb)"
			[[ -s $VMLINUZ ]] || vmlinuz_from_deb "$arg" "$VMLINUZ"
		else
			VMLINUZ=$(readlink -f "$arg")
		fi
		return 0
	fi
	if ((!refresh)); then
		VMLINUZ=$(find "$KERNEL_CACHE" -maxdepth 1 -name 'vmlinuz-6.1.0-*-amd64' -size +0 |
			sort -V | tail -n 1)
		[[ -z $VMLINUZ ]] || return 0
	fi
	download_kernel
}

# --------------------------------------------------------------- initramfs

# copy_with_libs ROOTFS BIN: copy BIN and every shared library ldd lists for
# it (with the dynamic loader) into ROOTFS at the same paths.
copy_with_libs() {
	local rootfs=$1 bin=$2 lib
	install -D -m 0755 "$bin" "$rootfs$bin"
	# A static binary makes ldd say "not a dynamic executable" and fail.
	while read -r lib; do
		[[ -n $lib ]] || continue
		install -D -m 0755 "$(readlink -f "$lib")" "$rootfs$lib"
	done < <(ldd "$bin" 2>/dev/null | awk '
		$2 == "=>" && $3 ~ /^\// { print $3; next }
		$1 ~ /^\// { print $1 }')
}

# load_type OBJ: the `type T` arguments `bpftool prog loadall` needs for
# OBJ, if any. libbpf 1.1 (Debian 12) cannot guess the type of sections
# such as SEC("tc/ingress"); like bg-load, sections starting with "tc" are
# SCHED_CLS. Objects with standard section names need nothing.
load_type() {
	local secs
	secs=$(readelf -SW "$1" 2>/dev/null | grep -o ' tc/[^ ]*' || true)
	[[ -z $secs ]] || echo "type tc"
}

# build_initrd OUT OBJ...: busybox, bpftool, /init and the objects.
build_initrd() {
	local out=$1 rootfs obj busybox bpftool
	shift
	rootfs=$(mktemp -d "$WORKDIR/rootfs.XXXXXX")
	mkdir -p "$rootfs"/{bin,sbin,dev,proc,sys,tmp,objs,usr/bin,usr/sbin}
	busybox=$(readlink -f "$(command -v busybox)")
	bpftool=$(readlink -f "$(command -v bpftool)")
	install -m 0755 "$busybox" "$rootfs/bin/busybox"
	ln -s busybox "$rootfs/bin/sh" # for /init's #!; /init installs the rest
	# busybox-static has no libraries; a dynamic busybox brings its own.
	copy_with_libs "$rootfs" "$busybox"
	copy_with_libs "$rootfs" "$bpftool"
	[[ $bpftool = /usr/sbin/bpftool ]] || ln -sf "$bpftool" "$rootfs/usr/sbin/bpftool"
	# The guest's /init loads /objs/NAME.o with the extra bpftool
	# arguments of /objs/NAME.o.args (see load_type).
	# shellcheck disable=SC2016 # the guest's shell expands them
	sed 's|bpftool \(-d \)\{0,1\}prog loadall "$obj" "$pin"|& $(cat "$obj.args" 2>/dev/null)|' \
		"$INIT_TEMPLATE" >"$rootfs/init"
	grep -q 'obj.args' "$rootfs/init" ||
		die "$INIT_TEMPLATE changed: cannot add per-object load arguments"
	chmod 0755 "$rootfs/init"
	for obj in "$@"; do
		install -m 0644 "$obj" "$rootfs/objs/"
		load_type "$obj" >"$rootfs/objs/$(basename "$obj").args"
	done
	(cd "$rootfs" && find . -print0 | cpio --null -o -H newc --quiet) >"$out" ||
		die "cpio failed building the initramfs"
}

# ------------------------------------------------------------------ checks

# print_log NAME FILE: the BGLOG lines of NAME, indented, plus hints.
print_log() {
	local name=$1 file=$2 map
	grep -F "BGLOG $name " "$file" | cut -c "$((${#name} + 8))-" |
		sed "s/^/$LOG_INDENT/" || true
	map=$(grep -F "BGLOG $name " "$file" |
		sed -n "s|.*couldn't reuse pinned map at '\\([^']*\\)'.*|\\1|p" | head -n 1)
	if [[ -n $map ]]; then
		echo "${LOG_INDENT}hint: a map pinned by name ($map) is declared by an" \
			"earlier object with a different type/key/value/max_entries/flags"
	fi
}

# check_vm VMLINUZ OBJ...: boot 6.1 and report per object (counts FAILURES).
check_vm() {
	local vmlinuz=$1 initrd console clean kver label obj name rc=0 start
	shift
	initrd="$WORKDIR/initrd.cpio"
	console="$KERNEL_CACHE/console-$(basename "$vmlinuz").log"
	clean="$WORKDIR/console.clean"
	build_initrd "$initrd" "$@"

	info "booting $(basename "$vmlinuz") under qemu (TCG), timeout ${VM_TIMEOUT}s"
	start=$SECONDS
	# In the background so that a signal to this script interrupts `wait`
	# (cleanup then stops the VM) instead of waiting for qemu to end.
	timeout --kill-after=10 "$VM_TIMEOUT" \
		qemu-system-x86_64 -accel tcg -m "$VM_MEM" -nographic -no-reboot \
		-kernel "$vmlinuz" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 quiet" </dev/null >"$console" 2>&1 &
	VM_PID=$!
	wait "$VM_PID" || rc=$?
	VM_PID=""
	info "VM ran $((SECONDS - start))s (full console: ${console#"$ROOT"/})"

	# Serial lines end in \r\n and may have kernel messages glued in front.
	tr -d '\r' <"$console" | grep -o 'BG\(CHECK\|LOG\) .*' >"$clean" || true

	kver=$(sed -n 's/^BGCHECK KERNEL \([^ ]*\).*/\1/p' "$clean" | head -n 1)
	if [[ -z $kver ]]; then
		echo "6.1: FAIL VM never reached /init (qemu exit $rc); console tail:"
		tail -n 30 "$console" | tr -d '\r' | sed "s/^/$LOG_INDENT/"
		FAILURES=$((FAILURES + 1))
		return 0
	fi
	label=${kver%-amd64}
	info "guest kernel $kver (Debian $(sed -n 's/^BGCHECK KERNEL [^ ]* \(.*\)/\1/p' "$clean" | head -n 1))"

	report "$label" "$clean" "$@"
	if ! grep -qxF "BGCHECK DONE" "$clean"; then
		echo "$label: FAIL VM did not reach BGCHECK DONE (qemu exit $rc); console tail:"
		tail -n 30 "$console" | tr -d '\r' | sed "s/^/$LOG_INDENT/"
		FAILURES=$((FAILURES + 1))
	fi
}

# report LABEL RESULTS OBJ...: one line per object from the BGCHECK lines
# of RESULTS (guest console or host run); counts FAILURES.
report() {
	local label=$1 results=$2 obj name
	shift 2
	for obj in "$@"; do
		name=$(basename "$obj")
		if grep -qxF "BGCHECK OK $name" "$results"; then
			echo "$label: OK $name"
		elif grep -qxF "BGCHECK FAIL $name" "$results"; then
			echo "$label: FAIL $name"
			print_log "$name" "$results"
			FAILURES=$((FAILURES + 1))
		else
			echo "$label: FAIL $name (no result: the run stopped before it)"
			FAILURES=$((FAILURES + 1))
		fi
	done
}

# host_inner BPFFS OBJ...: runs inside a private mount namespace (see
# check_host); prints the same BGCHECK/BGLOG lines as the guest's /init.
host_inner() {
	local bpffs=$1 obj name pin log
	local -a targs
	shift
	mount --bind "$bpffs" /sys/fs/bpf || die "cannot bind $bpffs on /sys/fs/bpf"
	log=$(mktemp)
	for obj in "$@"; do
		name=$(basename "$obj")
		pin="/sys/fs/bpf/progs-${name%.o}"
		read -r -a targs < <(load_type "$obj"; echo)
		if bpftool prog loadall "$obj" "$pin" "${targs[@]}" >"$log" 2>&1; then
			echo "BGCHECK OK $name"
		else
			bpftool -d prog loadall "$obj" "$pin" "${targs[@]}" >"$log" 2>&1 || true
			echo "BGCHECK FAIL $name"
			grep -v -e 'running in libbpf strict mode' -e 'see --legacy option' -e '^$' -e 'libbpf: unpinned map ' "$log" |
				tail -n 60 | sed "s|^|BGLOG $name |"
		fi
	done
	rm -f "$log"
	echo "BGCHECK DONE"
}

# check_host OBJ...: load on the running kernel (counts FAILURES).
check_host() {
	local out label
	[[ $(id -u) -eq 0 ]] || die "loading BPF on the host needs root"
	HOST_BPFFS=$(mktemp -d "${TMPDIR:-/tmp}/bpfguard-bpffs.XXXXXX")
	mount -t bpf bpf "$HOST_BPFFS" || die "cannot mount a bpffs on $HOST_BPFFS"
	HOST_MOUNTED=1
	out="$WORKDIR/host.out"
	# libbpf pins LIBBPF_PIN_BY_NAME maps under /sys/fs/bpf and bpftool has
	# no option to change that: give it a private /sys/fs/bpf.
	unshare --mount --propagation private -- \
		bash "$SELF" --_host-inner "$HOST_BPFFS" "$@" >"$out" 2>&1 ||
		die "private mount namespace failed: $(tail -n 1 "$out")"
	label="host $(uname -r)"
	report "$label" "$out" "$@"
}

# ------------------------------------------------------------------- main

WORKDIR=""
HOST_BPFFS=""
HOST_MOUNTED=0
VM_PID=""
KERNEL_PKG=""
VMLINUZ=""
FAILURES=0
OBJS=()

# release_host_bpffs: unmount and remove the host check's private bpffs.
release_host_bpffs() {
	if ((HOST_MOUNTED)); then
		umount "$HOST_BPFFS" 2>/dev/null || umount -l "$HOST_BPFFS" 2>/dev/null || true
		HOST_MOUNTED=0
	fi
	[[ -z $HOST_BPFFS ]] || rmdir "$HOST_BPFFS" 2>/dev/null || true
	HOST_BPFFS=""
}

cleanup() {
	if [[ -n $VM_PID ]]; then
		kill "$VM_PID" 2>/dev/null || true # timeout passes it on to qemu
		wait "$VM_PID" 2>/dev/null || true
	fi
	release_host_bpffs
	[[ -z $WORKDIR ]] || rm -rf "$WORKDIR"
}

# collect_objects ARG...: set OBJS to absolute paths sorted by file name
# (the order the guest's /objs/*.o glob loads them in).
collect_objects() {
	local obj name
	local -A seen=()
	if (($# == 0)); then
		shopt -s nullglob
		set -- "$BUILD_DIR"/*.o
		shopt -u nullglob
	fi
	OBJS=()
	for obj in "$@"; do
		[[ -f $obj ]] || die "no such object: $obj"
		obj=$(readlink -f "$obj")
		name=$(basename "$obj")
		[[ $name = *.o ]] || die "not a .o file: $obj"
		[[ -z ${seen[$name]:-} ]] || die "two objects named $name: ${seen[$name]} and $obj"
		seen[$name]=$obj
	done
	((${#seen[@]})) || return 0
	mapfile -t OBJS < <(printf '%s\n' "${!seen[@]}" | LC_ALL=C sort)
	for name in "${!OBJS[@]}"; do
		OBJS[name]=${seen[${OBJS[name]}]}
	done
}

main() {
	local kernel_arg="" refresh=0 do_host=1 do_vm=1
	local -a args=()

	if [[ ${1:-} = --_host-inner ]]; then
		shift
		host_inner "$@"
		return 0
	fi

	while (($#)); do
		case $1 in
		-h | --help)
			usage
			return 0
			;;
		--kernel)
			(($# >= 2)) || usage_error "--kernel needs a .deb or vmlinuz"
			kernel_arg=$2
			shift
			;;
		--kernel=*) kernel_arg=${1#--kernel=} ;;
		--refresh-kernel) refresh=1 ;;
		--host-only) do_vm=0 ;;
		--vm-only) do_host=0 ;;
		--timeout)
			[[ ${2:-} =~ ^[0-9]+$ ]] || usage_error "--timeout needs seconds"
			VM_TIMEOUT=$2
			shift
			;;
		--)
			shift
			args+=("$@")
			break
			;;
		-*) usage_error "unknown option $1" ;;
		*) args+=("$1") ;;
		esac
		shift
	done
	((do_host || do_vm)) || usage_error "--host-only and --vm-only exclude each other"

	collect_objects "${args[@]}"
	((${#OBJS[@]})) || die "no BPF objects to check (looked for ${BUILD_DIR#"$ROOT"/}/*.o; run make first)"
	[[ -f $INIT_TEMPLATE ]] || die "missing $INIT_TEMPLATE"

	trap cleanup EXIT
	trap 'exit 130' INT TERM
	WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/check-kernels.XXXXXX")
	((!do_host)) || ensure_tools bpftool unshare
	((!do_vm)) || ensure_tools bpftool busybox cpio timeout qemu-system-x86_64

	if ((do_host)); then
		check_host "${OBJS[@]}"
		release_host_bpffs
	fi
	if ((do_vm)); then
		find_kernel "$kernel_arg" "$refresh"
		check_vm "$VMLINUZ" "${OBJS[@]}"
	fi

	if ((FAILURES)); then
		echo "check-kernels: $FAILURES failure(s) across ${#OBJS[@]} object(s)" >&2
		return 1
	fi
	echo "check-kernels: all ${#OBJS[@]} object(s) loaded" >&2
}

main "$@"
