# shellcheck shell=bash
# The hooks bpfguard's programs attach to, for every program alike: the
# XDP program of an interface, TC filters at a fixed priority, and whose
# program runs there. Sourced by lib.sh.

# Does program $1 use our maps? Then bpfguard attached it, whichever
# build it came from. Every bpfguard program reads one of these.
# No jq (see bg_map_raw in lib.sh: up.sh, down.sh and status.sh ask this
# for every hook): bpftool -j writes the ids as "map_ids":[1,2,3], and no
# string of its output can hold that unescaped.
BG_OWN_MAPS=(bg_fw_active bg_ct_config)
bg_prog_is_ours()
{
	local out ids m id
	out=$(bpftool -j prog show id "$1" 2>/dev/null) || return 1
	[[ $out =~ \"map_ids\":\[([0-9,]*)\] ]] || return 1
	ids=",${BASH_REMATCH[1]},"
	for m in "${BG_OWN_MAPS[@]}"; do
		[[ -e $(bg_map "$m") ]] || continue
		id=$(bg_map_id "$m")
		[[ -n $id ]] || continue
		[[ $ids == *",$id,"* ]] && return 0
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
# No jq: the first "prog":{"id":N} of tc's JSON, the filter's program
# (tc writes no such key into a string unescaped).
bg_tc_prog_id()
{
	local out
	out=$(tc -j filter show dev "$1" "$2" pref "$3" 2>/dev/null) || return
	[[ $out =~ \"prog\":\{\"id\":([0-9]+) ]] || return 0
	printf '%s\n' "${BASH_REMATCH[1]}"
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

# The XDP chain: the firewall hands what it passes to the programs in the
# slots of the pinned PROG_ARRAY bg_xdp_chain (enum bg_xdp_slot in
# headers/bg_xdp_abi.h), one after the other; an empty slot is skipped.
# One chain for every interface of the bpffs.

bg_xdp_slot_fill()
{
	local -a kb
	read -ra kb <<<"$(bg_u32_hex "$1")"
	bpftool map update pinned "$(bg_map bg_xdp_chain)" key hex "${kb[@]}" \
		value pinned "$2" ||
		bg_die "cannot put $(basename "$2") into slot $1 of $(bg_map bg_xdp_chain)"
}

bg_xdp_slot_clear()
{
	bg_map_delete bg_xdp_chain "$(bg_u32_hex "$1")"
}

# Program id in slot $1, or nothing.
bg_xdp_slot_id()
{
	local v
	[[ -e $(bg_map bg_xdp_chain) ]] || return 0
	v=$(bg_map_raw bg_xdp_chain "$(bg_u32_hex "$1")") || return 0
	bg_le "$v" 0 4
}

# The chain as JSON: [{slot, prog_id}] (prog_id null: empty), or null
# without the map.
bg_xdp_chain_json()
{
	[[ -e $(bg_map bg_xdp_chain) ]] || {
		echo null
		return 0
	}
	{
		bpftool -j map show pinned "$(bg_map bg_xdp_chain)"
		bpftool -j map dump pinned "$(bg_map bg_xdp_chain)"
	} | jq -c -s '
		def le: reverse | map(ltrimstr("0x")) | join("")
			| explode | reduce .[] as $c (0; . * 16 +
			  (if $c >= 97 then $c - 87 else $c - 48 end));
		(.[1] | map({((.key | le) | tostring): (.value | le)}) | add // {})
			as $ids
		| [range(.[0].max_entries) | {slot: ., prog_id: $ids[tostring]}]'
}

# Program id at a hook of IFACE (xdp, tc-ingress, tc-egress) or, for
# xdp-stage, in the slot; nothing when none runs there.
bg_hook_prog_id()
{
	local iface=$1 hook=$2 at=$3 id=""
	case $hook in
	xdp) read -r id _ < <(bg_xdp_attached "$iface") || true ;;
	tc-ingress | tc-egress) id=$(bg_tc_prog_id "$iface" "${hook#tc-}" "$at") ;;
	xdp-stage) id=$(bg_xdp_slot_id "$at") ;;
	esac
	printf '%s' "$id"
}

# What runs as the XDP program of the interface up.sh brings up (its id,
# and its mode: 1 native, 2 generic), recorded in bg_ifaces: the module
# of the xdp line sets them when it attaches.
# shellcheck disable=SC2034 # read by up.sh
BG_XDP_ROOT_ID=0 BG_XDP_ROOT_MODE=0

# What a program module does on a hook when it has nothing of its own to
# add. Arguments as the modules get them: IFACE PROG HOOK AT [WHY], PROG
# the program's name (its pin: bg_pin PROG), AT the TC priority.

# bg_hook_attach IFACE PROG HOOK AT
bg_hook_attach()
{
	local iface=$1 prog=$2 hook=$3 at=$4
	case $hook in
	tc-ingress | tc-egress)
		bg_tc_attach "$iface" "${hook#tc-}" "$at" "$(bg_pin "$prog")"
		bg_info "$iface: $prog attached (tc ${hook#tc-}, pref $at)"
		;;
	xdp-stage)
		bg_xdp_slot_fill "$at" "$(bg_pin "$prog")"
		bg_info "$iface: $prog in XDP chain slot $at (prog $(bg_prog_id "$(bg_pin "$prog")"))"
		;;
	*) bg_die "$prog: no generic attach to hook $hook (its module attaches it)" ;;
	esac
}

# bg_hook_detach IFACE PROG HOOK AT WHY: WHY is down (down.sh), rollback
# (a failed up.sh puts back what it attached), skip (up.sh runs the
# registry line no more) or orphan (the pins are gone: only programs
# recognised by the names of their maps are detached, and counted in
# BG_DETACHED). An XDP chain slot serves every interface: it is emptied
# with the last interface (or when its line is skipped); with the pins
# gone, the chain has gone with them.
BG_DETACHED=0
bg_hook_detach()
{
	local iface=$1 prog=$2 hook=$3 at=$4 why=$5 id="" mode="" dir
	case $hook in
	xdp)
		read -r id mode < <(bg_xdp_attached "$iface") || true
		[[ -n $id ]] || return 0
		if [[ $why == orphan ]]; then
			bg_prog_is_orphan "$id" || return 0
			bg_xdp_detach "$iface" "$mode"
			BG_DETACHED=$((BG_DETACHED + 1))
		elif bg_prog_is_ours "$id"; then
			bg_xdp_detach "$iface" "$mode"
			bg_info "$iface: $prog detached (xdp)"
		else
			bg_warn "$iface runs XDP program $id that bpfguard did not attach; left alone"
		fi
		;;
	tc-ingress | tc-egress)
		dir=${hook#tc-}
		if [[ $why == orphan ]]; then
			id=$(bg_tc_prog_id "$iface" "$dir" "$at")
			[[ -n $id ]] && bg_prog_is_orphan "$id" || return 0
			bg_tc_detach "$iface" "$dir" "$at" bg_prog_is_orphan
			BG_DETACHED=$((BG_DETACHED + 1))
		else
			id=$(bg_tc_prog_id "$iface" "$dir" "$at")
			[[ -n $id ]] || return 0
			bg_tc_detach "$iface" "$dir" "$at"
			[[ -n $(bg_tc_prog_id "$iface" "$dir" "$at") ]] ||
				bg_info "$iface: $prog detached (tc $dir, pref $at)"
		fi
		;;
	xdp-stage)
		[[ $why != orphan && -n $(bg_xdp_slot_id "$at") ]] || return 0
		[[ $why == skip || $(bg_iface_others "$(bg_ifindex "$iface")") == 0 ]] ||
			return 0
		bg_xdp_slot_clear "$at"
		bg_info "$iface: XDP chain slot $at emptied ($prog)"
		;;
	uprobe) ;; # once per host: its module takes it off with the last interface
	*) bg_die "$prog: no generic detach from hook $hook (its module detaches it)" ;;
	esac
}
