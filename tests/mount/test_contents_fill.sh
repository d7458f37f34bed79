#!/usr/bin/env bash
# -o view=contents, block fill: after a random read of one page, the rest
# of its decompressed block lands in the kernel's page cache, exactly the
# block's whole pages inside the file (a partial last page at the end of
# the file included), with the right bytes, for blocks aligned with the
# file and for a file of a directory archive that starts inside a block;
# nothing of the kind for an O_DIRECT reader, nor with -o block_fill=off;
# and a daemon stopped by a signal in the middle of random readers exits
# at once.
set -euo pipefail
# shellcheck source=tests/mount/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/mount/contents_lib.sh
. "$MOUNT_TESTS_DIR/contents_lib.sh"

MiB=$((1 << 20))
PAGE=$(getconf PAGESIZE)

# Random bytes: no block of them is all zeros (a zero block is never
# decompressed, so it has nothing to give the page cache).
random_bytes() { # OUT SIZE SEED
	"$PYTHON" -c 'import random, sys
sys.stdout.buffer.write(random.Random(int(sys.argv[2])).randbytes(int(sys.argv[1])))' "$2" "$3" >"$1"
}
random_bytes "$WORK/img1" $((8 * MiB)) 1
random_bytes "$WORK/img3" $((6 * MiB + 12345)) 3
writer --main "$WORK/img1" --aux "$WORK/img3" -c lz4 --block-size 65536 "$SRC/lz4.hxz"
writer --main "$WORK/img3" -c zstd --block-size 131072 "$SRC/zstd.hxz"
# A file that starts 5000 bytes into the main stream, so that its blocks
# straddle its pages. The format's writers start each file on a block
# boundary; the reader must not depend on it.
head -c 305000 "$WORK/img1" | tail -c 300000 >"$WORK/b"
printf '{"files":[{"path":"b","offset":5000,"size":300000,"mode":33188,"mtime":1764000000}]}' \
	>"$WORK/manifest.json"
writer --main "$WORK/img1" --manifest-json "$WORK/manifest.json" -c lz4 --block-size 65536 \
	"$SRC/tree.hxz"

mount_contents

# Aligned blocks of 64 KiB: a page in block 5 brings the rest of block 5.
cpycheck fill "$MNT/lz4.hxz/main" "$WORK/img1" $((5 * 65536 + 3 * PAGE)) \
	$((5 * 65536)) $((6 * 65536)) 3
# The last block of a file that ends inside a page: 12345 bytes from
# 6291456 on, four pages, the last one partial.
cpycheck fill "$MNT/zstd.hxz/main" "$WORK/img3" $((48 * 131072)) \
	$((48 * 131072)) $((6 * MiB + 12345)) 3
# b's page at 98304 is stream byte 103304, in block [65536, 131072): b's
# bytes [60536, 126072), whose whole pages are [61440, 122880).
cpycheck fill "$MNT/tree.hxz/b" "$WORK/b" 98304 61440 122880 3
# A reader with O_DIRECT never looks in the page cache: no fill for it.
cpycheck fill_direct "$MNT/lz4.hxz/auxiliary" "$WORK/img3" $((7 * 65536 + PAGE)) 1
unmount_contents

# -o block_fill=off: the page read stays alone.
mount_contents -o block_fill=off
cpycheck fill "$MNT/lz4.hxz/main" "$WORK/img1" $((5 * 65536 + 3 * PAGE)) 0 0 1
cpycheck fill "$MNT/tree.hxz/b" "$WORK/b" 98304 0 0 1
unmount_contents

# ------------------------------------------------- a stop under random reads

# The fill thread waits on page locks of reads in flight: a stop must not
# leave it waiting for a loop that has ended. SIGTERM in the middle of
# two random readers, twice; the daemon exits at once with status 0.
for round in 1 2; do
	mount_contents
	pids=()
	for f in lz4.hxz/main zstd.hxz/main; do
		"$PYTHON" - "$MNT/$f" >/dev/null 2>&1 <<'EOF' &
import os, random, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
size, rng = os.fstat(fd).st_size, random.Random(os.getpid())
while True:
    os.pread(fd, 4096, rng.randrange(size) & ~4095)
EOF
		pids+=($!)
	done
	sleep 1
	started=$(now_ms)
	kill -TERM "$DAEMON_PID"
	if wait_exit "$DAEMON_PID"; then
		check_eq "[round $round] SIGTERM under random readers: the daemon exits with status 0" \
			0 "$EXIT_STATUS"
		check_le "[round $round] ... within 2 s" $(($(now_ms) - started)) 2000
	else
		fail "[round $round] SIGTERM under random readers: the daemon exits" \
			"still running after ${EXIT_DEADLINE}s"
		dump_stacks "$DAEMON_PID"
		kill -KILL "$DAEMON_PID" 2>/dev/null || true
	fi
	kill "${pids[@]}" 2>/dev/null || true
	wait "${pids[@]}" 2>/dev/null || true
	check_eq "[round $round] the daemon's log holds no sanitizer report" "" \
		"$(grep -E 'runtime error:|ERROR: AddressSanitizer|ThreadSanitizer' "$DAEMON_LOG" | head -n 5 || true)"
done

