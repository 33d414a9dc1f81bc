#!/usr/bin/env bats
# xdp_loadbalancer through BPF_PROG_TEST_RUN (test/lib/lbrun.py): crafted
# frames to the services of one ruleset, the verdict and the bytes that
# come out (addresses, ports, MACs, TTL, checksums recomputed by scapy),
# the flow table's affinity, health, the schedulers, and forged, cut-short
# and flooding packets.

load lib/common

# One namespace for the file: veth interfaces with static neighbours (the
# peers stay unused in the same namespace), so the
# FIB answers; the programs loaded (not attached) into a private bpffs.
setup_file()
{
	bpffs_setup
	export BG_TMP FW_BPFFS
	export UNS=bgl-$$
	ip netns add "$UNS"
	in_ns "$UNS" bash -euc '
		ip link set lo up
		sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
		ip link add bk0 address 02:00:00:00:0b:01 type veth peer name bk0p
		ip link add cl0 address 02:00:00:00:0c:01 type veth peer name cl0p
		ip link set bk0 up mtu 1280
		ip link set cl0 up
		ip link set bk0p up
		ip link set cl0p up
		ip addr add 203.0.113.1/24 dev bk0
		ip addr add 2001:db8:b::1/64 dev bk0 nodad
		ip addr add 198.51.100.1/24 dev cl0
		ip addr add 2001:db8:c::1/64 dev cl0 nodad
		for h in 11 12 13; do
			ip neigh add 203.0.113.$h lladdr 02:00:00:00:0b:$h dev bk0 nud permanent
		done
		for h in 11 12; do
			ip neigh add 2001:db8:b::$h lladdr 02:00:00:00:0b:$h dev bk0 nud permanent
		done
		ip neigh add 198.51.100.20 lladdr 02:00:00:00:0c:20 dev cl0 nud permanent
		ip neigh add 198.51.100.7 lladdr 02:00:00:00:0c:07 dev cl0 nud permanent
		ip neigh add 2001:db8:c::7 lladdr 02:00:00:00:0c:07 dev cl0 nud permanent'
	export LB_RULES=$BG_TMP/lb.rules
	cat >"$LB_RULES" <<-'EOF'
		service web 192.0.2.10 port 80 proto tcp {
			backend 203.0.113.11:8080
			backend 203.0.113.12:8080
			backend 203.0.113.13:8080
		}
		service dns 192.0.2.10 port 53 proto udp scheduler source-hash {
			backend 203.0.113.11
			backend 203.0.113.12
		}
		service web6 2001:db8:f::10 port 443 proto tcp {
			backend [2001:db8:b::11]:8443
			backend [2001:db8:b::12]:8443
		}
		service rr 192.0.2.20 port 80 proto tcp scheduler round-robin {
			backend 203.0.113.11
			backend 203.0.113.12
			backend 203.0.113.13
		}
		service weighted 192.0.2.30 port 80 proto tcp {
			backend 203.0.113.11 weight 1
			backend 203.0.113.12 weight 3
		}
		# The backend behind the interface the clients come in on: XDP_TX.
		service local 192.0.2.40 port 80 proto tcp {
			backend 198.51.100.20
		}
		# No neighbour entry (the stack resolves it), no route at all.
		service noneigh 192.0.2.50 port 80 proto tcp {
			backend 203.0.113.99
		}
		service noroute 192.0.2.51 port 80 proto tcp {
			backend 192.0.2.99
		}
		service off 192.0.2.60 port 80 proto tcp {
			backend 203.0.113.11 down
		}
		# Long runs of one backend in the turn order: when it is down,
		# the probes along the ring find only it.
		service heavy 192.0.2.70 port 80 proto tcp scheduler round-robin {
			backend 203.0.113.11 weight 200
			backend 203.0.113.12
		}
	EOF
	in_ns "$UNS" env FW_BPFFS="$FW_BPFFS" BG_QUIET=1 bash -c '
		set -euo pipefail
		source "$1/scripts/lib.sh"
		bg_setup_bpffs mount
		bg_load_prog xdp_firewall.o bg_fw_xdp >/dev/null
		bg_load_prog xdp_loadbalancer.o bg_lb_xdp >/dev/null
		bg_apply_ruleset "$2"' bg-test "$BG_REPO" "$LB_RULES"
}

teardown_file()
{
	netns_del "$UNS"
	bpffs_teardown
}

lb()
{
	run in_ns "$UNS" "$PY" "$BG_REPO/test/lib/lbrun.py" --bpffs "$FW_BPFFS" "$1"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == "ok $1:"* ]]
}

@test "forward: a TCP flow to its backend (MACs, TTL, checksums), the reply from the VIP, a forged reply left alone" {
	lb forward
}

@test "affinity: every packet of 200 flows to one backend, the one fwmapgen --explain computes" {
	lb affinity
}

@test "IPv6: destination and pseudo-header checksum rewritten, hop limit, the reply from the VIP" {
	lb ipv6
}

@test "UDP: the checksum follows, a zero checksum stays zero; source-hash keeps a client on one backend" {
	lb udp
}

@test "not a service's (other port, protocol, address; ICMP): passed byte for byte" {
	lb untouched
}

@test "next hop: XDP_TX on the same interface; unresolved neighbour, no route, over the MTU, TTL 1 go to the stack, counted" {
	lb xmit
}

@test "next hop: a flow reuses the FIB's for a second (a neighbour's new MAC after it); over its MTU still to the stack" {
	lb hop
}

@test "answered: the first translated reply marks the flow for the firewall; a SYN on its tuple (a new connection) unmarks it" {
	lb reuse
}

@test "health: a down backend's flows move, no other flow moves, new flows avoid it; none up: dropped" {
	lb health
}

@test "schedulers: round-robin in turn; weights 1:3 within 10%" {
	lb sched
}

@test "malformed: a fragment to a VIP is dropped, a cut-short frame passes untouched" {
	lb malformed
}

@test "flood: a full flow table of random sources; Maglev flows keep their backends" {
	lb flood
}

@test "ruleset switch without a backend: the others' flows keep their backends; Maglev alone moves at most 5% of them" {
	lb switch
}
