// SPDX-License-Identifier: GPL-2.0
/*
 * Lines of the bpftool batch: "map update pinned DIR/MAP key hex ... value
 * hex ...", into a file, the digest, or both.
 */
#include <string.h>

#include "emit.h"
#include "sha256.h"

void reserve(struct sink *s, size_t n)
{
	if (s->n + n <= s->cap)
		return;
	s->cap = (s->n + n) * 2;
	s->buf = xreallocarray(s->buf, s->cap, 1);
}

void put(struct sink *s, const char *str)
{
	size_t n = strlen(str);

	reserve(s, n);
	memcpy(s->buf + s->n, str, n);
	s->n += n;
}

/*
 * Only into the digest (no file): the bytes themselves, runs of zeros as
 * 0 and the run's length (an encoding that tells every byte string
 * apart). Rule vectors are mostly zeros: hashing their hex text was most
 * of what a 4096-rule ruleset cost to compile.
 */
static void put_digest_bytes(struct sink *s, const uint8_t *p, size_t n)
{
	size_t i, run;

	reserve(s, 2 * n);
	for (i = 0; i < n;) {
		if (p[i]) {
			s->buf[s->n++] = (char)p[i++];
			continue;
		}
		for (run = 0; i < n && !p[i] && run < 255; i++)
			run++;
		s->buf[s->n++] = 0;
		s->buf[s->n++] = (char)run;
	}
}

/* Bytes as " xx" each. */
void put_hex(struct sink *s, const void *data, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	static char tab[256][3];
	const uint8_t *p = data;
	char *out;
	size_t i;

	if (!s->f) {
		put_digest_bytes(s, p, n);
		return;
	}
	if (!tab[1][0])
		for (i = 0; i < 256; i++) {
			tab[i][0] = ' ';
			tab[i][1] = hex[i >> 4];
			tab[i][2] = hex[i & 15];
		}
	reserve(s, 3 * n);
	out = s->buf + s->n;
	for (i = 0; i < n; i++, out += 3)
		memcpy(out, tab[p[i]], 3);
	s->n += 3 * n;
}

void end_line(struct sink *s)
{
	reserve(s, 1);
	s->buf[s->n++] = '\n';
	if (s->f)
		fwrite(s->buf, 1, s->n, s->f);
	if (s->sha)
		sha256_update(s->sha, s->buf, s->n);
	s->n = 0;
}

void map_start(struct emitter *e, const char *map, const void *key, size_t klen)
{
	if (!e->s->f) {
		/* The digest: the map and the bytes, nothing constant. */
		put(e->s, map);
		put_hex(e->s, key, klen);
		return;
	}
	put(e->s, "map update pinned ");
	put(e->s, e->pin_dir);
	put(e->s, "/");
	put(e->s, map);
	put(e->s, " key hex");
	put_hex(e->s, key, klen);
	put(e->s, " value hex");
}

void map_line(struct emitter *e, const char *map, const void *key, size_t klen,
	      const void *val, size_t vlen)
{
	map_start(e, map, key, klen);
	put_hex(e->s, val, vlen);
	end_line(e->s);
}
