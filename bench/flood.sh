#!/usr/bin/env bash
# make bench (and make bench-flood, make bench-synflood, make
# bench-lbflood): packets per second under a real UDP flood, or SYN
# cookies answered under a spoofed SYN flood (--syn), as a ratio to a bare
# XDP_DROP program in the same run; or new connections forwarded by the
# load balancer against nftables DNAT (--lb).
#
# A lab of two namespaces joined by a veth pair: trafgen in the client's
# floods the device under test (its own namespace, native XDP on its
# veth). Three receivers take turns on the same veth, each for the same
# window: a program that drops and counts every frame (the floor),
# bpfguard brought up with up.sh and N rules of which only the last drops
# the flood, and nftables with the same N rules. Everything stays in the
# lab: documentation addresses, no route out of it, pins in a private
# bpffs under /run, the flood bounded in time and count.
set -euo pipefail
# shellcheck disable=SC2034 # read by lib.sh
BG_PROG=flood
# shellcheck source=scripts/lib.sh
source "$(dirname "$(readlink -f "$0")")/../scripts/lib.sh"

usage()
{
	cat <<EOF
Usage: bench/flood.sh [--syn | --lb] [--seconds S] [--rounds R] [--rules N] [--out FILE]

Flood the device under test (a veth in its own network namespace) with
60-byte UDP frames from trafgen in a client namespace, and count, over a
window of S seconds (default 5) after 1 s of warm-up, the packets
dropped on the device under test by each of, in turn:

  floor      a bare XDP program (native mode) that drops every frame and
             counts it in a per-CPU array (bench/xdp_drop_count.bpf.c)
  bpfguard   the firewall brought up with scripts/up.sh (native XDP, with
             conntrack on TC), N rules (default 4096), only the last one
             matching the flood (bg_fw_stats' drop counter)
  nftables   the same N rules in a netdev ingress chain on the same veth,
             the last one dropping the flood (a named nft counter)

R rounds (default 3) of the three in turn; the best round of each is
reported (a flood in which trafgen gives up, as it does when its socket
cannot take a frame, is run again, three times at most). trafgen runs
one process per CPU, each on its own queue of the veth pair; it is
stopped after about S + 2 seconds, and sends at most 2,000,000 frames
per CPU and each of S + 4 seconds in any case. Results go to stdout and FILE (default
build/bench-flood.txt). Needs root, trafgen (Debian package netsniff-ng)
and nft (nftables).

  --syn   a spoofed SYN flood instead (make bench-synflood): IPv6 SYNs to
          port 80 of the device under test, where a listener waits
          (net.ipv4.tcp_syncookies=2 in its namespace), each from a random
          source in 2001:db8::/32 (a new /64 every frame, so no per-source
          limit applies); two receivers, the floor and bpfguard with
          "set syn-flood rate 100/second global 1000/second cookies on",
          whose count is the SYNs the rate limiter answered with a cookie
          SYN-ACK (XDP_TX; bg_rl_stats' cookie_sent). The floor's program
          on the client's veth counts the SYN-ACKs that come back there.
          --rules does not apply; FILE default build/bench-synflood.txt.
  --lb    a flood of new connections through a load balancer instead
          (make bench-lbflood): TCP SYNs to the VIP 192.0.2.80 port 80,
          each from a random source address in 198.51.100.0/24 and a
          random port, balanced over four backends (203.0.113.11-14, port
          kept) behind a second veth pair whose far end (in a third
          namespace) counts what arrives with the floor's program; three
          balancers in turn: bpfguard (up.sh, a "service" of the four,
          Maglev), nftables DNAT by "jhash ip saddr . tcp sport mod 4" and
          by "numgen inc mod 4" (prerouting, conntrack and the stack's
          forwarding, as nftables load balancing works). Counted:
          connections forwarded per second at the backends' end; goal
          bpfguard >= 2x the better nftables. --rules does not apply;
          FILE default build/bench-lbflood.txt.
EOF
}

secs=5 rounds=3 nrules=4096 out="" syn=0 lb=0
while (($#)); do
	case $1 in
	-h | --help)
		usage
		exit 0
		;;
	--syn) syn=1 ;;
	--lb) lb=1 ;;
	--seconds | --rounds | --rules | --out)
		[[ $# -ge 2 ]] || bg_die "$1 needs a value (see --help)"
		case $1 in
		--seconds) secs=$2 ;;
		--rounds) rounds=$2 ;;
		--rules) nrules=$2 ;;
		--out) out=$2 ;;
		esac
		shift
		;;
	*) bg_die "unknown option $1 (see --help)" ;;
	esac
	shift
done
[[ $secs =~ ^[1-9][0-9]?$ ]] || bg_die "--seconds must be 1 to 99"
[[ $rounds =~ ^[1-9]$ ]] || bg_die "--rounds must be 1 to 9"
rounds_asked=$rounds
if [[ ! $nrules =~ ^[1-9][0-9]{0,4}$ ]] || ((nrules > 65536)); then
	bg_die "--rules must be 1 to 65536"
fi
if [[ -z $out ]]; then
	out=$BG_ROOT/build/bench-flood.txt
	((syn == 0)) || out=$BG_ROOT/build/bench-synflood.txt
	((lb == 0)) || out=$BG_ROOT/build/bench-lbflood.txt
fi
((syn + lb < 2)) || bg_die "--syn and --lb are two floods: one at a time"

bg_require_root
bg_require_tools bpftool ip jq nsenter trafgen nft
((lb == 0)) || bg_require_tools conntrack
bg_registry_load
bg_require_programs
[[ -r $BG_OBJ_DIR/bench/xdp_drop_count.o ]] ||
	bg_die "build/bench/xdp_drop_count.o missing (run make)"
cpus=$(nproc)

lab=bgflood-$$
cns=$lab-client dns=$lab-dut bns=$lab-backends
work=$(mktemp -d "/run/$lab.XXXXXX")
# Deleting a namespace does not end its processes: end them first.
ns_kill()
{
	local pids
	pids=$(ip netns pids "$1" 2>/dev/null) || return 0
	# shellcheck disable=SC2086 # one argument per pid
	[[ -z $pids ]] || kill "-${2:-TERM}" $pids 2>/dev/null || true
}
cleanup()
{
	local ns
	# bpfstats.py, if a flood was cut short (it ends by itself anyway).
	[[ -z ${spid:-} ]] || kill "$spid" 2>/dev/null || true
	# The SYN flood's listener (it ends with its namespace's processes).
	[[ -z ${lpid:-} ]] || kill "$lpid" 2>/dev/null || true
	if [[ -e /run/netns/$dns ]] && bg_is_bpffs "$work/bpffs"; then
		nsenter --net="/run/netns/$dns" "$BG_LIB_DIR/down.sh" d0 \
			>/dev/null 2>&1 || true
	fi
	for ns in "$cns" "$dns" "$bns"; do
		[[ -e /run/netns/$ns ]] || continue
		ns_kill "$ns" KILL
		ip netns del "$ns" 2>/dev/null || true
	done
	mountpoint -q "$work/bpffs" && umount "$work/bpffs"
	rm -rf "$work"
}
bg_at_exit cleanup
mkdir "$work/bpffs"
mount -t bpf bpf "$work/bpffs"
# shellcheck disable=SC2034 # read by lib.sh
BG_BPFFS=$work/bpffs
unset FW_BPFFS
bg_setup_bpffs mount

client() { nsenter --net="/run/netns/$cns" -- "$@"; }
dut() { nsenter --net="/run/netns/$dns" -- "$@"; }

# The lab: client c0 192.0.2.1/24 <-> d0 192.0.2.2/24 on the device under
# test; no other route in either namespace. One queue per CPU on both
# ends: trafgen's process on CPU i sends on queue i, which veth hands to
# receive queue i of d0, like a NIC spreading flows over its queues.
ip netns add "$cns"
ip netns add "$dns"
ip -n "$cns" link add c0 numtxqueues "$cpus" numrxqueues "$cpus" type veth \
	peer name d0 numtxqueues "$cpus" numrxqueues "$cpus" netns "$dns"
ip -n "$cns" addr add 192.0.2.1/24 dev c0
ip -n "$dns" addr add 192.0.2.2/24 dev d0
for ns in "$cns" "$dns"; do
	ip -n "$ns" link set lo up
done
ip -n "$cns" link set c0 up
ip -n "$dns" link set d0 up
dmac=$(ip -n "$dns" -j link show d0 | jq -r '.[0].address')
smac=$(ip -n "$cns" -j link show c0 | jq -r '.[0].address')

# The flood: 60-byte frames (64 on a wire), 192.0.2.1 -> 192.0.2.2, UDP
# to port 9 from source ports that change with every frame (many flows).
cat >"$work/flood.cfg" <<EOF
{
	eth(da=$dmac, sa=$smac),
	ipv4(sa=192.0.2.1, da=192.0.2.2, ttl=64),
	udp(sp=dinc(1024, 65535), dp=9, csum=0),
	fill(0x00, 18)
}
EOF
# The spoofed SYN flood (--syn): 74-byte frames, 2001:db8:R:R:R:R:R:R ->
# 2001:db8::2 port 80, random source port and sequence number.
if ((syn)); then
	cat >"$work/flood.cfg" <<EOF
{
	eth(da=$dmac, sa=$smac),
	ipv6(sa=2001:db8::, sa[4:4]=drnd(), sa[8:4]=drnd(), sa[12:4]=drnd(),
	     da=2001:db8::2, nh=6, hl=64),
	tcp(sp=drnd(), dp=80, seq=drnd(), syn, win=65535)
}
EOF
	ip -n "$dns" addr add 2001:db8::2/64 dev d0 nodad
	ip -n "$cns" addr add 2001:db8::1/64 dev c0 nodad
	dut sysctl -qw net.ipv4.tcp_syncookies=2
	# The listener's argv holds the lab's directory: a leftover is easy
	# to find (test/bench_flood.bats looks).
	dut python3 -c 'import socket, time
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 80)); s.listen(128); time.sleep(3600)' "$work" >/dev/null 2>&1 &
	lpid=$!
	printf '%s\n' "set default pass" \
		"set syn-flood rate 100/second global 1000/second cookies on" \
		>"$work/flood.rules"
	kinds=(floor bpfguard)
elif ((lb)); then
	# The backends' side: b0 (203.0.113.1/24) on the device under test,
	# its peer b1 in a namespace of its own, where the floor's program
	# counts and drops what the balancers forward; the four backends are
	# b1's MAC (static neighbours), so no ARP is in any balancer's way.
	ip netns add "$bns"
	ip -n "$dns" link add b0 numtxqueues "$cpus" numrxqueues "$cpus" type veth \
		peer name b1 numtxqueues "$cpus" numrxqueues "$cpus" netns "$bns"
	ip -n "$bns" link set lo up
	ip -n "$dns" addr add 203.0.113.1/24 dev b0
	ip -n "$bns" addr add 203.0.113.2/24 dev b1
	ip -n "$dns" link set b0 up
	ip -n "$bns" link set b1 up
	bmac=$(ip -n "$bns" -j link show b1 | jq -r '.[0].address')
	for h in 11 12 13 14; do
		ip -n "$dns" neigh add "203.0.113.$h" lladdr "$bmac" dev b0 nud permanent
	done
	ip -n "$dns" route add 198.51.100.0/24 via 192.0.2.1 dev d0
	dut sysctl -qw net.ipv4.ip_forward=1
	# New connections: SYNs to the VIP, a random source (198.51.100.R,
	# random port and sequence number) every frame.
	cat >"$work/flood.cfg" <<EOF
{
	eth(da=$dmac, sa=$smac),
	ipv4(sa=198.51.100.0, sa[3:1]=drnd(), da=192.0.2.80, ttl=64),
	tcp(sp=drnd(), dp=80, seq=drnd(), syn, win=65535)
}
EOF
	{
		echo "set default pass"
		echo "service web 192.0.2.80 port 80 proto tcp {"
		for h in 11 12 13 14; do
			echo "	backend 203.0.113.$h"
		done
		echo "}"
	} >"$work/flood.rules"
	for k in jhash numgen; do
		case $k in
		jhash) how="jhash ip saddr . tcp sport mod 4" ;;
		numgen) how="numgen inc mod 4" ;;
		esac
		cat >"$work/$k.nft" <<EOF
table ip bglbflood {
	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr 192.0.2.80 tcp dport 80 dnat to $how map { 0 : 203.0.113.11, 1 : 203.0.113.12, 2 : 203.0.113.13, 3 : 203.0.113.14 }
	}
}
EOF
	done
	kinds=(bpfguard nft_jhash nft_numgen)
else
	kinds=(floor bpfguard nftables)
fi

# The N rules: N - 1 distinct (source, destination) pairs of documentation
# addresses the flood does not match (as in bench/run.sh), then the pair
# of the flood. Each line: source destination.
rule_pairs()
{
	local i
	for ((i = 0; i < nrules - 1; i++)); do
		echo "198.51.100.$((i % 256)) 203.0.113.$((i / 256))"
	done
	echo "192.0.2.1 192.0.2.2"
}
rule_pairs >"$work/pairs"
((syn || lb)) || {
	echo "set default pass"
	awk '{ print "block from " $1 " to " $2 }' "$work/pairs"
} >"$work/flood.rules"
{
	echo "table netdev bgflood {"
	echo "	counter flood { }"
	echo "	chain in {"
	echo "		type filter hook ingress device \"d0\" priority 0; policy accept;"
	awk -v n="$nrules" '{
		printf "\t\tip saddr %s ip daddr %s %sdrop\n", $1, $2,
			(NR == n) ? "counter name \"flood\" " : "" }' "$work/pairs"
	echo "	}"
	echo "}"
} >"$work/flood.nft"

# Counters of the three receivers: packets dropped so far.
count_floor()
{
	bpftool -j map dump pinned "$BG_PIN_DIR/bench_flood_drops" |
		jq '[.[].formatted.values[].value] | add'
}
count_bpfguard()
{
	if ((lb)); then
		count_floor
	elif ((syn)); then
		bpftool -j map dump pinned "$(bg_map bg_rl_stats)" |
			bg_abi_stats bg_rl_stat BG_RL_STAT_ | jq '.cookie_sent'
	else
		bpftool -j map dump pinned "$(bg_map bg_fw_stats)" |
			bg_abi_stats bg_fw_stat BG_STAT_ | jq '.drop'
	fi
}
# --lb: what reached the backends' end.
count_nft_jhash() { count_floor; }
count_nft_numgen() { count_floor; }
count_nftables()
{
	dut nft -j list counter netdev bgflood flood |
		jq '.nftables[] | select(.counter) | .counter.packets'
}
# Frames trafgen handed to c0 so far (those veth delivered to d0 and those
# it refused: d0's receive ring or backlog full), and those refused.
offered()
{
	client ip -j -s link show c0 |
		jq -r '.[0].stats64.tx | "\(.packets + .dropped) \(.dropped)"'
}

# pps N T0 T1: N packets from T0 to T1 (seconds) per second.
pps() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }

# The XDP program on d0 and its run-time statistics (bpfstats.py turns
# them on): "nanoseconds runs", 0 0 while they were never on.
xdp_prog_id()
{
	ip -n "$dns" -j link show dev d0 | jq -r '.[0].xdp // empty
		| .prog.id // (.attached // [] | map(.prog.id // empty) | first)
		// empty'
}
prog_runs()
{
	bpftool -j prog show id "$1" | jq -r '"\(.run_time_ns // 0) \(.run_cnt // 0)"'
}

# stats_wait WORD: until bpfstats.py (spid) has printed WORD; fails when
# it ended first or took more than 60 s.
stats_wait()
{
	local i
	for ((i = 0; i < 600; i++)); do
		grep -qx "$1" "$work/stats" && return 0
		kill -0 "$spid" 2>/dev/null || break
		sleep 0.1
	done
	grep -qx "$1" "$work/stats"
}

# flood KIND: trafgen for about 1 + S + 1 seconds. Sets res to the frames
# offered, refused by veth and dropped by KIND per second over the S
# seconds in the middle, and for an XDP program its nanoseconds per run
# over the last second (with the statistics on: they cost every run a
# little); res is empty when trafgen gave up. Each counter is read at both
# ends of the window with its own clock readings, so the time a read takes
# (alike at both ends) shifts its window, not its length.
#
# bpfstats.py starts before the flood and turns the statistics on when
# told: started after the window, its interpreter took seconds on a busy
# machine, the last second was read with them still off, and xdp_ns came
# out "-". trafgen's frame budget covers two seconds more than the flood,
# and a flood whose trafgen ended before the statistics' second did is
# not counted (run again).
flood()
{
	res=()
	local kind=$1 t0 t1 u0 u1 c0 c1 o0 o1 r0 r1 pid id="" ns=- n0 n1 k0 k1 i
	local flooding=1
	[[ $kind == nft* ]] || id=$(xdp_prog_id)
	if [[ -n $id ]]; then
		python3 "$BG_ROOT/bench/bpfstats.py" --on-signal 2 >"$work/stats" &
		spid=$!
		stats_wait ready ||
			bg_die "bench/bpfstats.py did not start: $(cat "$work/stats")"
	fi
	client trafgen -o c0 -i "$work/flood.cfg" -P "$cpus" -Q \
		-n $((2000000 * cpus * (secs + 4))) >"$work/trafgen.log" 2>&1 &
	pid=$!
	sleep 1
	t0=$EPOCHREALTIME
	read -r o0 r0 < <(offered)
	u0=$EPOCHREALTIME
	c0=$("count_$kind")
	sleep "$secs"
	t1=$EPOCHREALTIME
	read -r o1 r1 < <(offered)
	u1=$EPOCHREALTIME
	c1=$("count_$kind")
	if [[ -n $id ]]; then
		kill -USR1 "$spid"
		stats_wait on ||
			bg_die "bench/bpfstats.py could not turn the statistics on"
		read -r n0 k0 < <(prog_runs "$id")
		sleep 1
		read -r n1 k1 < <(prog_runs "$id")
		[[ -n $(ip netns pids "$cns") ]] || flooding=0
		wait "$spid" ||
			bg_die "bench/bpfstats.py could not turn the statistics on"
		spid=""
		((k1 <= k0)) || ns=$(((n1 - n0) / (k1 - k0)))
	else
		sleep 1
		[[ -n $(ip netns pids "$cns") ]] || flooding=0
	fi
	# trafgen's processes (one per CPU) are all the client namespace runs.
	ns_kill "$cns" INT
	for i in 1 2 3 4 5 6 7 8 9 10; do
		[[ -n $(ip netns pids "$cns") ]] || break
		sleep 0.2
	done
	ns_kill "$cns" KILL
	wait "$pid" || true
	# trafgen gives up (one process ends) when the socket cannot take
	# another frame; a window with fewer senders is not comparable.
	if grep -q 'failed' "$work/trafgen.log"; then
		bg_warn "trafgen gave up during this $kind flood ($(grep -m1 failed "$work/trafgen.log")): not counted"
		return 0
	fi
	if ((flooding == 0)); then
		bg_warn "trafgen sent its last frame before this $kind flood's last second ended: not counted"
		return 0
	fi
	res=("$(pps $((o1 - o0)) "$t0" "$t1")" "$(pps $((r1 - r0)) "$t0" "$t1")"
		"$(pps $((c1 - c0)) "$u0" "$u1")" "$ns")
}

# measure KIND: one flood (tried up to three times, should trafgen give
# up); keeps the best window of KIND (its offered, refused and dropped
# packets per second, ns per run) in best_off, best_ref, best and best_ns.
declare -A best=() best_off=() best_ref=() best_ns=()
measure()
{
	local kind=$1 off ref n ns
	for _ in 1 2 3; do
		flood "$kind"
		((${#res[@]} == 0)) || break
	done
	((${#res[@]})) || return 0
	read -r off ref n ns <<<"${res[*]}"
	if [[ -z ${best[$kind]:-} ]] || ((n > best[$kind])); then
		best[$kind]=$n best_off[$kind]=$off best_ref[$kind]=$ref
		best_ns[$kind]=$ns
	fi
}

bg_abi . >/dev/null # read the ABI once, not in every sample
# --syn: the cookie SYN-ACKs go back over the veth (XDP_TX, which veth
# takes only with an XDP program on the peer); the client drops and counts
# them with the floor's program, which shares the floor's pinned counter:
# nothing comes back while the floor drops, so during bpfguard's rounds
# it counts the SYN-ACKs alone.
synacks=0
if ((syn)); then
	client ip link set dev c0 xdpdrv obj "$BG_OBJ_DIR/bench/xdp_drop_count.o" \
		sec xdp
fi
# --lb: the balancers take turns on d0, the floor's program counts at b1.
# conntrack -F between them: nftables' SYN_SENT entries (two minutes
# each) would otherwise fill the table the next one starts with.
lb_rounds()
{
	local k
	nsenter --net="/run/netns/$bns" -- ip link set dev b1 xdpdrv \
		obj "$BG_OBJ_DIR/bench/xdp_drop_count.o" sec xdp
	for ((round = 1; round <= rounds; round++)); do
		dut "$BG_LIB_DIR/up.sh" d0 --rules "$work/flood.rules" --mode native \
			>"$work/up.log" 2>&1 || bg_die "up.sh failed: $(cat "$work/up.log")"
		measure bpfguard
		dut "$BG_LIB_DIR/down.sh" d0 >/dev/null
		for k in jhash numgen; do
			dut conntrack -F >/dev/null 2>&1 || true
			dut nft -f "$work/$k.nft"
			measure "nft_$k"
			dut nft delete table ip bglbflood
		done
		dut conntrack -F >/dev/null 2>&1 || true
	done
}
if ((lb)); then
	lb_rounds
	rounds=0
fi
for ((round = 1; round <= rounds; round++)); do
	dut ip link set dev d0 xdpdrv obj "$BG_OBJ_DIR/bench/xdp_drop_count.o" \
		sec xdp
	measure floor
	dut ip link set dev d0 xdpdrv off

	dut "$BG_LIB_DIR/up.sh" d0 --rules "$work/flood.rules" --mode native \
		>"$work/up.log" 2>&1 || bg_die "up.sh failed: $(cat "$work/up.log")"
	a=$(count_floor)
	measure bpfguard
	synacks=$((synacks + $(count_floor) - a))
	dut "$BG_LIB_DIR/down.sh" d0 >/dev/null

	((syn)) && continue
	dut nft -f "$work/flood.nft"
	measure nftables
	dut nft delete table netdev bgflood
done

for kind in "${kinds[@]}"; do
	[[ -n ${best[$kind]:-} ]] || bg_die "no round of the $kind flood completed"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
if ((lb)); then
	nft=${best[nft_jhash]}
	((best[nft_numgen] <= nft)) || nft=${best[nft_numgen]}
	((best[bpfguard] > 0)) || bg_die "bpfguard forwarded nothing to the backends"
	((nft > 0)) || bg_die "nftables forwarded nothing to the backends"
	{
		printf '# bpfguard load balancer flood of new connections, %s, kernel %s, %s CPUs, best of %s x %s s\n' \
			"$(date -u +%Y-%m-%dT%H:%MZ)" "$(uname -r)" "$cpus" \
			"$rounds_asked" "$secs"
		printf '%-10s %11s %10s %12s %8s %7s\n' balancer offered/s refused/s \
			forwarded/s x_nft xdp_ns
		for kind in "${kinds[@]}"; do
			printf '%-10s %11s %10s %12s %8s %7s\n' "${kind/_/-}" \
				"${best_off[$kind]}" "${best_ref[$kind]}" "${best[$kind]}" \
				"$(ratio "${best[$kind]}" "$nft")" "${best_ns[$kind]}"
		done
		echo "forwarded/s: SYNs of new connections that reached the backends' end per second; x_nft: against the better nftables DNAT"
		echo "xdp_ns: the XDP program's own time per frame (kernel run-time statistics, on for 1 s after the window)"
		awk -v r="$(ratio "${best[bpfguard]}" "$nft")" \
			'BEGIN { printf "goal: bpfguard >= 2x the better nftables DNAT: %s\n",
				(r + 0 >= 2) ? "met" : "NOT MET" }'
	} | tee "$out"
	exit 0
fi
((best[floor] > 0)) || bg_die "the floor dropped nothing: no flood reached d0"

{
	if ((syn)); then
		printf '# bpfguard spoofed SYN flood, %s, kernel %s, %s CPUs, best of %s x %s s\n' \
			"$(date -u +%Y-%m-%dT%H:%MZ)" "$(uname -r)" "$cpus" \
			"$rounds" "$secs"
	else
		printf '# bpfguard flood, %s, kernel %s, %s CPUs, %s rules, best of %s x %s s\n' \
			"$(date -u +%Y-%m-%dT%H:%MZ)" "$(uname -r)" "$cpus" "$nrules" \
			"$rounds" "$secs"
	fi
	printf '%-10s %11s %10s %11s %8s %7s\n' receiver offered/s refused/s \
		"$( ((syn)) && echo answered/s || echo dropped/s)" x_floor xdp_ns
	for kind in "${kinds[@]}"; do
		printf '%-10s %11s %10s %11s %8s %7s\n' "$kind" "${best_off[$kind]}" \
			"${best_ref[$kind]}" "${best[$kind]}" \
			"$(ratio "${best[$kind]}" "${best[floor]}")" "${best_ns[$kind]}"
	done
	# Who set the floor's pace: veth refusing frames means the receiver
	# fell behind; none refused means trafgen sent no faster.
	if ((best_ref[floor] * 100 < best_off[floor])); then
		echo "sender-bound: the floor took all that trafgen offered (each CPU sends and receives in the same softirq: veth runs d0's NAPI on the sending CPU, so trafgen's and veth's work per frame is in every rate)"
	else
		echo "receiver-bound: veth refused frames the floor could not take"
	fi
	echo "xdp_ns: the XDP program's own time per frame (kernel run-time statistics, on for 1 s after the window)"
	if ((syn)); then
		echo "answered/s: bpfguard's SYNs answered with a cookie SYN-ACK (XDP_TX) per second"
		echo "client: $synacks SYN-ACKs reached the client's XDP during bpfguard's floods"
		awk -v r="$(ratio "${best[bpfguard]}" "${best[floor]}")" \
			'BEGIN { printf "goal: cookies answered at >= 0.50 of the floor: %s\n",
				(r + 0 >= 0.5) ? "met" : "NOT MET" }'
	else
		awk -v r="$(ratio "${best[bpfguard]}" "${best[floor]}")" \
			'BEGIN { printf "goal: bpfguard >= 0.90 of the floor: %s\n",
				(r + 0 >= 0.9) ? "met" : "NOT MET" }'
	fi
} | tee "$out"
