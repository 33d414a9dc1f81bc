/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fwmapgen: compile a bpfguard ruleset into a bpftool batch that fills the
 * pinned classifier maps of headers/bg_abi.h, and evaluate rulesets with a
 * reference evaluator that shares nothing with the compiled vectors.
 */
#ifndef FWMAPGEN_H
#define FWMAPGEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bg_abi.h"
#include "bg_file.h"
#include "bg_mem.h"
#include "bg_msg.h"

#define FAMF_BOTH (BG_FAMF_INET | BG_FAMF_INET6)

/*
 * "state" needs the kernel's connection tracking (tc_conntrack keeps the
 * table, xdp_firewall reads each packet's class). At 0, only --explain and
 * --eval would accept rules using it.
 */
#define FW_HAVE_CONNTRACK 1

#define PROTO_ANY (-1) /* rule without "proto" */
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ICMP 1
#define PROTO_ICMP6 58
/* Protocol of a PACKET given without one (RFC 3692 experimentation). */
#define PROTO_UNSPEC 253
#define BG_CT_CLASSES 4

/* Addresses, and ports (FLD_SRC: source port, FLD_DST: destination). */
enum fw_field {
	FLD_SRC = 0,
	FLD_DST = 1,
	FLD_MAX = 2,
};

/* An inclusive port range. */
struct portrange {
	uint32_t lo;
	uint32_t hi;
};

/* The ports of one rule field: sorted, merged; n == 0: no "port". */
struct portlist {
	struct portrange *v;
	size_t n;
	size_t cap;
};

/*
 * An IPv4 prefix uses addr[0..3]; the bytes past the prefix are zero. A
 * port prefix (compile.c) uses addr[0..1], network order, len 0..16.
 */
struct prefix {
	uint8_t addr[16];
	uint8_t len;
	uint8_t fam; /* enum bg_family */
};

/*
 * A set of prefixes a rule field refers to: a table, an inline { } list or
 * a single address. Tables are shared by every rule that names them.
 */
struct addrset {
	struct prefix *v; /* sorted, deduplicated */
	size_t n;
	size_t cap;
	uint8_t fams; /* BG_FAMF_* of the entries; both when empty */
	char *name; /* table <NAME>; NULL: a rule's { list } or address */
	/* Evaluator view: per family, only the prefixes no other one covers. */
	struct prefix *top[BG_FAM_MAX];
	size_t ntop[BG_FAM_MAX];
};

struct rl_policy;
struct rl_lists;
struct scrub_stmt;
struct lb;

struct rfield {
	int any; /* wildcard: no set */
	int neg; /* "!ADDR" or "!<TABLE>" */
	int set; /* index into ruleset.sets */
};

struct rule {
	int id; /* 1-based position among rules */
	int line; /* physical line where the rule starts */
	uint8_t action; /* enum bg_action */
	uint8_t flags; /* enum bg_rule_flags */
	uint8_t fams; /* BG_FAMF_* the rule applies to */
	int has_label;
	char label[BG_FW_LABEL_LEN];
	char iface[BG_IFNAMSIZ]; /* empty: no "on" */
	unsigned int ifindex; /* 0: no "on", or the interface is missing */
	struct rfield f[FLD_MAX];
	int proto; /* IP protocol, PROTO_ANY without "proto" */
	struct portlist port[FLD_MAX];
	uint8_t states; /* 1 << enum bg_ct_class; 0: no "state" */
	int vlan; /* "vlan N": 802.1Q id, -1 without */
	int has_flags; /* "flags F/M": of the flags in flags_mask, */
	uint8_t flags_set; /* exactly those in flags_set are set */
	uint8_t flags_mask;
	int icmp_type; /* "icmp-type N", -1 without */
	int icmp_code; /* "code N", -1 without */
	int has_mac[BG_FW_MAC_DIRS]; /* "mac-src", "mac-dst" */
	uint8_t mac[BG_FW_MAC_DIRS][6];
	int dscp; /* "dscp N|NAME": 0..63, -1 without */
	struct rule_limits *limits; /* CONNECTION-LIMITS (rule_limits.c) */
	struct rule_route *route; /* ROUTING (rule_route.c) */
	int bit[BG_FAM_MAX]; /* position among the family's rules, -1 if none */
	char *text; /* logical source line, whitespace collapsed */
};

struct ruleset {
	const char *path;
	struct rule *rules;
	size_t nrules;
	size_t rules_cap;
	struct addrset *sets;
	size_t nsets;
	size_t sets_cap;
	int nfam[BG_FAM_MAX];
	uint8_t default_action;
	int uses_iface;
	int uses_proto;
	int uses_ports;
	int uses_state;
	int uses_vlan;
	int uses_flags;
	int uses_icmp;
	int uses_mac; /* 1 << enum bg_fw_mac_dir */
	int uses_dscp;
	int uses_overload; /* a rule says "overload <TABLE>" */
	/* "set timeout" and "set limit states": struct bg_ct_config, 0: unset */
	uint32_t ct_timeout[BG_CTT_MAX];
	uint32_t ct_limit_states;
	int ntimeouts; /* timeouts set */
	/* the rate limiter (rl.h): "ratelimit" policies in file order, and
	 * the DDoS "set"s; npolicies is nrl */
	struct rl_policy *rl;
	size_t nrl;
	size_t rl_cap;
	struct bg_rl_config rl_cfg;
	uint64_t *rl_amp_ports; /* "set udp-amplification": the port bits */
	struct rl_lists *rl_lists; /* the tries' prefixes; NULL: no policy */
	/* traffic normalization (scrub.h): statements in file order, and
	 * their kernel entries (BG_SCRUB_MAX; NULL without any) */
	struct scrub_stmt *scrub;
	size_t nscrub;
	size_t scrub_cap;
	struct bg_scrub_rule *scrub_rules;
	size_t nscrub_rules;
	/* the load balancer (lb.h): services, health checks; NULL: none */
	struct lb *lb;
	size_t table_entries;
	size_t ntables;
};

/*
 * Size limits of what fwmapgen reads. A ruleset is held with a position
 * per byte (9 bytes each), so it gets the smaller one; table files hold
 * the big lists (100,000 entries are about 2 MiB).
 */
#define RULESET_MAX (16u << 20)
#define RULESET_MAX_TEXT "16 MiB"
#define TABLE_FILE_MAX (64u << 20)
#define TABLE_FILE_MAX_TEXT "64 MiB"

/* addr.c */
const char *family_name(int fam);
int proto_fams(int proto);
int proto_parse(const char *s, size_t n);
/* Append printf-style text at buf + *n (what fits of it; buf of @size). */
void text_addf(char *buf, size_t size, size_t *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A decimal number 0..@max, digits only: 0, or -1 when it is not one. */
int parse_num(const char *s, size_t n, uint32_t max, uint32_t *out);
/* aa:bb:cc:dd:ee:ff (hex digits, either case): 0, or -1 */
int mac_parse(const char *s, size_t n, uint8_t out[6]);
/* A DSCP number 0..63 or name (ef, af11..af43, cs0..cs7): 0..63, or -1 */
int dscp_parse(const char *s, size_t n);
/* pf's TCP flag letters FSRPAUEW: the flags byte, or -1 */
int tcp_flags_parse(const char *s, size_t n);

enum addr_err {
	ADDR_OK = 0,
	ADDR_BAD,
	ADDR_BAD_PREFIX,
	ADDR_HOST_BITS,
};

enum addr_err prefix_parse(const char *s, size_t n, struct prefix *out);
int host_parse(const char *s, size_t n, struct prefix *out);
/*
 * ADDR, IPv4:PORT, [IPv6] or [IPv6]:PORT (an address and port as the
 * PACKET of --explain and a service's backend write them): the address
 * into *out; *port and *port_len the port's text (NULL, 0: none). 0, or
 * -1 when it is none of these.
 */
int endpoint_split(const char *s, size_t n, struct prefix *out,
		   const char **port, size_t *port_len);
void addr_err_msg(enum addr_err err, const char *s, size_t n, char *buf,
		  size_t size);
int prefix_cmp(const struct prefix *a, const struct prefix *b);
int prefix_contains(const struct prefix *outer, const struct prefix *inner);
void prefix_format(const struct prefix *p, char *buf, size_t size);
void addrset_add(struct addrset *set, const struct prefix *p);
void addrset_finish(struct addrset *set);

/*
 * parser.c, with the statement families (family.h): rule_parse.c,
 * set_parse.c, table_parse.c, macro.c
 */
/* @allow_state: accept "state" (always, with FW_HAVE_CONNTRACK) */
void ruleset_load(struct ruleset *rs, const char *path, int allow_state);

/* packet.c */
struct packet {
	int has_iface;
	char iface[BG_IFNAMSIZ];
	int fam;
	struct prefix src;
	struct prefix dst;
	int proto; /* PROTO_UNSPEC when not given */
	int frag; /* non-first fragment: no ports */
	int has_ports; /* TCP or UDP, not a fragment */
	uint32_t port[FLD_MAX];
	int state; /* enum bg_ct_class, default new */
	int vlan; /* innermost 802.1Q id, -1: untagged */
	int has_tcp; /* TCP with its header: tcp_flags valid */
	uint8_t tcp_flags;
	int has_icmp; /* ICMP or ICMPv6 with its header */
	uint8_t icmp_type;
	uint8_t icmp_code;
	uint8_t mac[BG_FW_MAC_DIRS][6];
	uint8_t dscp;
};

int packet_parse(const char *s, struct packet *pk, char *err, size_t size);

/* rule_explain.c */
/* Does @r match @pk (every field; the rate limiter's policies too)? */
int rule_match(const struct ruleset *rs, const struct rule *r,
	       const struct packet *pk);
const struct rule *eval_packet(const struct ruleset *rs,
			       const struct packet *pk);
const char *action_name(uint8_t action);
void explain_packet(const struct ruleset *rs, const struct packet *pk);

/* rule_limits.c: a rule's CONNECTION-LIMITS, as written (no trailing
 * blank); "" when it has none */
struct rule_limits {
	uint32_t max_states;
	uint32_t max_src_conn;
	uint32_t rate_conns; /* max-src-conn-rate N/S */
	uint32_t rate_secs;
	int overload;
	int flush;
	char table[BG_FW_TABLE_NAME_LEN];
};

void rule_limits_text(const struct rule *r, char *buf, size_t size);

/* rule_format.c */
/*
 * The rule in canonical ruleset syntax, from its parsed form (not its
 * source text): what status.sh shows; parsed again with the same tables it
 * compiles to the same rule. Allocated: the caller frees it.
 */
char *rule_format(const struct ruleset *rs, const struct rule *r);
/* Its match part alone: " on IFACE inet proto tcp from ... to ...", each
 * part after a blank ("" when it matches everything); freed by the caller */
char *rule_format_match(const struct ruleset *rs, const struct rule *r);
/*
 * @s into @buf of @size, NUL-filled: one that does not fit is cut at the
 * last blank that leaves room for BG_FW_RTEXT_CUT (" ..."), which ends
 * it. Returns 1 when cut.
 */
int text_fill(char *buf, size_t size, const char *s);

/* rule_compile.c */
struct lpm_ent {
	struct prefix p;
	uint32_t vec;
};

struct lpm {
	struct lpm_ent *e;
	size_t n;
	size_t cap;
};

struct iface_ent {
	unsigned int ifindex;
	uint32_t vec[BG_FAM_MAX];
};

struct named_ent {
	uint32_t key; /* VLAN id; MAC: index into mac_addrs */
	uint32_t vec[BG_FAM_MAX];
};

struct compiled {
	struct bg_fw_vec *vecs;
	size_t nvecs;
	size_t vecs_cap;
	uint32_t *slots; /* vector hash table: id + 1, 0 when free */
	size_t nslots;
	struct lpm lpm[FLD_MAX][BG_FAM_MAX];
	struct iface_ent *ifaces;
	size_t nifaces;
	uint32_t iface_other[BG_FAM_MAX];
	uint32_t nwords[BG_FAM_MAX];
	struct lpm ports[FLD_MAX][BG_FAM_MAX]; /* when uses_ports */
	uint32_t proto_vec[BG_FAM_MAX][BG_FW_PROTOS]; /* when uses_proto */
	uint32_t noport[BG_FAM_MAX]; /* when uses_ports */
	uint32_t state_vec[BG_FAM_MAX][BG_CT_CLASSES]; /* when uses_state */
	struct named_ent *vlans; /* when uses_vlan */
	size_t nvlans;
	uint32_t vlan_other[BG_FAM_MAX];
	/* when uses_mac & (1 << dir): the addresses rules name, and theirs */
	struct named_ent *macs[BG_FW_MAC_DIRS];
	uint8_t (*mac_addrs[BG_FW_MAC_DIRS])[6];
	size_t nmacs[BG_FW_MAC_DIRS];
	uint32_t mac_other[BG_FW_MAC_DIRS][BG_FAM_MAX];
	/* when uses_flags: per TCP flags byte, BG_FW_SLOT_NONE: no header */
	uint32_t flags_vec[BG_FAM_MAX][BG_FW_BYTE_SLOTS];
	/* when uses_icmp: [0] type, [1] code */
	uint32_t icmp_vec[BG_FAM_MAX][2][BG_FW_BYTE_SLOTS];
	uint32_t dscp_vec[BG_FAM_MAX][BG_FW_DSCP_SLOTS]; /* when uses_dscp */
};

void compile(const struct ruleset *rs, struct compiled *c);

/* emit.c, with the families' FAMILY_emit.c (emit.h) */
void batch_digest(const struct ruleset *rs, const struct compiled *c,
		  uint8_t digest[32]);
int batch_write(FILE *f, const struct ruleset *rs, const struct compiled *c,
		unsigned int gen, const char *pin_dir,
		const uint8_t digest[32]);
void hex_string(const uint8_t *p, size_t n, char *out);

#endif /* FWMAPGEN_H */
