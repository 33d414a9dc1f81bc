#!/usr/bin/env bash
# make bench: ns/packet of the programs through BPF_PROG_TEST_RUN, as a
# ratio to a no-op program of the same hook measured in the same run.
#
# Everything happens in a private bpffs; nothing is attached to any
# interface and no packet leaves the test-run harness.
set -euo pipefail
# shellcheck disable=SC2034 # read by lib.sh
BG_PROG=bench
# shellcheck source=scripts/lib.sh
source "$(dirname "$(readlink -f "$0")")/../scripts/lib.sh"

usage()
{
	cat <<EOF
Usage: bench/run.sh [--repeat N] [--out FILE] [--switch | --ratelimit | --lb | --scrub]

Measure ns/packet with BPF_PROG_TEST_RUN (bpftool prog run ... repeat N,
median of 5 runs) for xdp_firewall with 1, 64, 1024 and 4096 CIDR rules,
IPv4 and IPv6, for a packet matching the last rule and one matching none,
next to a no-op XDP program; the XDP chain's hop into empty slots and into
a no-op stage; the firewall stage by stage and a linear scan (the seed's
design) on 4096 rules; fwmapgen's compile and a ruleset switch of 4096
rules in ms; tc_conntrack for a packet of an established
flow and of a new flow, next to a no-op TC program; the rate limiter on
its own and, per algorithm, reached by a tail call from the chain's hop
and from the firewall; a SYN answered with a cookie SYN-ACK (one
BPF_PROG_TEST_RUN per run, bench/onerun.py, in a namespace of its own
holding a listener); the load balancer, reached the same two ways, for a
packet of a known flow, of a new flow and a backend's reply (one run at a
time, in a namespace whose FIB knows the backends); tc_scrub for a
packet no statement matches, one it rewrites and a SYN whose MSS it
clamps, next to the TC no-op; the capacity of a
100,000-entry table. Results go to stdout and FILE (default
build/bench.txt).

  --switch   only fwmapgen's compile, the ruleset switch and the capacity
             rows (make bench-switch; FILE default build/bench-switch.txt)
  --ratelimit  only the no-op, the chain's hop and the rate limiter's rows
             (FILE default build/bench-ratelimit.txt)
  --lb       only the no-op, the chain's hop and the load balancer's rows
             (FILE default build/bench-lb.txt)
  --scrub    only the TC no-op and tc_scrub's rows (FILE default
             build/bench-scrub.txt)
EOF
}

repeat=200000 out="" switch_only=0 rl_only=0 lb_only=0 scrub_only=0
while (($#)); do
	case $1 in
	-h | --help)
		usage
		exit 0
		;;
	--repeat)
		repeat=$2
		shift
		;;
	--out)
		out=$2
		shift
		;;
	--switch) switch_only=1 ;;
	--ratelimit) rl_only=1 ;;
	--lb) lb_only=1 ;;
	--scrub) scrub_only=1 ;;
	*) bg_die "unknown option $1 (see --help)" ;;
	esac
	shift
done
if [[ -z $out ]]; then
	out=$BG_ROOT/build/bench.txt
	((switch_only == 0)) || out=$BG_ROOT/build/bench-switch.txt
	((rl_only == 0)) || out=$BG_ROOT/build/bench-ratelimit.txt
	((lb_only == 0)) || out=$BG_ROOT/build/bench-lb.txt
	((scrub_only == 0)) || out=$BG_ROOT/build/bench-scrub.txt
fi

bg_require_root
bg_require_tools bpftool jq python3
bg_require_objects xdp_firewall.o
[[ -r $BG_OBJ_DIR/bench/xdp_noop.o ]] || bg_die "build/bench/xdp_noop.o missing (run make)"

work=$(mktemp -d /run/bgbench.XXXXXX)
cleanup()
{
	mountpoint -q "$work/bpffs" && umount "$work/bpffs"
	rm -rf "$work"
}
# The SYN cookie rows' namespace and listener (bench_ratelimit).
scns="" scpid=""
cleanup_sc()
{
	[[ -z $scpid ]] || kill "$scpid" 2>/dev/null || true
	[[ -z $scpid ]] || wait "$scpid" 2>/dev/null || true
	[[ -z $scns ]] || ip netns del "$scns" 2>/dev/null || true
	scns="" scpid=""
}
# The load balancer rows' namespace (bench_loadbalancer).
lbns=""
cleanup_lb()
{
	[[ -z $lbns ]] || ip netns del "$lbns" 2>/dev/null || true
	lbns=""
}
trap 'cleanup_sc; cleanup_lb; cleanup' EXIT
mkdir "$work/bpffs"
mount -t bpf bpf "$work/bpffs"
BG_BPFFS=$work/bpffs
unset FW_BPFFS
bg_setup_bpffs mount
# shellcheck disable=SC2034 # read by lib.sh
BG_QUIET=1

# Median ns/run of 5 runs of program $1 on packet file $2.
measure()
{
	local i
	for i in 1 2 3 4 5; do
		bpftool prog run pinned "$1" data_in "$2" repeat "$repeat" |
			sed -n 's/.*duration (average): \([0-9]*\)ns.*/\1/p'
	done | sort -n | sed -n 3p
}

# N rules, each a distinct (source, destination) pair of documentation
# addresses, so that every rule is a separate bit and the packet that
# matches the last one walks every word of the vectors.
ruleset()
{
	local fam=$1 n=$2 i
	echo "set default pass"
	for ((i = 0; i < n; i++)); do
		if [[ $fam == 4 ]]; then
			echo "block from 198.51.100.$((i % 256)) to 203.0.113.$((i / 256))"
		else
			printf 'block from 2001:db8:1::%x to 2001:db8:2::%x\n' \
				$((i % 256)) $((i / 256))
		fi
	done
}

last_match()
{
	local fam=$1 n=$2
	if [[ $fam == 4 ]]; then
		echo "198.51.100.$(((n - 1) % 256)) 203.0.113.$(((n - 1) / 256))"
	else
		printf '2001:db8:1::%x 2001:db8:2::%x\n' $(((n - 1) % 256)) \
			$(((n - 1) / 256))
	fi
}

mkpkt()
{
	python3 "$BG_ROOT/bench/mkpkt.py" "$@"
}

# Milliseconds that command "$@" takes.
msecs()
{
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}
slab_kb() { awk '/^SUnreclaim:/ { print $2 }' /proc/meminfo; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# Compiling and switching a 4096-rule ruleset ($work/r.rules): fwmapgen
# alone, and the switch up.sh makes (fill the idle generation, check it,
# flip, purge the old one), median of 5 and of 3.
bench_switch()
{
	local compile switch i
	compile=$(for i in 1 2 3 4 5; do
		msecs "$FWMAPGEN" --pin-dir "$BG_PIN_DIR" -o /dev/null "$work/r.rules"
	done | sort -n | sed -n 3p)
	cp "$work/r.rules" "$work/r1.rules"
	sed 's/^set default pass$/set default block/' "$work/r.rules" >"$work/r2.rules"
	switch=$(for i in 1 2 3; do
		msecs bg_apply_ruleset "$work/r$((i % 2 + 1)).rules"
	done | sort -n | sed -n 2p)
	{
		printf '%-14s %-6s %6s %-10s %6s ms\n' fwmapgen ipv4 4096 compile "$compile"
		printf '%-14s %-6s %6s %-10s %6s ms\n' ruleset ipv4 4096 switch "$switch"
		echo "goal: fwmapgen compiles 4096 rules in <= 100 ms: $( ((compile <= 100)) && echo met || echo NOT MET)"
		echo "goal: a 4096-rule ruleset switches in <= 2 s: $( ((switch <= 2000)) && echo met || echo NOT MET)"
	} | tee -a "$out"
}

# Capacity: a 100,000-entry blocklist (half IPv4 /32s, half IPv6 /64s):
# compile, load, and switch away again (which purges its generation), with
# the kernel memory it holds while loaded (unreclaimable slab delta).
bench_capacity()
{
	local entries t0 t1 t2 t3 m0 m1
	python3 "$BG_ROOT/bench/mkblocklist.py" "$work/block.txt"
	printf 'table <block> file "block.txt"\nblock from <block>\n' >"$work/big.rules"
	echo "pass from any" >"$work/small.rules"
	bg_apply_ruleset "$work/small.rules"
	entries=$(grep -vc '^#' "$work/block.txt")
	t0=$(now)
	"$FWMAPGEN" --check "$work/big.rules" >/dev/null
	t1=$(now)
	m0=$(slab_kb)
	bg_apply_ruleset "$work/big.rules"
	t2=$(now)
	m1=$(slab_kb)
	bg_apply_ruleset "$work/small.rules"
	t3=$(now)
	{
		printf '\n# capacity: table of %s entries (IPv4 /32 + IPv6 /64)\n' "$entries"
		printf '%-28s %8s\n' step seconds
		printf '%-28s %8s\n' "compile (fwmapgen --check)" "$(secs "$t0" "$t1")"
		printf '%-28s %8s\n' "compile + load (up.sh path)" "$(secs "$t1" "$t2")"
		printf '%-28s %8s\n' "switch away + purge" "$(secs "$t2" "$t3")"
		printf '%-28s %8s\n' "kernel memory (KiB)" "$((m1 - m0))"
		printf '%-28s %8s\n' "bytes per entry" "$(((m1 - m0) * 1024 / entries))"
	} | tee -a "$out"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

bench_ratelimit()
{
	local kind algo ns worst once once_noop once_hop once_fw row
	# The rate limiter (README, "Rate limiting") on its own, against the XDP
	# no-op: a packet of a per-source token bucket within its rate (a hash
	# lookup, the spin lock, the arithmetic), one over another policy's rate
	# (dropped), and one no policy applies to (the trie lookup and the walk
	# of its candidates). The firewall's tail call into it is the "chain"
	# rows' hop.
	rl=$(bg_load_prog xdp_ratelimit.o bg_rl_xdp)
	printf '%s\n' "set default pass" \
		"ratelimit proto udp from 192.0.2.1 rate 100000000/second per-source" \
		"ratelimit proto udp from 192.0.2.3 rate 1/minute burst 1 per-source" \
		"ratelimit proto tcp from 192.0.2.0/24 rate 1/second" >"$work/rl.rules"
	bg_apply_ruleset "$work/rl.rules"
	mkpkt 192.0.2.1 192.0.2.2 "$work/rl-in.pkt"
	mkpkt 192.0.2.3 192.0.2.2 "$work/rl-over.pkt"
	mkpkt 192.0.2.4 192.0.2.2 "$work/rl-none.pkt"
	bpftool prog run pinned "$rl" data_in "$work/rl-over.pkt" >/dev/null
	{
		printf '\n# the rate limiter (XDP chain slot 0), on its own\n'
		printf '%-22s %-22s %9s %9s\n' program packet ns/pkt x_noop
		for kind in "within its rate:in" "over its rate:over" "no policy:none"; do
			ns=$(measure "$rl" "$work/rl-${kind#*:}.pkt")
			printf '%-22s %-22s %9s %9s\n' xdp_ratelimit "${kind%:*}" "$ns" "$(ratio "$ns" "$noop")"
		done
	} | tee -a "$out"

	# The rate limiter where it runs: in chain slot 0, reached by a tail call
	# from the chain's hop (bench/xdp_chain_hop.bpf.c) and from the firewall
	# passing the packet; one per-source policy within its rate per algorithm.
	bpftool map update pinned "$chain" key 0 0 0 0 value pinned "$rl"
	{
		printf '\n# the rate limiter in chain slot 0, per algorithm (a UDP packet within its rate)\n'
		printf '%-22s %-22s %9s %9s\n' program packet ns/pkt x_noop
		worst=0
		for algo in token-bucket fixed-window sliding-window leaky-bucket; do
			printf '%s\n' "set default pass" \
				"ratelimit proto udp from 192.0.2.1 rate 100000000/second algorithm $algo per-source" \
				>"$work/rl.rules"
			bg_apply_ruleset "$work/rl.rules"
			ns=$(measure "$BG_BPFFS/bench/chain/bg_bench_chain" "$work/noop.pkt")
			((ns > worst)) && worst=$ns
			printf '%-22s %-22s %9s %9s\n' "hop -> ratelimit" "$algo" "$ns" "$(ratio "$ns" "$noop")"
			ns=$(measure "$fw" "$work/noop.pkt")
			printf '%-22s %-22s %9s %9s\n' "firewall -> ratelimit" "$algo" "$ns" "$(ratio "$ns" "$noop")"
		done
		echo "goal: each algorithm, the tail call into it included, <= 4x: $(
			awk -v a="$worst" -v b="$noop" 'BEGIN { if (a <= 4 * b) print "met"; else printf "NOT MET (%.1fx)\n", a / b }')"
	} | tee -a "$out"

	# A SYN answered with a cookie SYN-ACK (XDP_TX) once all sources together
	# exceed the global SYN rate: the stage looks the listener up and has the
	# kernel make the cookie, so this runs in a namespace of its own holding a
	# listener on 192.0.2.2:80 (BPF_PROG_TEST_RUN runs XDP on the caller's
	# namespace's loopback). The stage rewrites its packet, so each run is one
	# BPF_PROG_TEST_RUN (bench/onerun.py); a one-run duration includes reading
	# the clock, which the no-op's one-run median against its repeated one
	# takes out.
	scns=bgbench-$$-sc
	ip netns add "$scns"
	sc() { nsenter --net="/run/netns/$scns" -- "$@"; }
	sc ip link set lo up
	sc ip addr add 192.0.2.2/32 dev lo
	sc sysctl -qw net.ipv4.tcp_syncookies=2
	# nsenter itself in the background (not sc): $! is then the listener.
	nsenter --net="/run/netns/$scns" -- python3 -c 'import socket, time; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 80)); s.listen(128); time.sleep(600)' "$work" >/dev/null 2>&1 &
	scpid=$!
	for _ in $(seq 50); do
		sc python3 -c 'import socket; socket.create_connection(("192.0.2.2", 80), 0.2)' \
			2>/dev/null && break
		sleep 0.1
	done
	printf '%s\n' "set default pass" \
		"set syn-flood rate 100000000/second global 1/second cookies on" >"$work/rl.rules"
	bg_apply_ruleset "$work/rl.rules"
	mkpkt 198.51.100.1 192.0.2.2 "$work/cookie.pkt" tcp S 40000 80
	once=$(sc python3 "$BG_ROOT/bench/onerun.py" 20000 "$work/cookie.pkt" \
		"$BG_BPFFS/bench/xdp_noop" "$BG_BPFFS/bench/chain/bg_bench_chain=3" \
		"$fw=3") || bg_die "the SYN cookie rows: a stage did not answer with a cookie"
	{
		read -r _ once_noop
		read -r _ once_hop
		read -r _ once_fw
	} <<<"$once"
	bpftool map delete pinned "$chain" key 0 0 0 0
	cleanup_sc
	{
		printf '\n# a SYN answered with a cookie SYN-ACK (XDP_TX), one run at a time\n'
		printf '%-22s %-22s %9s %9s\n' program packet ns/pkt x_noop
		for row in "hop -> ratelimit:$once_hop" "firewall -> ratelimit:$once_fw"; do
			ns=$((${row##*:} - once_noop + noop))
			printf '%-22s %-22s %9s %9s\n' "${row%:*}" "SYN -> cookie" "$ns" "$(ratio "$ns" "$noop")"
		done
		ns=$((once_hop - once_noop + noop))
		echo "goal: a SYN answered with a cookie <= 10x: $(
			awk -v a="$ns" -v b="$noop" 'BEGIN { if (a <= 10 * b) print "met"; else printf "NOT MET (%.1fx)\n", a / b }')"
	} | tee -a "$out"
}

# The load balancer (README, "The load balancer") where it runs: chain slot
# 1, reached by a tail call from the chain's hop (slot 0 empty) and from
# the firewall passing the packet: a TCP packet of a flow it knows, one of
# a new flow (a bench-only build draws a fresh source per run), and a
# backend's reply turned back into one from the VIP. It rewrites its
# packet, so each run is one BPF_PROG_TEST_RUN (bench/onerun.py, as the SYN
# cookie rows), in a namespace whose FIB knows the clients' and the
# backends' interfaces (cl0, bk0), the packets coming in on the one they
# would: each run must end in XDP_REDIRECT (4) to the other, or the row is
# refused.
bench_loadbalancer()
{
	local lb nf i baddr row prog pkt ns known new
	lbns=bgbench-$$-lb
	ip netns add "$lbns"
	lbx() { nsenter --net="/run/netns/$lbns" -- "$@"; }
	lbx ip link set lo up
	lbx sysctl -qw net.ipv4.ip_forward=1
	for i in bk0 cl0; do
		lbx ip link add "$i" type veth peer name "${i}p"
		lbx ip link set "$i" up
		lbx ip link set "${i}p" up
	done
	lbx ip addr add 203.0.113.1/24 dev bk0
	lbx ip addr add 198.51.100.1/24 dev cl0
	for i in 11 12 13 14; do
		lbx ip neigh add "203.0.113.$i" lladdr "02:00:00:00:0b:$i" dev bk0 nud permanent
	done
	lbx ip neigh add 198.51.100.7 lladdr 02:00:00:00:0c:07 dev cl0 nud permanent
	lb=$(bg_load_prog xdp_loadbalancer.o bg_lb_xdp)
	"$BG_LOAD" --bpffs "$BG_BPFFS" "$BG_OBJ_DIR/bench/xdp_loadbalancer_newflow.o" \
		"$BG_BPFFS/bench/lbnew" >/dev/null
	nf=$BG_BPFFS/bench/lbnew/bg_lb_xdp
	{
		echo "set default pass"
		echo "service web 192.0.2.80 port 80 proto tcp {"
		for i in 11 12 13 14; do
			echo "	backend 203.0.113.$i:8080"
		done
		echo "}"
	} >"$work/lb.rules"
	bg_apply_ruleset "$work/lb.rules"
	mkpkt 198.51.100.7 192.0.2.80 "$work/lb-flow.pkt" tcp A 40000 80
	bpftool map update pinned "$chain" key 1 0 0 0 value pinned "$lb"
	# lb_runs IFACE PKT PIN=VERDICT...: "PIN NS" per program, NS one run's
	# duration with the no-op's one-run median taken out and its repeated
	# one put in (bench/onerun.py).
	lb_runs()
	{
		local ifc=$1 pkt=$2 res base
		shift 2
		res=$(lbx python3 "$BG_ROOT/bench/onerun.py" --iface "$ifc" 20000 \
			"$pkt" "$BG_BPFFS/bench/xdp_noop" "$@") ||
			bg_die "the load balancer rows: a run did not end as it should"
		base=$(awk 'NR == 1 { print $2 }' <<<"$res")
		awk -v b="$base" -v n="$noop" 'NR > 1 { print $1, $2 - b + n }' <<<"$res"
	}
	known=$(lb_runs cl0 "$work/lb-flow.pkt" \
		"$BG_BPFFS/bench/chain/bg_bench_chain=4" "$fw=4")
	baddr=$(bpftool -j map dump pinned "$(bg_map bg_lb_flow)" |
		jq -r '.[0].formatted.value.baddr[0:4] | join(".")')
	mkpkt "$baddr" 198.51.100.7 "$work/lb-reply.pkt" tcp A 8080 40000
	reply=$(lb_runs bk0 "$work/lb-reply.pkt" \
		"$BG_BPFFS/bench/chain/bg_bench_chain=4")
	bpftool map update pinned "$chain" key 1 0 0 0 value pinned "$nf"
	new=$(lb_runs cl0 "$work/lb-flow.pkt" \
		"$BG_BPFFS/bench/chain/bg_bench_chain=4" "$fw=4")
	bpftool map delete pinned "$chain" key 1 0 0 0
	cleanup_lb
	{
		printf '\n# the load balancer in chain slot 1 (TCP, 4 backends, Maglev), one run at a time\n'
		printf '%-26s %-18s %9s %9s\n' program packet ns/pkt x_noop
		for row in "hop -> loadbalancer:known flow:$(sed -n 1p <<<"$known")" \
			"firewall -> loadbalancer:known flow:$(sed -n 2p <<<"$known")" \
			"hop -> loadbalancer:new flow:$(sed -n 1p <<<"$new")" \
			"firewall -> loadbalancer:new flow:$(sed -n 2p <<<"$new")" \
			"hop -> loadbalancer:reply to the VIP:$reply"; do
			IFS=: read -r prog pkt ns <<<"$row"
			ns=${ns##* }
			printf '%-26s %-18s %9s %9s\n' "$prog" "$pkt" "$ns" "$(ratio "$ns" "$noop")"
		done
		known=$(sed -n '1s/.* //p' <<<"$known")
		new=$(sed -n '1s/.* //p' <<<"$new")
		echo "goal: a packet of a known flow, the tail call into it included, <= 4x: $(
			awk -v a="$known" -v b="$noop" 'BEGIN { if (a <= 4 * b) print "met"; else printf "NOT MET (%.1fx)\n", a / b }')"
		echo "goal: a packet of a new flow, the tail call into it included, <= 8x: $(
			awk -v a="$new" -v b="$noop" 'BEGIN { if (a <= 8 * b) print "met"; else printf "NOT MET (%.1fx)\n", a / b }')"
	} | tee -a "$out"
}

# Normalization on TC ingress (tc_scrub), next to the TC no-op: a packet
# no statement matches (it tries both); an ACK under all four options
# (its identification drawn anew on every run: an IP checksum update; the
# TCP header looked at); a SYN whose MSS option it clamps (the options
# walk, the TCP checksum through a helper), under max-mss alone and
# under all four options. The test run reuses one buffer, and after the
# first run the MSS is at the limit: the SYN rows are of a bench build
# that rewrites an MSS at the limit too (BG_BENCH_SCRUB_REWRITE). Last,
# a packet that misses all 64 entries a ruleset may have (not in the
# goal: the goal is of what a statement costs, this of the most).
scrub_rules()
{
	printf '%s\n' "pass" "scrub in from 203.0.113.0/24 (max-mss 1200)" \
		"scrub in from 198.51.100.0/24 (min-ttl 64, max-mss 1200, no-df, random-id)"
}
bench_scrub()
{
	local sc scw row ns i worst=0
	scrub_rules >"$work/scrub.rules"
	bg_apply_ruleset "$work/scrub.rules"
	sc=$(bg_load_prog tc_scrub.o bg_scrub_ingress)
	"$BG_LOAD" --bpffs "$BG_BPFFS" "$BG_OBJ_DIR/bench/tc_scrub_rewrite.o" \
		"$BG_BPFFS/bench/scrub" >/dev/null
	scw=$BG_BPFFS/bench/scrub/bg_scrub_ingress
	mkpkt 192.0.2.9 192.0.2.1 "$work/scmiss.pkt" tcp A 40000 80
	mkpkt 198.51.100.1 192.0.2.1 "$work/schit.pkt" tcp A 40000 80
	mkpkt 203.0.113.1 192.0.2.1 "$work/scsyn1.pkt" tcp S 40000 80 1460
	mkpkt 198.51.100.1 192.0.2.1 "$work/scsyn4.pkt" tcp S 40000 80 1460
	{
		printf '\n# normalization (tc_scrub, TC ingress)\n'
		printf '%-22s %-26s %9s %9s\n' program packet ns/pkt x_noop
		printf '%-22s %-26s %9s %9s\n' tc_noop - "$tcnoop" 1.00
		for row in "no statement:$sc:scmiss" "ACK, four options:$sc:schit" \
			"SYN, max-mss:$scw:scsyn1" "SYN, four options:$scw:scsyn4"; do
			IFS=: read -r _ prog pkt <<<"$row"
			ns=$(measure "$prog" "$work/$pkt.pkt")
			((ns <= worst)) || worst=$ns
			printf '%-22s %-26s %9s %9s\n' tc_scrub "${row%%:*}" "$ns" "$(ratio "$ns" "$tcnoop")"
		done
		echo "goal: scrub <= 3x (every row): $(
			awk -v a="$worst" -v b="$tcnoop" 'BEGIN { if (a <= 3 * b) print "met"; else printf "NOT MET (%.1fx)\n", a / b }')"
		# The worst miss: the 64 entries a ruleset may have, tried
		# one after the other.
		{
			echo pass
			for ((i = 1; i <= 64; i++)); do
				echo "scrub in from 203.0.113.$i (min-ttl 64)"
			done
		} >"$work/scrub64.rules"
		bg_apply_ruleset "$work/scrub64.rules"
		ns=$(measure "$sc" "$work/scmiss.pkt")
		printf '%-22s %-26s %9s %9s\n' tc_scrub "no statement of 64" "$ns" "$(ratio "$ns" "$tcnoop")"
	} | tee -a "$out"
}

"$BG_LOAD" --bpffs "$BG_BPFFS" "$BG_OBJ_DIR/bench/xdp_noop.o" \
	"$BG_BPFFS/bench" >/dev/null
fw=$(bg_load_prog xdp_firewall.o bg_fw_xdp)

# make bench --scrub: only the TC no-op and tc_scrub's rows.
if ((scrub_only)); then
	printf '# bpfguard make bench --scrub, %s, kernel %s, repeat %s (median of 5)\n' \
		"$(date -u +%Y-%m-%dT%H:%MZ)" "$(uname -r)" "$repeat" | tee "$out"
	"$BG_LOAD" --bpffs "$BG_BPFFS" "$BG_OBJ_DIR/bench/tc_noop.o" \
		"$BG_BPFFS/bench" >/dev/null
	mkpkt 198.51.100.1 192.0.2.1 "$work/in.pkt" tcp A 80 40000
	tcnoop=$(measure "$BG_BPFFS/bench/tc_noop" "$work/in.pkt")
	bench_scrub
	exit 0
fi

# make bench-switch: only the compile, switch and capacity rows.
if ((switch_only)); then
	printf '# bpfguard make bench-switch, %s, kernel %s\n' \
		"$(date -u +%Y-%m-%dT%H:%MZ)" "$(uname -r)" | tee "$out"
	ruleset 4 4096 >"$work/r.rules"
	bg_apply_ruleset "$work/r.rules"
	bench_switch
	bench_capacity
	exit 0
fi

mkpkt 192.0.2.1 192.0.2.2 "$work/noop.pkt"
noop=$(measure "$BG_BPFFS/bench/xdp_noop" "$work/noop.pkt")

{
	printf '# bpfguard make bench, %s, kernel %s, repeat %s (median of 5)\n' \
		"$(date -u +%Y-%m-%dT%H:%MZ)" "$(uname -r)" "$repeat"
	printf '%-14s %-6s %6s %-10s %9s %9s\n' program family rules packet \
		ns/pkt x_noop
	printf '%-14s %-6s %6s %-10s %9s %9s\n' xdp_noop - - - "$noop" 1.00
} | tee "$out"

# The XDP chain's hop: a no-op ending in bg_xdp_next, with every slot
# empty (each costs a tail call that fails), then with a no-op stage in
# slot 0 (one tail call taken). The firewall's rows below pay the first.
"$BG_LOAD" --bpffs "$BG_BPFFS" "$BG_OBJ_DIR/bench/xdp_chain_hop.o" \
	"$BG_BPFFS/bench/chain" >/dev/null
chain=$BG_BPFFS/tc/globals/bg_xdp_chain
hop_empty=$(measure "$BG_BPFFS/bench/chain/bg_bench_chain" "$work/noop.pkt")
bpftool map update pinned "$chain" key 0 0 0 0 \
	value pinned "$BG_BPFFS/bench/xdp_noop"
hop_stage=$(measure "$BG_BPFFS/bench/chain/bg_bench_chain" "$work/noop.pkt")
bpftool map delete pinned "$chain" key 0 0 0 0
{
	for row in "chain,empty:$hop_empty" "chain,->noop:$hop_stage"; do
		ns=${row#*:}
		printf '%-14s %-6s %6s %-10s %9s %9s  (+%d ns)\n' "${row%%,*}" - - \
			"$(cut -d: -f1 <<<"${row#*,}")" "$ns" \
			"$(awk -v a="$ns" -v b="$noop" 'BEGIN { printf "%.2f", a / b }')" \
			$((ns - noop))
	done
	echo "goal: the hop into empty slots costs <= 10 ns: $( ((hop_empty - noop <= 10)) && echo met || echo NOT MET)"
} | tee -a "$out"

if ((rl_only)); then
	bench_ratelimit
	exit 0
fi
if ((lb_only)); then
	bench_loadbalancer
	exit 0
fi

for fam in 4 6; do
	for n in 1 64 1024 4096; do
		ruleset "$fam" "$n" >"$work/r.rules"
		bg_apply_ruleset "$work/r.rules"
		read -r s d < <(last_match "$fam" "$n")
		mkpkt "$s" "$d" "$work/match.pkt"
		if [[ $fam == 4 ]]; then
			mkpkt 192.0.2.1 192.0.2.2 "$work/miss.pkt"
		else
			mkpkt 2001:db8:ff::1 2001:db8:ff::2 "$work/miss.pkt"
		fi
		for kind in match miss; do
			ns=$(measure "$fw" "$work/$kind.pkt")
			printf '%-14s %-6s %6s %-10s %9s %9s\n' xdp_firewall \
				"ipv$fam" "$n" "$kind" "$ns" \
				"$(awk -v a="$ns" -v b="$noop" 'BEGIN { printf "%.2f", a / b }')"
		done | tee -a "$out"
	done
done

# Where the nanoseconds of a packet go: the firewall built to stop after
# each stage (BG_FW_BENCH_STAGE in progs/xdp_firewall.c) on the IPv4
# 4096-rule ruleset, the packet matching none; each row adds one stage.
ruleset 4 4096 >"$work/r.rules"
bg_apply_ruleset "$work/r.rules"
mkpkt 192.0.2.1 192.0.2.2 "$work/miss.pkt"
read -r s d < <(last_match 4 4096)
mkpkt "$s" "$d" "$work/match.pkt"
row()
{
	printf '%-14s %-6s %6s %-10s %9s %9s  (+%d ns)\n' "$1" ipv4 4096 "$2" "$3" \
		"$(awk -v a="$3" -v b="$noop" 'BEGIN { printf "%.2f", a / b }')" \
		$(($3 - $4))
}
stages=("" parse generation "phase 0" classify counters)
prev=$noop
{
	for n in 1 2 3 4 5; do
		"$BG_LOAD" --bpffs "$BG_BPFFS" \
			"$BG_OBJ_DIR/bench/xdp_firewall_stage$n.o" \
			"$BG_BPFFS/bench/stage$n" >/dev/null
		ns=$(measure "$BG_BPFFS/bench/stage$n/bg_fw_xdp" "$work/miss.pkt")
		row "stage $n" "${stages[n]}" "$ns" "$prev"
		prev=$ns
	done
	full=$(measure "$fw" "$work/miss.pkt")
	row "stage 6" "meta+chain" "$full" "$prev"
	echo "goal: a packet matching none of 4096 rules <= 5x the no-op: $(
		awk -v a="$full" -v b="$noop" 'BEGIN { if (a <= 5 * b) print "met"; else printf "NOT MET (%.1fx)\n", a / b }')"
} | tee -a "$out"

# Fragments on the same ruleset (README, "Fragments"): the first fragment
# of a new datagram on every run (a bench-only build draws its
# identification), judged by the rules and recorded, and a later fragment
# of a datagram whose first fragment was recorded, which takes that
# verdict from the fragment table instead.
mkpkt 192.0.2.1 192.0.2.2 "$work/frag1.pkt" frag first
mkpkt 192.0.2.1 192.0.2.2 "$work/frag2.pkt" frag later
"$BG_LOAD" --bpffs "$BG_BPFFS" "$BG_OBJ_DIR/bench/xdp_firewall_newfrag.o" \
	"$BG_BPFFS/bench/newfrag" >/dev/null
bpftool prog run pinned "$fw" data_in "$work/frag1.pkt" >/dev/null
{
	first=$(measure "$BG_BPFFS/bench/newfrag/bg_fw_xdp" "$work/frag1.pkt")
	later=$(measure "$fw" "$work/frag2.pkt")
	printf '%-14s %-6s %6s %-10s %9s %9s\n' xdp_firewall ipv4 4096 \
		"frag first" "$first" "$(awk -v a="$first" -v b="$noop" 'BEGIN { printf "%.2f", a / b }')"
	printf '%-14s %-6s %6s %-10s %9s %9s\n' xdp_firewall ipv4 4096 \
		"frag later" "$later" "$(awk -v a="$later" -v b="$noop" 'BEGIN { printf "%.2f", a / b }')"
	echo "goal: a later fragment costs <= its first fragment + one lookup: $( ((later <= first)) && echo met || echo NOT MET)"
} | tee -a "$out"

# The seed's design on the same ruleset, for comparison: a linear scan
# with bpf_loop, first match (bench/xdp_linear_scan.bpf.c).
"$BG_LOAD" --bpffs "$BG_BPFFS" "$BG_OBJ_DIR/bench/xdp_linear_scan.o" \
	"$BG_BPFFS/bench/linear" >/dev/null
awk -v m="$BG_PIN_DIR/bg_bench_lin" 'function le(v) {
		return sprintf("%02x %02x %02x %02x", v % 256, int(v / 256) % 256,
			int(v / 65536) % 256, int(v / 16777216) % 256) }
	BEGIN { for (i = 0; i < 4096; i++)
		printf "map update pinned %s key hex %s value hex c6 33 64 %02x ff ff ff ff cb 00 71 %02x ff ff ff ff 01 00 00 00 00 00 00 00\n",
			m, le(i), i % 256, int(i / 256) }' >"$work/lin.batch"
bpftool batch file "$work/lin.batch" >/dev/null
bpftool map update pinned "$BG_PIN_DIR/bg_bench_nlin" key 0 0 0 0 \
	value hex 00 10 00 00
for kind in match miss; do
	ns=$(measure "$BG_BPFFS/bench/linear/bg_bench_linear" "$work/$kind.pkt")
	printf '%-14s %-6s %6s %-10s %9s %9s\n' linear-scan ipv4 4096 "$kind" \
		"$ns" "$(awk -v a="$ns" -v b="$noop" 'BEGIN { printf "%.2f", a / b }')"
done | tee -a "$out"

bench_switch

# Connection tracking on TC ingress: a packet of an established flow (the
# reply direction of a flow picked up from egress), and a packet of a new
# flow on every run (a bench-only build draws a fresh source per run), next
# to a TC no-op. The firewall's phase 0 against a populated table too.
"$BG_LOAD" --bpffs "$BG_BPFFS" "$BG_OBJ_DIR/bench/tc_noop.o" \
	"$BG_BPFFS/bench" >/dev/null
ct=$(bg_load_prog tc_conntrack.o bg_ct_egress)
ctdir=$(dirname "$ct")
"$BG_LOAD" --bpffs "$BG_BPFFS" "$BG_OBJ_DIR/bench/tc_conntrack_newflow.o" \
	"$BG_BPFFS/bench/newflow" >/dev/null
mkpkt 192.0.2.1 198.51.100.1 "$work/out.pkt" tcp A 40000 80
mkpkt 198.51.100.1 192.0.2.1 "$work/in.pkt" tcp A 80 40000
mkpkt 198.51.100.1 192.0.2.1 "$work/syn.pkt" tcp S 80 40000
bpftool prog run pinned "$ctdir/bg_ct_egress" data_in "$work/out.pkt" >/dev/null
tcnoop=$(measure "$BG_BPFFS/bench/tc_noop" "$work/in.pkt")
{
	printf '\n# connection tracking (TC ingress) and the firewall with conntrack\n'
	printf '%-22s %-22s %9s %9s\n' program packet ns/pkt x_noop
	printf '%-22s %-22s %9s %9s\n' tc_noop - "$tcnoop" 1.00
	ns=$(measure "$ctdir/bg_ct_ingress" "$work/in.pkt")
	printf '%-22s %-22s %9s %9s\n' tc_conntrack "established flow" "$ns" "$(ratio "$ns" "$tcnoop")"
	ns=$(measure "$BG_BPFFS/bench/newflow/bg_ct_ingress" "$work/syn.pkt")
	printf '%-22s %-22s %9s %9s\n' tc_conntrack "new flow (SYN)" "$ns" "$(ratio "$ns" "$tcnoop")"
	echo "pass from any" >"$work/ct.rules"
	bg_apply_ruleset "$work/ct.rules"
	ns=$(measure "$fw" "$work/in.pkt")
	printf '%-22s %-22s %9s %9s\n' xdp_firewall "established (phase 0)" "$ns" "$(ratio "$ns" "$noop")"
} | tee -a "$out"

bench_scrub

bench_ratelimit

bench_loadbalancer

bench_capacity

# The sweep's worst tick: both tables full and every entry expired, so a
# tick looks at all its ring slots and deletes all it may; timed in the
# kernel (one BPF_PROG_TEST_RUN of tc/sweep).
mkpkt 2001:db8::1 2001:db8:1::1 "$work/syn6.pkt" tcp S 40000 80
read -r flows tick < <(python3 "$BG_ROOT/bench/sweeptick.py" "$BG_BPFFS" \
	"$BG_BPFFS/bench/newflow" "$ctdir" "$work/syn.pkt" "$work/syn6.pkt")
{
	printf '\n# conntrack sweep: the worst timer tick\n'
	printf '%-34s %12s\n' "flows per family" "$flows"
	printf '%-34s %12s\n' "worst tick (us)" "$(awk -v n="$tick" 'BEGIN { printf "%.0f", n / 1000 }')"
} | tee -a "$out"

# Throughput with GRO and TSO: iperf3 through a veth pair between two
# namespaces, the receiving side running tc_conntrack on TC ingress and
# egress, against the same with a TC no-op on both hooks (the ratio is
# what conntrack costs on real super-packets). This machine's throughput
# varies by tens of percent from run to run: three rounds, each measuring
# the no-op and conntrack one after the other, 3 s per run, best of each.
lab=bgbench-$$
iperf_lab_down()
{
	ip netns del "$lab-a" 2>/dev/null || true
	ip netns del "$lab-b" 2>/dev/null || true
}
iperf_rate()
{
	nsenter --net="/run/netns/$lab-b" iperf3 -s -1 -p 5201 -D
	sleep 0.3
	nsenter --net="/run/netns/$lab-a" iperf3 -c 192.0.2.2 -p 5201 -t 3 "$@" \
		-J | jq '.end.sum_received.bits_per_second / 1e9'
}
best()
{
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > a) ? b : a }'
}
# iperf_attach INGRESS_PIN EGRESS_PIN
iperf_attach()
{
	nsenter --net="/run/netns/$lab-b" tc filter replace dev b0 ingress \
		pref 10 handle 1 bpf da object-pinned "$1"
	nsenter --net="/run/netns/$lab-b" tc filter replace dev b0 egress \
		pref 10 handle 1 bpf da object-pinned "$2"
}
command -v iperf3 >/dev/null ||
	bg_die "iperf3 is missing (make deps installs it): no throughput row"
trap 'iperf_lab_down; cleanup_sc; cleanup_lb; cleanup' EXIT
ip netns add "$lab-a"
ip netns add "$lab-b"
ip -n "$lab-a" link add a0 type veth peer name b0 netns "$lab-b"
ip -n "$lab-a" addr add 192.0.2.1/24 dev a0
ip -n "$lab-b" addr add 192.0.2.2/24 dev b0
for ns in a b; do
	ip -n "$lab-$ns" link set lo up
	ip -n "$lab-$ns" link set "${ns}0" up
	nsenter --net="/run/netns/$lab-$ns" ethtool -K "${ns}0" gro on \
		tso on gso on >/dev/null ||
		bg_die "ethtool could not turn GRO/TSO on for ${ns}0: the row would not measure super-packets"
done
nsenter --net="/run/netns/$lab-b" tc qdisc add dev b0 clsact
noop_in=0 noop_out=0 ct_in=0 ct_out=0
for _ in 1 2 3; do
	iperf_attach "$BG_BPFFS/bench/tc_noop" "$BG_BPFFS/bench/tc_noop"
	noop_in=$(best "$noop_in" "$(iperf_rate)")
	noop_out=$(best "$noop_out" "$(iperf_rate -R)")
	iperf_attach "$ctdir/bg_ct_ingress" "$ctdir/bg_ct_egress"
	ct_in=$(best "$ct_in" "$(iperf_rate)")
	ct_out=$(best "$ct_out" "$(iperf_rate -R)")
done
iperf_lab_down
{
	printf '\n# iperf3 over veth with GRO/TSO, Gbit/s (best of 3 x 3 s)\n'
	printf '%-34s %8s %8s %8s\n' direction tc_noop conntrack ratio
	printf '%-34s %8s %8s %8s\n' "into the conntrack side (GRO)" \
		"$noop_in" "$ct_in" "$(ratio "$ct_in" "$noop_in")"
	printf '%-34s %8s %8s %8s\n' "out of it (TSO)" \
		"$noop_out" "$ct_out" "$(ratio "$ct_out" "$noop_out")"
	awk -v a="$(ratio "$ct_in" "$noop_in")" -v b="$(ratio "$ct_out" "$noop_out")" \
		'BEGIN { printf "goal: ratio >= 0.90 both ways: %s\n",
			(a + 0 >= 0.9 && b + 0 >= 0.9) ? "met" : "NOT MET" }'
} | tee -a "$out"
