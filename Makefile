# SPDX-License-Identifier: GPL-2.0
#
# Top-level Makefile for afx. The kernel objects are listed in Kbuild (which
# kbuild reads in preference to this file); this Makefile only drives the
# builds and the QEMU test rig.
#
#   make / make module   build afx.ko (and any other module Kbuild lists)
#   make userspace       static demo and selftest binaries in build/
#   make check           deps, build, static analysis, all tests in QEMU,
#                        on the Debian kernel, the 6.1 and 6.12 debug
#                        kernels and the 6.1 PREEMPT_RT kernel
#                        (AFX_LANES, scripts/check.sh)
#   make kunit           the KUnit suites (afx_kunit.ko) on the 6.1 debug
#                        kernel (KUNIT_LANE=debug-6.12: on the 6.12 one)
#   make debug-kernel    build (or find cached) the KASAN/lockdep/kmemleak
#                        kernel of the debug lane, print its tree
#                        (AFX_DEBUG_SERIES=6.12: the 6.12 one)
#   make run             build, boot QEMU, load the module, run the demos
#   make fuzz            trinity and afx-fuzz on the debug kernel for
#                        FUZZ_SECONDS (600; scripts/fuzz.sh)
#   make soak            only the soak (selftests/soak.sh), SOAK_SECONDS long,
#                        and afx_scale_test with SCALE_SOCKETS sockets
#                        (600), on every kernel lane
#   make bench           benchmark against AF_UNIX, pipes, TCP/UDP, vsock:
#                        bench-results/ and Documentation/performance.rst
#   make profile         instructions per function of afx against AF_UNIX
#                        and a pipe (QEMU plugins, scripts/profile.sh,
#                        bench/prof/README): PROFILE=churn|ow|pp|all (all),
#                        in build/profile/<mode>/ (AFX_PROFILE_DIR=)
#   make shell           boot QEMU with the module loaded, interactive shell
#   make checkpatch      checkpatch.pl --strict over module/ and uapi/
#   make sparse          C=2 build (add W=1 for extra gcc warnings)
#   make deps            install missing Debian packages
#   make install         afx.ko, afx_diag.ko to /lib/modules/$(KVER)/extra
#                        (then depmod), afx-ss, afx-run and its library,
#                        the uapi headers and the man pages under
#                        $(PREFIX); DESTDIR= stages it
#   make uninstall       remove what make install put there
#   make dkms-install    register, build and install the modules with DKMS
#   make dkms-uninstall  remove them from DKMS again
#   make clean
#
# Variables: KDIR (kbuild dir, default: headers of the newest installed
# kernel image), KVER, W, C, AFX_CACHE (default /var/cache/afx, where the
# linux-source tarball is extracted), PREFIX (default /usr/local), DESTDIR.

# Remember a $(shell ...) result after its first (lazy) use, so that e.g.
# `make clean` works before the kernel headers are installed.
lazy = $(eval $(1) := $(shell $(2)))$($(1))

KVER ?= $(call lazy,KVER,$(CURDIR)/scripts/kver.sh)
KDIR ?= $(call lazy,KDIR,AFX_KVER=$(KVER) $(CURDIR)/scripts/kver.sh --kdir)

export AFX_CACHE ?= /var/cache/afx
KSRC ?= $(AFX_CACHE)/linux-source-6.1
KSFT := $(KSRC)/tools/testing/selftests

BUILD := build

CC      ?= gcc
UCFLAGS := -static -O2 -Wall -Wextra -pthread -I uapi -I include

DEMO_SRCS := $(wildcard userspace-demo/*.c)
TEST_SRCS := $(wildcard selftests/*.c)
# The selftest library: compiled once, linked into every selftest program.
TEST_LIB_SRCS := $(wildcard selftests/lib/*.c)
TEST_LIB_OBJS := $(patsubst selftests/lib/%.c,$(BUILD)/lib/%.o,$(TEST_LIB_SRCS))
TEST_HDRS := $(wildcard selftests/*.h selftests/lib/*.h include/*.h)
TOOL_SRCS := $(wildcard tools/*.c)
TOOL_BINS := $(patsubst tools/%.c,$(BUILD)/%,$(TOOL_SRCS))
BENCH_SRCS := $(wildcard bench/*.c)
# afx-run(1) and the library it preloads (afx-run/).
RUN_BINS := $(BUILD)/afx-run $(BUILD)/libafx-run.so
DEMO_BINS := $(patsubst userspace-demo/%.c,$(BUILD)/%,$(DEMO_SRCS))
TEST_BINS := $(patsubst selftests/%.c,$(BUILD)/%,$(TEST_SRCS))
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/%,$(BENCH_SRCS))
UAPI_HDRS := $(wildcard uapi/linux/*.h)
# Headers the userspace programs share (afx_family.h: the family number).
INC_HDRS := $(wildcard include/*.h)

KBUILD_ARGS = -C $(KDIR) M=$(CURDIR) $(if $(W),W=$(W)) $(if $(C),C=$(C))

.PHONY: all module modules userspace check run shell checkpatch sparse deps \
	clean help bench kunit debug-kernel fuzz soak profile

all: module

module modules:
	$(MAKE) $(KBUILD_ARGS) modules

userspace: $(TOOL_BINS) $(DEMO_BINS) $(TEST_BINS) $(BENCH_BINS) $(RUN_BINS)

$(BUILD):
	mkdir -p $@

# Any new .c file in userspace-demo/ or selftests/ becomes build/<name>.
# Shared demo code belongs in headers next to the .c files; shared test
# code in the selftest library, selftests/lib/, whose objects (build/lib/)
# every selftest program is linked with. The kselftest headers come in
# with -isystem: under -Wextra their macros would warn about unused
# parameters in every TEST(). selftests/Makefile builds the same programs
# the kselftest way (lib.mk), for use outside this rig.
$(BUILD)/%: userspace-demo/%.c $(UAPI_HDRS) $(INC_HDRS) $(wildcard userspace-demo/*.h) | $(BUILD)
	$(CC) $(UCFLAGS) -o $@ $<

$(BUILD)/lib/%.o: selftests/lib/%.c $(UAPI_HDRS) $(TEST_HDRS) | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(UCFLAGS) -I selftests/lib -c -o $@ $<

# The library objects are kept (make would delete them as intermediates).
.SECONDARY: $(TEST_LIB_OBJS)
$(BUILD)/%: selftests/%.c $(TEST_LIB_OBJS) $(UAPI_HDRS) $(TEST_HDRS) | $(BUILD) $(KSFT)/kselftest_harness.h
	$(CC) $(UCFLAGS) -isystem $(KSFT) -I selftests -I selftests/lib -o $@ $< $(TEST_LIB_OBJS)

$(BUILD)/%: bench/%.c $(UAPI_HDRS) $(INC_HDRS) | $(BUILD)
	$(CC) $(UCFLAGS) -o $@ $<

$(BUILD)/afx-run: afx-run/afx-run.c $(UAPI_HDRS) $(INC_HDRS) | $(BUILD)
	$(CC) $(UCFLAGS) -o $@ $<

# A preload library, and the test that runs under it, link dynamically.
DYN_CFLAGS := $(filter-out -static,$(UCFLAGS))
$(BUILD)/libafx-run.so: afx-run/libafx-run.c $(UAPI_HDRS) $(INC_HDRS) | $(BUILD)
	$(CC) $(DYN_CFLAGS) -fPIC -shared -fvisibility=hidden -o $@ $< -ldl
$(BUILD)/afx_run_test: UCFLAGS := $(DYN_CFLAGS)

# Installed tools (afx-ss) know their version: afx-ss -V. The stamp
# changes with the version, so that they are rebuilt with the modules.
$(BUILD)/%: tools/%.c $(UAPI_HDRS) $(INC_HDRS) $(BUILD)/.version | $(BUILD)
	$(CC) $(UCFLAGS) -DAFX_VERSION='"$(AFX_VERSION)"' -o $@ $<

$(BUILD)/.version: FORCE | $(BUILD)
	@v='$(AFX_VERSION)'; [ "$$(cat $@ 2>/dev/null)" = "$$v" ] || echo "$$v" >$@

FORCE:

# Extracts the harness from the linux-source package into the cache.
$(KSFT)/kselftest_harness.h:
	AFX_LINUX_SOURCE=$(KSRC) scripts/linux-source.sh >/dev/null

check:
	scripts/check.sh

kunit:
	scripts/lane.sh kunit $(KUNIT_LANE)

debug-kernel:
	scripts/debug-kernel.sh

run:
	scripts/run.sh demos

shell:
	scripts/run.sh shell

bench:
	scripts/bench.sh

# Not part of make check: what it measures never fails anything.
PROFILE ?= all
profile:
	scripts/profile.sh $(PROFILE)

fuzz:
	scripts/fuzz.sh
SOAK_SECONDS ?= 600
SOAK_CONNECTIONS ?= 1000
SCALE_SOCKETS ?= 100000
soak:
	ONLY=soak,afx_scale_test AFX_SKIP_STATIC=1 \
	AFX_KERNEL_ARGS="AFX_SOAK_SECONDS=$(SOAK_SECONDS) AFX_SOAK_CONNECTIONS=$(SOAK_CONNECTIONS) AFX_SCALE_SOCKETS=$(SCALE_SOCKETS) $(AFX_KERNEL_ARGS)" \
	AFX_TEST_TIMEOUT=$$(($(SOAK_SECONDS) * 4 + 600)) \
	AFX_DEBUG_TEST_TIMEOUT=$$(($(SOAK_SECONDS) * 4 + 600)) \
	AFX_VM_TIMEOUT=$$(($(SOAK_SECONDS) * 8 + 1800)) \
	AFX_DEBUG_VM_TIMEOUT=$$(($(SOAK_SECONDS) * 8 + 2400)) \
	scripts/check.sh

checkpatch:
	scripts/static-check.sh checkpatch

sparse:
	$(MAKE) -C $(KDIR) M=$(CURDIR) C=2 $(if $(W),W=$(W)) modules

deps:
	scripts/deps.sh

clean:
	if [ -d "$(KDIR)" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi
	rm -rf $(BUILD)

# ---- installation ------------------------------------------------------------
# MODULE_VERSION, afx-ss -V and the DKMS version: git describe, see
# scripts/version.sh.
AFX_VERSION = $(call lazy,AFX_VERSION,$(CURDIR)/scripts/version.sh)

PREFIX  ?= /usr/local
DESTDIR ?=
DEPMOD  ?= depmod
KMODS   := afx.ko afx_diag.ko
# Where the modules come from; another directory (modules built for
# another kernel, KVER set to match) skips building them here.
KODIR   ?= .
MODDIR   = $(DESTDIR)/lib/modules/$(KVER)/extra
BINDIR   = $(DESTDIR)$(PREFIX)/bin
INCDIR   = $(DESTDIR)$(PREFIX)/include/linux
MANDIR   = $(DESTDIR)$(PREFIX)/share/man
# afx-run finds its library in ../lib/afx/ from where it is installed.
RUNLIBDIR = $(DESTDIR)$(PREFIX)/lib/afx
MANPAGES := man/afx.7 man/afx-ss.8 man/afx-run.1
INSTALLED = $(addprefix $(MODDIR)/,$(KMODS)) $(BINDIR)/afx-ss \
	$(BINDIR)/afx-run $(RUNLIBDIR)/libafx-run.so \
	$(INCDIR)/afx.h $(INCDIR)/afx_diag.h \
	$(MANDIR)/man7/afx.7 $(MANDIR)/man8/afx-ss.8 $(MANDIR)/man1/afx-run.1
# depmod for the installed kernel, or for the tree under DESTDIR, which
# gets the kernel's lists of its modules (if this host has that kernel) so
# that the index is complete.
DEPMOD_CMD = $(DEPMOD) $(if $(DESTDIR),-b $(abspath $(DESTDIR))) $(KVER)
DESTDIR_INDEX = for f in modules.order modules.builtin modules.builtin.modinfo; do \
		[ -e $(MODDIR)/../$$f ] || [ ! -e /lib/modules/$(KVER)/$$f ] || \
		cp /lib/modules/$(KVER)/$$f $(MODDIR)/../; \
	done

install: $(if $(filter .,$(KODIR)),module) $(BUILD)/afx-ss $(RUN_BINS)
	install -d $(MODDIR) $(BINDIR) $(RUNLIBDIR) $(INCDIR) $(MANDIR)/man1 \
		$(MANDIR)/man7 $(MANDIR)/man8
	install -m 644 $(addprefix $(KODIR)/,$(KMODS)) $(MODDIR)/
	install -m 755 $(BUILD)/afx-ss $(BINDIR)/afx-ss
	install -m 755 $(BUILD)/afx-run $(BINDIR)/afx-run
	install -m 644 $(BUILD)/libafx-run.so $(RUNLIBDIR)/libafx-run.so
	install -m 644 man/afx-run.1 $(MANDIR)/man1/afx-run.1
	install -m 644 uapi/linux/afx.h uapi/linux/afx_diag.h $(INCDIR)/
	install -m 644 man/afx.7 $(MANDIR)/man7/afx.7
	install -m 644 man/afx-ss.8 $(MANDIR)/man8/afx-ss.8
	$(if $(DESTDIR),$(DESTDIR_INDEX))
	$(DEPMOD_CMD)

uninstall:
	rm -f $(INSTALLED)
	[ ! -d $(RUNLIBDIR) ] || rmdir --ignore-fail-on-non-empty $(RUNLIBDIR)
	[ ! -d $(MODDIR) ] || rmdir --ignore-fail-on-non-empty $(MODDIR)
	if [ -d $(DESTDIR)/lib/modules/$(KVER) ]; then $(DEPMOD_CMD); fi

# DKMS builds from a copy of the module sources in $(DKMS_SRCTREE)/afx-<version>
# that carries its version in a VERSION file (it has no git history).
DKMS         ?= dkms
DKMS_SRCTREE ?= /usr/src
DKMS_SRC      = $(DKMS_SRCTREE)/afx-$(AFX_VERSION)
DKMS_ID       = -m afx -v $(AFX_VERSION)

# The copy is stage_sources of scripts/lib.sh, as the debug lane and the
# sparse check make theirs.
dkms-src:
	rm -rf $(DKMS_SRC)
	bash -c '. scripts/lib.sh && stage_sources "$$1"' stage-sources $(DKMS_SRC)
	echo '$(AFX_VERSION)' >$(DKMS_SRC)/VERSION
	sed 's/@VERSION@/$(AFX_VERSION)/' dkms.conf >$(DKMS_SRC)/dkms.conf

# Every afx version DKMS knows, removed with its sources: an install
# replaces older ones, an uninstall removes whichever are there.
DKMS_REMOVE_ALL = for v in $$($(DKMS) status -m afx | sed -n 's|^afx/\([^,:]*\).*|\1|p' | sort -u); do \
		$(DKMS) remove -m afx -v "$$v" --all && rm -rf $(DKMS_SRCTREE)/afx-"$$v" || exit 1; \
	done

dkms-install:
	$(DKMS_REMOVE_ALL)
	$(MAKE) --no-print-directory dkms-src
	$(DKMS) add $(DKMS_ID)
	$(DKMS) build $(DKMS_ID) -k $(KVER)
	$(DKMS) install $(DKMS_ID) -k $(KVER)

dkms-uninstall:
	$(DKMS_REMOVE_ALL)

.PHONY: install uninstall dkms-src dkms-install dkms-uninstall

help:
	@sed -n '3,/^$$/s/^# \{0,1\}//p' Makefile
