// SPDX-License-Identifier: GPL-2.0
/*
 * bg-events: print the firewall's "log" records (ring buffer bg_fw_log) as
 * JSON lines. bpftool cannot consume a BPF ring buffer, hence this helper.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "bg_abi.h"
#include "bg_addr.h"
#include "bg_json.h"
#include "bg_msg.h"
#include "bg_opt.h"
#include "bg_pin.h"
#include "bg_ringbuf.h"

static const char usage_text[] =
	"Usage: bg-events [--bpffs DIR] [--count N] [--timeout SEC]\n"
	"\n"
	"Print one JSON object per packet that hit a \"log\" rule or went over\n"
	"the rate of an \"action log\" ratelimit policy, read from\n"
	"DIR/tc/globals/bg_fw_log (DIR: $FW_BPFFS or /sys/fs/bpf):\n"
	"  {\"ts_ns\", \"origin\" (firewall|ratelimit), \"rule\" (the rule or\n"
	"   policy id), \"action\", \"ifindex\", \"iface\",\n"
	"   \"proto\", \"src\", \"dst\", \"sport\", \"dport\", \"len\"}\n"
	"\n"
	"  --count N      exit after N records\n"
	"  --timeout SEC  exit after SEC seconds (status 0)\n"
	"  -h, --help     this text\n";

struct reader {
	long max_events; /* -1: no limit */
	long seen;
};

static int on_event(void *ctx, const void *data, size_t len)
{
	const struct bg_fw_log_event *e = data;
	char src[BG_ADDR_STRLEN], dst[BG_ADDR_STRLEN];
	char ifname[IF_NAMESIZE] = "";
	char iface[BG_JSON_QUOTED_SIZE(IF_NAMESIZE)];
	struct reader *r = ctx;

	if (len < sizeof(*e))
		return 0;
	bg_addr_format(e->saddr, e->family, src, sizeof(src));
	bg_addr_format(e->daddr, e->family, dst, sizeof(dst));
	if (!if_indextoname(e->ifindex, ifname))
		ifname[0] = '\0';
	/* Interface names may hold '"', '\\', control bytes, non-ASCII. */
	bg_json_quote(iface, sizeof(iface), ifname, strlen(ifname));
	printf("{\"ts_ns\":%llu,\"origin\":\"%s\",\"rule\":%u,\"action\":\"%s\",\"ifindex\":%u,"
	       "\"iface\":%s,\"proto\":%u,\"src\":\"%s\",\"dst\":\"%s\","
	       "\"sport\":%u,\"dport\":%u,\"len\":%u}\n",
	       (unsigned long long)e->ts_ns,
	       e->origin == BG_LOG_RATELIMIT ? "ratelimit" : "firewall",
	       e->rule_id, e->action == BG_ACT_BLOCK ? "block" : "pass",
	       e->ifindex, iface, e->l4_proto, src, dst, ntohs(e->sport),
	       ntohs(e->dport), e->pkt_len);
	fflush(stdout);
	r->seen++;
	if (r->max_events >= 0 && r->seen >= r->max_events)
		return BG_RINGBUF_STOP;
	return 0;
}

int main(int argc, char **argv)
{
	struct reader r = { .max_events = -1 };
	const char *bpffs = NULL;
	double timeout = -1;
	const struct bg_opt opts[] = {
		{ "bpffs", 0, BG_OPT_STRING, &bpffs, 0, NULL },
		{ "count", 0, BG_OPT_LONG, &r.max_events, 1,
		  "needs a number >= 1" },
		{ "timeout", 0, BG_OPT_DOUBLE, &timeout, 0,
		  "needs seconds >= 0" },
		{ NULL, 0, 0, NULL, 0, NULL },
	};
	const struct bg_cli cli = { "bg-events", usage_text, opts };
	struct bg_ringbuf *rb;
	char path[4096];
	int i, err;

	i = bg_opt_parse(&cli, argc, argv);
	if (i != argc)
		bg_die(BG_EXIT_USAGE, "unexpected argument %s", argv[i]);
	if (bg_pin_path(path, sizeof(path), bpffs, "bg_fw_log"))
		bg_die(BG_EXIT_USAGE, "path too long");
	rb = bg_ringbuf_open(path, on_event, &r);
	if (!rb)
		return BG_EXIT_ERR;
	err = bg_ringbuf_run(rb, timeout);
	bg_ringbuf_close(rb);
	return err < 0 ? BG_EXIT_ERR : BG_EXIT_OK;
}
