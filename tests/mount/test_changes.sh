#!/usr/bin/env bash
# The snapshot set changes while mounted: additions show at once, deletions
# leave listings while open handles keep reading, replacements are served
# to later opens while earlier handles keep their version, truncation in
# place never returns garbage, never hangs, never kills the daemon.
set -euo pipefail
# shellcheck source=tests/mount/lib.sh
. "$(dirname -- "$0")/lib.sh"

rand() { # NAME SIZE
	head -c "$2" /dev/urandom >"$SRC/$1"
}
rand keep.hxz 65536
rand del.hxz $((4 * 1024 * 1024 + 5))
rand rep.hxz $((3 * 1024 * 1024 + 1))
rand rep-same.hxz $((2 * 1024 * 1024))
rand trunc.hxz $((8 * 1024 * 1024))
rand trunc0.hxz $((2 * 1024 * 1024 + 3))
mkdir "$SRC/sub"

mount_fg "$SRC" "$MNT"
check_eq "initial listing" \
	"$(printf '%s\n' del.hxz keep.hxz rep-same.hxz rep.hxz sub trunc.hxz trunc0.hxz | LC_ALL=C sort)" \
	"$(LC_ALL=C ls "$MNT")"

# ------------------------------------------------------------- additions

pycheck add "$MNT" "$SRC"
rand sub/new-in-sub.hxz 1000
check_eq "a snapshot added to sub/ is listed at once" new-in-sub.hxz "$(ls "$MNT/sub")"
check_cmp "a snapshot added to sub/ reads at once" "$SRC/sub/new-in-sub.hxz" "$MNT/sub/new-in-sub.hxz"
mkdir "$SRC/newdir"
rand newdir/x.hxz 4096
check_cmp "a snapshot in a directory created while mounted reads at once" \
	"$SRC/newdir/x.hxz" "$MNT/newdir/x.hxz"
# Written under a temporary name, then renamed into place.
rand .incoming 70000
check_eq "a file not named *.hxz is not listed" "" "$(find "$MNT" -name '*incoming*')"
mv "$SRC/.incoming" "$SRC/renamed-in.hxz"
check_cmp "a snapshot renamed into place reads at once" "$SRC/renamed-in.hxz" "$MNT/renamed-in.hxz"

# ------------------------------------------------------------- deletions

pycheck hold-delete "$MNT/del.hxz" "$SRC/del.hxz"

# ---------------------------------------------------------- replacements

pycheck hold-replace "$MNT/rep.hxz" "$SRC/rep.hxz" 0
pycheck hold-replace "$MNT/rep-same.hxz" "$SRC/rep-same.hxz" 1

# Replaced while nobody has it open, read through cat after 2 s.
head -c 12345 /dev/urandom >"$WORK/v2"
cat "$MNT/keep.hxz" >/dev/null
cp "$WORK/v2" "$SRC/.keep.tmp"
mv "$SRC/.keep.tmp" "$SRC/keep.hxz"
sleep 2
check_cmp "keep.hxz replaced while closed: cat 2 s later reads the new version" \
	"$WORK/v2" "$MNT/keep.hxz"
check_eq "keep.hxz replaced while closed: ls -l shows the new size" 12345 \
	"$(stat -c %s "$MNT/keep.hxz")"

# ---------------------------------------------------- truncation in place

pycheck hold-truncate "$MNT/trunc.hxz" "$SRC/trunc.hxz" $((1024 * 1024)) \
	"$MNT/keep.hxz" "$SRC/keep.hxz"
pycheck hold-truncate "$MNT/trunc0.hxz" "$SRC/trunc0.hxz" 0 "$MNT/keep.hxz" "$SRC/keep.hxz"
rand race.hxz $((32 * 1024 * 1024))
pycheck truncate-stress "$MNT/race.hxz" "$SRC/race.hxz" 3
rm "$SRC/race.hxz"
if proc_alive "$DAEMON_PID"; then
	pass "the daemon survived the truncations"
else
	fail "the daemon survived the truncations" "$(cat "$DAEMON_LOG")"
fi
check_cmp "another snapshot reads after the truncations" "$SRC/renamed-in.hxz" "$MNT/renamed-in.hxz"
check_eq "the listing still works after the truncations" \
	"$(printf '%s\n' added-later.hxz keep.hxz newdir rep-same.hxz rep.hxz renamed-in.hxz sub \
		trunc.hxz trunc0.hxz | LC_ALL=C sort)" \
	"$(LC_ALL=C ls "$MNT")"

# ------------------------------------------------------ directory removal

rm -r "$SRC/newdir"
check_eq "a directory removed from the source leaves the listing" "" \
	"$(find "$MNT" -maxdepth 1 -name newdir)"
unmount_fg "$MNT"

# ---------------------------------------------- no caching: -o timeout=0

# With entry and attribute timeouts of 0, a replacement is served to the
# very next open, and a deletion fails the very next lookup.
mount_fg "$SRC" "$MNT" -o timeout=0
cat "$MNT/keep.hxz" >/dev/null
head -c 54321 /dev/urandom >"$WORK/v3"
cp "$WORK/v3" "$SRC/.keep.tmp"
mv "$SRC/.keep.tmp" "$SRC/keep.hxz"
check_cmp "[timeout=0] a replaced snapshot reads the new version at once" "$WORK/v3" "$MNT/keep.hxz"
rm "$SRC/keep.hxz"
pycheck errno ENOENT stat "$MNT/keep.hxz"
unmount_fg "$MNT"
