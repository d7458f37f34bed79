#!/usr/bin/env bash
# The main job on the built-in examples: build hexzfs, mount examples/snapshots
# read-only, show what the mount holds; mount examples/archives with
# -o view=contents and read a file out of an archive; say how to read and
# unmount both.
# Usage: scripts/demo.sh [MOUNTPOINT]    (default: /tmp/hexzfs-demo; the
#        contents view goes on MOUNTPOINT-contents)
#
# Needs only the build dependencies: it builds in its own directory,
# build-demo (or $HEXZFS_DEMO_BUILD), with the tests off (-Dtests=false),
# so the test framework (check) is not needed. Any step that fails is
# named, with the output of the tool that failed.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
mnt=${1:-/tmp/hexzfs-demo}
cmnt=$mnt-contents
build=${HEXZFS_DEMO_BUILD:-$top/build-demo}
step=

on_exit() {
	local rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "demo.sh: failed while $step (exit $rc)" >&2
	fi
}
trap on_exit EXIT

# Run COMMAND; show its output only if it fails (then fail too).
quietly() { # COMMAND...
	local out
	if ! out=$("$@" 2>&1); then
		printf '%s\n' "$out" >&2
		return 1
	fi
}

step="installing the build dependencies (scripts/deps.sh build)"
"$top/scripts/deps.sh" build

step="configuring the build (meson setup $build -Dtests=false)"
if [ ! -f "$build/build.ninja" ]; then
	quietly meson setup "$build" "$top" -Dtests=false
fi

step="building (ninja -C $build)"
quietly ninja -C "$build"

# Idempotent: mounts left by an earlier run are replaced.
for m in "$mnt" "$cmnt"; do
	step="unmounting the earlier demo mount (fusermount3 -u $m)"
	if mountpoint -q "$m" 2>/dev/null; then
		fusermount3 -u "$m"
	fi
	step="creating the mountpoint $m"
	mkdir -p "$m"
done

step="mounting (hexzfs $top/examples/snapshots $mnt)"
"$build/fuse/hexzfs" "$top/examples/snapshots" "$mnt"

step="showing the mount"
echo "Mounted $top/examples/snapshots on $mnt (read-only)."
echo
echo "\$ ls -lR $mnt"
ls -lR "$mnt"
echo
echo "\$ head -n 1 $mnt/hello.hxz"
head -n 1 "$mnt/hello.hxz"
echo
echo "\$ sha256sum $mnt/vm/disk-2026-11-01.hxz"
sha256sum "$mnt/vm/disk-2026-11-01.hxz"
echo
echo "Read the snapshots with any program, for example:"
echo "  cat $mnt/hello.hxz"
echo "  dd if=$mnt/vm/disk-2026-11-01.hxz bs=4k skip=10 count=1 | od -A d -t x1 | head"
echo "  cmp $mnt/datasets/weather.hxz $top/examples/snapshots/datasets/weather.hxz"
echo

step="mounting the contents view (hexzfs -o view=contents $top/examples/archives $cmnt)"
"$build/fuse/hexzfs" -o view=contents "$top/examples/archives" "$cmnt"

step="showing the contents view"
echo "Mounted $top/examples/archives on $cmnt with -o view=contents:"
echo "each hexz archive is a directory of what it holds."
echo
echo "\$ ls -lR $cmnt"
ls -lR "$cmnt"
echo
echo "\$ cat $cmnt/tree.hxz/src/lib/answer.c"
cat "$cmnt/tree.hxz/src/lib/answer.c"
echo
echo "\$ cmp $cmnt/disk.hxz/main $cmnt/disk-child.hxz/main    # the thin child differs in one place"
cmp "$cmnt/disk.hxz/main" "$cmnt/disk-child.hxz/main" || true
echo
echo "\$ hexz-inspect $top/examples/archives/disk-child.hxz"
(cd "$top/examples/archives" && "$build/tools/hexz-inspect" disk-child.hxz)
echo
echo "Read the archives' contents with any program, for example:"
echo "  sha256sum $cmnt/disk.hxz/main $cmnt/disk.hxz/auxiliary"
echo "  cat $cmnt/tree.hxz/README"
echo "Unmount with:"
echo "  fusermount3 -u $mnt"
echo "  fusermount3 -u $cmnt"
