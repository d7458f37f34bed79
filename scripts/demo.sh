#!/usr/bin/env bash
# The main job on the built-in example: build hexzfs, mount examples/snapshots
# read-only, show what the mount holds, and say how to read and unmount it.
# Usage: scripts/demo.sh [MOUNTPOINT]    (default: /tmp/hexzfs-demo)
#
# Needs only the build dependencies: it builds in its own directory,
# build-demo (or $HEXZFS_DEMO_BUILD), with the tests off (-Dtests=false),
# so the test framework (check) is not needed. Any step that fails is
# named, with the output of the tool that failed.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
mnt=${1:-/tmp/hexzfs-demo}
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

# Idempotent: a mount left by an earlier run is replaced.
step="unmounting the earlier demo mount (fusermount3 -u $mnt)"
if mountpoint -q "$mnt" 2>/dev/null; then
	fusermount3 -u "$mnt"
fi
step="creating the mountpoint $mnt"
mkdir -p "$mnt"

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
echo "Unmount with:"
echo "  fusermount3 -u $mnt"
