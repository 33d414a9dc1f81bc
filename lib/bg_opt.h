/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Command-line options declared in a table, parsed the same way by every
 * helper (getopt_long underneath: options and operands may mix, long
 * options may be abbreviated).
 *
 * --help and -h print the program's usage text on standard output and
 * exit 0; --version prints "PROG (bpfguard) VERSION" and exits 0. A bad
 * option prints getopt's message and the usage text on standard error,
 * and a bad value "PROG: --NAME BAD"; both exit BG_EXIT_USAGE. Operands
 * are left to the program (bg_die(BG_EXIT_USAGE, ...) for wrong ones).
 */
#ifndef BG_OPT_H
#define BG_OPT_H

/* The version every helper reports. */
#define BG_VERSION "0.1.0"

enum bg_opt_kind {
	BG_OPT_FLAG, /* int *: set to 1 */
	BG_OPT_STRING, /* const char **: the argument */
	BG_OPT_LONG, /* long *: a decimal integer >= min */
	BG_OPT_DOUBLE, /* double *: a decimal number >= min */
};

struct bg_opt {
	const char *name; /* long name without "--", NULL if none */
	int short_name; /* single-letter option, 0 if none */
	enum bg_opt_kind kind;
	void *value;
	double min; /* BG_OPT_LONG, BG_OPT_DOUBLE: smallest value accepted */
	const char *bad; /* their message for a bad value: "needs ..." */
};

struct bg_cli {
	const char *prog; /* name in messages; bg_set_prog() */
	const char *usage; /* --help text, starts "Usage: " */
	const struct bg_opt *opts; /* ends with an entry of neither name */
};

/* Returns the index of the first operand; exits on help, version, errors. */
int bg_opt_parse(const struct bg_cli *cli, int argc, char **argv);

#endif /* BG_OPT_H */
