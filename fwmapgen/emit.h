/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The bpftool batch, as the statement families write their map entries
 * into it: each family that fills maps has a FAMILY_emit.c whose entry
 * point emit.c calls, in the order of its table; all of them write lines
 * with batch.c.
 */
#ifndef FWMAPGEN_EMIT_H
#define FWMAPGEN_EMIT_H

#include "fwmapgen.h"

/* A batch line goes to a file, or into the digest, or both. */
struct sink {
	FILE *f;
	struct sha256 *sha;
	char *buf;
	size_t n;
	size_t cap;
};

struct emitter {
	struct sink *s;
	const struct ruleset *rs;
	const struct compiled *c;
	const char *pin_dir;
	uint32_t gen;
	const uint8_t *digest; /* NULL: computing it, leave its bytes out */
};

/* batch.c: one "map update pinned PIN_DIR/MAP key hex K value hex V" */
void map_line(struct emitter *e, const char *map, const void *key, size_t klen,
	      const void *val, size_t vlen);
/* the same line in pieces: map_start(), put_hex() of the value, end_line() */
void map_start(struct emitter *e, const char *map, const void *key,
	       size_t klen);
void reserve(struct sink *s, size_t n);
void put(struct sink *s, const char *str);
void put_hex(struct sink *s, const void *data, size_t n);
void end_line(struct sink *s);

/* rule_emit.c: the filter rules' maps */
void rule_emit(struct emitter *e);
/* rule_format.c: bg_fw_rtext, the rules' text (rule_emit() calls it) */
void rule_text_emit(struct emitter *e);
/* set_emit.c: bg_ct_config */
void set_emit(struct emitter *e);

#endif /* FWMAPGEN_EMIT_H */
