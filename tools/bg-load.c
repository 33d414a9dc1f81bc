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
 */
#include <errno.h>
#include <getopt.h>
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
		"\n"
		"Load the BPF object OBJ: create or reuse its maps, pinned by\n"
		"name under DIR/tc/globals, and pin each of its programs as\n"
		"PIN_DIR/<program name>. Nothing is attached.\n"
		"\n"
		"  --bpffs DIR   bpffs mount (default: $FW_BPFFS or /sys/fs/bpf)\n"
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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *bpffs = getenv("FW_BPFFS");
	char pin_root[4096], path[4096];
	struct bpf_program *prog;
	struct bpf_object *obj;
	const char *file, *pin_dir;
	int c, err;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			bpffs = optarg;
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
	if (argc - optind != 2) {
		fprintf(stderr, "bg-load: need OBJ and PIN_DIR (see --help)\n");
		return 2;
	}
	file = argv[optind];
	pin_dir = argv[optind + 1];
	if (!bpffs || !*bpffs)
		bpffs = "/sys/fs/bpf";
	if (strlen(bpffs) > 1024) {
		fprintf(stderr, "bg-load: bpffs path too long\n");
		return 2;
	}
	snprintf(pin_root, sizeof(pin_root), "%s/tc/globals", bpffs);

	libbpf_set_print(print_fn);
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

	err = mkdir_p(pin_dir);
	if (err) {
		fprintf(stderr, "bg-load: cannot create %s: %s\n", pin_dir,
			strerror(-err));
		bpf_object__close(obj);
		return 1;
	}
	bpf_object__for_each_program(prog, obj) {
		if (snprintf(path, sizeof(path), "%s/%s", pin_dir,
			     bpf_program__name(prog)) >= (int)sizeof(path)) {
			fprintf(stderr, "bg-load: path too long\n");
			bpf_object__close(obj);
			return 1;
		}
		unlink(path);
		err = bpf_program__pin(prog, path);
		if (err) {
			fprintf(stderr, "bg-load: cannot pin %s: %s\n", path,
				strerror(-err));
			bpf_object__close(obj);
			return 1;
		}
		printf("%s\n", path);
	}
	bpf_object__close(obj);
	return 0;
}
