# shellcheck shell=bash
# bpftool takes every key/value byte as an argument of its own, so the
# $(bg_u32_hex ...) expansions below are left unquoted on purpose.
# shellcheck disable=SC2046,SC2086
# Shared functions of the bpfguard scripts. Source it; it runs nothing.
#
# Environment:
#   FW_BPFFS   bpffs mount holding the pins (default /sys/fs/bpf); passed to
#              ip/tc as TC_BPF_MNT so iproute2 and bpftool agree.

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
bg_locate()
{
	local self dir
	self=$(readlink -f "${BASH_SOURCE[0]}")
	dir=$(dirname "$self")
	BG_ROOT=$(dirname "$dir")
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
	for f in "$FWMAPGEN" "$BG_LOAD"; do
		[[ -x $f ]] || bg_die "$f missing: helpers not built (run 'make')"
	done
}

bg_require_iface()
{
	[[ -n $1 ]] || bg_die "no interface given (see --help)"
	# Not /sys/class/net: under nsenter --net it still shows the namespace
	# /sys was mounted in.
	ip link show dev "$1" >/dev/null 2>&1 || bg_die "no such interface: $1"
}

# The programs parse Ethernet frames. On a device without an Ethernet
# header (tun, WireGuard, PPP, IP tunnels, loopback) XDP sees raw IP, which
# the parser would take for non-IP and pass: the firewall would fail open.
#
# A bond or team master is refused too: XDP on it runs in each port's
# driver and reports the port as the ingress interface, while TC records
# the master, so conntrack's fast path would find every flow on the wrong
# interface. Run bpfguard on the ports, or on a bridge above them.
bg_require_ether()
{
	local t kind
	t=$(ip -j link show dev "$1" | jq -r '.[0].link_type // "unknown"')
	[[ $t == ether ]] ||
		bg_die "$1 has link type '$t', not Ethernet (ether): bpfguard parses Ethernet frames and would pass every packet of this device unfiltered; refusing"
	kind=$(ip -j -d link show dev "$1" | jq -r '.[0].linkinfo.info_kind // ""')
	case $kind in
	bond | team)
		bg_die "$1 is a $kind master: XDP would see its ports' ifindex, TC its own, and conntrack's fast path would miss every flow; run bpfguard on the ports (or a bridge)"
		;;
	esac
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
	[[ $FW_BPFFS == /sys/* ]] || return 1
	ns=$(ip netns identify 2>/dev/null) || return 1
	[[ -n $ns ]] || return 1
	src=$(awk '$5 == "/sys" { print $(NF - 1) }' /proc/self/mountinfo | tail -1)
	[[ $src == "$ns" ]]
}

# FW_BPFFS as one canonical path (symlinks resolved), so that every
# spelling of one bpffs takes the same lock; refuses a bpffs whose pins
# would vanish. Needs no mount yet.
bg_bpffs_path()
{
	FW_BPFFS=$(readlink -m "${FW_BPFFS:-/sys/fs/bpf}")
	if bg_private_sys; then
		bg_die "$FW_BPFFS is in a private /sys (ip netns exec?): pins would vanish when this command exits; mount a bpffs outside /sys and set FW_BPFFS, or use nsenter --net=/run/netns/NS"
	fi
}

# Make sure FW_BPFFS is a bpffs we can pin into; mount the default one
# when missing (nothing mounts it at boot on some systems).
bg_setup_bpffs()
{
	local mount_missing=${1:-mount}
	bg_bpffs_path
	if ! bg_is_bpffs "$FW_BPFFS"; then
		if [[ $mount_missing == mount && $FW_BPFFS == /sys/fs/bpf ]]; then
			mount -t bpf bpf /sys/fs/bpf ||
				bg_die "bpffs missing and cannot be mounted at /sys/fs/bpf"
		elif [[ $mount_missing == mount ]]; then
			bg_die "bpffs missing: FW_BPFFS=$FW_BPFFS is not a bpffs mount (mount -t bpf bpf $FW_BPFFS)"
		else
			return 1
		fi
	fi
	export FW_BPFFS
	export TC_BPF_MNT=$FW_BPFFS
	BG_PIN_DIR=$FW_BPFFS/tc/globals
	BG_PROG_PIN_DIR=$FW_BPFFS/bpfguard
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
	key=$(printf '%s' "$FW_BPFFS" | tr -c 'A-Za-z0-9' '_')
	printf '%s/%s-%s' "$dir" "${key:0:100}" \
		"$(printf '%s' "$FW_BPFFS" | sha256sum | cut -c1-12)"
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
			bg_die "another bpfguard command holds the lock of $FW_BPFFS ($path)"
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
	if bg_is_bpffs "$FW_BPFFS"; then
		compgen -G "$FW_BPFFS/tc/globals/bg_*" >/dev/null && return 0
		[[ -e $FW_BPFFS/bpfguard ]] && return 0
	fi
	rmdir "$BG_LOCK_PATH" 2>/dev/null || true
}

bg_map()
{
	printf '%s/%s' "$BG_PIN_DIR" "$1"
}

# The firewall's maps are there (bg_fw_gens: only xdp_firewall makes it;
# conntrack alone makes bg_fw_active too, to read the generation).
bg_have_maps()
{
	[[ -e $(bg_map bg_fw_active) && -e $(bg_map bg_fw_gens) ]]
}

# Little-endian bytes of a u32 as bpftool hex arguments.
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

bg_map_id()
{
	bpftool -j map show pinned "$(bg_map "$1")" 2>/dev/null | jq -r '.id'
}

# Decisions read the raw bytes of map values (.value in bpftool's JSON),
# never bpftool's BTF-formatted view (.formatted): that one is for display
# and is missing when bpftool cannot format a map's BTF.
#
# bg_map_raw MAP KEYBYTES...: the value as hex bytes ("01 00 ..."); fails
# when the map has no such key.
bg_map_raw()
{
	local m=$1 out
	shift
	out=$(bpftool -j map lookup pinned "$(bg_map "$m")" key hex "$@" \
		2>/dev/null) || return 1
	jq -er '.value | map(ltrimstr("0x")) | join(" ")' <<<"$out" 2>/dev/null
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

# bg_fw_active: {gen, switches}.
bg_active_raw()
{
	local v
	if ! v=$(bg_map_raw bg_fw_active 00 00 00 00) ||
		! bg_le "$v" 0 8 >/dev/null; then
		bg_die "cannot read $(bg_map bg_fw_active)"
	fi
	printf '%s' "$v"
}

# The generation packets use: 0 or 1, anything else is an error.
bg_active_gen()
{
	local gen
	gen=$(bg_le "$(bg_active_raw)" 0 4)
	[[ $gen == [01] ]] ||
		bg_die "$(bg_map bg_fw_active) says generation $gen, not 0 or 1: the maps are damaged or from another version (down.sh removes them)"
	printf '%s\n' "$gen"
}

bg_active_switches()
{
	bg_le "$(bg_active_raw)" 4 4
}

# bg_fw_gens[gen]: raw bytes of struct bg_fw_gen (loaded at byte 0, digest
# at 40..71, source path at 72..199).
bg_gen_raw()
{
	local v
	[[ $1 == [01] ]] || bg_die "no generation $1 (0 or 1)"
	# At least the bytes up to the end of the source path.
	if ! v=$(bg_map_raw bg_fw_gens $(bg_u32_hex "$1")) ||
		! bg_le "$v" 196 4 >/dev/null; then
		bg_die "cannot read generation $1 from $(bg_map bg_fw_gens)"
	fi
	printf '%s' "$v"
}

# 1 when generation $1 holds a complete ruleset, else 0.
bg_gen_loaded()
{
	local l
	l=$(bg_le "$(bg_gen_raw "$1")" 0 4)
	[[ $l == [01] ]] ||
		bg_die "$(bg_map bg_fw_gens)[$1] says loaded=$l, not 0 or 1: the maps are damaged or from another version (down.sh removes them)"
	printf '%s\n' "$l"
}

# Digest (hex) and source path of generation $1.
bg_gen_digest_of()
{
	local -a b
	read -ra b <<<"$(bg_gen_raw "$1")"
	local IFS=
	printf '%s\n' "${b[*]:40:32}"
}

bg_gen_source()
{
	bg_hexstr "$(bg_gen_raw "$1")" 72 128
}

# bg_fw_gens[gen] as bpftool prints it: raw bytes in .value, named fields
# in .formatted.value (for display: status.sh).
bg_gen_json()
{
	bpftool -j map lookup pinned "$(bg_map bg_fw_gens)" \
		key hex $(bg_u32_hex "$1")
}

# The ruleset digest of a generation (bytes 40..71 of struct bg_fw_gen).
bg_gen_digest()
{
	jq -r '.value[40:72] | map(ltrimstr("0x")) | join("")'
}

# Delete every entry of generation $1 from the generation-keyed maps. The
# generation sits at byte 4 of the LPM keys and byte 0 of the others.
bg_purge_gen()
{
	local gen=$1 batch m off
	batch=$(mktemp "${TMPDIR:-/tmp}/bgpurge.XXXXXX")
	bpftool map update pinned "$(bg_map bg_fw_gens)" \
		key hex $(bg_u32_hex "$gen") \
		value hex $(printf '00 %.0s' {1..240}) >/dev/null
	for m in bg_fw_src4 bg_fw_dst4 bg_fw_src6 bg_fw_dst6 bg_fw_sport \
		bg_fw_dport bg_fw_vec bg_fw_iface bg_fw_rinfo; do
		case $m in
		bg_fw_src* | bg_fw_dst* | bg_fw_sport | bg_fw_dport) off=4 ;;
		*) off=0 ;;
		esac
		[[ -e $(bg_map "$m") ]] || continue
		# grep/sed/awk, not jq: a 100k-entry table must purge in a second.
		# Raw keys are the only "key" arrays in bpftool's JSON.
		bpftool -j map dump pinned "$(bg_map "$m")" |
			{ grep -o '"key":\[[^]]*\]' || true; } |
			sed 's/"key":\[//; s/\]//; s/"0x//g; s/"//g; s/,/ /g' |
			awk -v off="$off" -v g="$(printf '%02x' "$gen")" \
				-v m="$(bg_map "$m")" '$(off + 1) == g {
				print "map delete pinned " m " key hex " $0 }' >>"$batch"
	done
	if [[ -s $batch ]] && ! bpftool batch file "$batch" >/dev/null; then
		rm -f "$batch"
		bg_die "could not clear generation $gen of the ruleset maps"
	fi
	rm -f "$batch"
}

bg_netns_id()
{
	stat -L -c %i /proc/self/ns/net
}

bg_ifindex()
{
	ip -j link show dev "$1" | jq -r '.[0].ifindex'
}

bg_iface_exists()
{
	ip link show dev "$1" >/dev/null 2>&1
}

bg_iface_key_hex()
{
	printf '%s %s 00 00 00 00' "$(bg_u64_hex "$(bg_netns_id)")" \
		"$(bg_u32_hex "$1")"
}

# Record an interface in bg_ifaces: ifindex, prog id, mode (1 native,
# 2 generic), flags, name.
bg_iface_register()
{
	local ifindex=$1 prog_id=$2 mode=$3 flags=$4 name=$5 namehex
	namehex=$(printf '%-16.15s' "$name" | tr ' ' '\0' | od -An -tx1 -v |
		tr -s ' \n' ' ')
	bpftool map update pinned "$(bg_map bg_ifaces)" \
		key hex $(bg_iface_key_hex "$ifindex") \
		value hex $(bg_u32_hex "$prog_id") \
		$(printf '%02x %02x 00 00' "$mode" "$flags") $namehex
}

# Raw bg_ifaces value of ifindex $1 (prog id at byte 0, mode at 4, flags at
# 5, name at 8); fails when the interface is not registered.
bg_iface_raw()
{
	local v
	v=$(bg_map_raw bg_ifaces $(bg_iface_key_hex "$1")) || return 1
	bg_le "$v" 8 16 >/dev/null ||
		bg_die "$(bg_map bg_ifaces): entry of ifindex $1 is too short"
	printf '%s' "$v"
}

# BG_IFACE_F_* flags of a registered interface; fails when not registered.
bg_iface_flags()
{
	local v
	v=$(bg_iface_raw "$1") || return 1
	bg_le "$v" 5 1
}

bg_iface_unregister()
{
	bpftool map delete pinned "$(bg_map bg_ifaces)" \
		key hex $(bg_iface_key_hex "$1") 2>/dev/null || true
}

# Forget interfaces of this namespace that no longer exist (deleted or
# renamed away). Entries of other namespaces cannot be checked from here.
# Keys are read raw: netns (u64) at byte 0, ifindex (u32) at byte 8.
bg_iface_prune()
{
	local netns key ns idx
	netns=$(bg_netns_id)
	while read -r key; do
		[[ -n $key ]] || continue
		if ! ns=$(bg_le "$key" 0 8) || ! idx=$(bg_le "$key" 8 4); then
			bg_die "$(bg_map bg_ifaces): malformed key '$key'"
		fi
		[[ $ns == "$netns" ]] || continue
		bg_iface_exists_index "$idx" && continue
		bpftool map delete pinned "$(bg_map bg_ifaces)" key hex $key \
			2>/dev/null || true
		bg_ct_ifidx_del "$idx"
	done < <(bpftool -j map dump pinned "$(bg_map bg_ifaces)" |
		jq -r '.[] | .key | map(ltrimstr("0x")) | join(" ")')
}

bg_iface_exists_index()
{
	ip -j link show | jq -e --argjson i "$1" 'any(.[]; .ifindex == $i)' \
		>/dev/null
}

bg_iface_count()
{
	bpftool -j map dump pinned "$(bg_map bg_ifaces)" 2>/dev/null |
		jq 'length'
}

# XDP program attached to $1: "ID MODE" (mode 1 native, 2 generic, 3 hw)
# or nothing. iproute2 prints one program as .xdp.prog, several (driver and
# offload) as .xdp.attached[].
bg_xdp_attached()
{
	ip -j -d link show dev "$1" |
		jq -r '.[0].xdp // empty |
			(if .prog != null then [{prog, mode}] else .attached // [] end)
			| map(select(.prog != null)) | first // empty |
			"\(.prog.id) \(.mode)"'
}

# Does program $1 use our maps? Then bpfguard attached it, whichever
# build it came from. Every bpfguard program reads one of these.
BG_OWN_MAPS=(bg_fw_active bg_ct_config)
bg_prog_is_ours()
{
	local ids m id
	ids=$(bpftool -j prog show id "$1" 2>/dev/null | jq -c '.map_ids // []') ||
		return 1
	for m in "${BG_OWN_MAPS[@]}"; do
		[[ -e $(bg_map "$m") ]] || continue
		id=$(bg_map_id "$m")
		[[ -n $id ]] || continue
		jq -e --argjson m "$id" 'index($m) != null' <<<"$ids" >/dev/null &&
			return 0
	done
	return 1
}

# With the pins gone, bpfguard's programs are recognised by the names of
# the maps they use (a map's name is its first 15 characters).
bg_prog_is_orphan()
{
	local id m name
	for id in $(bpftool -j prog show id "$1" 2>/dev/null |
		jq -r '.map_ids // [] | .[]'); do
		name=$(bpftool -j map show id "$id" 2>/dev/null | jq -r '.name')
		for m in "${BG_OWN_MAPS[@]}"; do
			[[ $name == "${m:0:15}" ]] && return 0
		done
	done
	return 1
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
		"$BG_LOAD" --bpffs "$FW_BPFFS" "$BG_OBJ_DIR/$obj" "$dir" \
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

bg_prog_id()
{
	bpftool -j prog show pinned "$1" | jq -r '.id'
}

# Switching to a ruleset takes two steps, so that a caller can do what
# must succeed first (up.sh: attach the interface) in between:
#   bg_prepare_ruleset FILE  fills the generation packets are not using and
#                            checks it loaded completely; nothing switches
#                            (on a first load, with no ruleset running, the
#                            new one is live at once);
#   bg_commit_ruleset        one store to bg_fw_active switches every
#                            packet over, then the old generation goes;
#   bg_rollback_ruleset      instead of the commit: removes the prepared
#                            generation and puts back the settings outside
#                            the generations that the batch changed
#                            (bg_ct_config), as they were.
# State between the steps: BG_RS_* variables. Call them in the script's
# shell, not in $(...).
BG_RS_STATE=none

# Maps fwmapgen fills per generation (the generation is in the key, or the
# index is per generation): everything else the batch writes is global and
# is saved before the batch for a rollback.
bg_is_gen_map()
{
	case $1 in
	bg_fw_src4 | bg_fw_dst4 | bg_fw_src6 | bg_fw_dst6 | bg_fw_sport | \
		bg_fw_dport | bg_fw_vec | bg_fw_iface | bg_fw_rinfo | bg_fw_rules | \
		bg_fw_proto | bg_fw_gens | bg_fw_hits) return 0 ;;
	esac
	return 1
}

# A bpftool batch that writes back the current entries of the global maps
# that batch $1 updates.
bg_snapshot_globals()
{
	local m
	while read -r m; do
		bg_is_gen_map "$(basename "$m")" && continue
		bpftool -j map dump pinned "$m" | jq -r --arg m "$m" '.[] |
			select(.value != null) |
			"map update pinned \($m) key hex " +
			(.key | map(ltrimstr("0x")) | join(" ")) + " value hex " +
			(.value | map(ltrimstr("0x")) | join(" "))' ||
			bg_die "cannot save $m before loading the ruleset"
	done < <(awk '$1 == "map" && $2 == "update" && $3 == "pinned" {
		print $4 }' "$1" | sort -u)
}

bg_prepare_ruleset()
{
	local rules=$1 batch
	BG_RS_STATE=none
	BG_RS_RULES=$rules
	BG_RS_DIGEST=$("$FWMAPGEN" --digest "$rules") ||
		bg_die "ruleset $rules is invalid; nothing changed"
	BG_RS_ACTIVE=$(bg_active_gen)
	BG_RS_WAS_LOADED=$(bg_gen_loaded "$BG_RS_ACTIVE")
	if [[ $BG_RS_WAS_LOADED == 1 &&
		$(bg_gen_digest_of "$BG_RS_ACTIVE") == "$BG_RS_DIGEST" ]]; then
		BG_RS_STATE=unchanged
		bg_info "ruleset $rules unchanged (generation $BG_RS_ACTIVE)"
		return 0
	fi
	if [[ $BG_RS_WAS_LOADED == 1 ]]; then
		BG_RS_NEXT=$((1 - BG_RS_ACTIVE))
	else
		BG_RS_NEXT=$BG_RS_ACTIVE
	fi
	batch=$(mktemp "${TMPDIR:-/tmp}/bgrules.XXXXXX")
	BG_RS_UNDO=$(mktemp "${TMPDIR:-/tmp}/bgundo.XXXXXX")
	if ! "$FWMAPGEN" --gen "$BG_RS_NEXT" --pin-dir "$BG_PIN_DIR" \
		-o "$batch" "$rules"; then
		rm -f "$batch" "$BG_RS_UNDO"
		bg_die "ruleset $rules is invalid; nothing changed"
	fi
	bg_snapshot_globals "$batch" >"$BG_RS_UNDO"
	BG_RS_STATE=prepared
	bg_purge_gen "$BG_RS_NEXT"
	if ! bpftool batch file "$batch" >/dev/null; then
		rm -f "$batch"
		bg_rollback_ruleset
		bg_die "loading ruleset $rules into the maps failed; the running ruleset is unchanged"
	fi
	rm -f "$batch"
	if [[ $(bg_gen_loaded "$BG_RS_NEXT") != 1 ||
		$(bg_gen_digest_of "$BG_RS_NEXT") != "$BG_RS_DIGEST" ]]; then
		bg_rollback_ruleset
		bg_die "ruleset $rules did not load completely; the running ruleset is unchanged"
	fi
}

bg_commit_ruleset()
{
	[[ $BG_RS_STATE == prepared ]] || return 0
	bg_switch_gen "$BG_RS_NEXT"
	BG_RS_STATE=committed
	rm -f "$BG_RS_UNDO"
	if [[ $BG_RS_WAS_LOADED == 1 ]]; then
		# Packets already classifying with the old generation finish
		# within an RCU grace period; give them far more than that. The
		# new ruleset is live: a failed clean-up is not a failed switch
		# (the next switch purges that generation first anyway).
		sleep 0.05
		(bg_purge_gen "$BG_RS_ACTIVE") ||
			bg_warn "old generation $BG_RS_ACTIVE not fully removed"
	fi
	bg_info "ruleset $BG_RS_RULES loaded (generation $BG_RS_NEXT, digest ${BG_RS_DIGEST:0:16})"
}

# Runs from exit hooks too: warns rather than dies.
bg_rollback_ruleset()
{
	[[ $BG_RS_STATE == prepared ]] || return 0
	BG_RS_STATE=rolled-back
	(bg_purge_gen "$BG_RS_NEXT") ||
		bg_warn "generation $BG_RS_NEXT (not in use) not fully removed"
	if [[ -s $BG_RS_UNDO ]] &&
		! bpftool batch file "$BG_RS_UNDO" >/dev/null; then
		bg_warn "could not restore the conntrack settings of the running ruleset"
	fi
	rm -f "$BG_RS_UNDO"
}

# Compile and switch to ruleset $1 in one go (nothing to do in between).
bg_apply_ruleset()
{
	bg_prepare_ruleset "$1"
	bg_commit_ruleset
}

bg_switch_gen()
{
	local gen=$1 switches
	switches=$(bg_active_switches) ||
		bg_die "cannot read $(bg_map bg_fw_active)"
	bpftool map update pinned "$(bg_map bg_fw_active)" key hex 00 00 00 00 \
		value hex $(bg_u32_hex "$gen") \
		$(bg_u32_hex $(((switches + 1) & 0xffffffff))) >/dev/null ||
		bg_die "could not switch to generation $gen"
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

# TC programs run in a fixed order on every interface: the filter priority
# ("pref") of each is part of the interface contract (README: TC programs).
# shellcheck disable=SC2034 # used by up.sh and down.sh
BG_PREF_CONNTRACK=10

# bg_ifaces flags: up.sh created the clsact qdisc; up.sh turned the NIC's
# receive VLAN offloads off (802.1Q, 802.1ad; down.sh turns them back on).
# shellcheck disable=SC2034 # used by up.sh and down.sh
BG_IFACE_F_CLSACT=1
# shellcheck disable=SC2034
BG_IFACE_F_RXVLAN=2
# shellcheck disable=SC2034
BG_IFACE_F_RXSTAG=4

# bg_ct_ifidx flags and bg_ct_local values (headers/bg_abi.h).
BG_CT_IF_OURS=1
BG_CT_IF_RPF_STRICT=2
BG_CT_LOCAL_SEEDED=1

# A NIC that strips VLAN tags on receive hands XDP an untagged frame (on
# Linux 6.1 XDP cannot read the stripped tag) while TC sees the tag in the
# skb: conntrack keys flows by VLAN, so phase 0 would miss every tagged
# flow. Turn the offloads that are on (and can change) off; prints the
# BG_IFACE_F_RX* bits of those this call turned off.
bg_rxvlan_off()
{
	local f bits=0 feat bit
	command -v ethtool >/dev/null || {
		echo 0
		return 0
	}
	f=$(ethtool -k "$1" 2>/dev/null) || true
	for feat in rx-vlan-offload:rxvlan:2 rx-vlan-stag-hw-parse:rx-vlan-stag-hw-parse:4; do
		bit=${feat##*:}
		grep -qx "${feat%%:*}: on" <<<"$f" || continue
		feat=${feat%:*}
		if ethtool -K "$1" "${feat#*:}" off 2>/dev/null; then
			bits=$((bits | bit))
		else
			bg_warn "$1: cannot turn ${feat%%:*} off: VLAN-tagged flows will miss conntrack's fast path"
		fi
	done
	((bits == 0)) ||
		bg_info "$1: receive VLAN offload turned off (XDP must see the tags TC sees)" >&2
	echo "$bits"
}

# Turn back on what bg_rxvlan_off turned off ($2: its bits).
bg_rxvlan_restore()
{
	if (($2 & BG_IFACE_F_RXVLAN)); then
		ethtool -K "$1" rxvlan on 2>/dev/null ||
			bg_warn "$1: could not turn rx-vlan-offload back on"
	fi
	if (($2 & BG_IFACE_F_RXSTAG)); then
		ethtool -K "$1" rx-vlan-stag-hw-parse on 2>/dev/null ||
			bg_warn "$1: could not turn rx-vlan-stag-hw-parse back on"
	fi
	return 0
}

# clsact qdisc on $1; prints 1 when this call created it (down.sh then
# removes it again), 0 when it was there.
bg_clsact_ensure()
{
	if tc -j qdisc show dev "$1" | jq -e 'any(.[]; .kind == "clsact")' \
		>/dev/null; then
		echo 0
	else
		tc qdisc add dev "$1" clsact || bg_die "cannot add a clsact qdisc to $1"
		echo 1
	fi
}

# Program id of the TC filter at pref $3 on $1 direction $2, if any.
bg_tc_prog_id()
{
	tc -j filter show dev "$1" "$2" pref "$3" 2>/dev/null |
		jq -r 'map(.options.prog.id // empty) | first // empty'
}

# Attach pinned program $4 at pref $3 (replacing what bpfguard had there).
bg_tc_attach()
{
	local dev=$1 dir=$2 pref=$3 pin=$4
	tc filter replace dev "$dev" "$dir" pref "$pref" handle 1 bpf da \
		object-pinned "$pin" ||
		bg_die "cannot attach $(basename "$pin") to $dev $dir"
}

# Detach the TC program at pref $3 on $1 direction $2 if predicate $4
# (default bg_prog_is_ours) says it is bpfguard's.
bg_tc_detach()
{
	local dev=$1 dir=$2 pref=$3 is_ours=${4:-bg_prog_is_ours} id
	id=$(bg_tc_prog_id "$dev" "$dir" "$pref")
	[[ -n $id ]] || return 0
	if "$is_ours" "$id"; then
		tc filter del dev "$dev" "$dir" pref "$pref" 2>/dev/null || true
		[[ -z $(bg_tc_prog_id "$dev" "$dir" "$pref") ]] ||
			bg_die "could not detach program $id from $dev $dir pref $pref"
	else
		bg_warn "$dev $dir pref $pref runs program $id that bpfguard did not attach; left alone"
	fi
}

# Detach the XDP program of $1 running in mode $2 (1 native, 2 generic).
bg_xdp_detach()
{
	local dev=$1 mode=$2 id=""
	case $mode in
	2) ip link set dev "$dev" xdpgeneric off ;;
	*) ip link set dev "$dev" xdpdrv off ;;
	esac || true
	read -r id _ < <(bg_xdp_attached "$dev") || true
	[[ -z $id ]] || bg_die "could not detach XDP program $id from $dev"
}

# Interfaces conntrack treats as bpfguard's own (egress skips what came in
# through one of them: it was tracked on ingress already), with what
# conntrack asks of a new flow's source there: $1 ifindex, $2 strict or
# loose (up.sh --reverse-path).
bg_ct_ifidx_set()
{
	local v=$BG_CT_IF_OURS
	[[ $2 != strict ]] || v=$((v | BG_CT_IF_RPF_STRICT))
	# shellcheck disable=SC2046 # one argument per byte
	bpftool map update pinned "$(bg_map bg_ct_ifidx)" \
		key hex $(bg_u32_hex "$1") value hex $(bg_u32_hex "$v")
}

# The 16 bytes of IPv6 address $1 as bpftool hex arguments.
bg_ip6_hex()
{
	local a=${1%%/*} head tail g
	local -a h=() t=() w=()
	[[ $a =~ ^[0-9a-fA-F:]+$ ]] || return 1
	if [[ $a == *::* ]]; then
		head=${a%%::*} tail=${a#*::}
	else
		head=$a tail=
	fi
	[[ -z $head ]] || IFS=: read -ra h <<<"$head"
	[[ -z $tail ]] || IFS=: read -ra t <<<"$tail"
	w=("${h[@]}")
	for ((g = ${#h[@]} + ${#t[@]}; g < 8; g++)); do
		w+=(0)
	done
	w+=("${t[@]}")
	((${#w[@]} == 8)) || return 1
	for g in "${w[@]}"; do
		printf '%02x %02x ' $((16#$g >> 8)) $((16#$g & 255))
	done
}

# This host's addresses into bg_ct_local: a packet from outside claiming
# one of them as its source opens no flow. (Addresses added later are
# learnt from the first packet the host sends from them.)
bg_ct_local_seed()
{
	local fam addr k a b c d
	while read -r fam addr; do
		case $fam in
		inet)
			IFS=. read -r a b c d <<<"$addr"
			k="00 00 00 00 $(printf '%02x %02x %02x %02x' "$a" "$b" "$c" "$d") $(printf '00 %.0s' {1..12})"
			;;
		inet6) k="01 00 00 00 $(bg_ip6_hex "$addr")" || continue ;;
		*) continue ;;
		esac
		# shellcheck disable=SC2086 # one argument per key byte
		bpftool map update pinned "$(bg_map bg_ct_local)" key hex $k \
			value hex $(bg_u32_hex "$BG_CT_LOCAL_SEEDED")
	done < <(ip -j addr show | jq -r '.[].addr_info[]? |
		select(.family == "inet" or .family == "inet6") |
		"\(.family) \(.local)"')
}

bg_ct_ifidx_del()
{
	[[ -e $(bg_map bg_ct_ifidx) ]] || return 0
	bpftool map delete pinned "$(bg_map bg_ct_ifidx)" \
		key hex $(bg_u32_hex "$1") 2>/dev/null || true
}

# Every pin the toolkit made: shared maps and program pins.
bg_remove_pins()
{
	local p
	for p in "$BG_PIN_DIR"/bg_*; do
		[[ -e $p ]] && rm -f "$p"
	done
	[[ -d $BG_PROG_PIN_DIR ]] && rm -rf "$BG_PROG_PIN_DIR"
	return 0
}

bg_locate
