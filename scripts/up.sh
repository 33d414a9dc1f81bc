#!/usr/bin/env bash
# Bring bpfguard up on an interface: compile the ruleset, create and fill the
# pinned maps, and only then attach the programs of the registry
# (scripts/programs), in its order.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

usage()
{
	cat <<EOF
Usage: $BG_PROG IFACE [--rules FILE] [--mode native|generic]
                 [--reverse-path strict|loose] [--force]

Compile the ruleset, load it into the pinned maps under
\$BG_BPFFS/tc/globals, then attach the
programs of the registry ($BG_LIB_DIR/programs: connection tracking
on TC ingress and egress, the XDP firewall, ...) to IFACE (an Ethernet
device), in its order. Safe to run again: with the
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

$BG_ENV_HELP
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
bg_registry_load
bg_require_programs
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

# Which programs run (BG_RUN) and which not (BG_SKIP, each said why; a
# line enabled by a feature runs when the ruleset to load uses it, or,
# keeping the running one, when that one does); then each refuses,
# before anything changes, what it cannot do (the firewall: IFACE runs
# someone else's XDP program).
# shellcheck disable=SC2034 # read by bg_registry_plan (registry.sh)
((keep_running)) || BG_RULESET_NEW=$rules
bg_registry_plan
# shellcheck disable=SC2034 # the options of the XDP program's module
BG_XDP_MODE=$mode BG_FORCE=$force BG_REVERSE_PATH=$rpf
for i in "${BG_RUN[@]}"; do
	bg_prog_do check "$i" "$iface"
done

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
attached=() created_clsact=0 registered=0 rxvlan_off=0
rollback()
{
	local j
	(($1 != 0)) || return 0
	bg_rollback_ruleset
	if ((registered_before == 0)); then
		# In reverse order: never conntrack without the firewall.
		for ((j = ${#attached[@]} - 1; j >= 0; j--)); do
			bg_prog_do detach "${attached[j]}" "$iface" rollback
		done
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

for i in "${BG_RUN[@]}"; do
	bg_prog_do load "$i"
done
if ((keep_running)); then
	bg_info "ruleset unchanged (running: $(bg_gen_source "$active"))"
else
	# Filled, not yet switched to (live at once only when none runs).
	bg_prepare_ruleset "$rules"
fi

# Only a clsact qdisc this run creates is ours to remove.
for i in "${BG_RUN[@]}"; do
	[[ ${BG_REG_HOOK[i]} == tc-* ]] || continue
	created_clsact=$(bg_clsact_ensure "$iface")
	((created_clsact == 0)) || flags=$((flags | BG_IFACE_F_CLSACT))
	break
done
# Offloads a run before turned off stay off (and recorded).
rxvlan_off=$(bg_rxvlan_off "$iface")
flags=$((flags | rxvlan_off))
# In registry order (scripts/programs says why it is this one); a
# skipped line's program, attached by a run before, is taken off.
for i in "${!BG_REG_NAME[@]}"; do
	if [[ " ${BG_SKIP[*]} " == *" $i "* ]]; then
		bg_prog_do detach "$i" "$iface" skip
	elif [[ " ${BG_RUN[*]} " == *" $i "* ]]; then
		attached+=("$i")
		bg_prog_do attach "$i" "$iface"
	fi
done

bg_iface_register "$ifindex" "$BG_XDP_ROOT_ID" "$BG_XDP_ROOT_MODE" "$flags" \
	"$iface" || bg_die "could not record $iface in bg_ifaces"
registered=1
# The interface runs: now every interface switches to the new ruleset.
bg_commit_ruleset
bg_prune_prog_pins "${BG_PINS[@]}"
# What a module starts once the ruleset it needs runs (the load balancer's
# health checker reads the running ruleset's checks: started at attach, it
# saw the one before, found none and ended).
for i in "${BG_RUN[@]}"; do
	bg_prog_do running "$i" "$iface"
done
