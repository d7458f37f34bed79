#!/usr/bin/env bash
# -o view=contents while the archive set changes: a new archive appears at
# once; a deleted one leaves the listing while open handles read on; one
# replaced by rename(2) is served to opens made 2 s later while earlier
# handles keep their version; one modified in place gives its readers EIO
# or the right bytes, never wrong ones, and the daemon stays up.
set -euo pipefail
# shellcheck source=tests/mount/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/mount/contents_lib.sh
. "$MOUNT_TESTS_DIR/contents_lib.sh"

MiB=$((1 << 20))
image "$WORK/keep.img" $((MiB + 3)) 11
image "$WORK/del.img" $((4 * MiB + 5)) 12
image "$WORK/del.aux" $((MiB / 2 + 1)) 13
image "$WORK/v1.img" $((3 * MiB + 1)) 14
image "$WORK/v2.img" $((2 * MiB + 4097)) 15
image "$WORK/inplace.img" $((4 * MiB + 17)) 16
image "$WORK/new.img" $((MiB + 99)) 17
mkdir -p "$WORK/tree/sub"
image "$WORK/tree/held.bin" $((2 * MiB + 1)) 18
printf 'tree\n' >"$WORK/tree/sub/small.txt"

writer --main "$WORK/keep.img" -c zstd --block-size 65536 "$SRC/keep.hxz"
writer --main "$WORK/del.img" --aux "$WORK/del.aux" -c lz4 --block-size 65536 "$SRC/del.hxz"
writer --dir "$WORK/tree" -c zstd --block-size 32768 "$SRC/deltree.hxz"
writer --main "$WORK/v1.img" -c lz4 --block-size 65536 "$SRC/rep.hxz"
writer --main "$WORK/v1.img" -c lz4 --block-size 65536 "$SRC/rep_tree.hxz"
writer --main "$WORK/v1.img" -c lz4 --block-size 65536 "$SRC/rep_junk.hxz"
writer --main "$WORK/v1.img" -c lz4 --block-size 65536 "$SRC/overwrite.hxz"
writer --main "$WORK/inplace.img" -c lz4 --block-size 65536 "$SRC/inplace.hxz"
writer --main "$WORK/v2.img" -c zstd --block-size 16384 "$WORK/v2.hxz"
writer --dir "$WORK/tree" -c lz4 --block-size 4096 "$WORK/tree.hxz"
writer --main "$WORK/new.img" -c zstd --variable --block-size 16384 "$WORK/new.hxz"
head -c 5000 /dev/urandom >"$SRC/late.hxz" # not an archive, until replaced by one

# shellcheck disable=SC2119 # no options
mount_contents
check_eq "initial listing" \
	"$(printf '%s\n' del.hxz deltree.hxz inplace.hxz keep.hxz overwrite.hxz rep.hxz rep_junk.hxz \
		rep_tree.hxz | LC_ALL=C sort)" "$(LC_ALL=C ls "$MNT")"

# ------------------------------------------------------------- additions

check_enoent "new.hxz is missing before it is added" "$MNT/new.hxz"
cp "$WORK/new.hxz" "$SRC/.new.tmp"
mv "$SRC/.new.tmp" "$SRC/new.hxz"
check_contains "an archive renamed into place is listed at once" "$(ls "$MNT")" new.hxz
check_cmp "an archive renamed into place reads at once" "$WORK/new.img" "$MNT/new.hxz/main"
writer --main "$WORK/new.img" -c lz4 --block-size 4096 "$SRC/written-here.hxz"
check_cmp "an archive written straight into SNAPSHOT_DIR reads once written" \
	"$WORK/new.img" "$MNT/written-here.hxz/main"
mkdir "$SRC/newdir"
cp "$WORK/tree.hxz" "$SRC/newdir/t.hxz"
check_eq "an archive in a directory created while mounted is listed at once" t.hxz \
	"$(ls "$MNT/newdir")"
check_cmp "an archive in a directory created while mounted reads at once" \
	"$WORK/tree/sub/small.txt" "$MNT/newdir/t.hxz/sub/small.txt"
check_enoent "late.hxz (not an archive yet) is not shown" "$MNT/late.hxz"
cp "$WORK/new.hxz" "$SRC/.late.tmp"
mv "$SRC/.late.tmp" "$SRC/late.hxz"
if wait_until 3 test -e "$MNT/late.hxz/main"; then
	pass "a file that was not an archive, replaced by one, appears"
else
	fail "a file that was not an archive, replaced by one, appears" "$(ls "$MNT")"
fi
check_cmp "... and reads" "$WORK/new.img" "$MNT/late.hxz/main"

# ------------------------------------------------------------- deletions

cpycheck hold-delete "$MNT/del.hxz/main" "$SRC/del.hxz" "$WORK/del.img"
cpycheck hold-delete "$MNT/deltree.hxz/held.bin" "$SRC/deltree.hxz" "$WORK/tree/held.bin"

# ---------------------------------------------------------- replacements

cp "$WORK/v2.hxz" "$SRC/.rep.tmp"
cpycheck hold-replace "$MNT/rep.hxz/main" "$SRC/rep.hxz" "$SRC/.rep.tmp" "$WORK/v1.img" "$WORK/v2.img"
# Streams replaced by a tree: the directory shows the new tree.
check_eq "rep_tree.hxz holds main before its replacement" main "$(ls "$MNT/rep_tree.hxz")"
exec {held}<"$MNT/rep_tree.hxz/main"
cp "$WORK/tree.hxz" "$SRC/.rep_tree.tmp"
mv "$SRC/.rep_tree.tmp" "$SRC/rep_tree.hxz"
sleep 2.1
check_eq "rep_tree.hxz replaced by a tree archive: 2 s later it lists the tree" \
	"$(printf '%s\n' held.bin sub)" "$(LC_ALL=C ls "$MNT/rep_tree.hxz")"
check_cmp "rep_tree.hxz replaced by a tree archive: its files read" "$WORK/tree/held.bin" \
	"$MNT/rep_tree.hxz/held.bin"
check_cmp "rep_tree.hxz: the handle opened before reads the old main" "$WORK/v1.img" "/dev/fd/$held"
exec {held}<&-
# Replaced by something that is not an archive: the name goes, logged once.
exec {held}<"$MNT/rep_junk.hxz/main"
head -c 70000 /dev/urandom >"$SRC/.rep_junk.tmp"
mv "$SRC/.rep_junk.tmp" "$SRC/rep_junk.hxz"
sleep 2.1
check_enoent "rep_junk.hxz replaced by a non-archive: 2 s later it is gone" "$MNT/rep_junk.hxz"
ls "$MNT" >/dev/null
check_eq "rep_junk.hxz replaced by a non-archive: logged once" 1 \
	"$(log_count "not shown: $SRC/rep_junk.hxz:")"
check_cmp "rep_junk.hxz: the handle opened before reads the old main" "$WORK/v1.img" "/dev/fd/$held"
exec {held}<&-

# ------------------------------------------------------- changes in place

cpycheck replace-by-copy "$MNT/overwrite.hxz/main" "$SRC/overwrite.hxz" "$WORK/v2.hxz" \
	"$WORK/v1.img" "$WORK/v2.img"
cpycheck inplace "$MNT/inplace.hxz/main" "$SRC/inplace.hxz" "$WORK/inplace.img" 4 \
	"$MNT/keep.hxz/main" "$WORK/keep.img"
if proc_alive "$DAEMON_PID"; then
	pass "the daemon survived the changes in place"
else
	fail "the daemon survived the changes in place" "$(tail -n 20 "$DAEMON_LOG")"
fi
check_cmp "keep.hxz still reads after all the changes" "$WORK/keep.img" "$MNT/keep.hxz/main"
check_eq "the listing after all the changes" \
	"$(printf '%s\n' inplace.hxz keep.hxz late.hxz new.hxz newdir overwrite.hxz rep.hxz \
		rep_tree.hxz written-here.hxz | LC_ALL=C sort)" "$(LC_ALL=C ls "$MNT")"
unmount_contents
