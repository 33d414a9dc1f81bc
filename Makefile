# bpfguard - eBPF network security toolkit
#
#   make                 build every BPF object and helper into build/
#   make deps            install the Debian packages the project needs
#   make test            install what the tests need, build, run the test
#                        suite (root; bats)
#   make bench           ns/packet through BPF_PROG_TEST_RUN, then the
#                        floods (make bench-flood, make bench-synflood,
#                        make bench-lbflood)
#   make bench-switch    only fwmapgen's compile and the ruleset switch
#                        (4096 rules, 100,000 table entries)
#   make bench-flood     packets/s under a trafgen flood over veth: a bare
#                        XDP_DROP, the firewall and nftables (root)
#   make bench-synflood  SYN cookies answered under a spoofed SYN flood,
#                        against a bare XDP_DROP (root)
#   make bench-lbflood   new connections forwarded by the load balancer
#                        under a SYN flood, against nftables DNAT (root)
#   make demo            install what the demo needs, build, then a
#                        namespace lab: up, real traffic, status, down
#   make lint            shellcheck + clang-format
#   make check-kernels   load every object under Debian 12's 6.1 kernel (qemu)
#   make install [PREFIX=/usr/local] [DESTDIR=]
#   make clean

PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
DESTDIR ?=
BUILD ?= build

CLANG ?= clang
CC ?= gcc
# The host's triplet (x86_64-linux-gnu, aarch64-linux-gnu ...) from the
# compiler: its asm/ headers, and the architecture libbpf's bpf_tracing.h
# wants for the uprobe programs (__TARGET_ARCH_x86, arm64, ...).
TRIPLET := $(shell $(CC) -dumpmachine 2>/dev/null)
ARCH_INC := /usr/include/$(TRIPLET)
ARCH := $(patsubst x86_64,x86,$(patsubst i%86,x86,$(patsubst aarch64,arm64,$(patsubst powerpc64%,powerpc,$(firstword $(subst -, ,$(TRIPLET)))))))

# make V=1 shows every command; by default one line per target, none
# with make -s.
ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
ifneq ($(findstring s,$(firstword -$(MAKEFLAGS))),)
msg = @true
else
msg = @printf '  %-7s %s\n' $(1) $(2);
endif
endif

BPF_CFLAGS := -O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) \
	-Wall -Werror -Wno-unused-function -Iheaders -I$(ARCH_INC)
EXTRA_BPF_CFLAGS ?=
# Table sizes (-DBG_...) must agree between the programs and fwmapgen.
USER_CFLAGS := -O2 -g -Wall -Wextra -Werror -Iheaders -Ilib \
	$(filter -DBG_%,$(EXTRA_BPF_CFLAGS))

BPF_SRCS := $(wildcard progs/*.c)
BPF_OBJS := $(patsubst progs/%.c,$(BUILD)/%.o,$(BPF_SRCS))
BENCH_SRCS := $(wildcard bench/*.bpf.c)
BENCH_OBJS := $(patsubst bench/%.bpf.c,$(BUILD)/bench/%.o,$(BENCH_SRCS)) \
	$(BUILD)/bench/tc_conntrack_newflow.o \
	$(BUILD)/bench/xdp_firewall_newfrag.o \
	$(BUILD)/bench/xdp_loadbalancer_newflow.o \
	$(BUILD)/bench/tc_scrub_rewrite.o \
	$(foreach n,1 2 3 4 5,$(BUILD)/bench/xdp_firewall_stage$(n).o)
# Test-only builds of conntrack: a slow critical section, with and without
# the entry lock (test/conntrack_race.bats).
TEST_OBJS := $(BUILD)/test/tc_conntrack_slow.o \
	$(BUILD)/test/tc_conntrack_slow_nolock.o $(BUILD)/test/tc_route_cb.o \
	$(patsubst test/progs/%.c,$(BUILD)/test/%.o,$(wildcard test/progs/*.c))
HEADERS := $(wildcard headers/*.h)

# build/libbg.a: what every helper and engine shares (lib/*.h)
LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(patsubst lib/%.c,$(BUILD)/lib/%.o,$(LIB_SRCS))
LIB_HDRS := $(wildcard lib/*.h)
LIBBG := $(BUILD)/libbg.a

FWMAPGEN_SRCS := $(wildcard fwmapgen/*.c)
FWMAPGEN_HDRS := $(wildcard fwmapgen/*.h)

HELPERS := $(BUILD)/fwmapgen $(BUILD)/bg-load $(BUILD)/bg-events \
	$(BUILD)/bg-abi $(BUILD)/bg-purge
ABI_HDRS := $(filter-out headers/bg_abi.h,$(wildcard headers/bg_*abi*.h))

SCRIPTS := $(wildcard scripts/*.sh)
# The scripts' library: the core (lib.sh, lib/core/) and one module per
# program (lib/NAME.sh).
SCRIPT_LIBS := $(wildcard scripts/lib/*.sh scripts/lib/core/*.sh)
INSTALL_SCRIPTS := scripts/up.sh scripts/down.sh scripts/status.sh \
	scripts/conntrack.sh scripts/demo.sh scripts/lb.sh scripts/lb-health.sh
BATS ?= bats
# make test runs the test files side by side (bats --jobs, with GNU
# parallel), TEST_JOBS at a time: most of the suite waits on namespaces,
# timeouts and the network, not on the CPU. The slowest files start first,
# so that the last to finish is a short one. A file's own tests run one
# after the other (they share its lab). TEST_JOBS=1: one file at a time.
# Three on 2 cores: with four, tests that time rates and floods failed.
TEST_JOBS ?= 3
TEST_FIRST := $(patsubst %,test/%.bats,fw_route fw_limits lifecycle lb_e2e \
	xdp_loadbalancer fwmapgen_lb rl_e2e conntrack_e2e)
TEST_FILES := $(TEST_FIRST) $(filter-out $(TEST_FIRST),$(sort $(wildcard test/*.bats)))
TEST_PARALLEL := $(if $(filter-out 1,$(TEST_JOBS)),--jobs $(TEST_JOBS) --no-parallelize-within-files)

.PHONY: all deps test bench bench-switch bench-flood bench-synflood bench-lbflood demo lint check-kernels install \
	uninstall clean

all: $(BPF_OBJS) $(BENCH_OBJS) $(TEST_OBJS) $(HELPERS)

$(BUILD):
	$(Q)mkdir -p $(BUILD) $(BUILD)/bench

$(BUILD)/%.o: progs/%.c $(HEADERS) | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(EXTRA_BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench/%.o: bench/%.bpf.c $(HEADERS) | $(BUILD)
	@mkdir -p $(dir $@)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# make bench: conntrack with a new flow on every run.
$(BUILD)/bench/tc_conntrack_newflow.o: progs/tc_conntrack.c $(HEADERS) | $(BUILD)
	@mkdir -p $(dir $@)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DBG_BENCH_NEWFLOW -c $< -o $@

# make bench: the load balancer with a new flow on every run.
$(BUILD)/bench/xdp_loadbalancer_newflow.o: progs/xdp_loadbalancer.c $(HEADERS) | $(BUILD)
	@mkdir -p $(dir $@)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DBG_LB_BENCH_NEWFLOW -c $< -o $@

# make bench: scrub rewriting an MSS already at its limit, so that every
# run of the same buffer costs what the first one does.
$(BUILD)/bench/tc_scrub_rewrite.o: progs/tc_scrub.c $(HEADERS) | $(BUILD)
	@mkdir -p $(dir $@)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DBG_BENCH_SCRUB_REWRITE -c $< -o $@

# make bench: the firewall with a new datagram in every first fragment.
$(BUILD)/bench/xdp_firewall_newfrag.o: progs/xdp_firewall.c $(HEADERS) | $(BUILD)
	@mkdir -p $(dir $@)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DBG_FW_BENCH_NEWFRAG -c $< -o $@

# make bench: the firewall stopping after stage N (its stage rows).
$(BUILD)/bench/xdp_firewall_stage%.o: progs/xdp_firewall.c $(HEADERS) | $(BUILD)
	@mkdir -p $(dir $@)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DBG_FW_BENCH_STAGE=$* -c $< -o $@

# BPF programs only the tests load (an XDP chain stage ...).
$(BUILD)/test/%.o: test/progs/%.c $(HEADERS) | $(BUILD)
	@mkdir -p $(dir $@)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/test/tc_conntrack_slow.o: progs/tc_conntrack.c $(HEADERS) | $(BUILD)
	@mkdir -p $(dir $@)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DBG_CT_TEST_SLOW -c $< -o $@

$(BUILD)/test/tc_conntrack_slow_nolock.o: progs/tc_conntrack.c $(HEADERS) | $(BUILD)
	@mkdir -p $(dir $@)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DBG_CT_TEST_SLOW -DBG_CT_TEST_NOLOCK -c $< -o $@

# tc_route reading the firewall's metadata from skb->cb, which
# BPF_PROG_TEST_RUN can set (test/fw_route.bats).
$(BUILD)/test/tc_route_cb.o: progs/tc_route.c $(HEADERS) | $(BUILD)
	@mkdir -p $(dir $@)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DBG_RT_TEST_CB -c $< -o $@

$(BUILD)/lib/%.o: lib/%.c $(LIB_HDRS) $(HEADERS) | $(BUILD)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

$(LIBBG): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(BUILD)/fwmapgen: $(FWMAPGEN_SRCS) $(FWMAPGEN_HDRS) $(HEADERS) $(LIB_HDRS) \
		$(LIBBG) | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -o $@ $(FWMAPGEN_SRCS) $(LIBBG)

# bg-abi: the ABI headers' members, listed by the generator, laid out by
# the compiler.
$(BUILD)/bg_abi_gen.h: tools/gen-abi.awk $(ABI_HDRS) | $(BUILD)
	$(call msg,GEN,$@)
	$(Q)awk -f tools/gen-abi.awk $(ABI_HDRS) >$@.tmp && mv $@.tmp $@

$(BUILD)/bg-abi: tools/bg-abi.c $(BUILD)/bg_abi_gen.h $(HEADERS) $(LIB_HDRS) \
		$(LIBBG) | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -I$(BUILD) -o $@ $< $(LIBBG)

$(BUILD)/bg-%: tools/bg-%.c $(HEADERS) $(LIB_HDRS) $(LIBBG) | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -o $@ $< $(LIBBG) -lbpf

DEPS ?= ./scripts/deps.sh
DEMO ?= ./scripts/demo.sh

# make test and make demo need root: say so before installing or building.
NEED_ROOT = @[ "$$(id -u)" = 0 ] || { echo "make $@: must run as root \
(sudo make $@): it creates network namespaces, mounts a bpffs and loads \
BPF programs" >&2; exit 1; }

deps:
	@$(DEPS)

# A fresh machine needs nothing but these two commands: each installs the
# Debian packages it lacks (quiet when there are none), then builds.
test:
	$(NEED_ROOT)
	@$(DEPS) --test
	@$(MAKE) -s --no-print-directory all
	$(BATS) $(BATS_FLAGS) $(TEST_PARALLEL) $(TEST_FILES)

bench: all
	./bench/run.sh
	./bench/flood.sh
	./bench/flood.sh --syn
	./bench/flood.sh --lb

bench-switch: all
	./bench/run.sh --switch

bench-flood: all
	./bench/flood.sh

bench-synflood: all
	./bench/flood.sh --syn

bench-lbflood: all
	./bench/flood.sh --lb

demo:
	$(NEED_ROOT)
	@$(DEPS) --demo
	@$(MAKE) -s --no-print-directory all
	$(DEMO)

lint:
	shellcheck -x $(SCRIPTS) $(SCRIPT_LIBS) scripts/kernel-init/init $(wildcard test/*.bats test/kernel/*.bats test/lib/*.bash test/fixtures/registry/lib/*.sh bench/*.sh .ci/run install.sh)
	clang-format --dry-run --Werror $(wildcard progs/*.c test/progs/*.c headers/*.h fwmapgen/*.c fwmapgen/*.h lib/*.c lib/*.h tools/*.c bench/*.c test/unit/*.c)

check-kernels: all
	./scripts/check-kernels.sh

LIBDIR := $(DESTDIR)$(PREFIX)/lib/bpfguard

install: all
	install -d $(LIBDIR)/bpf $(LIBDIR)/bin $(LIBDIR)/scripts \
		$(LIBDIR)/scripts/lib $(LIBDIR)/scripts/lib/core \
		$(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(SYSCONFDIR)/bpfguard
	install -m 0644 $(BPF_OBJS) $(LIBDIR)/bpf/
	install -m 0755 $(HELPERS) $(LIBDIR)/bin/
	install -m 0755 $(INSTALL_SCRIPTS) $(LIBDIR)/scripts/
	install -m 0644 scripts/lib.sh scripts/programs $(LIBDIR)/scripts/
	install -m 0644 $(wildcard scripts/lib/*.sh) $(LIBDIR)/scripts/lib/
	install -m 0644 $(wildcard scripts/lib/core/*.sh) $(LIBDIR)/scripts/lib/core/
	install -m 0644 maps/default.rules $(LIBDIR)/default.rules
	ln -sf ../lib/bpfguard/bin/fwmapgen $(DESTDIR)$(PREFIX)/sbin/fwmapgen
	ln -sf ../lib/bpfguard/bin/bg-events \
		$(DESTDIR)$(PREFIX)/sbin/bpfguard-events
	for s in up down status conntrack lb lb-health; do \
		ln -sf ../lib/bpfguard/scripts/$$s.sh \
			$(DESTDIR)$(PREFIX)/sbin/bpfguard-$$s; done
	[ -e $(DESTDIR)$(SYSCONFDIR)/bpfguard/bpfguard.rules ] || \
		install -m 0644 maps/default.rules \
			$(DESTDIR)$(SYSCONFDIR)/bpfguard/bpfguard.rules

uninstall:
	rm -rf $(LIBDIR)
	rm -f $(DESTDIR)$(PREFIX)/sbin/fwmapgen \
		$(DESTDIR)$(PREFIX)/sbin/bpfguard-events
	for s in up down status conntrack lb lb-health; do \
		rm -f $(DESTDIR)$(PREFIX)/sbin/bpfguard-$$s; done

clean:
	rm -rf $(BUILD)
