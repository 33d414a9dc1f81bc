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

# Make sure FW_BPFFS is a bpffs we can pin into; mount the default one
# when missing (nothing mounts it at boot on some systems).
bg_setup_bpffs()
{
	local mount_missing=${1:-mount}
	FW_BPFFS=${FW_BPFFS:-/sys/fs/bpf}
	FW_BPFFS=${FW_BPFFS%/}
	if bg_private_sys; then
		bg_die "$FW_BPFFS is in a private /sys (ip netns exec?): pins would vanish when this command exits; mount a bpffs outside /sys and set FW_BPFFS, or use nsenter --net=/run/netns/NS"
	fi
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
bg_lock()
{
	local dir=${BG_LOCK_DIR:-/run/lock} name
	name=bpfguard$(printf '%s' "$FW_BPFFS" | tr -c 'A-Za-z0-9' '_').lock
	mkdir -p "$dir"
	exec 9>"$dir/$name"
	flock -w 60 9 || bg_die "another bpfguard command holds $dir/$name"
}

bg_map()
{
	printf '%s/%s' "$BG_PIN_DIR" "$1"
}

bg_have_maps()
{
	[[ -e $(bg_map bg_fw_active) ]]
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

bg_active_gen()
{
	bpftool -j map lookup pinned "$(bg_map bg_fw_active)" key hex 00 00 00 00 |
		jq -r '.formatted.value.gen'
}

# bg_fw_gens[gen] as bpftool prints it: raw bytes in .value, named fields
# in .formatted.value.
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

bg_iface_lookup()
{
	bpftool -j map lookup pinned "$(bg_map bg_ifaces)" \
		key hex $(bg_iface_key_hex "$1") 2>/dev/null |
		jq -c '.formatted.value // empty'
}

bg_iface_unregister()
{
	bpftool map delete pinned "$(bg_map bg_ifaces)" \
		key hex $(bg_iface_key_hex "$1") 2>/dev/null || true
}

# Forget interfaces of this namespace that no longer exist (deleted or
# renamed away). Entries of other namespaces cannot be checked from here.
bg_iface_prune()
{
	local netns key idx
	netns=$(bg_netns_id)
	while read -r idx key; do
		bg_iface_exists_index "$idx" && continue
		bpftool map delete pinned "$(bg_map bg_ifaces)" key hex $key \
			2>/dev/null || true
		bg_ct_ifidx_del "$idx"
	done < <(bpftool -j map dump pinned "$(bg_map bg_ifaces)" |
		jq -r --arg ns "$netns" '.[] |
			select((.formatted.key.netns | tostring) == $ns) |
			"\(.formatted.key.ifindex) " +
			(.key | map(ltrimstr("0x")) | join(" "))')
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
# or nothing.
bg_xdp_attached()
{
	ip -j -d link show dev "$1" |
		jq -r '.[0].xdp // empty | select(.prog != null) |
			"\(.prog.id) \(.mode)"'
}

# Does program $1 use our maps? Then bpfguard attached it, whichever
# build it came from. Every bpfguard program reads one of these.
bg_prog_is_ours()
{
	local ids m id
	ids=$(bpftool -j prog show id "$1" 2>/dev/null | jq -c '.map_ids // []') ||
		return 1
	for m in bg_fw_active bg_ct_config; do
		[[ -e $(bg_map "$m") ]] || continue
		id=$(bg_map_id "$m")
		[[ -n $id ]] || continue
		jq -e --argjson m "$id" 'index($m) != null' <<<"$ids" >/dev/null &&
			return 0
	done
	return 1
}

# Pinned program of the current objects, loaded on first use. The pin
# directory is named after the objects' digest, so a rebuild loads anew
# while repeated runs reuse the same program.
bg_load_prog()
{
	local obj=$1 name=$2 digest dir
	digest=$(sha256sum "$BG_OBJ_DIR/$obj" | cut -c1-16)
	dir=$BG_PROG_PIN_DIR/$digest
	if [[ ! -e $dir/$name ]]; then
		"$BG_LOAD" --bpffs "$FW_BPFFS" "$BG_OBJ_DIR/$obj" "$dir" \
			>/dev/null || bg_die "could not load $obj"
	fi
	printf '%s/%s' "$dir" "$name"
}

bg_prog_id()
{
	bpftool -j prog show pinned "$1" | jq -r '.id'
}

# Compile and switch to ruleset $1. The new ruleset goes into the
# generation packets are not using; only when it is complete does one
# store to bg_fw_active switch every packet over to it.
bg_apply_ruleset()
{
	local rules=$1 digest active cur next batch loaded
	digest=$("$FWMAPGEN" --digest "$rules") ||
		bg_die "ruleset $rules is invalid; nothing changed"
	active=$(bg_active_gen)
	cur=$(bg_gen_json "$active")
	loaded=$(jq -r '.formatted.value.loaded' <<<"$cur")
	if [[ $loaded == 1 && $(bg_gen_digest <<<"$cur") == "$digest" ]]; then
		bg_info "ruleset $rules unchanged (generation $active)"
		return 0
	fi
	if [[ $loaded == 1 ]]; then
		next=$((1 - active))
	else
		next=$active
	fi
	batch=$(mktemp "${TMPDIR:-/tmp}/bgrules.XXXXXX")
	if ! "$FWMAPGEN" --gen "$next" --pin-dir "$BG_PIN_DIR" -o "$batch" \
		"$rules"; then
		rm -f "$batch"
		bg_die "ruleset $rules is invalid; nothing changed"
	fi
	bg_purge_gen "$next"
	if ! bpftool batch file "$batch" >/dev/null; then
		rm -f "$batch"
		bg_purge_gen "$next"
		bg_die "loading ruleset $rules into the maps failed; the running ruleset is unchanged"
	fi
	rm -f "$batch"
	bg_switch_gen "$next"
	if [[ $loaded == 1 ]]; then
		# Packets already classifying with the old generation finish
		# within an RCU grace period; give them far more than that. The
		# new ruleset is live: a failed clean-up is not a failed switch
		# (the next switch purges that generation first anyway).
		sleep 0.05
		(bg_purge_gen "$active") ||
			bg_warn "old generation $active not fully removed"
	fi
	bg_info "ruleset $rules loaded (generation $next, digest ${digest:0:16})"
}

bg_switch_gen()
{
	local gen=$1 switches
	switches=$(bpftool -j map lookup pinned "$(bg_map bg_fw_active)" \
		key hex 00 00 00 00 | jq -r '.formatted.value.switches')
	bpftool map update pinned "$(bg_map bg_fw_active)" key hex 00 00 00 00 \
		value hex $(bg_u32_hex "$gen") \
		$(bg_u32_hex $((switches + 1))) >/dev/null
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

bg_tc_detach()
{
	local dev=$1 dir=$2 pref=$3 id
	id=$(bg_tc_prog_id "$dev" "$dir" "$pref")
	[[ -n $id ]] || return 0
	if bg_prog_is_ours "$id"; then
		tc filter del dev "$dev" "$dir" pref "$pref" 2>/dev/null || true
	else
		bg_warn "$dev $dir pref $pref runs program $id that bpfguard did not attach; left alone"
	fi
}

# Interfaces conntrack treats as bpfguard's own (egress skips what came in
# through one of them: it was tracked on ingress already).
bg_ct_ifidx_set()
{
	bpftool map update pinned "$(bg_map bg_ct_ifidx)" \
		key hex $(bg_u32_hex "$1") value hex 01 00 00 00
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
