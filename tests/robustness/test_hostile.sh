#!/usr/bin/env bash
# Hostile and odd input: names (255 bytes, newlines, spaces, leading
# dashes, invalid UTF-8, control characters, ..-looking), over-long names
# and paths, directories 50 levels deep (also past PATH_MAX), symlink
# loops and chains, symlinks out of SNAPSHOT_DIR under each policy; reads
# at offsets near 2^63, of zero length, of exactly the size, and O_DIRECT
# reads aligned and not. Each input is served right or refused cleanly;
# the daemon never crashes or hangs.
set -euo pipefail
# shellcheck source=tests/robustness/robust.sh
. "$(dirname -- "$0")/robust.sh"

INPUTS=0

# ------------------------------------------------------------------ names

rcheck make-odd-names "$SRC" # prints how many
INPUTS=$((INPUTS + 39 + 3))
mount_fg "$SRC" "$MNT"
rcheck check-odd-names "$MNT" "$SRC"
check_eq "ls sees every odd snapshot name (one line each, escaped)" 30 \
	"$(LC_ALL=C timeout 20 ls -A --quoting-style=escape "$MNT" | wc -l)"
check_eq "find sees every odd snapshot name" 30 \
	"$(timeout 20 find "$MNT" -mindepth 1 -print0 | tr -cd '\0' | wc -c)"
check_serving "after the odd names" "$DAEMON_PID" "$MNT" "$DAEMON_LOG"
unmount_fg "$MNT"

# ------------------------------------------------------ deep directories

D=$WORK/src-deep
mkdir "$D"
# 50 levels of "d" (a path of 100 bytes) and 50 levels of a 100-byte name
# (5050 bytes: more than PATH_MAX, reachable only one level at a time).
rcheck make-deep "$D" d 50 leaf.hxz
LONGDIR=$(printf 'L%.0s' $(seq 100))
rcheck make-deep "$D" "$LONGDIR" 50 leaf.hxz
INPUTS=$((INPUTS + 2))
mount_fg "$D" "$MNT"
deep=$MNT$(printf '/d%.0s' $(seq 50))
check_eq "50 levels deep: cat reads the snapshot" "deep down d 50" "$(timeout 20 cat "$deep/leaf.hxz")"
rcheck deep "$MNT" "$D" d 50 leaf.hxz
rcheck deep "$MNT" "$D" "$LONGDIR" 50 leaf.hxz
check_eq "find walks both 50-level trees (100 directories, 2 snapshots)" 102 \
	"$(cd "$MNT" && timeout 30 find . -mindepth 1 2>/dev/null | wc -l)"
fds=$(proc_fds "$DAEMON_PID")
echo "# daemon fds with the deep trees known to the kernel: $fds"
check_serving "after the deep trees" "$DAEMON_PID" "$MNT" "$DAEMON_LOG"
unmount_fg "$MNT"

# ------------------------------------------------- symlinks, by policy

L=$WORK/src-links
OUT=$WORK/outside
TWIN=$WORK/src-links-twin # shares a prefix with SNAPSHOT_DIR
mkdir "$L" "$OUT" "$TWIN"
rcheck make-links "$L" "$OUT" "$TWIN"
INPUTS=$((INPUTS + 19 + 2))
for policy in inside any none; do
	opts=()
	[ "$policy" == inside ] || opts=(-o "symlinks=$policy")
	mount_fg "$L" "$MNT" "${opts[@]}"
	rcheck check-links "$MNT" "$L" "$OUT" "$TWIN" "$policy"
	check_serving "[symlinks=$policy]" "$DAEMON_PID" "$MNT" "$DAEMON_LOG"
	unmount_fg "$MNT"
done

# ----------------------------------------------------------- odd reads

R=$WORK/src-reads
mkdir "$R"
# Versions of hxzverify: medium, not a page multiple (1710880 bytes);
# medium, a page multiple (3022848); tiny.
for v in 2097153 2097207 5; do
	"$HXZ" gen "$R/v$v.hxz" "$v"
done
for mode in "" "-o timeout=0,map_cache=0" -s; do
	# shellcheck disable=SC2086 # the mode is one or two words, or none
	mount_fg "$R" "$MNT" $mode
	for v in 2097153 2097207 5; do
		hxzcheck "[${mode:-defaults}] odd reads of v$v.hxz ($("$HXZ" size "$v") bytes)" \
			ioprobe "$MNT/v$v.hxz" "$v"
		n=$(sed -n 's/.*: \([0-9]*\) probes as expected.*/\1/p' <<<"$HXZ_OUT")
		INPUTS=$((INPUTS + ${n:-0}))
	done
	check_serving "[${mode:-defaults}] after the odd reads" "$DAEMON_PID" "$MNT" "$DAEMON_LOG"
	unmount_fg "$MNT"
done

echo "# $INPUTS hostile inputs tried"
check_sanitizer_logs
