#!/usr/bin/env bash
# `meson install` of a Debian-style build (--prefix=/usr) into a DESTDIR puts
# every promised file in place, and a program built against the installed
# header and pkg-config file (shared and static) runs.
set -euo pipefail

top=${HEXZFS_SOURCE_ROOT:?HEXZFS_SOURCE_ROOT must name the source tree}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest=$work/dest
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

meson setup "$work/build" "$top" --prefix=/usr -Dtests=false >"$work/setup.log" ||
	{ cat "$work/setup.log"; exit 1; }
ninja -C "$work/build" >"$work/build.log" || { cat "$work/build.log"; exit 1; }
DESTDIR=$dest meson install -C "$work/build" --no-rebuild >"$work/install.log" ||
	{ cat "$work/install.log"; exit 1; }

libdir=$(meson introspect "$work/build" --buildoptions |
	python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "libdir"))')
case $libdir in /*) ;; *) libdir=/usr/$libdir ;; esac
version=$("$top/scripts/version.sh")
major=${version%%.*}

for f in /usr/bin/hexzfs \
	"$libdir/libhexz.so.$version" "$libdir/libhexz.so.$major" "$libdir/libhexz.so" \
	"$libdir/libhexz.a" "$libdir/pkgconfig/hexz.pc" \
	/usr/include/hexz/hexz.h /usr/include/hexz/storage.h /usr/include/hexz/common.h \
	/usr/include/hexz/version.h /usr/share/man/man1/hexzfs.1; do
	[ -e "$dest$f" ] || fail "not installed: $f"
done
soname=$(objdump -p "$dest$libdir/libhexz.so.$version" | awk '/SONAME/ {print $2}')
[ "$soname" = "libhexz.so.$major" ] || fail "SONAME is '$soname', expected libhexz.so.$major"
installed_version=$(LD_LIBRARY_PATH=$dest$libdir "$dest/usr/bin/hexzfs" --version)
grep -q "hexzfs version $version (libhexz $version)" <<<"$installed_version" ||
	fail "installed hexzfs --version says '$installed_version', expected $version"

cat >"$work/prog.c" <<'C'
#include <hexz/hexz.h>
#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
	struct hexz_storage *st;
	char buf[6] = { 0 };

	if (argc != 2 || strcmp(hexz_version(), HEXZ_VERSION_STRING) != 0)
		return 2;
	if (hexz_mmap_open(argv[1], &st, NULL) != HEXZ_OK)
		return 3;
	if (hexz_storage_len(st) != 11 || hexz_storage_read_exact(st, 6, 5, buf) != HEXZ_OK)
		return 4;
	hexz_storage_close(st);
	puts(buf);
	return 0;
}
C
printf 'hello world' >"$work/sample.hxz"

export PKG_CONFIG_PATH=$dest$libdir/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$dest
# shellcheck disable=SC2046 # pkg-config output is a list of flags
cc -std=c99 -Wall -Werror -o "$work/prog" "$work/prog.c" $(pkg-config --cflags --libs hexz) ||
	fail "cannot build against the installed pkg-config file"
[ "$(LD_LIBRARY_PATH=$dest$libdir "$work/prog" "$work/sample.hxz" 2>&1)" = world ] ||
	fail "the program built against the shared library did not print 'world'"
# shellcheck disable=SC2046
cc -std=c99 -Wall -Werror -o "$work/prog-static" "$work/prog.c" $(pkg-config --cflags hexz) \
	"$dest$libdir/libhexz.a" -pthread || fail "cannot link the static library"
[ "$("$work/prog-static" "$work/sample.hxz" 2>&1)" = world ] ||
	fail "the statically linked program did not print 'world'"
if objdump -p "$work/prog-static" | grep -q 'NEEDED.*libhexz'; then
	fail "the static program still needs libhexz.so"
fi

echo "installed tree checked in $dest"
[ "$failures" -eq 0 ]
