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

void put_hex(struct sink *s, const void *data, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = data;
	size_t i;

	reserve(s, 3 * n);
	for (i = 0; i < n; i++) {
		s->buf[s->n++] = ' ';
		s->buf[s->n++] = hex[p[i] >> 4];
		s->buf[s->n++] = hex[p[i] & 15];
	}
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
