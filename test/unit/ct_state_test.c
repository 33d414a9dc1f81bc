// SPDX-License-Identifier: GPL-2.0
/*
 * headers/bg_ct_state.h in userspace: the TCP state machine, its window
 * and RST checks, and expiry, driven with a fake clock the way
 * tc_conntrack drives them (an expired entry is absent; a step works on a
 * copy that is committed only when the packet is not INVALID, with the
 * clock's time as last seen).
 *
 * Usage: ct_state_test. Prints one line per failed check and a summary
 * line; exits 1 when a check failed.
 */
#include "bg_ct_state.h"

#include <stdio.h>
#include <string.h>

static unsigned int checks, failures;
static __u64 now = 1000 * BG_CT_NS; /* the fake clock */

#define CHECK(cond, ...)                                       \
	do {                                                   \
		checks++;                                      \
		if (!(cond)) {                                 \
			failures++;                            \
			printf("%s:%d: ", __func__, __LINE__); \
			printf(__VA_ARGS__);                   \
			printf("\n");                          \
		}                                              \
	} while (0)

#define EXPIRED (-1)
#define C 0 /* key side of the client (the initiator) */
#define S 1 /* key side of the server */

static struct bg_ct_seg seg(__u8 flags, __u32 seq, __u32 ack, __u32 len,
			    __u32 win, __u8 wscale)
{
	struct bg_ct_seg s = {
		.seq = seq,
		.ack = ack,
		.win = win,
		.flags = flags,
		.wscale = wscale,
		.doff = 5,
	};

	s.end = seq + len + !!(flags & BG_TCP_SYN) + !!(flags & BG_TCP_FIN);
	return s;
}

/* A flow opened by the client's SYN, as tc_conntrack creates it. */
static void open_flow(struct bg_ct_entry *e, const struct bg_ct_seg *syn)
{
	memset(e, 0, sizeof(*e));
	e->proto = IPPROTO_TCP;
	e->state = BG_CTS_SYN_SENT;
	e->td_wscale[0] = e->td_wscale[1] = BG_CT_WS_NONE;
	e->first_ns = e->last_ns = now;
	bg_ct_td_init(e, C, syn);
}

static const __u32 *timeouts; /* NULL: the built-in defaults */

/* One segment from side snd: its class, or EXPIRED when the entry had
 * timed out (the caller then treats the packet as a flow's first). */
static int step(struct bg_ct_entry *e, __u32 snd, struct bg_ct_seg s,
		int egress, int *ignored)
{
	struct bg_ct_entry copy;
	int ignore = 0, cls;

	if (bg_ct_expired(timeouts, e, now))
		return EXPIRED;
	memcpy(&copy, e, sizeof(copy));
	cls = bg_ct_tcp_step(&copy, snd, &s, egress, &ignore);
	if (ignored)
		*ignored = ignore;
	if (cls == BG_CT_INVALID || ignore)
		return cls;
	copy.last_ns = now;
	memcpy(e, &copy, sizeof(*e));
	return cls;
}

static const char *sname(__u8 st)
{
	static const char *n[] = { "NONE",	  "SYN_SENT",  "SYN_RECV",
				   "ESTABLISHED", "FIN_WAIT",  "CLOSE_WAIT",
				   "LAST_ACK",	  "TIME_WAIT", "CLOSE",
				   "NEW" };
	return st < BG_CTS_MAX ? n[st] : "?";
}

/* Client ISN 1000, server ISN 5000, both scaling by 2^7, windows 512. */
static void handshake(struct bg_ct_entry *e)
{
	struct bg_ct_seg syn = seg(BG_TCP_SYN, 1000, 0, 0, 65535, 7);

	open_flow(e, &syn);
	step(e, S, seg(BG_TCP_SYN | BG_TCP_ACK, 5000, 1001, 0, 65535, 7), 0,
	     NULL);
	step(e, C, seg(BG_TCP_ACK, 1001, 5001, 0, 512, 0), 0, NULL);
}

static void test_handshake(void)
{
	struct bg_ct_seg syn = seg(BG_TCP_SYN, 1000, 0, 0, 65535, 7);
	struct bg_ct_entry e;
	int cls;

	open_flow(&e, &syn);
	/* The SYN again while unanswered: a retransmission, still NEW. */
	cls = step(&e, C, syn, 0, NULL);
	CHECK(cls == BG_CT_NEW && e.state == BG_CTS_SYN_SENT,
	      "SYN again: class %d state %s", cls, sname(e.state));
	/* A SYN+ACK that does not acknowledge the SYN. */
	cls = step(&e, S, seg(BG_TCP_SYN | BG_TCP_ACK, 5000, 777, 0, 65535, 7),
		   0, NULL);
	CHECK(cls == BG_CT_INVALID && e.state == BG_CTS_SYN_SENT,
	      "SYN+ACK with a wrong ack: class %d state %s", cls,
	      sname(e.state));
	cls = step(&e, S, seg(BG_TCP_SYN | BG_TCP_ACK, 5000, 1001, 0, 65535, 7),
		   0, NULL);
	CHECK(cls == BG_CT_ESTABLISHED && e.state == BG_CTS_SYN_RECV,
	      "SYN+ACK: class %d state %s", cls, sname(e.state));
	/* The responder's own ACK does not establish (Linux waits for the
	 * initiator's). */
	cls = step(&e, S, seg(BG_TCP_ACK, 5001, 1001, 0, 512, 0), 0, NULL);
	CHECK(e.state == BG_CTS_SYN_RECV, "responder's ACK: state %s",
	      sname(e.state));
	cls = step(&e, C, seg(BG_TCP_ACK, 1001, 5001, 0, 512, 0), 0, NULL);
	CHECK(cls == BG_CT_ESTABLISHED && e.state == BG_CTS_ESTABLISHED &&
		      (e.flags & BG_CTF_ASSURED),
	      "initiator's ACK: class %d state %s flags %#x", cls,
	      sname(e.state), e.flags);
	CHECK(e.td_wscale[0] == 7 && e.td_wscale[1] == 7, "scales %u/%u",
	      e.td_wscale[0], e.td_wscale[1]);
}

static void test_window(void)
{
	struct bg_ct_entry e, before;
	int cls;

	handshake(&e);
	/* Data inside the window (512 << 7 = 64 KiB). */
	cls = step(&e, C, seg(BG_TCP_ACK, 1001, 5001, 1400, 512, 0), 0, NULL);
	CHECK(cls == BG_CT_ESTABLISHED, "data in the window: class %d", cls);
	memcpy(&before, &e, sizeof(e));
	/* Far beyond what the server allowed: INVALID, nothing moves. */
	cls = step(&e, C, seg(BG_TCP_ACK, 1001 + 10000000, 5001, 100, 512, 0),
		   0, NULL);
	CHECK(cls == BG_CT_INVALID && !memcmp(&e, &before, sizeof(e)),
	      "data beyond the window: class %d", cls);
	/* Acknowledging data the client never sent. */
	cls = step(&e, S,
		   seg(BG_TCP_ACK, 5001, 1001 + 1400 + 100000, 0, 512, 0), 0,
		   NULL);
	CHECK(cls == BG_CT_INVALID, "ACK of unsent data: class %d", cls);
	/* Old data (a retransmission) one window back is fine. */
	cls = step(&e, C, seg(BG_TCP_ACK, 1001, 5001, 1400, 512, 0), 0, NULL);
	CHECK(cls == BG_CT_ESTABLISHED, "retransmission: class %d", cls);
}

static void test_rst(void)
{
	struct bg_ct_entry e;
	int cls, ignored;
	__u32 i, seq;

	handshake(&e);
	step(&e, C, seg(BG_TCP_ACK, 1001, 5001, 1400, 512, 0), 0, NULL);
	step(&e, S, seg(BG_TCP_ACK, 5001, 2401, 0, 512, 0), 0, NULL);
	/* Blind RSTs from outside: in the window but not at the exact
	 * sequence the server acknowledged (2401) change nothing. */
	for (i = 0, seq = 2402; i < 1000; i++, seq += 61) {
		cls = step(&e, C, seg(BG_TCP_RST, seq, 0, 0, 0, 0), 0,
			   &ignored);
		if (cls == BG_CT_INVALID)
			continue;
		CHECK(ignored && e.state == BG_CTS_ESTABLISHED,
		      "RST at %u: class %d ignored %d state %s", seq, cls,
		      ignored, sname(e.state));
	}
	/* The exact one closes. */
	cls = step(&e, C, seg(BG_TCP_RST, 2401, 0, 0, 0, 0), 0, &ignored);
	CHECK(!ignored && e.state == BG_CTS_CLOSE,
	      "exact RST: class %d ignored %d state %s", cls, ignored,
	      sname(e.state));

	/* One the host itself sends (egress) is believed. */
	handshake(&e);
	cls = step(&e, S, seg(BG_TCP_RST, 5001 + 3000, 0, 0, 0, 0), 1,
		   &ignored);
	CHECK(!ignored && e.state == BG_CTS_CLOSE, "egress RST: state %s",
	      sname(e.state));
}

static void test_rst_syn_sent(void)
{
	struct bg_ct_seg syn = seg(BG_TCP_SYN, 1000, 0, 0, 65535, 7);
	struct bg_ct_entry e;
	int cls;

	open_flow(&e, &syn);
	/* A refusal must acknowledge the SYN. */
	cls = step(&e, S, seg(BG_TCP_RST, 0, 0, 0, 0, 0), 0, NULL);
	CHECK(cls == BG_CT_INVALID && e.state == BG_CTS_SYN_SENT,
	      "bare RST: class %d state %s", cls, sname(e.state));
	cls = step(&e, S, seg(BG_TCP_RST | BG_TCP_ACK, 0, 4242, 0, 0, 0), 0,
		   NULL);
	CHECK(cls == BG_CT_INVALID && e.state == BG_CTS_SYN_SENT,
	      "RST+ACK of another number: class %d", cls);
	cls = step(&e, S, seg(BG_TCP_RST | BG_TCP_ACK, 0, 1001, 0, 0, 0), 0,
		   NULL);
	CHECK(cls != BG_CT_INVALID && e.state == BG_CTS_CLOSE,
	      "RST+ACK of the SYN: class %d state %s", cls, sname(e.state));
}

static void test_close(void)
{
	struct bg_ct_entry e;

	handshake(&e);
	step(&e, C, seg(BG_TCP_FIN | BG_TCP_ACK, 1001, 5001, 0, 512, 0), 0,
	     NULL);
	CHECK(e.state == BG_CTS_FIN_WAIT, "client FIN: %s", sname(e.state));
	step(&e, S, seg(BG_TCP_ACK, 5001, 1002, 0, 512, 0), 0, NULL);
	CHECK(e.state == BG_CTS_CLOSE_WAIT, "server ACK: %s", sname(e.state));
	step(&e, S, seg(BG_TCP_FIN | BG_TCP_ACK, 5001, 1002, 0, 512, 0), 0,
	     NULL);
	CHECK(e.state == BG_CTS_LAST_ACK, "server FIN: %s", sname(e.state));
	step(&e, C, seg(BG_TCP_ACK, 1002, 5002, 0, 512, 0), 0, NULL);
	CHECK(e.state == BG_CTS_TIME_WAIT, "last ACK: %s", sname(e.state));
	/* A FIN without ACK, SYN+FIN: never valid. */
	handshake(&e);
	CHECK(step(&e, C, seg(BG_TCP_FIN, 1001, 0, 0, 512, 0), 0, NULL) ==
		      BG_CT_INVALID,
	      "bare FIN");
	CHECK(step(&e, C, seg(BG_TCP_SYN | BG_TCP_FIN, 1001, 0, 0, 512, 0), 0,
		   NULL) == BG_CT_INVALID,
	      "SYN+FIN");
}

static void test_expiry(void)
{
	static const __u32 short_established[BG_CTT_MAX] = {
		[BG_CTT_TCP_ESTABLISHED] = 10,
	};
	struct bg_ct_entry e;
	int cls;

	/* TIME_WAIT lasts 120 s by default: at 119 s the flow is there. */
	handshake(&e);
	step(&e, C, seg(BG_TCP_FIN | BG_TCP_ACK, 1001, 5001, 0, 512, 0), 0,
	     NULL);
	step(&e, S, seg(BG_TCP_FIN | BG_TCP_ACK, 5001, 1002, 0, 512, 0), 0,
	     NULL);
	step(&e, C, seg(BG_TCP_ACK, 1002, 5002, 0, 512, 0), 0, NULL);
	CHECK(e.state == BG_CTS_TIME_WAIT, "state %s", sname(e.state));
	now += 119 * BG_CT_NS;
	cls = step(&e, S, seg(BG_TCP_ACK, 5002, 1002, 0, 512, 0), 0, NULL);
	CHECK(cls == BG_CT_ESTABLISHED, "at 119 s: class %d", cls);
	/* That packet was seen: 120 s from it, not from the FIN. */
	now += 120 * BG_CT_NS;
	CHECK(!bg_ct_expired(timeouts, &e, now), "expired at 120 s");
	now += 1 * BG_CT_NS;
	cls = step(&e, S, seg(BG_TCP_ACK, 5002, 1002, 0, 512, 0), 0, NULL);
	CHECK(cls == EXPIRED, "at 121 s: class %d, not absent", cls);

	/* A setting shortens a state's timeout (bg_ct_config.timeout). */
	timeouts = short_established;
	handshake(&e);
	now += 10 * BG_CT_NS;
	CHECK(!bg_ct_expired(timeouts, &e, now), "expired at 10 s");
	now += 1;
	CHECK(bg_ct_expired(timeouts, &e, now), "alive after 10 s");
	/* SYN_SENT keeps its default (120 s) when only another is set. */
	CHECK(bg_ct_timeout_ns(timeouts, IPPROTO_TCP, BG_CTS_SYN_SENT, 0) ==
		      120 * BG_CT_NS,
	      "SYN_SENT timeout");
	timeouts = NULL;
	/* UDP: 30 s unreplied, 120 s once replied. */
	CHECK(bg_ct_timeout_ns(NULL, IPPROTO_UDP, BG_CTS_NEW, 0) ==
		      30 * BG_CT_NS,
	      "UDP unreplied");
	CHECK(bg_ct_timeout_ns(NULL, IPPROTO_UDP, BG_CTS_ESTABLISHED,
			       BG_CTF_SEEN_REPLY) == 120 * BG_CT_NS,
	      "UDP replied");
}

int main(void)
{
	test_handshake();
	test_window();
	test_rst();
	test_rst_syn_sent();
	test_close();
	test_expiry();
	if (failures) {
		printf("ct_state_test: %u of %u checks failed\n", failures,
		       checks);
		return 1;
	}
	printf("ct_state_test: all %u checks passed\n", checks);
	return 0;
}
