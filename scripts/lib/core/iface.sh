# shellcheck shell=bash
# The interfaces bpfguard runs on: which devices it accepts, and its
# bookkeeping in the pinned map bg_ifaces (what up.sh changed on each, so
# that down.sh can put it back). Sourced by lib.sh.

# bg_ifaces flags: up.sh created the clsact qdisc; up.sh turned the NIC's
# receive VLAN offloads off (802.1Q, 802.1ad; down.sh turns them back on).
# shellcheck disable=SC2034 # used by up.sh and down.sh
BG_IFACE_F_CLSACT=1
BG_IFACE_F_RXVLAN=2
BG_IFACE_F_RXSTAG=4

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

bg_iface_exists_index()
{
	ip -j link show | jq -e --argjson i "$1" 'any(.[]; .ifindex == $i)' \
		>/dev/null
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
	bg_map_update bg_ifaces "$(bg_iface_key_hex "$ifindex")" \
		"$(bg_u32_hex "$prog_id") $(printf '%02x %02x 00 00' "$mode" "$flags") $namehex"
}

# Raw bg_ifaces value of ifindex $1 (struct bg_iface_val); fails when the
# interface is not registered.
bg_iface_raw()
{
	local v
	v=$(bg_map_raw bg_ifaces "$(bg_iface_key_hex "$1")") || return 1
	bg_le "$v" $(($(bg_abi .structs.bg_iface_val.size) - 8)) 8 >/dev/null ||
		bg_die "$(bg_map bg_ifaces): entry of ifindex $1 is too short"
	printf '%s' "$v"
}

# BG_IFACE_F_* flags of a registered interface; fails when not registered.
bg_iface_flags()
{
	local v
	v=$(bg_iface_raw "$1") || return 1
	bg_le "$v" "$(bg_abi_off bg_iface_val flags)" 1
}

bg_iface_unregister()
{
	bg_map_delete bg_ifaces "$(bg_iface_key_hex "$1")"
}

# Forget interfaces of this namespace that no longer exist (deleted or
# renamed away), and what each program keeps about them. Entries of other
# namespaces cannot be checked from here. Keys are read raw (struct
# bg_iface_key: netns u64, ifindex u32).
bg_iface_prune()
{
	local netns key ns idx o_ns o_idx
	netns=$(bg_netns_id)
	o_ns=$(bg_abi_off bg_iface_key netns)
	o_idx=$(bg_abi_off bg_iface_key ifindex)
	while read -r key; do
		[[ -n $key ]] || continue
		if ! ns=$(bg_le "$key" "$o_ns" 8) || ! idx=$(bg_le "$key" "$o_idx" 4); then
			bg_die "$(bg_map bg_ifaces): malformed key '$key'"
		fi
		[[ $ns == "$netns" ]] || continue
		bg_iface_exists_index "$idx" && continue
		bg_map_delete bg_ifaces "$key"
		bg_modules_forget "$idx"
	done < <(bpftool -j map dump pinned "$(bg_map bg_ifaces)" |
		jq -r '.[] | .key | map(ltrimstr("0x")) | join(" ")')
}

bg_iface_count()
{
	bpftool -j map dump pinned "$(bg_map bg_ifaces)" 2>/dev/null |
		jq 'length'
}

# Interfaces bpfguard runs on besides ifindex $1 (in any namespace).
bg_iface_others()
{
	local n
	n=$(bg_iface_count) || n=0
	! bg_iface_flags "$1" >/dev/null || n=$((n - 1))
	echo "$n"
}

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
	for feat in rx-vlan-offload:rxvlan:$BG_IFACE_F_RXVLAN \
		rx-vlan-stag-hw-parse:rx-vlan-stag-hw-parse:$BG_IFACE_F_RXSTAG; do
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
