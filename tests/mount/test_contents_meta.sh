#!/usr/bin/env bash
# -o view=contents, metadata: what lies inside an archive costs the daemon
# no node each (the SIGUSR1 counters: nodes stay at the archives, entries
# count the kernel's lookups); a cold `find` needs no lookup per name
# (readdirplus) and a warm one no lookup, getattr or readdir at all
# (contents_timeout, the readdir cache), unless -o contents_timeout=0; a
# replaced archive has everything the kernel cached below it dropped, and
# its forgets arrive; an archive is opened once however many first lookups
# race for it, and opening a slow one does not hold up the others.
set -euo pipefail
# shellcheck source=tests/mount/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/mount/contents_lib.sh
. "$MOUNT_TESTS_DIR/contents_lib.sh"

# A tree of 40 directories of 25 files under 4 top directories, and a
# second version of it with one more file.
NDIRS=40
NPER=25
NFILES=$((NDIRS * NPER))
for d in $(seq 0 $((NDIRS - 1))); do
	dir=$WORK/tree/top$((d % 4))/dir$d
	mkdir -p "$dir"
	for f in $(seq 0 $((NPER - 1))); do
		printf 'file %d of directory %d\n' "$f" "$d" >"$dir/f$f.txt"
	done
done
writer --dir "$WORK/tree" -c lz4 --block-size 65536 "$SRC/tree.hxz"
cp "$SRC/tree.hxz" "$WORK/tree1.hxz"
printf 'the second version\n' >"$WORK/tree/top0/added.txt"
writer --dir "$WORK/tree" -c lz4 --block-size 65536 "$WORK/tree2.hxz"
image "$WORK/other.img" $((1 << 20)) 31
mkdir "$SRC/sub"
writer --main "$WORK/other.img" -c zstd --block-size 65536 "$SRC/sub/other.hxz"
# One slow archive (slow_open_shim.c) under 6 names in 6 directories (the
# kernel looks up one name of a directory at a time, see README): hard
# links share one mapping, hence one archive version.
NSLOW=6
writer --dir "$WORK/tree" -c lz4 --block-size 65536 "$SRC/slow.hxz"
for i in $(seq 0 $((NSLOW - 1))); do
	mkdir "$SRC/s$i"
	ln "$SRC/slow.hxz" "$SRC/s$i/slow.hxz"
done

# The daemon's counters (SIGUSR1) into C[name]; 1 if none came within 5 s.
declare -A C
counters() {
	local before line kv
	before=$(grep -c 'stats:' "$DAEMON_LOG" || true)
	kill -USR1 "$DAEMON_PID"
	wait_until 5 stats_after "$before" || return 1
	line=$(grep 'stats:' "$DAEMON_LOG" | tail -n 1)
	C=()
	for kv in ${line#*stats: }; do
		C[${kv%%=*}]=${kv#*=}
	done
}
stats_after() { # N
	[ "$(grep -c 'stats:' "$DAEMON_LOG" || true)" -gt "$1" ]
}
# Requests of the kinds a warm `find` must not send, as "lookups getattrs readdirs".
metadata_requests() {
	counters || die "SIGUSR1 prints the counters"
	echo "${C[lookups]} ${C[getattrs]} ${C[readdirs]}"
}

# ------------------------------------------------- entries cost no node

# The archive's own name keeps a long timeout here, so that only what is
# inside the archive is measured.
mount_contents -o timeout=3600
counters || die "SIGUSR1 prints the counters"
nodes0=${C[nodes]}
read -r l0 g0 r0 <<<"$(metadata_requests)"
check_eq "a cold find lists every file of the archive" "$NFILES" \
	"$(find "$MNT/tree.hxz" -type f | wc -l)"
read -r l1 g1 r1 <<<"$(metadata_requests)"
counters
check_le "after the find, the daemon holds one node more (the archive's), not one per entry" \
	"${C[nodes]}" $((nodes0 + 1))
check_le "the kernel holds a lookup on each of the $NFILES files and $((NDIRS + 4)) directories" \
	$((NFILES + NDIRS + 4)) "${C[entries]}"
check_le "a cold find looks up the archive's name only: readdirplus gives the rest ($((l1 - l0)) lookups)" \
	$((l1 - l0)) 1
check_eq "the warm find lists the same files" "$NFILES" "$(find "$MNT/tree.hxz" -type f | wc -l)"
ls -lR "$MNT/tree.hxz" >/dev/null
read -r l2 g2 r2 <<<"$(metadata_requests)"
check_eq "a warm find and ls -lR send no lookup, getattr or readdir" "0 0 0" \
	"$((l2 - l1)) $((g2 - g1)) $((r2 - r1))"
check_cmp "a file inside reads" "$WORK/tree/top1/dir5/f7.txt" "$MNT/tree.hxz/top1/dir5/f7.txt"
check_enoent "a missing name inside is missing" "$MNT/tree.hxz/top1/nothing"
check_enoent "... and stays so, from the kernel's cache" "$MNT/tree.hxz/top1/nothing"
read -r l3 _ _ <<<"$(metadata_requests)"
check_eq "the kernel caches the miss inside the archive (1 lookup for 2 stats)" 1 $((l3 - l2))

# ------------------------------------------- a replaced version is dropped

entries_below() { # N: true once the kernel holds at most N lookups on entries
	counters && [ "${C[entries]}" -le "$1" ]
}
cp "$WORK/tree2.hxz" "$SRC/.tree.tmp"
mv "$SRC/.tree.tmp" "$SRC/tree.hxz"
# The sweep (once a second) has the kernel drop the old name and all below.
if wait_until 10 entries_below 0; then
	pass "once the archive is replaced, the kernel forgets every entry of the old version"
else
	fail "once the archive is replaced, the kernel forgets every entry of the old version" \
		"entries=${C[entries]:-?}"
fi
check_eq "... and the old version's node goes with them" "$nodes0" "${C[nodes]}"
check_eq "the new version is shown, though the old one was cached for an hour" \
	$((NFILES + 1)) "$(find "$MNT/tree.hxz" -type f | wc -l)"
check_cmp "a file only the new version has reads" "$WORK/tree/top0/added.txt" \
	"$MNT/tree.hxz/top0/added.txt"

# Replaced again while a file of it is open: that file's dentry, and its two
# directories', stay (the kernel forgets them when it evicts their inodes,
# not when they are closed), the rest goes.
exec {held}<"$MNT/tree.hxz/top2/dir6/f3.txt"
cp "$WORK/tree1.hxz" "$SRC/.tree.tmp"
mv "$SRC/.tree.tmp" "$SRC/tree.hxz"
if wait_until 10 entries_below 3; then
	pass "replaced with a file open, the kernel forgets every entry but the open file's path"
else
	fail "replaced with a file open, the kernel forgets every entry but the open file's path" \
		"entries=${C[entries]:-?}"
fi
check_cmp "the open file of the old version still reads" "$WORK/tree/top2/dir6/f3.txt" \
	/dev/fd/$held
exec {held}<&-
check_eq "the first version is shown again" "$NFILES" "$(find "$MNT/tree.hxz" -type f | wc -l)"
unmount_contents

# ------------------------------------------------- contents_timeout=0

mount_contents -o timeout=3600,contents_timeout=0
find "$MNT/tree.hxz" -type f >/dev/null
read -r l1 g1 _ <<<"$(metadata_requests)"
find "$MNT/tree.hxz" -type f >/dev/null
ls -lR "$MNT/tree.hxz" >/dev/null
read -r l2 g2 _ <<<"$(metadata_requests)"
check_le "[contents_timeout=0] a second find asks the daemon again (lookups and getattrs)" \
	$((NDIRS + 4)) $((l2 - l1 + g2 - g1))
unmount_contents

# ---------------------------------------------------- opening once

SHIM=$WORK/slow_open_shim.so
${CC:-cc} -shared -fPIC -O2 -I"$MOUNT_TESTS_DIR/../../include" -o "$SHIM" \
	"$MOUNT_TESTS_DIR/slow_open_shim.c" -ldl || die "build slow_open_shim.so"
SHIM_LOG=$WORK/shim.log
DELAY_MS=6000
DAEMON_ENV=("LD_PRELOAD=$SHIM" "HEXZFS_SHIM_SLOW=/slow" "HEXZFS_SHIM_DELAY_MS=$DELAY_MS"
	"HEXZFS_SHIM_LOG=$SHIM_LOG" "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
mount_contents
# tree.hxz, beside the slow archive, is open already; sub/other.hxz is not.
find "$MNT/tree.hxz" -type f >/dev/null
stat "$MNT/sub" >/dev/null
counters || die "SIGUSR1 prints the counters"
opens0=${C[archive_opens]}
for i in $(seq 0 $((NSLOW - 1))); do
	stat "$MNT/s$i" >/dev/null
done
# First lookups of one archive at once, under its names.
pids=()
for i in $(seq 0 $((NSLOW - 1))); do
	stat -- "$MNT/s$i/slow.hxz/top3/dir7/f1.txt" >"$WORK/stat.$i" 2>&1 &
	pids+=($!)
done
shim_opens() { grep -c '^opening ' "$SHIM_LOG" 2>/dev/null || true; }
wait_until 10 test "$(shim_opens)" -ge 1 || die "the slow archive's open starts"
# Meanwhile another archive opens, lists and reads, and the open one serves.
# (Not a name in a directory where a lookup waits for the slow open:
# libfuse 3.14 never lets the kernel look up two names of one directory at
# once, see README.)
start=$(now_ms)
check_eq "while the slow archive opens, another one opens and lists" main "$(ls "$MNT/sub/other.hxz")"
check_cmp "... and reads" "$WORK/other.img" "$MNT/sub/other.hxz/main"
check_eq "... and an archive beside it lists" "$NFILES" "$(ls -R "$MNT/tree.hxz" | grep -c '^f')"
check_cmp "... and reads" "$WORK/tree/top1/dir9/f4.txt" "$MNT/tree.hxz/top1/dir9/f4.txt"
took=$(($(now_ms) - start))
waiting=0
for pid in "${pids[@]}"; do
	if proc_alive "$pid"; then
		waiting=$((waiting + 1))
	fi
done
check_eq "... all before the slow open ends (${took} ms; its $NSLOW lookups still wait)" "$NSLOW" \
	"$waiting"
check_le "... within half the slow open's time" "$took" $((DELAY_MS / 2))
failed=0
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" || {
		failed=$((failed + 1))
		echo "    stat s$i/slow.hxz: $(cat "$WORK/stat.$i")"
	}
done
check_eq "the $NSLOW lookups succeed once it is open" 0 "$failed"
counters || die "SIGUSR1 prints the counters"
check_eq "the slow archive was opened once for its $NSLOW concurrent first lookups" 1 \
	"$(shim_opens)"
check_eq "the daemon counts two archives opened meanwhile: the slow one and other.hxz" 2 \
	$((C[archive_opens] - opens0))
unmount_contents
DAEMON_ENV=()
