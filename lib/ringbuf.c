// SPDX-License-Identifier: GPL-2.0
/* A pinned BPF ring buffer read through libbpf. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bg_mem.h"
#include "bg_msg.h"
#include "bg_ringbuf.h"

/* Poll slices: the timeout and the signals are seen this often. */
#define POLL_MS 100

struct bg_ringbuf {
	struct ring_buffer *rb;
	int fd;
	int stop; /* the callback returned BG_RINGBUF_STOP */
	bg_ringbuf_fn fn;
	void *ctx;
};

static volatile sig_atomic_t signalled;

static void on_signal(int sig)
{
	(void)sig;
	signalled = 1;
}

static int on_record(void *ctx, void *data, size_t len)
{
	struct bg_ringbuf *r = ctx;
	int ret = r->fn(r->ctx, data, len);

	if (ret != BG_RINGBUF_STOP)
		return ret;
	r->stop = 1;
	/* Ends this poll's batch: the records after it stay queued. */
	return -ECANCELED;
}

struct bg_ringbuf *bg_ringbuf_open(const char *path, bg_ringbuf_fn fn,
				   void *ctx)
{
	struct bg_ringbuf *r = xcalloc(1, sizeof(*r));

	r->fn = fn;
	r->ctx = ctx;
	r->fd = bpf_obj_get(path);
	if (r->fd < 0) {
		bg_err("cannot open %s: %s (is bpfguard up?)", path,
		       strerror(errno));
		free(r);
		return NULL;
	}
	r->rb = ring_buffer__new(r->fd, on_record, r, NULL);
	if (!r->rb) {
		bg_err("cannot map %s: %s", path, strerror(errno));
		close(r->fd);
		free(r);
		return NULL;
	}
	return r;
}

static double since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) +
	       (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

int bg_ringbuf_run(struct bg_ringbuf *r, double timeout_s)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct timespec t0;
	int err = 0;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!r->stop && !signalled) {
		err = ring_buffer__poll(r->rb, POLL_MS);
		if (err == -ECANCELED || err == -EINTR) {
			err = 0;
			continue;
		}
		if (err < 0) {
			bg_err("poll: %s", strerror(-err));
			break;
		}
		err = 0;
		if (timeout_s >= 0 && since(&t0) >= timeout_s)
			break;
	}
	return err;
}

void bg_ringbuf_close(struct bg_ringbuf *r)
{
	if (!r)
		return;
	ring_buffer__free(r->rb);
	close(r->fd);
	free(r);
}
