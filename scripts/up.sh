#!/usr/bin/env bash
# Bring bpfguard up on an interface: compile the ruleset, create and fill the
# pinned maps, and only then attach the firewall.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

usage()
{
	cat <<EOF
Usage: $BG_PROG IFACE [--rules FILE] [--mode native|generic] [--force]

Compile the ruleset, load it into the pinned maps under
\$FW_BPFFS/tc/globals (FW_BPFFS defaults to /sys/fs/bpf), then attach the
XDP firewall to IFACE. Safe to run again: with the same ruleset nothing
changes; with another one, the maps switch to it atomically, and a ruleset
that does not compile or load leaves the running one in place.

  --rules FILE   ruleset to enforce (default: keep the one running, or load
                 $BG_DEFAULT_RULES when none runs)
  --mode MODE    XDP mode: native (driver) or generic (skb); default: the
                 mode the interface runs in, native for a new one
  --force        replace an XDP program bpfguard did not attach
  -h, --help     this text
EOF
}

iface="" rules="" mode="" force=0
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

[[ -n $iface ]] || bg_die "no interface given (see --help)"
bg_require_root
bg_require_tools bpftool ip jq flock
bg_require_iface "$iface"
bg_require_objects xdp_firewall.o tc_conntrack.o
bg_setup_bpffs mount
bg_lock

# The ruleset: the one named; without --rules the running one stays as it
# is (adding an interface must not reload, let alone swap, the ruleset);
# the default only when none runs yet.
keep_running=0
if [[ -z $rules ]] && bg_have_maps &&
	[[ $(bg_gen_json "$(bg_active_gen)" | jq -r '.formatted.value.loaded') == 1 ]]; then
	keep_running=1
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

# A first run that fails half way must not leave maps behind.
fresh=1
bg_have_maps && fresh=0
ct_attached=0 created_clsact=0
cleanup_fresh()
{
	local rc=$?
	((rc != 0)) || return 0
	# Never leave a half-attached interface: conntrack without the firewall.
	if ((ct_attached)) && [[ -z $(bg_iface_lookup "$ifindex" || true) ]]; then
		bg_tc_detach "$iface" ingress "$BG_PREF_CONNTRACK"
		bg_tc_detach "$iface" egress "$BG_PREF_CONNTRACK"
		bg_ct_ifidx_del "$ifindex"
		if ((created_clsact)); then
			tc qdisc del dev "$iface" clsact 2>/dev/null || true
		fi
	fi
	if [[ $fresh == 1 && $(bg_iface_count || echo 0) == 0 ]]; then
		bg_remove_pins
	fi
	return 0
}
ifindex=""
trap cleanup_fresh EXIT

pin=$(bg_load_prog xdp_firewall.o xdp_firewall)
prog_id=$(bg_prog_id "$pin")
if ((keep_running)); then
	bg_info "ruleset unchanged (running: $(bg_gen_json "$(bg_active_gen)" |
		jq -r '.formatted.value.source'))"
else
	bg_apply_ruleset "$rules"
fi

# Connection tracking on TC ingress and egress first: by the time the
# firewall's phase 0 looks, the flows already open on this interface have
# been picked up from their egress segments (attaching the firewall first
# would drop their replies until then). Only a clsact qdisc this run
# creates is ours to remove.
ifindex=$(bg_ifindex "$iface")
flags=0
prev=$(bg_iface_lookup "$ifindex" || true)
[[ -n $prev ]] && flags=$(jq -r '.flags' <<<"$prev")
ct_in=$(bg_load_prog tc_conntrack.o bg_ct_ingress)
ct_out=$(dirname "$ct_in")/bg_ct_egress
if [[ $(bg_clsact_ensure "$iface") == 1 ]]; then
	flags=$((flags | 1))
	created_clsact=1
fi
bg_ct_ifidx_set "$ifindex"
ct_attached=1
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
	if ! ip -force link set dev "$iface" "$ip_mode" pinned "$pin"; then
		# Put the interface back the way it was before saying so.
		if [[ $ours_before == 1 && $cur_mode != "$mode_num" ]]; then
			ip -force link set dev "$iface" "$other_mode" pinned "$pin" ||
				true
		fi
		[[ $mode == native ]] &&
			bg_die "attaching to $iface in native mode failed (driver without XDP support? try --mode generic)"
		bg_die "attaching to $iface failed"
	fi
	bg_info "$iface: xdp_firewall attached (prog $prog_id, $mode)"
fi

if ! bg_iface_register "$ifindex" "$prog_id" "$mode_num" "$flags" "$iface"; then
	ip link set dev "$iface" "$ip_mode" off 2>/dev/null || true
	bg_die "could not record $iface in bg_ifaces; detached again"
fi
bg_prune_prog_pins "$pin" "$ct_in"
