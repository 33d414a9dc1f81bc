// SPDX-License-Identifier: GPL-2.0
/* Reading logical lines, expanding macros and splitting into tokens. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lexer.h"

int is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Printable ASCII: all a label, a path or an address may hold. */
int is_print(int c)
{
	return c >= 0x20 && c <= 0x7e;
}

int is_ident_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

int is_ident(int c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

/* Addresses, keywords and interface names; everything else is punctuation. */
static int is_word(int c)
{
	return c > ' ' && c < 0x7f && !strchr("{}<>,!=\"#$()", c);
}

void lline_push(struct lline *ll, char c, struct bg_pos p)
{
	if (ll->n + 1 >= ll->cap) {
		ll->cap = ll->cap ? ll->cap * 2 : 64;
		ll->s = xreallocarray(ll->s, ll->cap, 1);
		ll->p = xreallocarray(ll->p, ll->cap, sizeof(*ll->p));
	}
	ll->s[ll->n] = c;
	ll->p[ll->n] = p;
	ll->n++;
	ll->s[ll->n] = '\0';
}

void lline_free(struct lline *ll)
{
	free(ll->s);
	free(ll->p);
	memset(ll, 0, sizeof(*ll));
}

static void lline_truncate(struct lline *ll, size_t n)
{
	ll->n = n;
	if (ll->s)
		ll->s[n] = '\0';
}

/* Keep the first error of a logical line, reported when it is parsed. */
static void lline_error(struct lline *ll, struct bg_pos p, const char *fmt, ...)
{
	va_list ap;

	if (ll->err[0])
		return;
	va_start(ap, fmt);
	vsnprintf(ll->err, sizeof(ll->err), fmt, ap);
	va_end(ap);
	ll->errpos = p;
}

/*
 * Append one physical line without its comment. Returns 1 when it ends in
 * a continuation backslash. A '#' inside quotes is text, so quotes are
 * tracked here; a string can't span lines. A NUL byte is an error even in
 * a comment (C string functions would stop at it), and a quoted string is
 * printable ASCII: a label with other bytes is shown by bpftool as an
 * array of numbers, and status.sh fails on it.
 */
static int add_physical(struct lline *ll, const char *s, size_t n, int line)
{
	size_t i, start = ll->n;
	struct bg_pos quote = { 0, 0 };
	const char *nul;
	int inq = 0;

	for (i = 0; i < n; i++) {
		struct bg_pos p = { line, (int)i + 1 };
		unsigned char c = (unsigned char)s[i];

		if (!c) {
			lline_error(ll, p, "NUL byte in a ruleset");
			continue;
		}
		if (c == '"') {
			inq = !inq;
			quote = p;
		} else if (c == '#' && !inq) {
			break;
		} else if (inq && !is_print(c)) {
			lline_error(
				ll, p,
				"byte 0x%02x in a quoted string is not printable ASCII (0x20 to 0x7e)",
				c);
		}
		lline_push(ll, s[i], p);
	}
	nul = i < n ? memchr(s + i, '\0', n - i) : NULL;
	if (nul)
		lline_error(ll, (struct bg_pos){ line, (int)(nul - s) + 1 },
			    "NUL byte in a ruleset");
	if (inq) {
		lline_error(
			ll, quote,
			"syntax error: unterminated string (missing closing '\"')");
		return 0;
	}
	while (ll->n > start && is_blank(ll->s[ll->n - 1]))
		lline_truncate(ll, ll->n - 1);
	if (ll->n > start && ll->s[ll->n - 1] == '\\') {
		/* The backslash becomes a blank: "from\" + "any" are two words. */
		ll->s[ll->n - 1] = ' ';
		return 1;
	}
	return 0;
}

static struct lline *lfile_new_line(struct lfile *lf, int line)
{
	struct lline *ll;

	lf->l = bg_grow(lf->l, &lf->cap, lf->n, sizeof(*lf->l));
	ll = &lf->l[lf->n++];
	memset(ll, 0, sizeof(*ll));
	ll->line = line;
	/* Allocate: even an empty line has a string to point tokens into. */
	lline_push(ll, ' ', (struct bg_pos){ line, 1 });
	lline_truncate(ll, 0);
	return ll;
}

/* Split the text of a ruleset into logical lines. */
void lfile_read(const char *data, size_t len, struct lfile *lf)
{
	size_t off = 0;
	struct lline *ll = NULL;
	int line = 0, cont = 0;

	memset(lf, 0, sizeof(*lf));
	while (off < len) {
		const char *nl = memchr(data + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (data + off)) : len - off;

		line++;
		if (!cont)
			ll = lfile_new_line(lf, line);
		cont = add_physical(ll, data + off, n, line);
		off += n + 1;
	}
}

/*
 * Copy in[from, to) to @out, replacing every $NAME (outside quotes, unless
 * @in_quotes) by the macro value. The value's bytes take the position of
 * the '$' so that errors in it point at the reference.
 */
void expand_macros(const char *file, const struct lline *in, size_t from,
		   size_t to, int in_quotes, struct lline *out, macro_fn fn,
		   void *ctx, size_t *total)
{
	size_t i = from, j, len;
	const char *v;
	int inq = 0;

	while (i < to) {
		char c = in->s[i];

		if (c == '"')
			inq = !inq;
		if (c != '$' || (inq && !in_quotes)) {
			lline_push(out, c, in->p[i++]);
			continue;
		}
		j = i + 1;
		if (j >= to || !is_ident_start(in->s[j]))
			bg_die_at(
				file, in->p[i],
				"syntax error: expected a macro name after '$'");
		while (j < to && is_ident(in->s[j]))
			j++;
		v = fn(ctx, in->s + i + 1, j - i - 1, in->p[i]);
		len = strlen(v);
		if (out->n + len > EXPAND_LINE_MAX)
			bg_die_at(
				file, in->p[i],
				"macro expansion makes the line longer than " EXPAND_LINE_MAX_TEXT);
		if (*total + len > EXPAND_TOTAL_MAX)
			bg_die_at(
				file, in->p[i],
				"macro expansion exceeds " EXPAND_TOTAL_MAX_TEXT
				" in all");
		*total += len;
		while (*v)
			lline_push(out, *v++, in->p[i]);
		i = j;
	}
}

static size_t scan_string(const char *file, const struct lline *ll, size_t i,
			  struct token *t)
{
	const char *end = memchr(ll->s + i + 1, '"', ll->n - i - 1);

	if (!end)
		bg_die_at(file, ll->p[i],
			  "unterminated string (missing closing '\"')");
	t->type = T_STRING;
	t->s = ll->s + i + 1;
	t->n = (size_t)(end - t->s);
	return (size_t)(end - ll->s) + 1;
}

static size_t scan_table(const char *file, const struct lline *ll, size_t i,
			 struct token *t)
{
	size_t j = i + 1;

	if (j < ll->n && is_ident_start(ll->s[j]))
		while (j < ll->n && is_ident(ll->s[j]))
			j++;
	if (j == i + 1 || j >= ll->n || ll->s[j] != '>')
		bg_die_at(
			file, ll->p[i],
			"bad table reference: expected <NAME> with NAME made of letters, digits and '_'");
	t->type = T_TABLE;
	t->s = ll->s + i + 1;
	t->n = j - i - 1;
	return j + 1;
}

static size_t scan_token(const char *file, const struct lline *ll, size_t i,
			 struct token *t)
{
	static const char punct[] = "{},!=()";
	static const enum tok_type ptype[] = { T_LBRACE, T_RBRACE, T_COMMA,
					       T_BANG,	 T_EQ,	   T_LPAREN,
					       T_RPAREN };
	unsigned char c = (unsigned char)ll->s[i];
	const char *pc = c ? strchr(punct, c) : NULL;
	size_t j = i;

	t->pos = ll->p[i];
	t->s = ll->s + i;
	t->n = 1;
	if (pc) {
		t->type = ptype[pc - punct];
		return i + 1;
	}
	if (c == '"')
		return scan_string(file, ll, i, t);
	if (c == '<')
		return scan_table(file, ll, i, t);
	if (!is_word(c)) {
		if (c > ' ' && c < 0x7f)
			bg_die_at(file, t->pos, "unexpected character '%c'", c);
		bg_die_at(file, t->pos, "unexpected byte 0x%02x", c);
	}
	while (j < ll->n && is_word((unsigned char)ll->s[j]))
		j++;
	t->type = T_WORD;
	t->n = j - i;
	return j;
}

/* The end of a line sits just past its last byte. */
static struct bg_pos eol_pos(const struct lline *ll)
{
	size_t n = ll->n;
	struct bg_pos p = { ll->line, 1 };

	while (n > 0 && is_blank(ll->s[n - 1]))
		n--;
	if (n > 0) {
		p = ll->p[n - 1];
		p.col++;
	}
	return p;
}

/* Split a logical line into tokens; the last one is T_EOL. */
size_t tokenize(const char *file, const struct lline *ll, struct token **out)
{
	struct token *t = NULL;
	size_t n = 0, cap = 0, i = 0;

	for (;;) {
		while (i < ll->n && is_blank(ll->s[i]))
			i++;
		t = bg_grow(t, &cap, n, sizeof(*t));
		if (i >= ll->n)
			break;
		i = scan_token(file, ll, i, &t[n++]);
	}
	memset(&t[n], 0, sizeof(t[n]));
	t[n].type = T_EOL;
	t[n].s = "";
	t[n].pos = eol_pos(ll);
	*out = t;
	return n + 1;
}

int tok_is(const struct token *t, const char *word)
{
	return t->type == T_WORD && strlen(word) == t->n &&
	       !memcmp(t->s, word, t->n);
}

/* The line as --explain shows it: blanks collapsed, quoted text kept. */
char *collapse(const struct lline *ll)
{
	char *out = xcalloc(ll->n + 1, 1);
	size_t i, o = 0;
	int inq = 0;

	for (i = 0; i < ll->n; i++) {
		char c = ll->s[i];

		if (c == '"')
			inq = !inq;
		if (!inq && is_blank(c)) {
			if (o > 0 && out[o - 1] != ' ')
				out[o++] = ' ';
			continue;
		}
		out[o++] = c;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return out;
}
