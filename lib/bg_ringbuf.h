/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading a pinned BPF ring buffer (libbpf's ring_buffer API): open the
 * pin, then hand every record to a callback until it says stop, SIGINT or
 * SIGTERM arrives, or a timeout passes. Link with -lbpf.
 */
#ifndef BG_RINGBUF_H
#define BG_RINGBUF_H

#include <stddef.h>

/* Returned by the callback: no more records (the rest stay queued). */
#define BG_RINGBUF_STOP 1

/* 0: next record, BG_RINGBUF_STOP, or a negative errno to fail the run */
typedef int (*bg_ringbuf_fn)(void *ctx, const void *data, size_t len);

struct bg_ringbuf;

/*
 * The ring buffer pinned at @path; NULL after saying why ("PROG: cannot
 * open PATH: ... (is bpfguard up?)", "PROG: cannot map PATH: ...").
 */
struct bg_ringbuf *bg_ringbuf_open(const char *path, bg_ringbuf_fn fn,
				   void *ctx);
/*
 * Poll until the callback returns BG_RINGBUF_STOP, a signal, or
 * @timeout_s seconds (< 0: no timeout). Returns 0, or a negative errno
 * after saying "PROG: poll: ...".
 */
int bg_ringbuf_run(struct bg_ringbuf *rb, double timeout_s);
void bg_ringbuf_close(struct bg_ringbuf *rb);

#endif /* BG_RINGBUF_H */
