#!/usr/bin/env bash
# The main job on the built-in example: build hexzfs, mount examples/snapshots
# read-only, show what the mount holds, and say how to read and unmount it.
# Usage: scripts/demo.sh [MOUNTPOINT]    (default: /tmp/hexzfs-demo)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
mnt=${1:-/tmp/hexzfs-demo}
build=$top/build

"$top/scripts/deps.sh" build
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$top" >/dev/null
fi
ninja -C "$build" >/dev/null

# Idempotent: a mount left by an earlier run is replaced.
if mountpoint -q "$mnt" 2>/dev/null; then
	fusermount3 -u "$mnt"
fi
mkdir -p "$mnt"

"$build/fuse/hexzfs" "$top/examples/snapshots" "$mnt"

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
