#!/usr/bin/env bash
# Take bpfguard off an interface and, with the last one, remove its pins.
# The programs of the registry (scripts/programs) come off in its reverse
# order.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

usage()
{
	cat <<EOF2
Usage: $BG_PROG IFACE [--keep-maps]

Detach everything up.sh attached to IFACE (programs, and the clsact qdisc
if up.sh created it). When no interface runs bpfguard any more, the pinned
maps and programs under \$BG_BPFFS are removed too, unless --keep-maps.
Running it again, or on an interface bpfguard is not on, changes nothing.
With the pins gone but bpfguard's programs still attached to IFACE, it
detaches them (recognised by the maps they use).

  --keep-maps   keep the pinned maps (ruleset, counters) for a later up.sh
  -h, --help    this text

$BG_ENV_HELP
EOF2
}

iface="" keep=0
while (($#)); do
	case $1 in
	-h | --help)
		usage
		exit 0
		;;
	--keep-maps) keep=1 ;;
	-*) bg_die "unknown option $1 (see --help)" ;;
	*)
		[[ -z $iface ]] || bg_die "one interface at a time (see --help)"
		iface=$1
		;;
	esac
	shift
done

[[ -n $iface ]] || bg_die "no interface given (see --help)"
bg_require_root
bg_require_tools bpftool ip tc jq flock
bg_registry_load
bg_bpffs_path
bg_lock

# Every program of the registry (a reserved line has none) that may run on
# IFACE, in reverse order: whatever a run before attached comes off, even
# a program whose line is skipped now.
detach_all()
{
	local i
	for ((i = ${#BG_REG_NAME[@]} - 1; i >= 0; i--)); do
		[[ ${BG_REG_OBJ[i]} == - ]] || bg_prog_do detach "$i" "$iface" "$1"
	done
}

# The pins are gone (bpffs unmounted, pins removed by hand) but programs
# may still run: bpfguard's are recognised by the names of the maps they
# use. Whether up.sh added the clsact qdisc was recorded in the pins, so
# it stays.
detach_orphans()
{
	BG_DETACHED=0
	! bg_iface_exists "$iface" || detach_all orphan
	if ((BG_DETACHED == 0)); then
		bg_info "$iface: bpfguard is not running (no pinned maps under $BG_BPFFS)"
	else
		bg_info "$iface: no pinned maps under $BG_BPFFS, but $BG_DETACHED bpfguard program(s) still ran: detached (a clsact qdisc stays)"
	fi
}

if ! bg_setup_bpffs check || ! bg_have_maps; then
	detach_orphans
	exit 0
fi

if bg_iface_exists "$iface"; then
	ifindex=$(bg_ifindex "$iface")
	detach_all down
	if flags=$(bg_iface_flags "$ifindex"); then
		if ((flags & BG_IFACE_F_CLSACT)); then
			tc qdisc del dev "$iface" clsact 2>/dev/null || true
		fi
		bg_rxvlan_restore "$iface" "$flags"
	fi
	bg_iface_unregister "$ifindex"
else
	bg_warn "no such interface: $iface; forgetting it"
fi
bg_iface_prune

left=$(bg_iface_count)
if ((left == 0)) && ((keep == 0)); then
	bg_remove_pins
	bg_info "last interface: pinned maps and programs removed"
elif ((left > 0)); then
	bg_info "$left interface(s) still use the shared maps; pins kept"
fi
