# SPDX-License-Identifier: GPL-2.0
#
# Top-level Makefile for afx. The kernel objects are listed in Kbuild (which
# kbuild reads in preference to this file); this Makefile only drives the
# builds and the QEMU test rig.
#
#   make / make module   build afx.ko (and any other module Kbuild lists)
#   make userspace       static demo and selftest binaries in build/
#   make check           deps, build, static analysis, all tests in QEMU
#   make run             build, boot QEMU, load the module, run the demos
#   make bench           benchmark against AF_UNIX, pipes, TCP/UDP, vsock:
#                        bench-results/ and Documentation/performance.rst
#   make shell           boot QEMU with the module loaded, interactive shell
#   make checkpatch      checkpatch.pl --strict over module/ and uapi/
#   make sparse          C=2 build (add W=1 for extra gcc warnings)
#   make deps            install missing Debian packages
#   make clean
#
# Variables: KDIR (kbuild dir, default: headers of the newest installed
# kernel image), KVER, W, C, AFX_CACHE (default /var/cache/afx, where the
# linux-source tarball is extracted).

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
UCFLAGS := -static -O2 -Wall -Wextra -pthread -I uapi

DEMO_SRCS := $(wildcard userspace-demo/*.c)
TEST_SRCS := $(wildcard selftests/*.c)
BENCH_SRCS := $(wildcard bench/*.c)
DEMO_BINS := $(patsubst userspace-demo/%.c,$(BUILD)/%,$(DEMO_SRCS))
TEST_BINS := $(patsubst selftests/%.c,$(BUILD)/%,$(TEST_SRCS))
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/%,$(BENCH_SRCS))
UAPI_HDRS := $(wildcard uapi/linux/*.h)

KBUILD_ARGS = -C $(KDIR) M=$(CURDIR) $(if $(W),W=$(W)) $(if $(C),C=$(C))

.PHONY: all module modules userspace check run shell checkpatch sparse deps \
	clean help bench

all: module

module modules:
	$(MAKE) $(KBUILD_ARGS) modules

userspace: $(DEMO_BINS) $(TEST_BINS) $(BENCH_BINS)

$(BUILD):
	mkdir -p $@

# Any new .c file in userspace-demo/ or selftests/ becomes build/<name>.
# Shared code belongs in headers next to the .c files. The kselftest
# headers come in with -isystem: under -Wextra their macros would warn
# about unused parameters in every TEST().
$(BUILD)/%: userspace-demo/%.c $(UAPI_HDRS) $(wildcard userspace-demo/*.h) | $(BUILD)
	$(CC) $(UCFLAGS) -o $@ $<

$(BUILD)/%: selftests/%.c $(UAPI_HDRS) $(wildcard selftests/*.h) | $(BUILD) $(KSFT)/kselftest_harness.h
	$(CC) $(UCFLAGS) -isystem $(KSFT) -I selftests -o $@ $<

$(BUILD)/%: bench/%.c $(UAPI_HDRS) | $(BUILD)
	$(CC) $(UCFLAGS) -o $@ $<

# Extracts the harness from the linux-source package into the cache.
$(KSFT)/kselftest_harness.h:
	AFX_LINUX_SOURCE=$(KSRC) scripts/linux-source.sh >/dev/null

check:
	scripts/check.sh

run:
	scripts/run.sh demos

shell:
	scripts/run.sh shell

bench:
	scripts/bench.sh

checkpatch:
	scripts/static-check.sh checkpatch

sparse:
	$(MAKE) -C $(KDIR) M=$(CURDIR) C=2 $(if $(W),W=$(W)) modules

deps:
	scripts/deps.sh

clean:
	if [ -d "$(KDIR)" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi
	rm -rf $(BUILD)

help:
	@sed -n '3,21s/^# \{0,1\}//p' Makefile
