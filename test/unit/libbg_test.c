// SPDX-License-Identifier: GPL-2.0
/*
 * lib/ (build/libbg.a): JSON escaping, address formatting, option parsing,
 * messages and exit codes, the bpffs and pin paths, excerpts, files.
 *
 * Expected values are written out by hand (RFC 8259 escapes, RFC 5952
 * address text, UTF-16 surrogate pairs computed on paper), not computed
 * with the code under test. What exits (--help, usage errors, bg_die)
 * runs in a child whose status, standard output and standard error are
 * checked.
 *
 * Usage: libbg_test            run the checks, print one summary line
 *        libbg_test quote      standard input as one quoted JSON string
 *                              (test/libbg.bats feeds it to jq)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bg_abi.h"
#include "bg_addr.h"
#include "bg_file.h"
#include "bg_json.h"
#include "bg_mem.h"
#include "bg_msg.h"
#include "bg_opt.h"
#include "bg_pin.h"

static unsigned long checks;
static int failed;

#define CHECK(cond, ...)                                            \
	do {                                                        \
		checks++;                                           \
		if (!(cond)) {                                      \
			failed = 1;                                 \
			printf("FAIL %s:%d: ", __FILE__, __LINE__); \
			printf(__VA_ARGS__);                        \
			printf("\n");                               \
		}                                                   \
	} while (0)

static void check_str(const char *what, const char *got, const char *want)
{
	CHECK(!strcmp(got, want), "%s: got <%s>, want <%s>", what, got, want);
}

/* ------------------------------------------------------------ JSON */

static const struct {
	const char *in;
	size_t n; /* 0: strlen(in) */
	const char *want;
} json_cases[] = {
	{ "", 0, "\"\"" },
	{ "eth0", 0, "\"eth0\"" },
	{ "a\"b", 0, "\"a\\\"b\"" },
	{ "a\\b", 0, "\"a\\\\b\"" },
	{ "/ slash stays", 0, "\"/ slash stays\"" },
	{ "\b\f\n\r\t", 0, "\"\\b\\f\\n\\r\\t\"" },
	{ "\x01\x1f\x7f", 0, "\"\\u0001\\u001f\\u007f\"" },
	{ "a\0b", 3, "\"a\\u0000b\"" },
	/* UTF-8: 2, 3 and 4 bytes, the edges of each length */
	{ "\xc3\xa9", 0, "\"\\u00e9\"" },
	{ "\xc2\x80", 0, "\"\\u0080\"" },
	{ "\xdf\xbf", 0, "\"\\u07ff\"" },
	{ "\xe0\xa0\x80", 0, "\"\\u0800\"" },
	{ "\xe2\x82\xac", 0, "\"\\u20ac\"" },
	{ "\xef\xbf\xbf", 0, "\"\\uffff\"" },
	{ "\xf0\x90\x80\x80", 0, "\"\\ud800\\udc00\"" },
	{ "\xf0\x9f\x98\x80", 0, "\"\\ud83d\\ude00\"" },
	{ "\xf4\x8f\xbf\xbf", 0, "\"\\udbff\\udfff\"" },
	/* not UTF-8: one U+FFFD per byte that starts no valid sequence */
	{ "\x80", 0, "\"\\ufffd\"" },
	{ "\xbf"
	  "A",
	  0, "\"\\ufffdA\"" },
	{ "\xc0\x80", 0, "\"\\ufffd\\ufffd\"" }, /* overlong NUL */
	{ "\xc1\xbf", 0, "\"\\ufffd\\ufffd\"" },
	{ "\xe0\x80\x80", 0, "\"\\ufffd\\ufffd\\ufffd\"" }, /* overlong */
	{ "\xed\xa0\x80", 0, "\"\\ufffd\\ufffd\\ufffd\"" }, /* surrogate */
	{ "\xf0\x80\x80\x80", 0, "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },
	{ "\xf4\x90\x80\x80", 0, "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },
	{ "\xf5\x80", 0, "\"\\ufffd\\ufffd\"" },
	{ "\xff\xfe", 0, "\"\\ufffd\\ufffd\"" },
	{ "\xe2\x82", 0, "\"\\ufffd\\ufffd\"" }, /* cut at the end */
	{ "\xe2\x82"
	  "A",
	  0, "\"\\ufffd\\ufffdA\"" },
	{ "\xc3"
	  "\xc3\xa9",
	  0, "\"\\ufffd\\u00e9\"" },
};

/*
 * Every length bg_json_quote() may stop at: between two escapes, and
 * never inside a surrogate pair (a lone half is not a character).
 */
static int is_boundary(const char *full, size_t at)
{
	size_t i;

	if (at == 0 || at == strlen(full))
		return 1;
	for (i = 1; i < at;) {
		if (full[i] != '\\')
			i++;
		else if (full[i + 1] != 'u')
			i += 2;
		else if (!strncmp(full + i, "\\ud", 3) && full[i + 3] >= '8' &&
			 full[i + 3] <= 'b')
			i += 12;
		else
			i += 6;
	}
	return i == at;
}

static void test_json(void)
{
	char buf[256], *mem;
	size_t i, size, n, len;
	FILE *f;

	for (i = 0; i < sizeof(json_cases) / sizeof(json_cases[0]); i++) {
		const char *in = json_cases[i].in, *want = json_cases[i].want;

		n = json_cases[i].n ? json_cases[i].n : strlen(in);
		len = bg_json_quote(buf, sizeof(buf), in, n);
		check_str("bg_json_quote", buf, want);
		CHECK(len == strlen(want), "case %zu: length %zu, want %zu", i,
		      len, strlen(want));
		CHECK(len < BG_JSON_QUOTED_SIZE(n), "case %zu: %zu bytes", i,
		      len);
		for (size = 0; size <= strlen(want) + 1; size++) {
			memset(buf, 'Z', sizeof(buf));
			len = bg_json_quote(buf, size, in, n);
			CHECK(len == strlen(want), "case %zu size %zu", i,
			      size);
			if (!size) {
				CHECK(buf[0] == 'Z', "size 0 wrote");
				continue;
			}
			CHECK(strlen(buf) < size &&
				      !strncmp(buf, want, strlen(buf)) &&
				      is_boundary(want, strlen(buf)),
			      "case %zu size %zu: <%s> of <%s>", i, size, buf,
			      want);
			CHECK(strlen(buf) + 1 == size || size > strlen(want) ||
				      !is_boundary(want, size - 1),
			      "case %zu size %zu: stopped early at <%s>", i,
			      size, buf);
		}
		if (json_cases[i].n)
			continue; /* bg_json_fputs takes a C string */
		f = open_memstream(&mem, &len);
		CHECK(bg_json_fputs(f, in) == 0, "bg_json_fputs");
		fclose(f);
		check_str("bg_json_fputs", mem, want);
		free(mem);
	}
}

/* ------------------------------------------------------------ addresses */

static void addr_case(uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
		      unsigned int fam, const char *want)
{
	/* the ABI's __be32 saddr[4] / daddr[4] */
	__be32 addr[4] = { htonl(a0), htonl(a1), htonl(a2), htonl(a3) };
	char buf[BG_ADDR_STRLEN];

	memset(buf, 'Z', sizeof(buf));
	CHECK(bg_addr_format(addr, fam, buf, sizeof(buf)) == 0, "%s", want);
	check_str("bg_addr_format", buf, want);
}

static void test_addr(void)
{
	__be32 a[4] = { htonl(0xc0000201), 0, 0, 0 };
	char buf[BG_ADDR_STRLEN];

	addr_case(0xc0000201, 0, 0, 0, BG_FAM_INET, "192.0.2.1");
	/* only the first word counts for IPv4 */
	addr_case(0xcb007107, 0xffffffff, 1, 2, BG_FAM_INET, "203.0.113.7");
	addr_case(0, 0, 0, 0, BG_FAM_INET, "0.0.0.0");
	addr_case(0xffffffff, 0, 0, 0, BG_FAM_INET, "255.255.255.255");
	addr_case(0x20010db8, 0, 0, 1, BG_FAM_INET6, "2001:db8::1");
	addr_case(0, 0, 0, 0, BG_FAM_INET6, "::");
	addr_case(0, 0, 0, 1, BG_FAM_INET6, "::1");
	addr_case(0, 0, 0xffff, 0xc0000201, BG_FAM_INET6, "::ffff:192.0.2.1");
	addr_case(0xfe800000, 0, 0, 0x10002, BG_FAM_INET6, "fe80::1:2");
	/* RFC 5952: no "::" for one zero group, the longest run shortened */
	addr_case(0x20010db8, 0x00000001, 0x00010001, 0x00010001, BG_FAM_INET6,
		  "2001:db8:0:1:1:1:1:1");
	addr_case(0x20010000, 0x00000001, 0, 1, BG_FAM_INET6, "2001:0:0:1::1");
	addr_case(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, BG_FAM_INET6,
		  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");

	strcpy(buf, "junk");
	CHECK(bg_addr_format(a, BG_FAM_MAX, buf, sizeof(buf)) == -EAFNOSUPPORT,
	      "unknown family");
	check_str("unknown family", buf, "");
	strcpy(buf, "junk");
	CHECK(bg_addr_format(a, BG_FAM_INET, buf, 9) == -ENOSPC,
	      "small buffer");
	check_str("small buffer", buf, "");
	CHECK(bg_addr_format(a, BG_FAM_INET, buf, 10) == 0, "exact buffer");
	check_str("exact buffer", buf, "192.0.2.1");
}

/* ------------------------------------------------------------ children */

struct child {
	int status; /* exit status, -1 when killed */
	char out[4096];
	char err[4096];
};

static void slurp(int fd, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t got;

	while (n + 1 < size && (got = read(fd, buf + n, size - n - 1)) > 0)
		n += (size_t)got;
	buf[n] = '\0';
}

/* Run @fn(@arg) in a child; it exits itself, or with 99 when it returns. */
static void run_child(struct child *c, void (*fn)(void *), void *arg)
{
	char out[] = "/tmp/libbg_test.out.XXXXXX";
	char err[] = "/tmp/libbg_test.err.XXXXXX";
	int fo = mkstemp(out), fe = mkstemp(err), st;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(fo, 1);
		dup2(fe, 2);
		fn(arg);
		fflush(stdout);
		exit(99);
	}
	waitpid(pid, &st, 0);
	c->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	lseek(fo, 0, SEEK_SET);
	lseek(fe, 0, SEEK_SET);
	slurp(fo, c->out, sizeof(c->out));
	slurp(fe, c->err, sizeof(c->err));
	close(fo);
	close(fe);
	unlink(out);
	unlink(err);
}

/* ------------------------------------------------------------ options */

#define USAGE "Usage: tool [-v] [--name S] [--count N] [--timeout SEC] ARG\n"

struct parsed {
	int verbose, list;
	const char *name;
	long count;
	double timeout;
};

static struct parsed p;

static const struct bg_opt opts[] = {
	{ "name", 0, BG_OPT_STRING, &p.name, 0, NULL },
	{ "count", 0, BG_OPT_LONG, &p.count, 1, "needs a number >= 1" },
	{ "timeout", 't', BG_OPT_DOUBLE, &p.timeout, 0, "needs seconds >= 0" },
	{ "list", 0, BG_OPT_FLAG, &p.list, 0, NULL },
	{ NULL, 'v', BG_OPT_FLAG, &p.verbose, 0, NULL },
	{ NULL, 0, 0, NULL, 0, NULL },
};

static const struct bg_cli cli = { "tool", USAGE, opts };

/* argv from a string split at '|' */
struct argv_buf {
	char text[512];
	char *v[32];
	int n;
};

static void split(struct argv_buf *a, const char *s)
{
	char *tok, *save;

	snprintf(a->text, sizeof(a->text), "tool|%s", s);
	a->n = 0;
	for (tok = strtok_r(a->text, "|", &save); tok;
	     tok = strtok_r(NULL, "|", &save))
		a->v[a->n++] = strcmp(tok, "''") ? tok : (char *)"";
	a->v[a->n] = NULL;
}

/* In the child: parse, then print what was parsed. */
static void parse_and_print(void *arg)
{
	struct argv_buf *a = arg;
	int i;

	memset(&p, 0, sizeof(p));
	p.count = -1;
	p.timeout = -1;
	i = bg_opt_parse(&cli, a->n, a->v);
	printf("v=%d list=%d name=%s count=%ld timeout=%g ops=", p.verbose,
	       p.list, p.name ? p.name : "-", p.count, p.timeout);
	for (; i < a->n; i++)
		printf("[%s]", a->v[i]);
	printf("\n");
}

static void opt_case(const char *args, int status, const char *out,
		     const char *err)
{
	struct argv_buf a;
	struct child c;

	split(&a, args);
	run_child(&c, parse_and_print, &a);
	CHECK(c.status == status, "%s: status %d, want %d (stderr <%s>)", args,
	      c.status, status, c.err);
	CHECK(!strcmp(c.out, out), "%s: stdout <%s>, want <%s>", args, c.out,
	      out);
	CHECK(err ? strstr(c.err, err) != NULL : !c.err[0],
	      "%s: stderr <%s>, want <%s>", args, c.err, err ? err : "");
}

#define NONE "v=0 list=0 name=- count=-1 timeout=-1 ops="

static void test_opt(void)
{
	opt_case("", 99, NONE "\n", NULL);
	opt_case("a|b", 99, NONE "[a][b]\n", NULL);
	opt_case("-v|--list|--name|x y|--count|3|--timeout|1.5|op", 99,
		 "v=1 list=1 name=x y count=3 timeout=1.5 ops=[op]\n", NULL);
	/* operands and options mix; "--" ends the options */
	opt_case("a|--count|7|b", 99,
		 "v=0 list=0 name=- count=7 timeout=-1 ops=[a][b]\n", NULL);
	opt_case("--|--count|x", 99, NONE "[--count][x]\n", NULL);
	opt_case("--name=n|--count=2|-t|0", 99,
		 "v=0 list=0 name=n count=2 timeout=0 ops=\n", NULL);
	opt_case("--cou|4", 99, "v=0 list=0 name=- count=4 timeout=-1 ops=\n",
		 NULL);
	opt_case("--name|''", 99, "v=0 list=0 name= count=-1 timeout=-1 ops=\n",
		 NULL);
	/* --help and -h win when reached; --version */
	opt_case("--help", 0, USAGE, NULL);
	opt_case("-h", 0, USAGE, NULL);
	opt_case("a|--list|-h|--bogus", 0, USAGE, NULL);
	opt_case("--version", 0, "tool (bpfguard) " BG_VERSION "\n", NULL);
	/* usage errors: exit 2, the reason on standard error */
	opt_case("--bogus", 2, "", "unrecognized option '--bogus'\n" USAGE);
	opt_case("-x", 2, "", "invalid option -- 'x'\n" USAGE);
	opt_case("--count", 2, "", "option '--count' requires an argument");
	opt_case("--list=1", 2, "", "doesn't allow an argument");
	opt_case("--count|0", 2, "", "tool: --count needs a number >= 1\n");
	opt_case("--count|''", 2, "", "tool: --count needs a number >= 1\n");
	opt_case("--count|2x", 2, "", "tool: --count needs a number >= 1\n");
	opt_case("--count|1.0", 2, "", "tool: --count needs a number >= 1\n");
	opt_case("--count|99999999999999999999", 2, "",
		 "tool: --count needs a number >= 1\n");
	opt_case("--timeout|-1", 2, "", "tool: --timeout needs seconds >= 0\n");
	opt_case("--timeout|nan", 2, "",
		 "tool: --timeout needs seconds >= 0\n");
	opt_case("--timeout|''", 2, "", "tool: --timeout needs seconds >= 0\n");
	opt_case("--timeout|1s", 2, "", "tool: --timeout needs seconds >= 0\n");
}

/* A second parse in the same process starts over (getopt state). */
static void test_opt_twice(void)
{
	struct argv_buf a;
	int i;

	split(&a, "x|--count|5|y");
	memset(&p, 0, sizeof(p));
	i = bg_opt_parse(&cli, a.n, a.v);
	CHECK(p.count == 5 && i == 3, "first parse: count %ld, index %d",
	      p.count, i);
	split(&a, "--count|6|z");
	memset(&p, 0, sizeof(p));
	i = bg_opt_parse(&cli, a.n, a.v);
	CHECK(p.count == 6 && i == 3 && !strcmp(a.v[i], "z"),
	      "second parse: count %ld, index %d", p.count, i);
}

/* ------------------------------------------------------------ messages */

static void msg_err(void *arg)
{
	(void)arg;
	bg_set_prog("prog");
	bg_err("one %d", 1);
	printf("still here\n");
}

static void msg_die(void *arg)
{
	(void)arg;
	bg_set_prog("prog");
	printf("unflushed");
	bg_die(BG_EXIT_ERR, "cannot %s", "go on");
}

static void msg_usage(void *arg)
{
	(void)arg;
	bg_set_prog("prog");
	bg_usage_error("bad %s", "thing");
}

static void msg_plain(void *arg)
{
	(void)arg;
	bg_die_plain("%s: says it all", "file.rules");
}

static void msg_at(void *arg)
{
	(void)arg;
	bg_warn_at("f.rules", (struct bg_pos){ 3, 7 }, "careful");
	bg_die_at("f.rules", (struct bg_pos){ 4, 1 }, "broken %d", 4);
}

static void msg_default(void *arg)
{
	(void)arg;
	bg_die(BG_EXIT_USAGE, "no name set");
}

static void msg_case(void (*fn)(void *), int status, const char *out,
		     const char *err)
{
	struct child c;

	run_child(&c, fn, NULL);
	CHECK(c.status == status, "status %d, want %d", c.status, status);
	check_str("stdout", c.out, out);
	check_str("stderr", c.err, err);
}

static void test_msg(void)
{
	char buf[BG_EXCERPT_SIZE];

	CHECK(BG_EXIT_OK == 0 && BG_EXIT_ERR == 1 && BG_EXIT_USAGE == 2,
	      "exit codes");
	msg_case(msg_err, 99, "still here\n", "prog: one 1\n");
	msg_case(msg_die, 1, "unflushed", "prog: cannot go on\n");
	msg_case(msg_usage, 2, "", "prog: bad thing (see prog --help)\n");
	msg_case(msg_plain, 1, "", "file.rules: says it all\n");
	msg_case(msg_at, 1, "",
		 "f.rules:3:7: warning: careful\nf.rules:4:1: broken 4\n");
	msg_case(msg_default, 2, "", "bpfguard: no name set\n");

	check_str("excerpt", bg_excerpt("abc", 3, buf), "abc");
	check_str("excerpt escapes", bg_excerpt("a\"\\\n\x80", 5, buf),
		  "a\\x22\\x5c\\x0a\\x80");
	check_str("excerpt cut",
		  bg_excerpt("0123456789012345678901234567890123456789", 40,
			     buf),
		  "01234567890123456789012345678901...");
	check_str("excerpt of 32",
		  BG_EXCERPT("01234567890123456789012345678901", 32),
		  "01234567890123456789012345678901");
}

/* ------------------------------------------------------------ bpffs, pins */

static void env(const char *bg, const char *fw)
{
	if (bg)
		setenv("BG_BPFFS", bg, 1);
	else
		unsetenv("BG_BPFFS");
	if (fw)
		setenv("FW_BPFFS", fw, 1);
	else
		unsetenv("FW_BPFFS");
}

static void test_pin(void)
{
	char buf[64];

	env(NULL, NULL);
	check_str("default", bg_bpffs(), "/sys/fs/bpf");
	env("", "");
	check_str("empty", bg_bpffs(), "/sys/fs/bpf");
	env(NULL, "/run/fw");
	check_str("FW_BPFFS", bg_bpffs(), "/run/fw");
	env("/run/bg", "/run/fw");
	check_str("BG_BPFFS first", bg_bpffs(), "/run/bg");
	env("", "/run/fw");
	check_str("empty BG_BPFFS", bg_bpffs(), "/run/fw");
	env("/run/bg", NULL);
	check_str("BG_BPFFS", bg_bpffs(), "/run/bg");

	CHECK(bg_pin_dir(buf, sizeof(buf), NULL) == 0, "pin dir");
	check_str("pin dir from env", buf, "/run/bg/tc/globals");
	CHECK(bg_pin_dir(buf, sizeof(buf), "") == 0, "pin dir");
	check_str("pin dir, empty", buf, "/run/bg/tc/globals");
	CHECK(bg_pin_path(buf, sizeof(buf), "/mnt", "bg_fw_log") == 0, "pin");
	check_str("pin path", buf, "/mnt/tc/globals/bg_fw_log");
	CHECK(bg_pin_path(buf, sizeof(buf), NULL, "m") == 0, "pin");
	check_str("pin path from env", buf, "/run/bg/tc/globals/m");
	CHECK(bg_pin_path(buf, 22, "/mnt", "bg_fw_log") == -ENAMETOOLONG,
	      "too long");
	CHECK(bg_pin_path(buf, 26, "/mnt", "bg_fw_log") == 0, "exact fit");
	CHECK(bg_pin_dir(buf, 14, "/mnt") == -ENAMETOOLONG, "too long");
	env(NULL, NULL);
}

/* ------------------------------------------------------------ memory, files */

static void test_mem_file(void)
{
	char path[] = "/tmp/libbg_test.file.XXXXXX", *data = NULL, *s;
	size_t cap = 0, len, i;
	int *v = NULL, fd;

	for (i = 0; i < 100; i++) {
		v = bg_grow(v, &cap, i, sizeof(*v));
		v[i] = (int)i;
	}
	CHECK(cap == 128 && v[99] == 99, "bg_grow: cap %zu", cap);
	free(v);
	s = xstrndup("abcdef", 3);
	check_str("xstrndup", s, "abc");
	free(s);

	fd = mkstemp(path);
	CHECK(write(fd, "hello\n", 6) == 6, "write");
	close(fd);
	CHECK(bg_read_file(path, 6, &data, &len) == 0 && len == 6 &&
		      !strcmp(data, "hello\n"),
	      "bg_read_file");
	free(data);
	CHECK(bg_read_file(path, 5, &data, &len) == BG_READ_TOO_BIG, "too big");
	unlink(path);
	CHECK(bg_read_file(path, 5, &data, &len) == ENOENT, "missing");
	CHECK(bg_read_file("/tmp", 5, &data, &len) == EISDIR, "directory");
	CHECK(bg_read_file("/dev/null", 5, &data, &len) == BG_READ_NOT_REGULAR,
	      "device");
}

/* Standard input as one JSON string, for jq. */
static int quote_stdin(void)
{
	size_t n = 0, cap = 0, size;
	char *in = NULL, *out;
	ssize_t got;

	for (;;) {
		while (cap < n + 4096) /* bg_grow doubles once a call */
			in = bg_grow(in, &cap, cap, 1);
		got = read(0, in + n, 4096);
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	size = BG_JSON_QUOTED_SIZE(n);
	out = xcalloc(size, 1);
	bg_json_quote(out, size, in, n);
	printf("%s\n", out);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "quote"))
		return quote_stdin();
	test_json();
	test_addr();
	test_msg(); /* first: it checks the PROG of a program not named */
	test_opt();
	test_opt_twice();
	test_pin();
	test_mem_file();
	if (failed)
		return 1;
	printf("libbg_test: all %lu checks passed\n", checks);
	return 0;
}
