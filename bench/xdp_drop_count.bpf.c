// SPDX-License-Identifier: GPL-2.0
/*
 * Floor for bench/flood.sh: drop every frame in native XDP and count it
 * in a per-CPU array (summed with bpftool), the least any XDP filter that
 * drops a flood must do.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bench_flood_drops SEC(".maps");

SEC("xdp")
int xdp_drop_count(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *n = bpf_map_lookup_elem(&bench_flood_drops, &key);

	if (n)
		*n += 1;
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
