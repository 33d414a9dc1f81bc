// SPDX-License-Identifier: GPL-2.0
/*
 * bg-abi: the ABI shared by the BPF programs and userspace, as JSON, for
 * the scripts and tests that read map bytes (lib.sh, status.sh,
 * conntrack.sh, test/lib/abi.py). Compiled from the ABI headers, with the
 * member lists generated from them (tools/gen-abi.awk): sizes, offsets
 * and values come from the compiler, so a consumer that reads them never
 * holds an old layout.
 *
 *   {"structs": {"NAME": {"size": N, "fields": [{"name", "type",
 *                 "offset", "size", "count"}, ...]}},
 *    "enums": {"NAME": {"VALUE": N, ...}},
 *    "consts": {"NAME": N | "string"}}
 *
 * count is the number of elements of an array member (1 for a scalar),
 * type the element type (__u32, __be16, char ...).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "bg_abi.h"
#include "bg_msg.h"
#include "bg_opt.h"

static const char *sep;

static void struct_begin(const char *name, size_t size)
{
	printf("%s\n    \"%s\": {\"size\": %zu, \"fields\": [", sep, name,
	       size);
	sep = "";
}

static void field(const char *name, const char *type, size_t off, size_t size,
		  size_t elem)
{
	printf("%s\n      {\"name\": \"%s\", \"type\": \"%s\", \"offset\": %zu, "
	       "\"size\": %zu, \"count\": %zu}",
	       sep, name, type, off, size, size / elem);
	sep = ",";
}

static void struct_end(void)
{
	printf("]}");
	sep = ",";
}

static void enum_begin(const char *name)
{
	printf("%s\n    \"%s\": {", sep, name);
	sep = "";
}

static void enum_val(const char *name, long long v)
{
	printf("%s\"%s\": %lld", sep, name, v);
	sep = ", ";
}

static void enum_end(void)
{
	printf("}");
	sep = ",";
}

static void const_num(const char *name, long long v)
{
	printf("%s\n    \"%s\": %lld", sep, name, v);
	sep = ",";
}

static void const_str(const char *name, const char *v)
{
	printf("%s\n    \"%s\": \"%s\"", sep, name, v);
	sep = ",";
}

#define ABI_ELEM_0(s, f) sizeof(((struct s *)0)->f)
#define ABI_ELEM_1(s, f) sizeof(((struct s *)0)->f[0])
#define ABI_ELEM_2(s, f) sizeof(((struct s *)0)->f[0][0])

enum abi_part { ABI_STRUCTS, ABI_ENUMS, ABI_CONSTS };

/* The generated list, walked once per part of the JSON. */
static void print_part(enum abi_part part)
{
#define ABI_STRUCT_BEGIN(s)      \
	if (part == ABI_STRUCTS) \
		struct_begin(#s, sizeof(struct s));
#define ABI_FIELD(s, f, t, dims)                    \
	if (part == ABI_STRUCTS)                    \
		field(#f, t, offsetof(struct s, f), \
		      sizeof(((struct s *)0)->f), ABI_ELEM_##dims(s, f));
#define ABI_STRUCT_END(s)        \
	if (part == ABI_STRUCTS) \
		struct_end();
#define ABI_ENUM_BEGIN(e)      \
	if (part == ABI_ENUMS) \
		enum_begin(#e);
#define ABI_ENUM_VAL(e, v)     \
	if (part == ABI_ENUMS) \
		enum_val(#v, (long long)(v));
#define ABI_ENUM_END(e)        \
	if (part == ABI_ENUMS) \
		enum_end();
#define ABI_CONST(c)            \
	if (part == ABI_CONSTS) \
		const_num(#c, (long long)(c));
#define ABI_CONST_STR(c)        \
	if (part == ABI_CONSTS) \
		const_str(#c, c);
#include "bg_abi_gen.h"
}

static const char usage_text[] =
	"Usage: bg-abi\n"
	"\n"
	"Print the layout of every struct, the values of every enum and the\n"
	"constants of bpfguard's ABI headers as JSON (sizes and offsets in\n"
	"bytes).\n"
	"\n"
	"  -h, --help   this text\n"
	"  --version    the version\n";

int main(int argc, char **argv)
{
	const struct bg_opt opts[] = { { NULL, 0, 0, NULL, 0, NULL } };
	const struct bg_cli cli = { "bg-abi", usage_text, opts };

	if (bg_opt_parse(&cli, argc, argv) != argc)
		bg_die(BG_EXIT_USAGE, "no arguments expected (see --help)");
	printf("{\n  \"structs\": {");
	sep = "";
	print_part(ABI_STRUCTS);
	printf("\n  },\n  \"enums\": {");
	sep = "";
	print_part(ABI_ENUMS);
	printf("\n  },\n  \"consts\": {");
	sep = "";
	print_part(ABI_CONSTS);
	printf("\n  }\n}\n");
	return 0;
}
