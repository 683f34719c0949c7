# SPDX-License-Identifier: GPL-2.0
#
# make            build the module and the tools
# make deps       install the Debian packages the project needs
# make style      checkpatch on the project's sources

KVER    ?= $(shell tools/kver)
KDIR    ?= /usr/src/linux-headers-$(KVER)
KSRC_TAR ?= /usr/src/linux-source-6.1.tar.xz
BUILD   := build

CC      ?= cc
CFLAGS  ?= -O2 -g
CFLAGS  += -Wall -Wextra -Iuapi -D_GNU_SOURCE

.PHONY: all module tools deps deps-quiet clean style

all: module tools

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

tools: tools/chanctl

tools/chanctl: tools/chanctl.c uapi/linux/kchan.h
	$(CC) $(CFLAGS) -o $@ $<

deps:
	tools/deps

deps-quiet:
	@tools/deps --if-missing

CHECKPATCH := $(BUILD)/ksrc/scripts/checkpatch.pl
KMOD_SRCS  := $(filter-out %.mod.c,$(wildcard kmod/*.c)) $(wildcard kmod/*.h)

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
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf $(BUILD) tools/chanctl
