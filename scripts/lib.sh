# shellcheck shell=bash
# The core of the bpfguard scripts: messages, where the objects are, the
# bpffs, the lock, reading and writing maps, loading programs. Source it;
# it runs nothing. The rest of the core is in lib/core/: the hooks
# programs attach to, the interface bookkeeping, the ruleset generations,
# and the program registry, which sources the module of each program
# (lib/NAME.sh).
#
# Environment:
#   BG_BPFFS   bpffs mount holding the pins (default /sys/fs/bpf); passed to
#              ip/tc as TC_BPF_MNT so iproute2 and bpftool agree. FW_BPFFS,
#              its old name, is accepted too (both set must name one bpffs)
#              and exported with it, for the helpers that read it.

BG_PROG=${BG_PROG:-$(basename "$0")}

bg_die()
{
	printf '%s: %s\n' "$BG_PROG" "$*" >&2
	exit 1
}

bg_warn()
{
	printf '%s: warning: %s\n' "$BG_PROG" "$*" >&2
}

bg_info()
{
	[[ ${BG_QUIET:-0} == 1 ]] || printf '%s\n' "$*"
}

# The environment the scripts read, for their --help.
# shellcheck disable=SC2034 # used by the scripts' usage()
BG_ENV_HELP="Environment: BG_BPFFS is the bpffs holding the pins (default
/sys/fs/bpf); FW_BPFFS, its old name, is accepted too."

# Functions to run when the script exits, last registered first, each
# with the exit status as $1. One EXIT trap runs them all (a second trap
# would replace the first).
BG_EXIT_HOOKS=()
bg_at_exit()
{
	BG_EXIT_HOOKS=("$1" "${BG_EXIT_HOOKS[@]}")
	trap bg_run_exit_hooks EXIT
}

bg_run_exit_hooks()
{
	local rc=$? h
	for h in "${BG_EXIT_HOOKS[@]}"; do
		"$h" "$rc" || true
	done
	return "$rc"
}

# Where the objects and helpers are: a checkout keeps them in build/, an
# installed copy (make install) in ../bpf and ../bin next to scripts/.
# BG_LIB_DIR: the directory of this file (the scripts, the registry and
# the modules).
bg_locate()
{
	local self
	self=$(readlink -f "${BASH_SOURCE[0]}")
	BG_LIB_DIR=$(dirname "$self")
	BG_ROOT=$(dirname "$BG_LIB_DIR")
	if [[ -d $BG_ROOT/progs && -f $BG_ROOT/Makefile ]]; then
		BG_OBJ_DIR=${BG_OBJ_DIR:-$BG_ROOT/build}
		BG_BIN_DIR=${BG_BIN_DIR:-$BG_ROOT/build}
		BG_DEFAULT_RULES=${BG_DEFAULT_RULES:-$BG_ROOT/maps/default.rules}
	else
		BG_OBJ_DIR=${BG_OBJ_DIR:-$BG_ROOT/bpf}
		BG_BIN_DIR=${BG_BIN_DIR:-$BG_ROOT/bin}
		if [[ -z ${BG_DEFAULT_RULES:-} ]]; then
			BG_DEFAULT_RULES=/etc/bpfguard/bpfguard.rules
			[[ -r $BG_DEFAULT_RULES ]] ||
				BG_DEFAULT_RULES=$BG_ROOT/default.rules
		fi
	fi
	FWMAPGEN=$BG_BIN_DIR/fwmapgen
	BG_LOAD=$BG_BIN_DIR/bg-load
	BG_PURGE=$BG_BIN_DIR/bg-purge
	BG_ABI=$BG_BIN_DIR/bg-abi
}

# A value of the ABI (tools/bg-abi: sizes, field offsets, enums and
# constants of the ABI headers) by jq filter $1, so that no script keeps a
# layout of its own. Read once per process.
bg_abi()
{
	if [[ -z ${BG_ABI_JSON:-} ]]; then
		BG_ABI_JSON=$("$BG_ABI") || bg_die "cannot run $BG_ABI (run make)"
	fi
	jq -r "$1" <<<"$BG_ABI_JSON"
}

# $1 zero bytes as bpftool hex arguments.
bg_zero_hex()
{
	local i
	for ((i = 0; i < $1; i++)); do
		printf '00 '
	done
}

# Offset of field $2 of struct $1.
bg_abi_off()
{
	bg_abi ".structs.$1.fields[] | select(.name == \"$2\") | .offset"
}

# The counters of a per-CPU stats map (bpftool -j map dump on stdin),
# summed over CPUs, as {name: value} in the order of enum $1 (one index
# per value), names lower case without the prefix $2: status.sh's view.
bg_abi_stats()
{
	local names
	names=$(bg_abi ".enums.$1 | to_entries
		| map(select(.key | endswith(\"_MAX\") | not)
			| {key: (.value | tostring),
			   value: (.key | ltrimstr(\"$2\") | ascii_downcase)})
		| from_entries")
	jq -c --argjson n "$names" '
		map({key: (.formatted.key | tostring),
		     v: ([.formatted.values[].value] | add)})
		| map(select($n[.key] != null) | {($n[.key]): .v}) | add'
}

bg_require_root()
{
	[[ $(id -u) == 0 ]] || bg_die "must run as root (it loads BPF programs)"
}

bg_require_tools()
{
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null ||
			bg_die "$t not found (run 'make deps' or ./install.sh)"
	done
}

bg_require_objects()
{
	local f
	for f in "$@"; do
		[[ -r $BG_OBJ_DIR/$f ]] ||
			bg_die "$BG_OBJ_DIR/$f missing: objects not built (run 'make')"
	done
	for f in "$FWMAPGEN" "$BG_LOAD" "$BG_PURGE"; do
		[[ -x $f ]] || bg_die "$f missing: helpers not built (run 'make')"
	done
}

bg_is_bpffs()
{
	[[ -d $1 ]] && [[ $(stat -f -c %T "$1" 2>/dev/null) == bpf_fs ]]
}

# `ip netns exec NS` gives the command its own mount namespace with a fresh
# sysfs on /sys (mount source: the namespace's name): pins made under
# /sys/fs/bpf there vanish when the command exits.
bg_private_sys()
{
	local ns src
	[[ $BG_BPFFS == /sys/* ]] || return 1
	ns=$(ip netns identify 2>/dev/null) || return 1
	[[ -n $ns ]] || return 1
	src=$(awk '$5 == "/sys" { print $(NF - 1) }' /proc/self/mountinfo | tail -1)
	[[ $src == "$ns" ]]
}

# BG_BPFFS (or FW_BPFFS, its old name) as one canonical path (symlinks
# resolved), so that every spelling of one bpffs takes the same lock;
# refuses two names for two bpffs, and a bpffs whose pins would vanish.
# Needs no mount yet. Sets both names.
bg_bpffs_path()
{
	local bg=${BG_BPFFS:-} fw=${FW_BPFFS:-}
	if [[ -n $bg && -n $fw && $(readlink -m "$bg") != "$(readlink -m "$fw")" ]]; then
		bg_die "BG_BPFFS=$bg and FW_BPFFS=$fw name different bpffs: FW_BPFFS is the old name of BG_BPFFS; set BG_BPFFS only"
	fi
	BG_BPFFS=$(readlink -m "${bg:-${fw:-/sys/fs/bpf}}")
	FW_BPFFS=$BG_BPFFS
	if bg_private_sys; then
		bg_die "$BG_BPFFS is in a private /sys (ip netns exec?): pins would vanish when this command exits; mount a bpffs outside /sys and set BG_BPFFS, or use nsenter --net=/run/netns/NS"
	fi
}

# Make sure BG_BPFFS is a bpffs we can pin into; mount the default one
# when missing (nothing mounts it at boot on some systems).
bg_setup_bpffs()
{
	local mount_missing=${1:-mount}
	bg_bpffs_path
	if ! bg_is_bpffs "$BG_BPFFS"; then
		if [[ $mount_missing == mount && $BG_BPFFS == /sys/fs/bpf ]]; then
			mount -t bpf bpf /sys/fs/bpf ||
				bg_die "bpffs missing and cannot be mounted at /sys/fs/bpf"
		elif [[ $mount_missing == mount ]]; then
			bg_die "bpffs missing: BG_BPFFS=$BG_BPFFS is not a bpffs mount (mount -t bpf bpf $BG_BPFFS)"
		else
			return 1
		fi
	fi
	export BG_BPFFS FW_BPFFS
	export TC_BPF_MNT=$BG_BPFFS
	BG_PIN_DIR=$BG_BPFFS/tc/globals
	BG_PROG_PIN_DIR=$BG_BPFFS/bpfguard
	return 0
}

# One up.sh/down.sh at a time per bpffs: two runs filling the same spare
# generation, or a down.sh removing pins under an up.sh, would mix rulesets.
#
# The lock is a directory per bpffs (keyed on its canonical path) in a
# root-only directory, BG_LOCK_DIR (default /run/bpfguard, mode 0700): no
# other user can open it, so nobody but root can hold it, and nothing in it
# can be planted. It is taken before the bpffs is mounted. mkdir never
# follows a symlink, and opening a directory read-only creates and
# truncates nothing. The last command to leave a bpffs without pins
# removes its lock directory while holding it; a command that was waiting
# on it sees that the path no longer names what it locked and starts over.
bg_lock_path()
{
	local dir=${BG_LOCK_DIR:-/run/bpfguard} key
	key=$(printf '%s' "$BG_BPFFS" | tr -c 'A-Za-z0-9' '_')
	printf '%s/%s-%s' "$dir" "${key:0:100}" \
		"$(printf '%s' "$BG_BPFFS" | sha256sum | cut -c1-12)"
}

# Is $1 a real directory (not a symlink) owned by root and closed to
# everybody else?
bg_root_only_dir()
{
	[[ -d $1 && ! -L $1 ]] || return 1
	local owner mode
	read -r owner mode < <(stat -c '%u %a' "$1")
	[[ $owner == 0 ]] && (((8#$mode & 8#077) == 0))
}

bg_lock()
{
	local path dir i
	path=$(bg_lock_path)
	dir=$(dirname "$path")
	mkdir -m 0700 "$dir" 2>/dev/null || true
	bg_root_only_dir "$dir" ||
		bg_die "lock directory $dir must be a directory owned by root with mode 0700, not a symlink (is: $(stat -c '%F, owner %U, mode %a' "$dir" 2>/dev/null || echo missing)); remove it"
	for i in 1 2 3 4 5 6 7 8 9 10; do
		mkdir -m 0700 "$path" 2>/dev/null || true
		bg_root_only_dir "$path" ||
			bg_die "lock $path must be a directory owned by root with mode 0700, not a symlink; remove it"
		{ exec 9<"$path"; } 2>/dev/null || continue
		flock -w "${BG_LOCK_WAIT:-60}" 9 ||
			bg_die "another bpfguard command holds the lock of $BG_BPFFS ($path)"
		# Still the directory we locked (not removed meanwhile)?
		if [[ $(stat -L -c %d:%i /dev/fd/9) == \
			"$(stat -c %d:%i "$path" 2>/dev/null)" ]]; then
			BG_LOCK_PATH=$path
			bg_at_exit bg_lock_drop
			return 0
		fi
		exec 9<&-
	done
	bg_die "cannot take the lock $path"
}

# At exit, with the lock held: remove the lock directory when nothing of
# bpfguard is pinned under the bpffs any more (nothing left behind).
bg_lock_drop()
{
	[[ -n ${BG_LOCK_PATH:-} ]] || return 0
	if bg_is_bpffs "$BG_BPFFS"; then
		compgen -G "$BG_BPFFS/tc/globals/bg_*" >/dev/null && return 0
		[[ -e $BG_BPFFS/bpfguard ]] && return 0
	fi
	rmdir "$BG_LOCK_PATH" 2>/dev/null || true
}

# Map I/O. Keys and values are hex byte strings ("01 00 00 00"), one word
# per byte, the way bpftool takes them; they are split into bpftool's
# arguments here and nowhere else.

bg_map()
{
	printf '%s/%s' "$BG_PIN_DIR" "$1"
}

# Little-endian bytes of a u32 as a hex byte string.
bg_u32_hex()
{
	local v=$1
	printf '%02x %02x %02x %02x' $((v & 255)) $(((v >> 8) & 255)) \
		$(((v >> 16) & 255)) $(((v >> 24) & 255))
}

bg_u64_hex()
{
	local v=$1
	printf '%s %s' "$(bg_u32_hex $((v & 0xffffffff)))" \
		"$(bg_u32_hex $(((v >> 32) & 0xffffffff)))"
}

# bg_map_update MAP KEY VALUE (hex byte strings).
bg_map_update()
{
	local -a kb vb
	read -ra kb <<<"$2"
	read -ra vb <<<"$3"
	bpftool map update pinned "$(bg_map "$1")" key hex "${kb[@]}" \
		value hex "${vb[@]}"
}

# bg_map_delete MAP KEY: quiet, and no error when the key is not there.
bg_map_delete()
{
	local -a kb
	read -ra kb <<<"$2"
	bpftool map delete pinned "$(bg_map "$1")" key hex "${kb[@]}" \
		2>/dev/null || true
}

# bg_map_lookup MAP KEY: bpftool's JSON of the entry.
bg_map_lookup()
{
	local -a kb
	read -ra kb <<<"$2"
	bpftool -j map lookup pinned "$(bg_map "$1")" key hex "${kb[@]}"
}

# No jq (see bg_map_raw): bpftool -j prints a map's or a program's
# object starting with its id, {"id":N,...}.
bg_map_id()
{
	local out
	out=$(bpftool -j map show pinned "$(bg_map "$1")" 2>/dev/null) || return 0
	[[ $out =~ ^\{\"id\":([0-9]+), ]] && printf '%s\n' "${BASH_REMATCH[1]}"
	return 0
}

# Decisions read the raw bytes of map values (.value in bpftool's JSON),
# never bpftool's BTF-formatted view (.formatted): that one is for display
# and is missing when bpftool cannot format a map's BTF.
#
# bg_map_raw MAP KEY: the value as a hex byte string ("01 00 ..."); fails
# when the map has no such key.
#
# No jq: it takes ~35 ms to start here, and a ruleset switch reads a dozen
# values. bpftool -j prints {"key":[...],"value":[...],"formatted":...}
# on one line, the raw bytes as "0x.." strings, before anything formatted.
bg_map_raw()
{
	local out v re='^\{"key":\[[^]]*\],"value":\[("0x[0-9a-f]{2}"(,"0x[0-9a-f]{2}")*)\]'
	out=$(bg_map_lookup "$1" "$2" 2>/dev/null) || return 1
	[[ $out =~ $re ]] || return 1
	v=${BASH_REMATCH[1]//\"0x/}
	v=${v//\"/}
	printf '%s\n' "${v//,/ }"
}

# Now on conntrack's clock: CLOCK_BOOTTIME in ns, plus the test hook's
# offset (bg_ct_clock).
bg_ct_now_ns()
{
	local offset=0
	if [[ -e $(bg_map bg_ct_clock) ]]; then
		offset=$(bpftool -j map lookup pinned "$(bg_map bg_ct_clock)" \
			key hex 00 00 00 00 | jq '.formatted.value')
	fi
	awk -v o="$offset" '{ printf "%.0f\n", $1 * 1e9 + o }' /proc/uptime
}

# bg_le HEXBYTES OFFSET LEN: the little-endian unsigned integer (LEN <= 8)
# at OFFSET; fails when the bytes are too few or not hex.
bg_le()
{
	local -a b
	local off=$2 len=$3 i v=0
	read -ra b <<<"$1"
	((off + len <= ${#b[@]})) || return 1
	for ((i = off + len - 1; i >= off; i--)); do
		[[ ${b[i]} =~ ^[0-9a-fA-F]{2}$ ]] || return 1
		v=$(((v << 8) | 16#${b[i]}))
	done
	printf '%u\n' "$v"
}

# bg_hexstr HEXBYTES OFFSET LEN: the NUL-terminated string there.
bg_hexstr()
{
	local -a b
	local off=$2 len=$3 i s=""
	read -ra b <<<"$1"
	for ((i = off; i < off + len && i < ${#b[@]}; i++)); do
		[[ ${b[i]} != 00 ]] || break
		s+="\\x${b[i]}"
	done
	printf '%b' "$s"
}

# Pinned program of the current objects, loaded on first use. The pin
# directory is named after the objects' digest, so a rebuild loads anew
# while repeated runs reuse the same program. bg-load makes the directory
# appear complete or not at all; what an interrupted load left (its
# temporary directory, or a half-filled directory of an older version) is
# removed and loaded again.
bg_load_prog()
{
	local obj=$1 name=$2 digest dir p
	digest=$(sha256sum "$BG_OBJ_DIR/$obj" | cut -c1-16)
	dir=$BG_PROG_PIN_DIR/$digest
	for p in "$dir"-tmp-*; do
		[[ -e $p ]] && rm -rf "$p"
	done
	if ! bg_pins_complete "$BG_OBJ_DIR/$obj" "$dir"; then
		rm -rf "$dir"
		"$BG_LOAD" --bpffs "$BG_BPFFS" "$BG_OBJ_DIR/$obj" "$dir" \
			>/dev/null || bg_die "could not load $obj"
	fi
	[[ -e $dir/$name ]] || bg_die "$obj has no program $name"
	printf '%s/%s' "$dir" "$name"
}

# Is every program of object $1 pinned in directory $2?
bg_pins_complete()
{
	local n names
	[[ -d $2 ]] || return 1
	names=$("$BG_LOAD" --list "$1") || bg_die "cannot read $1"
	for n in $names; do
		[[ -e $2/$n ]] || return 1
	done
	return 0
}

# bg_prog_load OBJ PROG: what a module's bg_NAME_load does unless it has
# more to do; bg_pin PROG is then the pinned program.
declare -gA BG_PINS=()
bg_prog_load()
{
	BG_PINS[$2]=$(bg_load_prog "$1" "$2")
}

bg_pin()
{
	[[ -n ${BG_PINS[$1]:-} ]] || bg_die "program $1 is not loaded"
	printf '%s' "${BG_PINS[$1]}"
}

bg_prog_id()
{
	local out
	out=$(bpftool -j prog show pinned "$1") || return 1
	[[ $out =~ ^\{\"id\":([0-9]+), ]] || return 1
	printf '%s\n' "${BASH_REMATCH[1]}"
}

# Program pins of older builds: attached programs live on without them
# (ownership is recognised by the maps a program uses, not by its pin).
bg_prune_prog_pins()
{
	local d p keep
	for d in "$BG_PROG_PIN_DIR"/*/; do
		d=${d%/}
		[[ -d $d ]] || continue
		keep=0
		for p in "$@"; do
			[[ $d == "$(dirname "$p")" ]] && keep=1
		done
		((keep)) || rm -rf "$d"
	done
	return 0
}

# Every pin the toolkit made: shared maps and program pins.
bg_remove_pins()
{
	local p pins=()
	# One rm for all: a rm per pin took a second for the ~90 pins.
	for p in "$BG_PIN_DIR"/bg_*; do
		[[ -e $p ]] && pins+=("$p")
	done
	((${#pins[@]} == 0)) || rm -f -- "${pins[@]}"
	[[ -d $BG_PROG_PIN_DIR ]] && rm -rf "$BG_PROG_PIN_DIR"
	return 0
}

bg_locate

# shellcheck source=scripts/lib/core/hooks.sh
source "$BG_LIB_DIR/lib/core/hooks.sh"
# shellcheck source=scripts/lib/core/iface.sh
source "$BG_LIB_DIR/lib/core/iface.sh"
# shellcheck source=scripts/lib/core/ruleset.sh
source "$BG_LIB_DIR/lib/core/ruleset.sh"
# shellcheck source=scripts/lib/core/registry.sh
source "$BG_LIB_DIR/lib/core/registry.sh"
