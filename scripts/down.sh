#!/usr/bin/env bash
# Take bpfguard off an interface and, with the last one, remove its pins.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

usage()
{
	cat <<EOF2
Usage: $BG_PROG IFACE [--keep-maps]

Detach everything up.sh attached to IFACE (programs, and the clsact qdisc
if up.sh created it). When no interface runs bpfguard any more, the pinned
maps and programs under \$FW_BPFFS are removed too, unless --keep-maps.
Running it again, or on an interface bpfguard is not on, changes nothing.

  --keep-maps   keep the pinned maps (ruleset, counters) for a later up.sh
  -h, --help    this text
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
bg_require_tools bpftool ip jq flock
if ! bg_setup_bpffs check || ! bg_have_maps; then
	bg_info "$iface: bpfguard is not running (no pinned maps under ${FW_BPFFS:-/sys/fs/bpf})"
	exit 0
fi
bg_lock

ifindex=""
if bg_iface_exists "$iface"; then
	ifindex=$(bg_ifindex "$iface")
	read -r cur_id cur_mode < <(bg_xdp_attached "$iface") || true
	if [[ -n ${cur_id:-} ]]; then
		if bg_prog_is_ours "$cur_id"; then
			case ${cur_mode:-1} in
			2) ip link set dev "$iface" xdpgeneric off ;;
			*) ip link set dev "$iface" xdpdrv off ;;
			esac
			bg_info "$iface: xdp_firewall detached"
		else
			bg_warn "$iface runs XDP program $cur_id that bpfguard did not attach; left alone"
		fi
	fi
	bg_tc_detach "$iface" ingress "$BG_PREF_CONNTRACK"
	bg_tc_detach "$iface" egress "$BG_PREF_CONNTRACK"
	bg_ct_ifidx_del "$ifindex"
	reg=$(bg_iface_lookup "$ifindex" || true)
	if [[ -n $reg ]] && (($(jq -r '.flags' <<<"$reg") & 1)); then
		tc qdisc del dev "$iface" clsact 2>/dev/null || true
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
