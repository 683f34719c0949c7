# SPDX-License-Identifier: GPL-2.0
#
# make            build the module, the tools and the tests, all into build/
# make demo       boot the test VM, load the module, run Pike's load balancer
# make demo-rendezvous  the same VM, a rendezvous between two processes
# make check      install what is missing, build, check-man, every test in the VM
#                 (and the commit protocol's model, make model, on the host)
# make check-man  render every man page, failing on any warning
# make model      SPIN model-checks the commit protocol (tools/model/)
# make check-tools  on the host: the tests of the harness's tools
#                 (tests/kt_tool.bash; results counted in make check)
# make check-debug   the suite on a KASAN/lockdep/kmemleak/UBSAN kernel
# make check-kcsan   the concurrency tests on a KCSAN kernel, and the
#                    deeper worlds of the model meanwhile
# make debug-kernel  build (or find cached) the debug kernel; print its tree
# make install    everything, under PREFIX=/usr/local (LIBDIR, BINDIR, MANDIR,
#                 SRCDIR, PYTHONDIR, UDEVRULESDIR) and DESTDIR=
# make dkms-install  the module's source to /usr/src, then dkms add/build/install
# make deb        build/deb/*.deb: kchan-dkms, libkchan1, libkchan-dev,
#                 kchan-tools, python3-kchan (dpkg-deb)
# make check-pkg  on the host: dkms build in a private tree, make install,
#                 make deb (results counted by tests/pkg_*.sh in make check)
# make bench      chanbench in the VM: bench/results.{csv,md} and ratios.svg
# make deps       install the Debian packages the project needs
# make style      checkpatch on the project's sources

KVER    ?= $(shell tools/kver)
KDIR    ?= /usr/src/linux-headers-$(KVER)
KSRC_TAR ?= /usr/src/linux-source-6.1.tar.xz
BUILD   := build

CC      ?= cc
CFLAGS  ?= -O2 -g
CFLAGS  += -Wall -Wextra -Iuapi -I$(BUILD)/include -D_GNU_SOURCE
LDLIBS_TESTS := -pthread -luring

# Kbuild builds an external module next to its sources, so the module is
# built from a copy of them in build/mod (build/mod/kmod/kchan.ko), as
# tools/check-kernel builds the debug kernels' in build/FLAVOUR/mod.
MOD_DIR   := $(BUILD)/mod
KMOD_SRCS := $(filter-out %.mod.c,$(wildcard kmod/*.c)) $(wildcard kmod/*.h)
MOD_COPIES := $(addprefix $(MOD_DIR)/,Kbuild kmod/Kbuild $(KMOD_SRCS) uapi/linux/kchan.h)
CHANCTL   := $(BUILD)/bin/chanctl

TEST_SRCS := $(wildcard tests/*.c) $(wildcard tests/stress/*.c)
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
HARNESS   := $(BUILD)/include/kselftest_harness.h

.PHONY: all module tools tests userlib install dkms-install deb check-pkg check-man check-tools deps deps-quiet demo demo-rendezvous model check check-debug check-kcsan debug-kernel bench clean style

all: module tools tests userlib

module: $(MOD_COPIES)
	$(MAKE) -C $(KDIR) M=$(CURDIR)/$(MOD_DIR) modules

$(MOD_DIR)/%: %
	@mkdir -p $(@D)
	cp $< $@

tools: $(CHANCTL) $(BUILD)/chanbench

# chanctl uses libkchan, linked in (liburing too), so that it needs no
# more than libc at run time.
$(CHANCTL): tools/chanctl.c uapi/linux/kchan.h $(BUILD)/userlib/libkchan.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iuserlib/src -o $@ $< $(BUILD)/userlib/libkchan.a \
		-pthread -l:liburing.a

$(BUILD)/userlib/libkchan.a: $(wildcard userlib/src/*.c userlib/src/*.h) uapi/linux/kchan.h
	$(MAKE) -C userlib all

CHANBENCH_SRCS := $(wildcard tools/chanbench/*.c)

# libsel.c measures libkchan; the other rows measure the raw calls, on
# channels libkchan makes (but create.c and memory.c, which measure
# creation, call the create ioctl raw).
$(BUILD)/chanbench: $(CHANBENCH_SRCS) $(wildcard tools/chanbench/*.h) uapi/linux/kchan.h \
		$(BUILD)/userlib/libkchan.a
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -Iuserlib/src -pthread -o $@ $(CHANBENCH_SRCS) \
		$(BUILD)/userlib/libkchan.a -luring -lrt

tests: $(TEST_BINS) $(BUILD)/python/kchan_abi $(BUILD)/go/kchan.test $(BUILD)/go/kchan-readme \
	$(BUILD)/go/kchan-consume $(BUILD)/lang/producer

# The C end of tests/lang_three.sh, with libkchan.
$(BUILD)/lang/producer: tests/lang/producer.c userlib
	@mkdir -p $(BUILD)/lang
	$(CC) $(CFLAGS) -Iuserlib/src -o $@ $< $(BUILD)/userlib/libkchan.a -pthread -luring

# The Go package's tests, built here with Debian's golang-go and run in
# the VM by tests/run.sh: standard library only, no cgo, no downloads
# (the caches stay in build/go).
GO       ?= go
GO_ENV   := GOCACHE=$(CURDIR)/$(BUILD)/go/cache GOPATH=$(CURDIR)/$(BUILD)/go/path \
	    GOFLAGS=-mod=mod GOPROXY=off CGO_ENABLED=0
GO_SRCS  := userlib/go/go.mod $(wildcard userlib/go/*.go)

$(BUILD)/go/kchan.test: $(GO_SRCS)
	@mkdir -p $(BUILD)/go
	cd userlib/go && $(GO_ENV) $(GO) vet ./... && $(GO_ENV) $(GO) test -c -o $(CURDIR)/$@ .

$(BUILD)/go/kchan-%: userlib/go/examples/%/main.go $(GO_SRCS)
	@mkdir -p $(BUILD)/go
	cd userlib/go && $(GO_ENV) $(GO) build -o $(CURDIR)/$@ ./examples/$*

# The uapi header's numbers, for the Python binding's test_abi.py.
$(BUILD)/python/kchan_abi: userlib/python/tests/kchan_abi.c uapi/linux/kchan.h
	@mkdir -p $(BUILD)/python
	$(CC) $(CFLAGS) -o $@ $<

$(HARNESS):
	mkdir -p $(BUILD)/include
	tar -xJf $(KSRC_TAR) -C $(BUILD)/include --strip-components=4 \
		linux-source-6.1/tools/testing/selftests/kselftest_harness.h \
		linux-source-6.1/tools/testing/selftests/kselftest.h
	touch $@

# tests/*.c test the interface, tests/stress/*.c load it; one library,
# tests/kt*.h, serves both. A test that only needs a channel makes it with
# libkchan (linked in, so the VM needs nothing installed); a test of the
# ioctls themselves calls them raw.
$(BUILD)/tests/%: tests/%.c $(wildcard tests/*.h) uapi/linux/kchan.h $(HARNESS) \
		$(BUILD)/userlib/libkchan.a userlib/src/libkchan.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -Iuserlib/src -o $@ $< $(BUILD)/userlib/libkchan.a \
		$(LDLIBS_TESTS)

# libkchan and its tests (build/tests/lib_*), see userlib/Makefile.
userlib: $(HARNESS) $(BUILD)/userlib/libkchan.a
	$(MAKE) -C userlib all tests examples

# What make install puts where (README.md, "Packaging", lists it).
KCHAN_VERSION ?= 1.0.0
PREFIX        ?= /usr/local
LIBDIR        ?= $(PREFIX)/lib
BINDIR        ?= $(PREFIX)/bin
MANDIR        ?= $(PREFIX)/share/man
SRCDIR        ?= $(PREFIX)/src
PYTHONDIR     ?= $(PREFIX)/lib/python3/dist-packages
UDEVRULESDIR  ?= $(PREFIX)/share/kchan/udev
MODSRC        := $(SRCDIR)/kchan-$(KCHAN_VERSION)

install: $(CHANCTL)
	$(MAKE) -C userlib install PREFIX=$(PREFIX) LIBDIR=$(LIBDIR) \
		MANDIR=$(MANDIR) DESTDIR=$(DESTDIR)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man4 $(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(PYTHONDIR)/kchan $(DESTDIR)$(UDEVRULESDIR) \
		$(DESTDIR)$(MODSRC)/kmod $(DESTDIR)$(MODSRC)/uapi/linux
	install -m 0755 $(CHANCTL) $(DESTDIR)$(BINDIR)/
	install -m 0644 man/chanctl.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/kchan.4 $(DESTDIR)$(MANDIR)/man4/
	install -m 0644 man/kchan.7 $(DESTDIR)$(MANDIR)/man7/
	install -m 0644 userlib/python/kchan/__init__.py $(DESTDIR)$(PYTHONDIR)/kchan/
	install -m 0644 packaging/70-kchan.rules $(DESTDIR)$(UDEVRULESDIR)/
	install -m 0644 Kbuild $(DESTDIR)$(MODSRC)/
	install -m 0644 $(KMOD_SRCS) kmod/Kbuild $(DESTDIR)$(MODSRC)/kmod/
	install -m 0644 uapi/linux/kchan.h $(DESTDIR)$(MODSRC)/uapi/linux/
	sed 's/@VERSION@/$(KCHAN_VERSION)/' dkms.conf > $(DESTDIR)$(MODSRC)/dkms.conf

# As root: the module for every installed kernel, rebuilt by dkms when a
# new one is installed.
dkms-install:
	$(MAKE) install PREFIX=/usr DESTDIR=
	dkms add -m kchan -v $(KCHAN_VERSION)
	dkms build -m kchan -v $(KCHAN_VERSION)
	dkms install -m kchan -v $(KCHAN_VERSION)

deb: $(CHANCTL)
	tools/mkdeb $(KCHAN_VERSION)

# The packaging checks, on the host (they need dkms, dpkg and the kernel
# headers): each writes build/pkg/NAME.result, which tests/pkg_NAME.sh
# reports in the suite's summary, so a failure here does not stop make
# check.
check-pkg: $(CHANCTL)
	tools/pkgtest --result-dir $(BUILD)/pkg dkms install deb

deps:
	tools/deps

# chanctl(1), kchan(4), kchan(7) and libkchan's pages render without a
# warning (userlib's check, given the project's pages too).
check-man:
	$(MAKE) -C userlib check-man MAN_EXTRA="$(abspath $(wildcard man/*.[0-9]))"

demo: deps-quiet
	$(MAKE) all
	tools/vm -- tools/demo.sh

demo-rendezvous: deps-quiet
	$(MAKE) all
	tools/vm -- tools/demo-rendezvous.sh

# The commit protocol's model (tools/model/), on the host: its outcome is
# counted by tests/model.sh in the suite's summary, so a failure here does
# not stop the suite.
model:
	tools/model/check small --result $(BUILD)/model/small.result

# The tests of the harness's own tools (those that source
# tests/kt_tool.bash: tools/vm with a fake QEMU, kernel-failures,
# kcsan-reports, bench_plot.py), on the host, where their many processes
# cost nothing like what they cost in an emulated guest: each records its
# result in build/tool-tests/, which the same test reports in the guest's
# suite, so a failure here does not stop make check. make check runs them
# while its guest boots and runs the other programs (on a host loaded by
# others they take minutes too); a guest that reaches one before the host
# has its result runs it itself. make check-debug needs none of this:
# tools/check-kernel runs them on the host (tests/run.sh --host).
TOOL_TESTS := $(shell grep -l 'kt_tool\.bash' tests/*.sh)

check-tools:
	@status=0; for t in $(TOOL_TESTS); do \
		KCHAN_TOOL_RECORD=1 bash $$t || status=1; \
	done; exit $$status

check: deps-quiet
	$(MAKE) all
	$(MAKE) check-man
	-$(MAKE) model
	-$(MAKE) check-pkg
	@status=0; \
	$(MAKE) -s check-tools & tools=$$!; \
	tools/vm --timeout 1500 -- tests/run.sh || status=$$?; \
	wait $$tools; \
	exit $$status

# The kernels are built from linux-source-6.1 once and cached outside
# the tree (tools/debug-kernel); the first run takes a while. The
# programs that need no guest (the tools' tests among them) run on the
# host meanwhile: tools/check-kernel runs them. The concurrency lane
# also runs the deep worlds of the commit protocol's model on the host
# while its guests boot and run (its searches are kept: after the first
# run they cost nothing until the model changes); the model's failure
# fails the target, after the suite.
check-debug: deps-quiet
	$(MAKE) tools tests
	-$(MAKE) model
	tools/check-kernel debug

check-kcsan: deps-quiet
	$(MAKE) tools tests
	-$(MAKE) model
	@status=0; \
	tools/model/check deep & model=$$!; \
	tools/check-kernel kcsan || status=$$?; \
	wait $$model || { echo "make check-kcsan: tools/model/check deep failed"; status=1; }; \
	exit $$status

debug-kernel: deps-quiet
	tools/debug-kernel debug

bench: deps-quiet
	$(MAKE) module $(BUILD)/chanbench
	tools/bench.sh $(BENCH_ARGS)

deps-quiet:
	@tools/deps --if-missing

CHECKPATCH := $(BUILD)/ksrc/scripts/checkpatch.pl

$(CHECKPATCH):
	mkdir -p $(BUILD)/ksrc
	tar -xJf $(KSRC_TAR) -C $(BUILD)/ksrc --strip-components=1 \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch
	touch $@

# compat.h is where version checks belong, so that warning is off.
style: deps-quiet $(CHECKPATCH)
	$(CHECKPATCH) --no-tree --terse -f --ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON \
		$(KMOD_SRCS) uapi/linux/kchan.h

clean:
	$(MAKE) -C userlib clean
	rm -rf $(BUILD)
