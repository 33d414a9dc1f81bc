#!/usr/bin/env bash
# Bring bpfguard up on an interface: compile the ruleset, create and fill the
# pinned maps, and only then attach the firewall.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

usage()
{
	cat <<EOF
Usage: $BG_PROG IFACE [--rules FILE] [--mode native|generic]
                 [--reverse-path strict|loose] [--force]

Compile the ruleset, load it into the pinned maps under
\$FW_BPFFS/tc/globals (FW_BPFFS defaults to /sys/fs/bpf), then attach the
XDP firewall to IFACE (an Ethernet device). Safe to run again: with the
same ruleset nothing changes; with another one, the maps switch to it
atomically once IFACE is attached. A run that fails (a ruleset that does
not compile or load, an attach that fails) leaves everything as it was.

  --rules FILE   ruleset to enforce (default: keep the one running, or load
                 $BG_DEFAULT_RULES when none runs)
  --mode MODE    XDP mode: native (driver) or generic (skb); default: the
                 mode the interface runs in, native for a new one
  --reverse-path MODE
                 what a packet arriving on IFACE must show before it opens a
                 flow in conntrack: strict (default), its source is not one
                 of this host's addresses and, where IFACE forwards, the
                 route back to it leaves by IFACE (an inside address
                 arriving from outside opens none); loose, only the first
                 (for asymmetric routing). Given per run, like --mode.
  --force        replace an XDP program bpfguard did not attach
  -h, --help     this text
EOF
}

iface="" rules="" mode="" force=0 rpf=strict
while (($#)); do
	case $1 in
	-h | --help)
		usage
		exit 0
		;;
	--rules)
		[[ $# -ge 2 ]] || bg_die "--rules needs a file"
		rules=$2
		shift
		;;
	--mode)
		[[ $# -ge 2 ]] || bg_die "--mode needs native or generic"
		mode=$2
		shift
		;;
	--reverse-path)
		[[ $# -ge 2 ]] || bg_die "--reverse-path needs strict or loose"
		rpf=$2
		shift
		;;
	--force) force=1 ;;
	-*) bg_die "unknown option $1 (see --help)" ;;
	*)
		[[ -z $iface ]] || bg_die "one interface at a time (see --help)"
		iface=$1
		;;
	esac
	shift
done

case $mode in
"" | native | generic) ;;
*) bg_die "--mode must be native or generic, not '$mode'" ;;
esac
case $rpf in
strict | loose) ;;
*) bg_die "--reverse-path must be strict or loose, not '$rpf'" ;;
esac

[[ -n $iface ]] || bg_die "no interface given (see --help)"
bg_require_root
bg_require_tools bpftool ip tc jq flock
bg_require_iface "$iface"
bg_require_ether "$iface"
bg_require_objects xdp_firewall.o tc_conntrack.o
bg_bpffs_path
bg_lock
bg_setup_bpffs mount

# The ruleset: the one named; without --rules the running one stays as it
# is (adding an interface must not reload, let alone swap, the ruleset);
# the default only when none runs yet.
keep_running=0
if [[ -z $rules ]] && bg_have_maps; then
	active=$(bg_active_gen)
	loaded=$(bg_gen_loaded "$active")
	((loaded == 0)) || keep_running=1
fi
if ((keep_running == 0)); then
	rules=${rules:-$BG_DEFAULT_RULES}
	[[ -r $rules ]] || bg_die "cannot read ruleset $rules"
	rules=$(readlink -f "$rules")
	((${#rules} < 128)) ||
		bg_die "ruleset path $rules is too long (127 bytes at most)"
	"$FWMAPGEN" --check "$rules" >/dev/null ||
		bg_die "ruleset $rules is invalid; nothing changed"
fi

# Refuse before touching anything if IFACE runs someone else's program.
cur_id="" cur_mode=""
read -r cur_id cur_mode < <(bg_xdp_attached "$iface") || true
ours_before=0
if [[ -n $cur_id ]] && bg_have_maps && bg_prog_is_ours "$cur_id"; then
	ours_before=1
fi
if [[ -n $cur_id && $ours_before == 0 && $force == 0 ]]; then
	name=$(bpftool -j prog show id "$cur_id" 2>/dev/null | jq -r '.name // "?"')
	bg_die "$iface already runs XDP program $cur_id ($name) that bpfguard did not attach; use --force to replace it"
fi

# Without --mode, an interface keeps the mode it runs in.
if [[ -z $mode ]]; then
	mode=native
	[[ $ours_before == 1 && $cur_mode == 2 ]] && mode=generic
fi
case $mode in
native) mode_num=1 ip_mode=xdpdrv other_mode=xdpgeneric ;;
generic) mode_num=2 ip_mode=xdpgeneric other_mode=xdpdrv ;;
esac

# All or nothing: a run that fails puts back what it changed. The ruleset
# switch comes last, once the interface is attached and recorded, so a
# failure before it leaves every interface on the running ruleset; an
# interface this run added is detached again; a first run leaves no pins.
ifindex=$(bg_ifindex "$iface")
fresh=1 registered_before=0 flags=0
if bg_have_maps; then
	fresh=0
	if flags=$(bg_iface_flags "$ifindex"); then
		registered_before=1
	else
		flags=0
	fi
fi
xdp_attached=0 ct_attached=0 created_clsact=0 registered=0 rxvlan_off=0
rollback()
{
	(($1 != 0)) || return 0
	bg_rollback_ruleset
	if ((registered_before == 0)); then
		if ((xdp_attached)); then
			ip link set dev "$iface" "$ip_mode" off 2>/dev/null || true
		fi
		# Never leave conntrack attached without the firewall.
		if ((ct_attached)); then
			bg_tc_detach "$iface" ingress "$BG_PREF_CONNTRACK"
			bg_tc_detach "$iface" egress "$BG_PREF_CONNTRACK"
			bg_ct_ifidx_del "$ifindex"
		fi
		if ((created_clsact)); then
			tc qdisc del dev "$iface" clsact 2>/dev/null || true
		fi
		bg_rxvlan_restore "$iface" "$rxvlan_off"
		((registered == 0)) || bg_iface_unregister "$ifindex"
	fi
	if ((fresh)) && [[ $(bg_iface_count || echo 0) == 0 ]]; then
		bg_remove_pins
	fi
	return 0
}
bg_at_exit rollback

pin=$(bg_load_prog xdp_firewall.o bg_fw_xdp)
prog_id=$(bg_prog_id "$pin")
ct_in=$(bg_load_prog tc_conntrack.o bg_ct_ingress)
ct_out=$(dirname "$ct_in")/bg_ct_egress
if ((keep_running)); then
	bg_info "ruleset unchanged (running: $(bg_gen_source "$active"))"
else
	# Filled, not yet switched to (live at once only when none runs).
	bg_prepare_ruleset "$rules"
fi

# Connection tracking on TC ingress and egress first: by the time the
# firewall's phase 0 looks, the flows already open on this interface have
# been picked up from their egress segments (attaching the firewall first
# would drop their replies until then). Only a clsact qdisc this run
# creates is ours to remove.
created_clsact=$(bg_clsact_ensure "$iface")
((created_clsact == 0)) || flags=$((flags | BG_IFACE_F_CLSACT))
# Offloads a run before turned off stay off (and recorded).
rxvlan_off=$(bg_rxvlan_off "$iface")
flags=$((flags | rxvlan_off))
ct_attached=1
bg_ct_ifidx_set "$ifindex" "$rpf"
bg_ct_local_seed
bg_tc_attach "$iface" ingress "$BG_PREF_CONNTRACK" "$ct_in"
bg_tc_attach "$iface" egress "$BG_PREF_CONNTRACK" "$ct_out"
bg_info "$iface: tc_conntrack attached (ingress and egress, pref $BG_PREF_CONNTRACK)"
# Give open flows a moment to send a segment and be picked up.
[[ $cur_id == "$prog_id" ]] || sleep "${BG_PICKUP_WAIT:-0.5}"

if [[ $cur_id == "$prog_id" && $cur_mode == "$mode_num" ]]; then
	bg_info "$iface: xdp_firewall already attached (prog $prog_id, $mode)"
else
	# Native and generic XDP cannot coexist: moving between them leaves
	# the interface unfiltered for a moment.
	if [[ -n $cur_id && $cur_mode != "$mode_num" ]]; then
		ip link set dev "$iface" "$other_mode" off 2>/dev/null || true
	fi
	# Replace a program only when it is ours or --force says so: without
	# -force, iproute2 asks the kernel to attach only where no program
	# runs, so a program the checks above missed is refused by the kernel.
	force_arg=()
	if ((force)) ||
		[[ -n $cur_id && $cur_mode == "$mode_num" && $ours_before == 1 ]]; then
		force_arg=(-force)
	fi
	if ! err=$(ip "${force_arg[@]}" link set dev "$iface" "$ip_mode" \
		pinned "$pin" 2>&1); then
		# Put the interface back the way it was before saying so.
		if [[ $ours_before == 1 && $cur_mode != "$mode_num" ]]; then
			ip link set dev "$iface" "$other_mode" pinned "$pin" ||
				true
		fi
		err=${err//$'\n'/ }
		[[ $err == *"already attached"* ]] &&
			bg_die "$iface: the kernel refused to replace the XDP program attached there ($err): bpfguard did not attach it; use --force to replace it"
		[[ $mode == native ]] &&
			bg_die "attaching to $iface in native mode failed ($err): driver without XDP support? try --mode generic"
		bg_die "attaching to $iface failed ($err)"
	fi
	xdp_attached=1
	bg_info "$iface: xdp_firewall attached (prog $prog_id, $mode)"
fi

bg_iface_register "$ifindex" "$prog_id" "$mode_num" "$flags" "$iface" ||
	bg_die "could not record $iface in bg_ifaces"
registered=1
# The interface runs: now every interface switches to the new ruleset.
bg_commit_ruleset
bg_prune_prog_pins "$pin" "$ct_in"
