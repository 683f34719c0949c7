#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# libkchan as a user gets it: `make install DESTDIR=...` puts the library,
# its soname link, the headers, libkchan.pc and the man pages in place; a
# program outside the tree builds with `pkg-config --cflags --libs
# libkchan` alone and runs. Every exported symbol is in the version map,
# declared in libkchan.h and has a man page that renders without warnings.
set -eu

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d /tmp/libkchan-install.XXXXXX)
trap 'rm -rf "$work"' EXIT
stage=$work/stage
prefix=/usr/local

fail() {
	echo "lib_install: $*" >&2
	exit 1
}

# The tree is read-only in the VM: the install must not need to build.
make -s -C "$repo/userlib" install DESTDIR="$stage" PREFIX=$prefix ||
	fail "make install failed"

lib=$stage$prefix/lib
for f in libkchan.so libkchan.so.1 libkchan.a pkgconfig/libkchan.pc; do
	[ -e "$lib/$f" ] || fail "$lib/$f missing"
done
[ "$(readlink "$lib/libkchan.so.1")" != "" ] || fail "libkchan.so.1 is not a link"
readelf -d "$lib/libkchan.so.1" | grep -q 'SONAME.*\[libkchan.so.1\]' ||
	fail "soname is not libkchan.so.1"
[ -e "$stage$prefix/include/libkchan.h" ] || fail "libkchan.h missing"
[ -e "$stage$prefix/include/linux/kchan.h" ] || fail "linux/kchan.h missing"

# Every exported symbol: versioned (KCHAN_1.0, or KCHAN_1.1 for those
# added since), declared, documented.
syms=$(nm -D --defined-only "$lib/libkchan.so.1" | awk '$2 == "T" { print $3 }')
[ -n "$syms" ] || fail "no exported function"
for f in kchan_send_chans kchan_recv_chans; do
	echo "$syms" | grep -qx "$f@@KCHAN_1.1" || fail "$f is not versioned KCHAN_1.1"
done
# The header is read once, in bash: a process per symbol costs seconds
# in an emulated guest.
header=$(<"$stage$prefix/include/libkchan.h")
for s in $syms; do
	case $s in *@@KCHAN_1.0|*@@KCHAN_1.1) ;; *) fail "$s is not versioned KCHAN_1.0 or KCHAN_1.1" ;; esac
	name=${s%@@*}
	[[ $header =~ (^|[^A-Za-z0-9_])$name\( ]] || fail "$name not declared"
	page=$stage$prefix/share/man/man3/$name.3
	[ -e "$page" ] || fail "no man page for $name"
done
[ -e "$stage$prefix/share/man/man7/libkchan.7" ] || fail "no libkchan(7)"
echo "lib_install: $(echo "$syms" | wc -w) exported functions, each declared and documented"

# A program outside the tree, built with pkg-config alone.
cat >"$work/prog.c" <<'PROG'
#include <libkchan.h>
#include <string.h>
#include <errno.h>

int main(void)
{
	int ch = kchan_make(1, 16, 0);
	char buf[16];
	struct kchan_op op = { .fd = ch, .kind = KCHAN_RECV, .buf = buf, .len = sizeof(buf) };

	if (ch < 0)
		return 10;
	if (kchan_send(ch, "hi", 2, kchan_in(1000000000)) != 2)
		return 11;
	if (kchan_select(&op, 1, 0, 0) != 0 || op.result != 2 || memcmp(buf, "hi", 2))
		return 12;
	if (kchan_recv(ch, buf, sizeof(buf), 0) != -EAGAIN)
		return 13;
	return 0;
}
PROG
export PKG_CONFIG_PATH=$lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$stage
flags=$(pkg-config --cflags --libs libkchan) || fail "pkg-config libkchan failed"
echo "lib_install: pkg-config --cflags --libs libkchan: $flags"
cc -o "$work/prog" "$work/prog.c" $flags || fail "the program does not build"
LD_LIBRARY_PATH=$lib ldd "$work/prog" | grep -q "libkchan.so.1 => $lib/libkchan.so.1" ||
	fail "the program does not load the installed libkchan.so.1"
if [ ! -e /dev/chanctl ]; then
	echo "lib_install: /dev/chanctl missing: the program was built, not run"
	exit 4
fi
status=0
LD_LIBRARY_PATH=$lib "$work/prog" || status=$?
[ "$status" -eq 0 ] || fail "the program failed with status $status"
echo "lib_install: the installed library works"
