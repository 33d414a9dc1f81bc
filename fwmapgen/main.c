// SPDX-License-Identifier: GPL-2.0
/* fwmapgen command line. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bg_pin.h"
#include "fwmapgen.h"
#include "lb.h"
#include "rl.h"
#include "rule_route.h"
#include "scrub.h"

enum mode {
	MODE_EMIT = 0,
	MODE_CHECK,
	MODE_EXPLAIN,
	MODE_EVAL,
	MODE_DIGEST,
	MODE_FEATURES,
};

struct opts {
	enum mode mode;
	int mode_set;
	unsigned int gen;
	const char *pin_dir; /* NULL: $BG_BPFFS (or $FW_BPFFS)/tc/globals */
	const char *out; /* NULL: stdout */
	const char *args[2];
	int nargs;
	int emit_opt; /* --gen, --pin-dir or -o given */
};

static const char usage_text[] =
	"usage: fwmapgen [--gen N] [--pin-dir DIR] [-o OUT] FILE\n"
	"       fwmapgen --check FILE\n"
	"       fwmapgen --explain FILE 'PACKET'\n"
	"       fwmapgen --eval FILE < PACKETS\n"
	"       fwmapgen --digest FILE\n"
	"       fwmapgen --features FILE\n"
	"\n"
	"Compile the bpfguard ruleset FILE into a bpftool batch that fills the\n"
	"pinned classifier maps (bpftool batch file OUT).\n"
	"\n"
	"  --gen N        generation to fill, 0 or 1 (default 0)\n"
	"  --pin-dir DIR  where the maps are pinned\n"
	"                 (default $FW_BPFFS/tc/globals, FW_BPFFS=/sys/fs/bpf)\n"
	"  -o OUT         write the batch to OUT instead of standard output,\n"
	"                 only on success: a regular file is replaced\n"
	"                 atomically (its mode kept), a character device or\n"
	"                 FIFO written into; a symbolic link is refused\n"
	"  --check        validate FILE, print a one-line summary\n"
	"  --explain      the verdict of the reference evaluator for PACKET,\n"
	"                 the ratelimit policy that applies to it, and the\n"
	"                 backend a new flow to a service gets\n"
	"  --eval         one PACKET per line on standard input, prints\n"
	"                 'ACTION RULE-ID' per packet (rule 0: default policy)\n"
	"  --digest       print the ruleset digest (SHA-256, hex)\n"
	"  --features     the features FILE uses that enable programs of the\n"
	"                 program registry, one per line (route: route-to,\n"
	"                 reply-to or dup-to; ratelimit: a ratelimit policy\n"
	"                 or a DDoS protection, set syn-flood ...;\n"
	"                 loadbalancer: a service; lbhealth: set health)\n"
	"  -h, --help     this help\n"
	"\n"
	"PACKET := [on IFACE] [PROTO] SRC[:PORT] -> DST[:PORT] [state STATE] [frag]\n"
	"  PROTO  tcp, udp, icmp, icmp6 or a number; none: protocol 253\n"
	"  SRC, DST  IPv4 or IPv6 addresses of one family; with a port:\n"
	"         192.0.2.1:80, [2001:db8::1]:80 (tcp and udp need both\n"
	"         ports, other protocols have none)\n"
	"  STATE  new (default), established, related or invalid\n"
	"  frag   a non-first fragment: no ports; the verdict is the one for\n"
	"         a fragment whose first fragment the firewall did not see\n"
	"\n"
	"Exit status: 0 success, 1 ruleset (or I/O) error, 2 usage error.\n";

static int is_help(const char *a)
{
	return !strcmp(a, "-h") || !strcmp(a, "--help");
}

/* --help wins over every other argument, in every mode. */
static void check_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (is_help(argv[i])) {
			fputs(usage_text, stdout);
			exit(BG_EXIT_OK);
		}
	}
}

static void set_mode(struct opts *o, enum mode m, const char *arg)
{
	if (o->mode_set && o->mode != m)
		bg_usage_error(
			"%s: give one of --check, --explain, --eval, --digest or --features",
			arg);
	o->mode = m;
	o->mode_set = 1;
}

/* "--opt VALUE" or "--opt=VALUE"; returns the value or NULL. */
static const char *opt_value(const char *name, int argc, char **argv, int *i)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (!strcmp(a, name)) {
		if (*i + 1 >= argc)
			bg_usage_error("%s needs a value", name);
		return argv[++*i];
	}
	if (!strncmp(a, name, n) && a[n] == '=' && name[1] == '-')
		return a + n + 1;
	return NULL;
}

static void parse_gen(struct opts *o, const char *v)
{
	if (strcmp(v, "0") && strcmp(v, "1"))
		bg_usage_error("--gen must be 0 or 1, not \"%s\"", v);
	o->gen = (unsigned int)(v[0] - '0');
}

static int parse_option(struct opts *o, int argc, char **argv, int *i)
{
	const char *a = argv[*i], *v = NULL;

	if (!strcmp(a, "--check"))
		set_mode(o, MODE_CHECK, a);
	else if (!strcmp(a, "--explain"))
		set_mode(o, MODE_EXPLAIN, a);
	else if (!strcmp(a, "--eval"))
		set_mode(o, MODE_EVAL, a);
	else if (!strcmp(a, "--digest"))
		set_mode(o, MODE_DIGEST, a);
	else if (!strcmp(a, "--features"))
		set_mode(o, MODE_FEATURES, a);
	else if ((v = opt_value("--gen", argc, argv, i)))
		parse_gen(o, v);
	else if ((v = opt_value("--pin-dir", argc, argv, i)))
		o->pin_dir = v;
	else if ((v = opt_value("-o", argc, argv, i)))
		o->out = v;
	else
		return -1;
	o->emit_opt |= v != NULL;
	return 0;
}

static void parse_args(struct opts *o, int argc, char **argv)
{
	int i, opts_done = 0;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!opts_done && !strcmp(a, "--")) {
			opts_done = 1;
		} else if (!opts_done && a[0] == '-' && a[1]) {
			if (parse_option(o, argc, argv, &i))
				bg_usage_error("unknown option %s", a);
		} else {
			if (o->nargs == 2)
				bg_usage_error("unexpected argument \"%s\"", a);
			o->args[o->nargs++] = a;
		}
	}
}

static void check_args(const struct opts *o)
{
	int want = o->mode == MODE_EXPLAIN ? 2 : 1;

	if (o->nargs < want)
		bg_usage_error("%s",
			       o->mode == MODE_EXPLAIN ?
				       "--explain needs FILE and 'PACKET'" :
				       "missing ruleset FILE");
	if (o->nargs > want)
		bg_usage_error("unexpected argument \"%s\"", o->args[want]);
	if (o->mode != MODE_EMIT && o->emit_opt)
		bg_usage_error("%s only apply to emitting a batch",
			       "--gen, --pin-dir and -o");
}

/*
 * The pin dir goes unquoted into bpftool batch lines, where blanks split
 * arguments and '#' starts a comment.
 */
static char *pin_dir_of(const struct opts *o)
{
	const char *bpffs = bg_bpffs();
	char *dir;
	size_t n, i;

	if (o->pin_dir) {
		dir = xstrndup(o->pin_dir, strlen(o->pin_dir));
	} else {
		n = strlen(bpffs) + sizeof("/" BG_PIN_SUBDIR);
		dir = xcalloc(n, 1);
		snprintf(dir, n, "%s/%s", bpffs, BG_PIN_SUBDIR);
	}
	for (i = 0; dir[i]; i++)
		if (dir[i] <= ' ' || dir[i] == 0x7f || strchr("#\"'\\", dir[i]))
			bg_usage_error(
				"pin dir \"%s\" has a blank, a control character, a quote, '\\' or '#'",
				dir);
	n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		dir[--n] = '\0';
	return dir;
}

static void print_check(const struct ruleset *rs)
{
	printf("%s: %zu rules (inet %d, inet6 %d), default %s, %zu table entries",
	       rs->path, rs->nrules, rs->nfam[BG_FAM_INET],
	       rs->nfam[BG_FAM_INET6],
	       rs->default_action == BG_ACT_BLOCK ? "block" : "pass",
	       rs->table_entries);
	if (rs->ntimeouts)
		printf(", %d timeouts set", rs->ntimeouts);
	if (rs->ct_limit_states)
		printf(", limit states %u", rs->ct_limit_states);
	if (rs->nrl)
		printf(", %zu ratelimit policies", rs->nrl);
	if (rs->nscrub)
		printf(", %zu scrub statements", rs->nscrub);
	if (lb_services(rs))
		printf(", %zu services (%zu backends)", lb_services(rs),
		       rs->lb->nbe);
	printf("\n");
}

static int do_explain(const struct ruleset *rs, const char *packet)
{
	struct packet pk;
	char err[256];

	if (packet_parse(packet, &pk, err, sizeof(err)))
		bg_usage_error("bad PACKET: %s", err);
	explain_packet(rs, &pk);
	return 0;
}

static int do_eval(const struct ruleset *rs)
{
	static char obuf[1 << 16];
	size_t cap = 0;
	char *line = NULL, err[256];
	const struct rule *r;
	struct packet pk;
	long lineno = 0;

	setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
	while (getline(&line, &cap, stdin) > 0) {
		lineno++;
		if (strspn(line, " \t\r\n") == strlen(line))
			continue;
		if (packet_parse(line, &pk, err, sizeof(err)))
			bg_die_plain("<stdin>:%ld: bad packet: %s", lineno,
				     err);
		r = eval_packet(rs, &pk);
		printf("%s %d\n",
		       action_name(r ? r->action : rs->default_action),
		       r ? r->id : 0);
	}
	free(line);
	if (fflush(stdout) || ferror(stdout))
		bg_die(BG_EXIT_ERR, "writing standard output: %s",
		       strerror(errno));
	return 0;
}

static int do_digest(const struct ruleset *rs)
{
	struct compiled c;
	uint8_t digest[32];
	char hex[65];

	compile(rs, &c);
	batch_digest(rs, &c, digest);
	hex_string(digest, sizeof(digest), hex);
	printf("%s\n", hex);
	return 0;
}

/*
 * Write to a temporary file beside OUT, rename it over OUT when complete.
 * mkstemp() creates it with O_EXCL: a symbolic link planted at the
 * temporary name is never followed, only skipped.
 */
static int write_atomic(const char *out, mode_t mode, const struct ruleset *rs,
			const struct compiled *c, unsigned int gen,
			const char *pin_dir, const uint8_t *digest)
{
	size_t n = strlen(out) + sizeof(".tmp.XXXXXX");
	char *tmp = xcalloc(n, 1);
	FILE *f;
	int fd;

	snprintf(tmp, n, "%s.tmp.XXXXXX", out);
	fd = mkstemp(tmp);
	if (fd < 0)
		bg_die(BG_EXIT_ERR, "%s: %s", tmp, strerror(errno));
	f = fdopen(fd, "w");
	if (!f || fchmod(fd, mode) ||
	    batch_write(f, rs, c, gen, pin_dir, digest) || fsync(fd) ||
	    fclose(f) || rename(tmp, out)) {
		int err = errno;

		unlink(tmp);
		bg_die(BG_EXIT_ERR, "writing %s: %s", out, strerror(err));
	}
	free(tmp);
	return 0;
}

/* A character device or a FIFO: write into it, as "> OUT" would. */
static int write_into(const char *out, const struct ruleset *rs,
		      const struct compiled *c, unsigned int gen,
		      const char *pin_dir, const uint8_t *digest)
{
	int fd = open(out, O_WRONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	FILE *f;

	if (fd < 0)
		bg_die(BG_EXIT_ERR, "-o %s: %s", out, strerror(errno));
	/* replaced since lstat(): neither truncate nor append to a file */
	if (fstat(fd, &st) || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)))
		bg_die(BG_EXIT_ERR, "-o %s: changed while being opened", out);
	f = fdopen(fd, "w");
	if (!f || batch_write(f, rs, c, gen, pin_dir, digest) || fclose(f))
		bg_die(BG_EXIT_ERR, "writing %s: %s", out, strerror(errno));
	return 0;
}

static const char *file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "directory";
	if (S_ISBLK(mode))
		return "block device";
	return S_ISSOCK(mode) ? "socket" : "special file";
}

/*
 * -o OUT runs as root, so what is at OUT decides: a regular file (or
 * nothing) is replaced atomically, keeping its permissions; a character
 * device or a FIFO is written into (renaming over /dev/null would replace
 * the host's /dev/null with a file); a symbolic link is refused rather
 * than followed to wherever it points, and so are directories, block
 * devices (a batch written onto a disk destroys it) and sockets.
 */
static int write_out(const char *out, const struct ruleset *rs,
		     const struct compiled *c, unsigned int gen,
		     const char *pin_dir, const uint8_t *digest)
{
	struct stat st;
	mode_t mask;

	if (lstat(out, &st)) {
		if (errno != ENOENT)
			bg_die(BG_EXIT_ERR, "-o %s: %s", out, strerror(errno));
		mask = umask(0);
		umask(mask);
		return write_atomic(out, 0666 & ~mask, rs, c, gen, pin_dir,
				    digest);
	}
	if (S_ISLNK(st.st_mode))
		bg_die(BG_EXIT_ERR,
		       "-o %s: is a symbolic link (-o follows none: name the file itself)",
		       out);
	if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))
		return write_into(out, rs, c, gen, pin_dir, digest);
	if (!S_ISREG(st.st_mode))
		bg_die(BG_EXIT_ERR,
		       "-o %s: is a %s (-o writes a regular file, a character device or a FIFO)",
		       out, file_kind(st.st_mode));
	return write_atomic(out, st.st_mode & 0777, rs, c, gen, pin_dir,
			    digest);
}

static int do_emit(const struct opts *o, const struct ruleset *rs)
{
	char *pin_dir = pin_dir_of(o);
	struct compiled c;
	uint8_t digest[32];

	compile(rs, &c);
	batch_digest(rs, &c, digest);
	if (o->out)
		return write_out(o->out, rs, &c, o->gen, pin_dir, digest);
	if (batch_write(stdout, rs, &c, o->gen, pin_dir, digest))
		bg_die(BG_EXIT_ERR, "writing standard output: %s",
		       strerror(errno));
	free(pin_dir);
	return 0;
}

/*
 * "state" compiles in every mode now that the kernel tracks connections;
 * without FW_HAVE_CONNTRACK only the evaluator would take it.
 */
static int allow_state(const struct opts *o)
{
	return FW_HAVE_CONNTRACK || o->mode == MODE_EXPLAIN ||
	       o->mode == MODE_EVAL;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct ruleset rs;

	bg_set_prog("fwmapgen");
	check_help(argc, argv);
	parse_args(&o, argc, argv);
	check_args(&o);
	if (o.mode == MODE_EMIT)
		free(pin_dir_of(&o)); /* usage errors before ruleset errors */
	ruleset_load(&rs, o.args[0], allow_state(&o));
	switch (o.mode) {
	case MODE_CHECK:
		compile(&rs, &(struct compiled){ 0 });
		print_check(&rs);
		return 0;
	case MODE_EXPLAIN:
		return do_explain(&rs, o.args[1]);
	case MODE_EVAL:
		return do_eval(&rs);
	case MODE_DIGEST:
		return do_digest(&rs);
	case MODE_FEATURES:
		if (route_used(&rs))
			printf("%s\n", ROUTE_FEATURE);
		if (rl_used(&rs))
			printf("%s\n", RL_FEATURE);
		if (rs.rl_cfg.syn_rate && rs.rl_cfg.syn_cookies)
			printf("%s\n", RL_COOKIE_FEATURE);
		if (lb_services(&rs))
			printf("%s\n", LB_FEATURE);
		/* entries, not statements: one on a missing interface has
		 * none, and the maps then say "not in use" too */
		if (rs.nscrub_rules)
			printf("%s\n", SCRUB_FEATURE);
		if (lb_healths(&rs))
			printf("%s\n", LB_HEALTH_FEATURE);
		return 0;
	default:
		return do_emit(&o, &rs);
	}
}
