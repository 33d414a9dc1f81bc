// SPDX-License-Identifier: GPL-2.0
/*
 * bg-purge: delete one generation of the ruleset from the pinned maps whose
 * keys carry the generation (scripts/lib/core/ruleset.sh, bg_purge_gen).
 *
 * Why not bpftool: "bpftool -j map dump" formats every value through BTF
 * (bg_fw_rtext holds 520 bytes of text per rule), and finding the keys of
 * one generation in that JSON took most of a ruleset switch: about a second
 * for 4096 rules, twice per switch. Here the kernel's own iteration
 * (BPF_MAP_GET_NEXT_KEY) reads the keys alone, and every entry of the
 * generation is deleted whoever wrote it: nothing relies on a list of what
 * was loaded.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bg_mem.h"
#include "bg_msg.h"
#include "bg_opt.h"

static const char usage_text[] =
	"Usage: bg-purge [-v] GEN OFFSET:MAP...\n"
	"\n"
	"Delete from each pinned map MAP (its path in a bpffs) every entry\n"
	"whose key holds GEN, a 32-bit number in host byte order, at byte\n"
	"OFFSET of the key. The keys are read with the kernel's iteration\n"
	"(no values), the matching ones deleted, then the map is read again:\n"
	"the exit status is 0 only when no entry of GEN is left in any MAP.\n"
	"Array maps are refused (their entries cannot be deleted).\n"
	"\n"
	"  -v            print the number of entries deleted per map\n"
	"  -h, --help    this text\n";

/* A pass that finds entries deletes them; the next must find none. */
#define MAX_PASSES 3

struct target {
	const char *path;
	unsigned long offset;
	int fd;
	struct bpf_map_info info;
};

static int is_array(__u32 type)
{
	switch (type) {
	case BPF_MAP_TYPE_ARRAY:
	case BPF_MAP_TYPE_PERCPU_ARRAY:
	case BPF_MAP_TYPE_PROG_ARRAY:
	case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
	case BPF_MAP_TYPE_CGROUP_ARRAY:
	case BPF_MAP_TYPE_ARRAY_OF_MAPS:
	case BPF_MAP_TYPE_DEVMAP:
	case BPF_MAP_TYPE_CPUMAP:
	case BPF_MAP_TYPE_XSKMAP:
		return 1;
	default:
		return 0;
	}
}

static unsigned long parse_num(const char *s, const char *end,
			       unsigned long max, const char *what)
{
	unsigned long v = 0;
	const char *p;

	if (s == end)
		bg_die(BG_EXIT_USAGE, "%s missing (see --help)", what);
	for (p = s; p < end; p++) {
		if (*p < '0' || *p > '9' || v > (max - (*p - '0')) / 10)
			bg_die(BG_EXIT_USAGE, "bad %s \"%.*s\" (see --help)",
			       what, (int)(end - s), s);
		v = v * 10 + (unsigned long)(*p - '0');
	}
	return v;
}

static void open_target(struct target *t, const char *arg)
{
	const char *colon = strchr(arg, ':');
	__u32 len = sizeof(t->info);

	if (!colon || !colon[1])
		bg_die(BG_EXIT_USAGE, "\"%s\" is not OFFSET:MAP (see --help)",
		       arg);
	t->offset = parse_num(arg, colon, 4096, "OFFSET");
	t->path = colon + 1;
	t->fd = bpf_obj_get(t->path);
	if (t->fd < 0)
		bg_die(BG_EXIT_ERR, "cannot open %s: %s", t->path,
		       strerror(errno));
	memset(&t->info, 0, sizeof(t->info));
	if (bpf_obj_get_info_by_fd(t->fd, &t->info, &len))
		bg_die(BG_EXIT_ERR, "%s: not a map: %s", t->path,
		       strerror(errno));
	if (is_array(t->info.type))
		bg_die(BG_EXIT_ERR, "%s: an array has no entries to delete",
		       t->path);
	if (t->offset + sizeof(__u32) > t->info.key_size)
		bg_die(BG_EXIT_ERR,
		       "%s: its keys have %u bytes, no generation at byte %lu",
		       t->path, t->info.key_size, t->offset);
}

/*
 * The keys of generation @gen in the map, one after the other in @keys;
 * returns how many. The kernel's iteration visits each entry once while
 * nobody deletes; a bound on the steps keeps a map that changes all the
 * time from holding us forever.
 */
static size_t collect(const struct target *t, __u32 gen, unsigned char **keys,
		      size_t *cap)
{
	size_t ks = t->info.key_size, n = 0, steps = 0;
	size_t max_steps = 4 * (size_t)t->info.max_entries + 64;
	unsigned char *buf = xcalloc(2, ks), *cur = buf, *next = buf + ks, *tmp;
	int first = 1;
	__u32 g;

	for (;;) {
		if (bpf_map_get_next_key(t->fd, first ? NULL : cur, next)) {
			if (errno == ENOENT)
				break;
			bg_die(BG_EXIT_ERR, "reading the keys of %s: %s",
			       t->path, strerror(errno));
		}
		if (++steps > max_steps)
			bg_die(BG_EXIT_ERR,
			       "%s changes faster than it can be read",
			       t->path);
		first = 0;
		memcpy(&g, next + t->offset, sizeof(g));
		if (g == gen) {
			*keys = bg_grow(*keys, cap, n, ks);
			memcpy(*keys + n * ks, next, ks);
			n++;
		}
		tmp = cur;
		cur = next;
		next = tmp;
	}
	free(buf);
	return n;
}

/* Returns the entries deleted; dies when some of @gen stay. */
static size_t purge(const struct target *t, __u32 gen)
{
	size_t ks = t->info.key_size, cap = 0, total = 0, n, i;
	unsigned char *keys = NULL;
	int pass;

	for (pass = 0; pass < MAX_PASSES; pass++) {
		n = collect(t, gen, &keys, &cap);
		if (!n) {
			free(keys);
			return total;
		}
		for (i = 0; i < n; i++) {
			if (bpf_map_delete_elem(t->fd, keys + i * ks) &&
			    errno != ENOENT)
				bg_die(BG_EXIT_ERR, "deleting from %s: %s",
				       t->path, strerror(errno));
		}
		total += n;
	}
	bg_die(BG_EXIT_ERR, "%s: %zu entries of generation %u are still there",
	       t->path, n, gen);
}

int main(int argc, char **argv)
{
	int verbose = 0;
	const struct bg_opt opts[] = {
		{ NULL, 'v', BG_OPT_FLAG, &verbose, 0, NULL },
		{ NULL, 0, 0, NULL, 0, NULL },
	};
	const struct bg_cli cli = { "bg-purge", usage_text, opts };
	struct target *t;
	__u32 gen;
	int i, n;

	i = bg_opt_parse(&cli, argc, argv);
	if (argc - i < 2)
		bg_die(BG_EXIT_USAGE, "need GEN and at least one OFFSET:MAP");
	gen = (__u32)parse_num(argv[i], argv[i] + strlen(argv[i]), 0xffffffff,
			       "GEN");
	n = argc - i - 1;
	t = xcalloc((size_t)n, sizeof(*t));
	/* Every argument checked before anything is deleted. */
	for (i = 0; i < n; i++)
		open_target(&t[i], argv[argc - n + i]);
	for (i = 0; i < n; i++) {
		size_t done = purge(&t[i], gen);

		if (verbose)
			printf("%s %zu\n", t[i].path, done);
		close(t[i].fd);
	}
	free(t);
	return BG_EXIT_OK;
}
