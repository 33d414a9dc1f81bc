// SPDX-License-Identifier: GPL-2.0
/* Table-driven option parsing over getopt_long. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "bg_mem.h"
#include "bg_msg.h"
#include "bg_opt.h"

/* getopt_long values of the options without a short name */
#define OPT_LONG_BASE 256
#define OPT_HELP (OPT_LONG_BASE - 1)
#define OPT_VERSION (OPT_LONG_BASE - 2)

/* The table ends with an entry of neither a long nor a short name. */
static size_t count_opts(const struct bg_opt *o)
{
	size_t n = 0;

	while (o && (o[n].name || o[n].short_name))
		n++;
	return n;
}

static int opt_val(const struct bg_opt *o, size_t i)
{
	return o->short_name ? o->short_name : OPT_LONG_BASE + (int)i;
}

/* The long options and the optstring ("h" plus each short option). */
static void build(const struct bg_cli *cli, struct option *lo, char *shorts)
{
	size_t i, n = count_opts(cli->opts), l = 0, s = 0;

	for (i = 0; i < n; i++) {
		const struct bg_opt *o = &cli->opts[i];
		int arg = o->kind == BG_OPT_FLAG ? no_argument :
						   required_argument;

		if (o->name)
			lo[l++] = (struct option){ o->name, arg, NULL,
						   opt_val(o, i) };
		if (o->short_name) {
			shorts[s++] = (char)o->short_name;
			if (arg == required_argument)
				shorts[s++] = ':';
		}
	}
	lo[l++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	lo[l++] = (struct option){ "version", no_argument, NULL, OPT_VERSION };
	lo[l] = (struct option){ NULL, 0, NULL, 0 };
	shorts[s++] = 'h';
	shorts[s] = '\0';
}

static const struct bg_opt *find(const struct bg_cli *cli, int val)
{
	size_t i, n = count_opts(cli->opts);

	for (i = 0; i < n; i++)
		if (opt_val(&cli->opts[i], i) == val)
			return &cli->opts[i];
	return NULL;
}

static void bad_value(const struct bg_opt *o)
{
	const char *bad = o->bad ? o->bad : "has a bad value";

	if (o->name)
		bg_die(BG_EXIT_USAGE, "--%s %s", o->name, bad);
	bg_die(BG_EXIT_USAGE, "-%c %s", o->short_name, bad);
}

static void set_value(const struct bg_opt *o, const char *arg)
{
	char *end;
	double d;
	long l;

	switch (o->kind) {
	case BG_OPT_FLAG:
		*(int *)o->value = 1;
		break;
	case BG_OPT_STRING:
		*(const char **)o->value = arg;
		break;
	case BG_OPT_LONG:
		errno = 0;
		l = strtol(arg, &end, 10);
		if (end == arg || *end || errno || l < o->min)
			bad_value(o);
		*(long *)o->value = l;
		break;
	case BG_OPT_DOUBLE:
		errno = 0;
		d = strtod(arg, &end);
		/* "nan" compares false: !(d >= min) rejects it */
		if (end == arg || *end || errno || !(d >= o->min))
			bad_value(o);
		*(double *)o->value = d;
		break;
	}
}

int bg_opt_parse(const struct bg_cli *cli, int argc, char **argv)
{
	size_t n = count_opts(cli->opts);
	struct option *lo = xcalloc(n + 3, sizeof(*lo));
	char *shorts = xcalloc(2 * n + 2, 1);
	const struct bg_opt *o;
	int c;

	bg_set_prog(cli->prog);
	build(cli, lo, shorts);
	optind = 0; /* glibc: start over, also on a second call */
	while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		if (c == 'h' || c == OPT_HELP) {
			fputs(cli->usage, stdout);
			exit(BG_EXIT_OK);
		}
		if (c == OPT_VERSION) {
			printf("%s (bpfguard) %s\n", cli->prog, BG_VERSION);
			exit(BG_EXIT_OK);
		}
		o = find(cli, c);
		if (!o) { /* getopt said what is wrong */
			fputs(cli->usage, stderr);
			exit(BG_EXIT_USAGE);
		}
		set_value(o, optarg);
	}
	free(lo);
	free(shorts);
	return optind;
}
