#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# scripts/bench-archive.sh: libhexz reading archive blocks against the codec
# alone (bench/archive_bench.c), single-threaded, the archive in the page
# cache. Not part of the test suite.
#
# Builds a release build (BENCH_BUILD_DIR, default build-release; configured
# if missing), makes a disk-image-like stream of BENCH_ARCHIVE_MB MiB
# (tests/writer/gen_disk_image.py), writes it as an LZ4 and a zstd archive of
# 64 KiB blocks with every block stored (no zero or deduplicated blocks,
# so that the library decodes exactly the blocks the codec does), and runs
# bench/archive_bench on both. For the CRC comparison install libisal-dev
# and libdeflate-dev first (optional: without them those rows are left out).
#
# Usage: scripts/bench-archive.sh [ARCHIVE_BENCH_ARGS...]   e.g. -r 21 -k 128
# Environment: BENCH_ARCHIVE_MB [64], BENCH_TMPDIR [/var/tmp],
#              BENCH_BUILD_DIR [build-release], PYTHON [/usr/bin/python3]
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
size_mb=${BENCH_ARCHIVE_MB:-64}
build=${BENCH_BUILD_DIR:-build-release}
[[ $build = /* ]] || build="$top/$build"
py=${PYTHON:-/usr/bin/python3}

if ! [[ $size_mb =~ ^[1-9][0-9]*$ ]]; then
	echo "bench-archive.sh: BENCH_ARCHIVE_MB must be a positive whole number" >&2
	exit 2
fi
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$top" --buildtype=release >/dev/null
fi
meson compile -C "$build" archive_bench >/dev/null

work=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/hexz-archive-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$py" "$top/tests/writer/gen_disk_image.py" "${size_mb}M" "$work/disk.img"
for c in lz4 zstd; do
	"$py" "$top/tests/writer/hexz_writer.py" "$work/$c.hxz" --main "$work/disk.img" \
		--compression "$c" --block-size 65536 --no-zero-blocks --no-dedup --no-hash
done
rm -f "$work/disk.img"

echo "# cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -n 1), kernel $(uname -r)"
"$build/bench/archive_bench" "$@" "$work/lz4.hxz" "$work/zstd.hxz"
