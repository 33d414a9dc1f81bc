// SPDX-License-Identifier: GPL-2.0
/*
 * bg-events: print the firewall's "log" records (ring buffer bg_fw_log) as
 * JSON lines. bpftool cannot consume a BPF ring buffer, hence this helper.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bg_abi.h"

static volatile sig_atomic_t stop;
static long max_events = -1;
static long seen;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bg-events [--bpffs DIR] [--count N] [--timeout SEC]\n"
		"\n"
		"Print one JSON object per packet that hit a \"log\" rule, read\n"
		"from DIR/tc/globals/bg_fw_log (DIR: $FW_BPFFS or /sys/fs/bpf):\n"
		"  {\"ts_ns\", \"rule\", \"action\", \"ifindex\", \"iface\",\n"
		"   \"proto\", \"src\", \"dst\", \"sport\", \"dport\", \"len\"}\n"
		"\n"
		"  --count N      exit after N records\n"
		"  --timeout SEC  exit after SEC seconds (status 0)\n"
		"  -h, --help     this text\n");
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int on_event(void *ctx, void *data, size_t len)
{
	const struct bg_fw_log_event *e = data;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	char ifname[IF_NAMESIZE] = "";
	int af = e->family == BG_FAM_INET6 ? AF_INET6 : AF_INET;

	(void)ctx;
	if (len < sizeof(*e))
		return 0;
	inet_ntop(af, e->saddr, src, sizeof(src));
	inet_ntop(af, e->daddr, dst, sizeof(dst));
	if (!if_indextoname(e->ifindex, ifname))
		ifname[0] = '\0';
	/* Interface names may hold '"' or '\\': keep the JSON valid. */
	for (char *c = ifname; *c; c++)
		if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20)
			*c = '_';
	printf("{\"ts_ns\":%llu,\"rule\":%u,\"action\":\"%s\",\"ifindex\":%u,"
	       "\"iface\":\"%s\",\"proto\":%u,\"src\":\"%s\",\"dst\":\"%s\","
	       "\"sport\":%u,\"dport\":%u,\"len\":%u}\n",
	       (unsigned long long)e->ts_ns, e->rule_id,
	       e->action == BG_ACT_BLOCK ? "block" : "pass", e->ifindex, ifname,
	       e->l4_proto, src, dst, ntohs(e->sport), ntohs(e->dport),
	       e->pkt_len);
	fflush(stdout);
	seen++;
	if (max_events >= 0 && seen >= max_events) {
		stop = 1;
		/* Ends this poll's batch: the records after it stay queued. */
		return -ECANCELED;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bpffs", required_argument, NULL, 'b' },
		{ "count", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *bpffs = getenv("FW_BPFFS");
	struct ring_buffer *rb;
	double timeout = -1;
	struct timespec t0, now;
	char path[4096];
	int c, fd, err = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			bpffs = optarg;
			break;
		case 'c': {
			char *end;

			max_events = strtol(optarg, &end, 10);
			if (*end || max_events < 1) {
				fprintf(stderr, "bg-events: --count needs a "
						"number >= 1\n");
				return 2;
			}
			break;
		}
		case 't': {
			char *end;

			timeout = strtod(optarg, &end);
			if (*end || timeout < 0) {
				fprintf(stderr, "bg-events: --timeout needs "
						"seconds >= 0\n");
				return 2;
			}
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "bg-events: unexpected argument %s\n",
			argv[optind]);
		return 2;
	}
	if (!bpffs || !*bpffs)
		bpffs = "/sys/fs/bpf";
	if (snprintf(path, sizeof(path), "%s/tc/globals/bg_fw_log", bpffs) >=
	    (int)sizeof(path)) {
		fprintf(stderr, "bg-events: path too long\n");
		return 2;
	}
	fd = bpf_obj_get(path);
	if (fd < 0) {
		fprintf(stderr,
			"bg-events: cannot open %s: %s (is bpfguard up?)\n",
			path, strerror(errno));
		return 1;
	}
	rb = ring_buffer__new(fd, on_event, NULL, NULL);
	if (!rb) {
		fprintf(stderr, "bg-events: cannot map %s: %s\n", path,
			strerror(errno));
		close(fd);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop) {
		err = ring_buffer__poll(rb, 100);
		if (err == -ECANCELED || err == -EINTR) {
			err = 0;
			continue;
		}
		if (err < 0) {
			fprintf(stderr, "bg-events: poll: %s\n",
				strerror(-err));
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (timeout >= 0 &&
		    (now.tv_sec - t0.tv_sec) +
				    (now.tv_nsec - t0.tv_nsec) / 1e9 >=
			    timeout)
			break;
	}
	ring_buffer__free(rb);
	close(fd);
	return err < 0 ? 1 : 0;
}
