/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The state of one flow, and how a packet moves it: timeouts and expiry,
 * and the TCP state machine with its window checks (after Linux's
 * nf_conntrack_proto_tcp). Pure functions of an entry, a segment and a
 * time: no maps, no helpers, no packet, so the same code runs in
 * tc_conntrack, in xdp_firewall's phase 0 (read-only), and in the
 * userspace unit test test/unit/ct_state_test.c, with a fake clock.
 */
#ifndef BG_CT_STATE_H
#define BG_CT_STATE_H

#include <linux/types.h>
#include <linux/in.h>
#include "bg_ct_abi.h"
#include "bg_compiler.h"

/* td_wscale value meaning "this side's SYN had no window scale option". */
#define BG_CT_WS_NONE 0xff
/* The largest scale (RFC 7323): assumed for flows picked up mid-stream,
 * whose SYNs (and real scales) were never seen. */
#define BG_CT_WS_MAX 14

#define BG_CT_NS 1000000000ULL

static __always_inline __u32 bg_ct_default_timeout(__u32 idx)
{
	switch (idx) {
	case BG_CTT_TCP_SYN_SENT:
		return 120;
	case BG_CTT_TCP_SYN_RECV:
		return 60;
	case BG_CTT_TCP_ESTABLISHED:
		return 432000;
	case BG_CTT_TCP_FIN_WAIT:
		return 120;
	case BG_CTT_TCP_CLOSE_WAIT:
		return 60;
	case BG_CTT_TCP_LAST_ACK:
		return 30;
	case BG_CTT_TCP_TIME_WAIT:
		return 120;
	case BG_CTT_TCP_CLOSE:
		return 10;
	case BG_CTT_UDP_UNREPLIED:
		return 30;
	case BG_CTT_UDP_REPLIED:
		return 120;
	case BG_CTT_OVERLOAD:
		return 3600;
	default:
		return 30; /* BG_CTT_ICMP */
	}
}

/* Which timeout applies to an entry (enum bg_ct_timeout). */
static __always_inline __u32 bg_ct_timeout_idx(__u8 proto, __u8 state,
					       __u8 flags)
{
	if (proto == IPPROTO_TCP) {
		if (state >= BG_CTS_SYN_SENT && state <= BG_CTS_CLOSE)
			return state - BG_CTS_SYN_SENT;
		return BG_CTT_TCP_CLOSE;
	}
	if (proto == IPPROTO_UDP)
		return (flags & BG_CTF_SEEN_REPLY) ? BG_CTT_UDP_REPLIED :
						     BG_CTT_UDP_UNREPLIED;
	return BG_CTT_ICMP;
}

/* Timeout in ns; timeouts: bg_ct_config.timeout (may be NULL). */
static __always_inline __u64 bg_ct_timeout_ns(const __u32 *timeouts, __u8 proto,
					      __u8 state, __u8 flags)
{
	__u32 idx = bg_ct_timeout_idx(proto, state, flags);
	__u32 t = 0;

	bg_barrier_var(idx); /* keep the bound check next to the access */
	if (timeouts && idx < BG_CTT_MAX)
		t = timeouts[idx];
	if (!t)
		t = bg_ct_default_timeout(idx);
	return (__u64)t * BG_CT_NS;
}

/* An expired entry is absent, for every reader and writer alike. */
static __always_inline int bg_ct_expired(const __u32 *timeouts,
					 const struct bg_ct_entry *e, __u64 now)
{
	__u64 to = bg_ct_timeout_ns(timeouts, e->proto, e->state, e->flags);

	return (__s64)(now - e->last_ns) > (__s64)to;
}

/* ------------------------------------------------------------- TCP */

#define BG_TCP_FIN 0x01
#define BG_TCP_SYN 0x02
#define BG_TCP_RST 0x04
#define BG_TCP_PSH 0x08
#define BG_TCP_ACK 0x10
#define BG_TCP_URG 0x20

#define BG_TCPB(f) (1ULL << (f))
/* Valid flag combinations (ECE/CWR ignored), as Linux's tcp_valid_flags. */
#define BG_TCP_VALID_FLAGS                                                     \
	(BG_TCPB(BG_TCP_SYN) | BG_TCPB(BG_TCP_SYN | BG_TCP_URG) |              \
	 BG_TCPB(BG_TCP_SYN | BG_TCP_ACK) | BG_TCPB(BG_TCP_RST) |              \
	 BG_TCPB(BG_TCP_RST | BG_TCP_ACK) |                                    \
	 BG_TCPB(BG_TCP_RST | BG_TCP_ACK | BG_TCP_PSH) |                       \
	 BG_TCPB(BG_TCP_FIN | BG_TCP_ACK) |                                    \
	 BG_TCPB(BG_TCP_FIN | BG_TCP_ACK | BG_TCP_URG) | BG_TCPB(BG_TCP_ACK) | \
	 BG_TCPB(BG_TCP_ACK | BG_TCP_URG) |                                    \
	 BG_TCPB(BG_TCP_FIN | BG_TCP_ACK | BG_TCP_PSH) |                       \
	 BG_TCPB(BG_TCP_FIN | BG_TCP_ACK | BG_TCP_PSH | BG_TCP_URG) |          \
	 BG_TCPB(BG_TCP_ACK | BG_TCP_PSH) |                                    \
	 BG_TCPB(BG_TCP_ACK | BG_TCP_PSH | BG_TCP_URG))

static __always_inline int bg_ct_tcp_flags_valid(__u8 flags)
{
	return (BG_TCP_VALID_FLAGS >> (flags & 0x3f)) & 1;
}

/* A SYN that opens a connection (URG tolerated, as Linux does). */
static __always_inline int bg_ct_tcp_is_syn(__u8 flags)
{
	return (flags & 0x3f & ~BG_TCP_URG) == BG_TCP_SYN;
}

/* One TCP segment, as the state machine needs it (host byte order). */
struct bg_ct_seg {
	__u32 seq;
	__u32 ack;
	__u32 end; /* seq + payload + SYN + FIN */
	__u32 win; /* unscaled window field */
	__u8 flags;
	__u8 wscale; /* window scale option of a SYN, BG_CT_WS_NONE if none */
	__u8 doff; /* header length in 4-byte words */
	__u8 pad;
};

#define bg_before(a, b) ((__s32)((a) - (b)) < 0)
#define bg_after(a, b) bg_before(b, a)

static __always_inline __u32 bg_ct_ws(const struct bg_ct_entry *e, __u32 side)
{
	__u8 ws = BG_IDX(e->td_wscale, side & 1);

	return ws > BG_CT_WS_MAX ? 0 : ws;
}

/*
 * What an ACK from side snd tells: the highest sequence it acknowledged
 * (td_maxack), and the right edge it allowed the other side (td_maxend:
 * ack + window, win already scaled). From the receiver's own packets, so
 * no forged segment of the sender can move them.
 */
static __always_inline void bg_ct_tcp_ack(struct bg_ct_entry *e, __u32 snd,
					  const struct bg_ct_seg *s, __u32 win)
{
	__u32 rcv = (snd ^ 1) & 1, end;
	__u8 ackbit = (snd & 1) ? BG_CT_TF_ACK1 : BG_CT_TF_ACK0;
	__u8 endbit = rcv ? BG_CT_TF_END1 : BG_CT_TF_END0;

	snd &= 1;
	if (!(s->flags & BG_TCP_ACK))
		return;
	if (!(e->tcp_flags & ackbit) ||
	    bg_after(s->ack, BG_IDX(e->td_maxack, snd)))
		BG_IDX(e->td_maxack, snd) = s->ack;
	e->tcp_flags |= ackbit;
	end = s->ack + (win ? win : 1);
	if (!(e->tcp_flags & endbit) ||
	    bg_after(end, BG_IDX(e->td_maxend, rcv)))
		BG_IDX(e->td_maxend, rcv) = end;
	e->tcp_flags |= endbit;
}

/* Initialise one side's window data from a segment it sent. */
static __always_inline void bg_ct_td_init(struct bg_ct_entry *e, __u32 side,
					  const struct bg_ct_seg *s)
{
	side &= 1;
	BG_IDX(e->td_end, side) = s->end;
	BG_IDX(e->td_maxwin, side) = s->win ? s->win : 1;
	if (s->flags & BG_TCP_SYN) {
		BG_IDX(e->td_wscale, side) = s->wscale;
		/* Until this side acks, its maxack slot holds the lowest
		 * ACK a SYN+ACK may carry (ISN + 1: with TCP Fast Open the
		 * server may leave the SYN's data unacknowledged). */
		if (!(s->flags & BG_TCP_ACK))
			BG_IDX(e->td_maxack, side) = s->seq + 1;
	}
	/* SYN and SYN+ACK windows are never scaled. */
	bg_ct_tcp_ack(e, side, s, s->win);
}

/*
 * Simplified tcp_in_window: the segment must lie within what the receiver
 * can have allowed (seq <= sender's end + receiver's largest window, and
 * no further than the right edge the receiver's ACKs opened, end not
 * older than one window), and its ACK must not acknowledge data the
 * receiver never sent or data older than one ack window. A side not yet
 * seen is learnt from its first segment. Read-only: bg_ct_tcp_track()
 * records the segment.
 */
static __always_inline int bg_ct_tcp_in_window(const struct bg_ct_entry *e,
					       __u32 snd,
					       const struct bg_ct_seg *s)
{
	__u32 rcv = (snd ^ 1) & 1, maxack, swin, rwin, send, win;
	__u8 endbit = (snd & 1) ? BG_CT_TF_END1 : BG_CT_TF_END0;

	snd &= 1;
	swin = BG_IDX(e->td_maxwin, snd);
	rwin = BG_IDX(e->td_maxwin, rcv);
	send = BG_IDX(e->td_end, snd);
	if (!swin) {
		/* The sender's first segment (a flow picked up mid-stream):
		 * its own window bounds what it may acknowledge, as the
		 * segment will set it. */
		win = s->win;
		if (!(s->flags & BG_TCP_SYN))
			win <<= bg_ct_ws(e, snd);
		maxack = win > 66000 ? win : 66000;
	} else {
		maxack = swin > 66000 ? swin : 66000;
	}
	if ((e->tcp_flags & endbit) &&
	    bg_after(s->seq, BG_IDX(e->td_maxend, snd)))
		return 0;
	/* A sender seen, or one whose next sequence the receiver's ACK
	 * told (td_maxend known): its segments stay near what it sent. */
	if (rwin && (swin || (e->tcp_flags & endbit))) {
		if (bg_after(s->seq, send + rwin))
			return 0;
		if (bg_before(s->end, send - rwin))
			return 0;
	}
	if ((s->flags & BG_TCP_ACK) && rwin) {
		if (bg_after(s->ack, BG_IDX(e->td_end, rcv)))
			return 0;
		if (bg_before(s->ack, BG_IDX(e->td_end, rcv) - maxack))
			return 0;
	}
	return 1;
}

/* Record an accepted segment: the sender's end, window and highest ACK. */
static __always_inline void bg_ct_tcp_track(struct bg_ct_entry *e, __u32 snd,
					    const struct bg_ct_seg *s)
{
	__u32 win = s->win;

	snd &= 1;
	if (!(s->flags & BG_TCP_SYN))
		win <<= bg_ct_ws(e, snd);
	if (!BG_IDX(e->td_maxwin, snd)) {
		bg_ct_td_init(e, snd, s);
		BG_IDX(e->td_maxwin, snd) = win ? win : 1;
	}
	if (bg_after(s->end, BG_IDX(e->td_end, snd)))
		BG_IDX(e->td_end, snd) = s->end;
	if (win > BG_IDX(e->td_maxwin, snd))
		BG_IDX(e->td_maxwin, snd) = win;
	bg_ct_tcp_ack(e, snd, s, win);
}

/*
 * Does a RST from side snd count? One the host sends (egress) does. One
 * from outside only at the exact sequence the receiver expects: what it
 * last acknowledged (RFC 5961 3.2), known from the receiver's own ACKs, so
 * a blind attacker has to hit one 32-bit number, and no forged segment can
 * move it. Anything else, even within the window, is left to the
 * endpoint, which answers with a challenge ACK.
 */
static __always_inline int bg_ct_tcp_rst_exact(const struct bg_ct_entry *e,
					       __u32 snd,
					       const struct bg_ct_seg *s,
					       int egress)
{
	__u32 rcv = (snd ^ 1) & 1;
	__u8 rack = rcv ? BG_CT_TF_ACK1 : BG_CT_TF_ACK0;

	if (egress)
		return 1;
	return (e->tcp_flags & rack) && s->seq == BG_IDX(e->td_maxack, rcv);
}

/* Does a SYN+ACK (or a refusing RST) acknowledge the initiator's SYN? */
static __always_inline int bg_ct_acks_syn(const struct bg_ct_entry *e,
					  __u32 orig, __u32 ack)
{
	orig &= 1;
	return !bg_after(ack, BG_IDX(e->td_end, orig)) &&
	       !bg_before(ack, BG_IDX(e->td_maxack, orig));
}

/*
 * The TCP state machine: one segment sent by key side snd against a copy
 * of an existing entry, updated in place. Returns the packet's class
 * (enum bg_ct_class); on BG_CT_INVALID the copy must be discarded. Sets
 * *ignore for a packet that passes but changes nothing (a RST that is in
 * the window but not exact: the endpoint decides). A SYN reopening a
 * TIME_WAIT or CLOSE flow is the caller's business (bg_ct_reopens()).
 */
static __always_inline int bg_ct_tcp_step(struct bg_ct_entry *e, __u32 snd,
					  const struct bg_ct_seg *s, int egress,
					  int *ignore)
{
	__u8 f = s->flags, st = e->state;
	__u32 orig = (e->flags & BG_CTF_ORIGIN_SIDE1) ? 1 : 0;
	__u32 reply = (snd & 1) != orig;
	__u8 mybit = (snd & 1) ? BG_CT_TF_FIN1 : BG_CT_TF_FIN0;
	__u8 ns = st;

	if (!bg_ct_tcp_flags_valid(f))
		return BG_CT_INVALID;

	if (f & BG_TCP_RST) {
		if (st == BG_CTS_SYN_SENT) {
			/* Only the SYN's own answer may refuse it: a RST
			 * from the responder must acknowledge the SYN. */
			if (reply && (!(f & BG_TCP_ACK) ||
				      !bg_ct_acks_syn(e, orig, s->ack)))
				return BG_CT_INVALID;
			if (!reply && !egress &&
			    s->seq != BG_IDX(e->td_end, orig & 1))
				return BG_CT_INVALID;
		} else {
			if (!bg_ct_tcp_in_window(e, snd, s))
				return BG_CT_INVALID;
			if (!bg_ct_tcp_rst_exact(e, snd, s, egress)) {
				*ignore = 1;
				goto done;
			}
		}
		ns = BG_CTS_CLOSE;
	} else if ((f & BG_TCP_SYN) && !(f & BG_TCP_ACK)) {
		/* The initiator's SYN again while the handshake is under way
		 * (its SYN+ACK lost): passes, changes nothing. */
		if (st == BG_CTS_SYN_RECV && !reply) {
			*ignore = 1;
			goto done;
		}
		if (st != BG_CTS_SYN_SENT)
			return BG_CT_INVALID;
		/* A retransmission stays SYN_SENT; the other side's SYN is a
		 * simultaneous open. */
		bg_ct_td_init(e, snd, s);
		if (reply)
			ns = BG_CTS_SYN_RECV;
	} else if (f & BG_TCP_SYN) { /* SYN+ACK */
		if (st == BG_CTS_SYN_SENT && reply) {
			if (!bg_ct_acks_syn(e, orig, s->ack))
				return BG_CT_INVALID;
			bg_ct_td_init(e, snd, s);
			/* Scaling only when both SYNs carried the option. */
			if (e->td_wscale[0] == BG_CT_WS_NONE ||
			    e->td_wscale[1] == BG_CT_WS_NONE)
				e->td_wscale[0] = e->td_wscale[1] = 0;
			ns = BG_CTS_SYN_RECV;
		} else if (st == BG_CTS_SYN_RECV ||
			   (st == BG_CTS_ESTABLISHED && reply)) {
			/* Retransmission, or the SYN+ACKs of a simultaneous
			 * open. */
			if (e->td_wscale[0] == BG_CT_WS_NONE ||
			    e->td_wscale[1] == BG_CT_WS_NONE)
				e->td_wscale[0] = e->td_wscale[1] = 0;
		} else {
			return BG_CT_INVALID;
		}
	} else if (f & BG_TCP_FIN) { /* FIN+ACK (FIN alone is invalid) */
		if (st == BG_CTS_SYN_SENT)
			return BG_CT_INVALID;
		if (!bg_ct_tcp_in_window(e, snd, s))
			return BG_CT_INVALID;
		if (st == BG_CTS_SYN_RECV || st == BG_CTS_ESTABLISHED)
			ns = BG_CTS_FIN_WAIT;
		else if ((st == BG_CTS_FIN_WAIT || st == BG_CTS_CLOSE_WAIT) &&
			 !(e->tcp_flags & mybit))
			ns = BG_CTS_LAST_ACK; /* the second FIN */
		e->tcp_flags |= mybit;
		bg_ct_tcp_track(e, snd, s);
	} else { /* ACK, possibly with data */
		if (st == BG_CTS_SYN_SENT)
			return BG_CT_INVALID;
		if (!bg_ct_tcp_in_window(e, snd, s))
			return BG_CT_INVALID;
		/* Established when the initiator acknowledges the SYN+ACK,
		 * not on an ACK of the responder's own. */
		if (st == BG_CTS_SYN_RECV && !reply)
			ns = BG_CTS_ESTABLISHED;
		else if (st == BG_CTS_FIN_WAIT && !(e->tcp_flags & mybit))
			ns = BG_CTS_CLOSE_WAIT; /* the peer acked the FIN */
		else if (st == BG_CTS_LAST_ACK)
			ns = BG_CTS_TIME_WAIT;
		bg_ct_tcp_track(e, snd, s);
	}

	e->state = ns;
	if (reply)
		e->flags |= BG_CTF_SEEN_REPLY;
	if (ns == BG_CTS_ESTABLISHED && (e->flags & BG_CTF_SEEN_REPLY))
		e->flags |= BG_CTF_ASSURED;
done:
	if (reply || (e->flags & BG_CTF_SEEN_REPLY))
		return BG_CT_ESTABLISHED;
	return BG_CT_NEW;
}

#endif /* BG_CT_STATE_H */
