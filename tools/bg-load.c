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
#include <getopt.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static int verbose;

static void usage(FILE *f)
{
	fprintf(f,
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
		"  -h, --help    this text\n");
}

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
			fprintf(stderr,
				"bg-load: pinned map %s has another layout "
				"(left by an older version?); run down.sh or "
				"remove the pin first\n",
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
		fprintf(stderr, "bg-load: cannot open %s: %s\n", file,
			strerror(errno));
		return 1;
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
		fprintf(stderr, "bg-load: path too long\n");
		return 1;
	}
	err = mkdir_p(dirname(parent));
	if (err) {
		fprintf(stderr, "bg-load: cannot create %s: %s\n", parent,
			strerror(-err));
		return 1;
	}
	if (!mkdtemp(tmp)) {
		fprintf(stderr, "bg-load: cannot create %s: %s\n", tmp,
			strerror(errno));
		return 1;
	}
	bpf_object__for_each_program(prog, obj) {
		if (snprintf(path, sizeof(path), "%s/%s", tmp,
			     bpf_program__name(prog)) >= (int)sizeof(path)) {
			fprintf(stderr, "bg-load: path too long\n");
			goto fail;
		}
		err = bpf_program__pin(prog, path);
		if (err) {
			fprintf(stderr, "bg-load: cannot pin %s: %s\n", path,
				strerror(-err));
			goto fail;
		}
	}
	if (rename(tmp, pin_dir)) {
		if (errno != EEXIST && errno != ENOTEMPTY) {
			fprintf(stderr, "bg-load: cannot rename %s to %s: %s\n",
				tmp, pin_dir, strerror(errno));
			goto fail;
		}
		bpf_object__for_each_program(prog, obj) {
			const char *name = bpf_program__name(prog);

			if (snprintf(path, sizeof(path), "%s/%s", tmp, name) >=
				    (int)sizeof(path) ||
			    snprintf(final, sizeof(final), "%s/%s", pin_dir,
				     name) >= (int)sizeof(final) ||
			    rename(path, final)) {
				fprintf(stderr, "bg-load: cannot pin %s: %s\n",
					final, strerror(errno));
				goto fail;
			}
		}
		rmdir(tmp);
	}
	bpf_object__for_each_program(prog, obj)
		printf("%s/%s\n", pin_dir, bpf_program__name(prog));
	return 0;
fail:
	remove_tmp_dir(tmp);
	return 1;
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
	static const struct option opts[] = {
		{ "bpffs", required_argument, NULL, 'b' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *bpffs = getenv("FW_BPFFS");
	char pin_root[4096], pin_dir[4096];
	struct bpf_object *obj;
	const char *file;
	int c, err, list = 0;
	size_t len;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			bpffs = optarg;
			break;
		case 'l':
			list = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	libbpf_set_print(print_fn);
	if (list) {
		if (argc - optind != 1) {
			fprintf(stderr, "bg-load: --list needs OBJ alone\n");
			return 2;
		}
		return list_programs(argv[optind]);
	}
	if (argc - optind != 2) {
		fprintf(stderr, "bg-load: need OBJ and PIN_DIR (see --help)\n");
		return 2;
	}
	file = argv[optind];
	/* "DIR/" would put the temporary directory inside DIR. */
	len = strlen(argv[optind + 1]);
	while (len > 1 && argv[optind + 1][len - 1] == '/')
		len--;
	if (!len || len >= 2048) {
		fprintf(stderr, "bg-load: bad PIN_DIR\n");
		return 2;
	}
	snprintf(pin_dir, sizeof(pin_dir), "%.*s", (int)len, argv[optind + 1]);
	if (!bpffs || !*bpffs)
		bpffs = "/sys/fs/bpf";
	if (strlen(bpffs) > 1024) {
		fprintf(stderr, "bg-load: bpffs path too long\n");
		return 2;
	}
	snprintf(pin_root, sizeof(pin_root), "%s/tc/globals", bpffs);

	err = mkdir_p(pin_root);
	if (err) {
		fprintf(stderr, "bg-load: cannot create %s: %s\n", pin_root,
			strerror(-err));
		return 1;
	}

	LIBBPF_OPTS(bpf_object_open_opts, oopts, .pin_root_path = pin_root);
	obj = bpf_object__open_file(file, &oopts);
	if (!obj) {
		fprintf(stderr, "bg-load: cannot open %s: %s\n", file,
			strerror(errno));
		return 1;
	}
	set_default_types(obj);
	err = bpf_object__load(obj);
	if (err) {
		explain_map_conflict(obj, pin_root);
		fprintf(stderr, "bg-load: loading %s failed: %s%s\n", file,
			strerror(-err),
			verbose ? "" : " (run with -v for the verifier log)");
		bpf_object__close(obj);
		return 1;
	}
	err = pin_programs(obj, pin_dir);
	bpf_object__close(obj);
	return err;
}
