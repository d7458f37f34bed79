#!/usr/bin/env bash
# Guard for the README's first command: scripts/demo.sh must build and mount
# on a machine that has only the build dependencies. pkg-config is pointed
# (PKG_CONFIG_LIBDIR) at a directory holding every .pc file of the system's
# search path except check.pc, so check, the test framework, cannot be
# found; the demo then runs as a user would, in a fresh build directory and
# on a temporary mountpoint, and its mount must serve the example.
# Usage: scripts/test_demo_without_check.sh   (run by scripts/test.sh)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/hexzfs-demo-test.XXXXXX")
mnt=$work/mnt

# The demo's mountpoints: MOUNTPOINT and any it derives from it.
demo_mounts() {
	awk -v w="$work/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo
}

cleanup() {
	local mp
	for mp in $(demo_mounts); do
		fusermount3 -u "$mp" 2>/dev/null || fusermount3 -uz "$mp" 2>/dev/null || true
	done
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT

die() {
	echo "test_demo_without_check.sh: $*" >&2
	exit 1
}

# The first directory of the search path that holds a name wins, as for
# pkg-config itself.
mkdir "$work/pc"
IFS=: read -r -a pc_dirs <<<"$(pkg-config --variable pc_path pkg-config)"
for dir in "${pc_dirs[@]}"; do
	for pc in "$dir"/*.pc; do
		name=${pc##*/}
		if [ -e "$pc" ] && [ "$name" != check.pc ] && [ ! -e "$work/pc/$name" ]; then
			ln -s "$pc" "$work/pc/$name"
		fi
	done
done
export PKG_CONFIG_LIBDIR=$work/pc
unset PKG_CONFIG_PATH
if pkg-config --exists check; then
	die "check is still visible to pkg-config: the test would prove nothing"
fi
pkg-config --exists fuse3 || die "fuse3 is not visible through $PKG_CONFIG_LIBDIR"

if ! HEXZFS_DEMO_BUILD=$work/build "$top/scripts/demo.sh" "$mnt" >"$work/demo.log" 2>&1; then
	cat "$work/demo.log" >&2
	die "scripts/demo.sh failed without check (its output is above)"
fi
grep -q "^Mounted $top/examples/snapshots on $mnt" "$work/demo.log" ||
	{ cat "$work/demo.log" >&2; die "the demo did not report its mount"; }
mountpoint -q "$mnt" || die "the demo left nothing mounted on $mnt"
cmp "$top/examples/snapshots/hello.hxz" "$mnt/hello.hxz" ||
	die "the demo's mount does not serve hello.hxz as it is in examples/snapshots"
for mp in $(demo_mounts); do
	fusermount3 -u "$mp" || die "fusermount3 -u $mp failed"
done
echo "test_demo_without_check.sh: the demo built, mounted and served without check"
