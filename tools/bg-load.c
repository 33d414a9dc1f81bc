// SPDX-License-Identifier: GPL-2.0
/*
 * bg-load: load one bpfguard object with its maps pinned by name under
 * <bpffs>/tc/globals (where iproute2 pins them too) and pin its programs,
 * without attaching anything.
 *
 * Why not bpftool: "bpftool prog load" pins LIBBPF_PIN_BY_NAME maps under
 * /sys/fs/bpf with no way to choose the root, which would touch the host's
 * pins in tests and miss the maps iproute2 shares. Why not "ip link set
 * xdp obj": it attaches at once, and up.sh must fill the maps before any
 * packet sees the program.
 *
 * All or nothing: the programs are pinned into a temporary directory beside
 * PIN_DIR (PIN_DIR-tmp-XXXXXX; bpffs refuses names with a dot) that is
 * renamed to PIN_DIR only once every program is pinned, so an interrupted
 * load never leaves a half-filled PIN_DIR, only a temporary directory,
 * which up.sh removes.
 */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bg_msg.h"
#include "bg_opt.h"
#include "bg_pin.h"

static const char usage_text[] =
	"Usage: bg-load [-v] --bpffs DIR OBJ PIN_DIR\n"
	"       bg-load --list OBJ\n"
	"\n"
	"Load the BPF object OBJ: create or reuse its maps, pinned by\n"
	"name under DIR/tc/globals, and pin each of its programs as\n"
	"PIN_DIR/<program name>. Nothing is attached. The programs are\n"
	"pinned in PIN_DIR-tmp-XXXXXX first; a new PIN_DIR appears only\n"
	"complete (renamed into place), an existing one gets each pin\n"
	"replaced by a rename.\n"
	"\n"
	"  --bpffs DIR   bpffs mount (default: $FW_BPFFS or /sys/fs/bpf)\n"
	"  --list        print the names of OBJ's programs, load nothing\n"
	"  -v            print libbpf's debug log (verifier output)\n"
	"  -h, --help    this text\n";

static int verbose;

static int print_fn(enum libbpf_print_level level, const char *fmt,
		    va_list args)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static int mkdir_p(const char *path)
{
	char buf[4096];
	size_t i;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (i = 1; buf[i]; i++) {
		if (buf[i] != '/')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		buf[i] = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

/* A pinned map whose layout changed cannot be reused: name it. */
static void explain_map_conflict(struct bpf_object *obj, const char *pin_root)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		char path[4096];
		int fd;

		if (!bpf_map__pin_path(map))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", pin_root,
			     bpf_map__name(map)) >= (int)sizeof(path))
			continue;
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    (info.type != bpf_map__type(map) ||
		     info.key_size != bpf_map__key_size(map) ||
		     info.value_size != bpf_map__value_size(map) ||
		     info.max_entries != bpf_map__max_entries(map) ||
		     info.map_flags != bpf_map__map_flags(map)))
			bg_err("pinned map %s has another layout (left by an older version?); run down.sh or remove the pin first",
			       path);
		close(fd);
	}
}

/* Unpin what a failed load pinned in its temporary directory. */
static void remove_tmp_dir(const char *dir)
{
	char path[4096];
	struct dirent *e;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) <
		    (int)sizeof(path))
			unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static int list_programs(const char *file)
{
	struct bpf_program *prog;
	struct bpf_object *obj;

	obj = bpf_object__open_file(file, NULL);
	if (!obj) {
		bg_err("cannot open %s: %s", file, strerror(errno));
		return BG_EXIT_ERR;
	}
	bpf_object__for_each_program(prog, obj)
		printf("%s\n", bpf_program__name(prog));
	bpf_object__close(obj);
	return 0;
}

/*
 * Pin every program of the loaded object into a new temporary directory
 * beside pin_dir, then move it into place: a new pin_dir by one rename (it
 * appears complete or not at all), an existing one pin by pin (each rename
 * atomically replaces one pin).
 */
static int pin_programs(struct bpf_object *obj, const char *pin_dir)
{
	char tmp[4096], parent[4096], path[4096], final[4096];
	struct bpf_program *prog;
	int err;

	if (snprintf(parent, sizeof(parent), "%s", pin_dir) >=
		    (int)sizeof(parent) ||
	    snprintf(tmp, sizeof(tmp), "%s-tmp-XXXXXX", pin_dir) >=
		    (int)sizeof(tmp)) {
		bg_err("path too long");
		return BG_EXIT_ERR;
	}
	err = mkdir_p(dirname(parent));
	if (err) {
		bg_err("cannot create %s: %s", parent, strerror(-err));
		return BG_EXIT_ERR;
	}
	if (!mkdtemp(tmp)) {
		bg_err("cannot create %s: %s", tmp, strerror(errno));
		return BG_EXIT_ERR;
	}
	bpf_object__for_each_program(prog, obj) {
		if (snprintf(path, sizeof(path), "%s/%s", tmp,
			     bpf_program__name(prog)) >= (int)sizeof(path)) {
			bg_err("path too long");
			goto fail;
		}
		err = bpf_program__pin(prog, path);
		if (err) {
			bg_err("cannot pin %s: %s", path, strerror(-err));
			goto fail;
		}
	}
	if (rename(tmp, pin_dir)) {
		if (errno != EEXIST && errno != ENOTEMPTY) {
			bg_err("cannot rename %s to %s: %s", tmp, pin_dir,
			       strerror(errno));
			goto fail;
		}
		bpf_object__for_each_program(prog, obj) {
			const char *name = bpf_program__name(prog);

			if (snprintf(path, sizeof(path), "%s/%s", tmp, name) >=
				    (int)sizeof(path) ||
			    snprintf(final, sizeof(final), "%s/%s", pin_dir,
				     name) >= (int)sizeof(final) ||
			    rename(path, final)) {
				bg_err("cannot pin %s: %s", final,
				       strerror(errno));
				goto fail;
			}
		}
		rmdir(tmp);
	}
	bpf_object__for_each_program(prog, obj)
		printf("%s/%s\n", pin_dir, bpf_program__name(prog));
	return BG_EXIT_OK;
fail:
	remove_tmp_dir(tmp);
	return BG_EXIT_ERR;
}

/*
 * libbpf 1.1 knows SEC("tc") but not SEC("tc/ingress") or SEC("tc/egress")
 * (newer versions take those for TCX): give programs whose type libbpf left
 * unspecified the type their section name means to iproute2.
 */
static void set_default_types(struct bpf_object *obj)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) {
		const char *sec = bpf_program__section_name(prog);

		if (bpf_program__type(prog) != BPF_PROG_TYPE_UNSPEC || !sec)
			continue;
		if (!strncmp(sec, "tc", 2))
			bpf_program__set_type(prog, BPF_PROG_TYPE_SCHED_CLS);
		else if (!strncmp(sec, "xdp", 3))
			bpf_program__set_type(prog, BPF_PROG_TYPE_XDP);
	}
}

int main(int argc, char **argv)
{
	const char *bpffs = NULL;
	int list = 0;
	const struct bg_opt opts[] = {
		{ "bpffs", 0, BG_OPT_STRING, &bpffs, 0, NULL },
		{ "list", 0, BG_OPT_FLAG, &list, 0, NULL },
		{ NULL, 'v', BG_OPT_FLAG, &verbose, 0, NULL },
		{ NULL, 0, 0, NULL, 0, NULL },
	};
	const struct bg_cli cli = { "bg-load", usage_text, opts };
	char pin_root[4096], pin_dir[4096];
	struct bpf_object *obj;
	const char *file;
	int i, err;
	size_t len;

	i = bg_opt_parse(&cli, argc, argv);
	libbpf_set_print(print_fn);
	if (list) {
		if (argc - i != 1)
			bg_die(BG_EXIT_USAGE, "--list needs OBJ alone");
		return list_programs(argv[i]);
	}
	if (argc - i != 2)
		bg_die(BG_EXIT_USAGE, "need OBJ and PIN_DIR (see --help)");
	file = argv[i];
	/* "DIR/" would put the temporary directory inside DIR. */
	len = strlen(argv[i + 1]);
	while (len > 1 && argv[i + 1][len - 1] == '/')
		len--;
	if (!len || len >= 2048)
		bg_die(BG_EXIT_USAGE, "bad PIN_DIR");
	snprintf(pin_dir, sizeof(pin_dir), "%.*s", (int)len, argv[i + 1]);
	if (!bpffs || !*bpffs)
		bpffs = bg_bpffs();
	if (strlen(bpffs) > 1024)
		bg_die(BG_EXIT_USAGE, "bpffs path too long");
	bg_pin_dir(pin_root, sizeof(pin_root), bpffs);

	err = mkdir_p(pin_root);
	if (err) {
		bg_err("cannot create %s: %s", pin_root, strerror(-err));
		return BG_EXIT_ERR;
	}

	LIBBPF_OPTS(bpf_object_open_opts, oopts, .pin_root_path = pin_root);
	obj = bpf_object__open_file(file, &oopts);
	if (!obj) {
		bg_err("cannot open %s: %s", file, strerror(errno));
		return BG_EXIT_ERR;
	}
	set_default_types(obj);
	err = bpf_object__load(obj);
	if (err) {
		explain_map_conflict(obj, pin_root);
		bg_err("loading %s failed: %s%s", file, strerror(-err),
		       verbose ? "" : " (run with -v for the verifier log)");
		bpf_object__close(obj);
		return BG_EXIT_ERR;
	}
	err = pin_programs(obj, pin_dir);
	bpf_object__close(obj);
	return err;
}
