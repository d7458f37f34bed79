#!/usr/bin/env bash
# Leaks: 100,000 opens, verified reads and closes over 2,000 snapshots (more
# than the mapping cache keeps), with a directory listed every 50 opens,
# leave the daemon's descriptors, mappings and private memory where they
# were; so do 2,000 files held open at once, and 20,000 opens with the
# mapping cache off. Every open is counted by the daemon and /proc. And
# snapshots deleted or replaced after their last close are not kept mapped.
set -euo pipefail
# shellcheck source=tests/robustness/robust.sh
. "$(dirname -- "$0")/robust.sh"

NFILES=2000
OPENS=${LEAK_OPENS:-100000}
# Private memory the daemon may gain over the measured loop, in KiB: a leak
# of 16 bytes per open would be 1.6 MiB over 100,000 opens. The warm-up
# (50,000 opens) lets each worker thread's malloc arena reach its working
# size first (with meson's MALLOC_PERTURB_, every chunk is touched).
RSS_SLACK_KIB=1024
WARMUP_OPENS=50000
# meson sets MALLOC_PERTURB_, which fills every malloc'd chunk: then a
# worker thread that libfuse starts during the loop adds its whole 1 MiB
# request buffer to RssAnon (untouched, and not counted, in normal runs).
# That is a bounded one-off, not a leak; unset it for the daemons here.
DAEMON_ENV=(-u MALLOC_PERTURB_)

echo "# $("$HXZ" genmany "$SRC" "$NFILES")"
mkdir "$SRC/list"
for i in $(seq 1 20); do
	"$HXZ" gen "$SRC/list/l-$i.hxz" "$i"
done

# Figures of daemon PID: "fds mappings RssAnon", leases apart (one
# descriptor per leased mapping of 1 MiB or more: none of these snapshots).
measure() { # PID
	echo "$(($(proc_fds "$1") - $(proc_fds_leased "$1"))) $(proc_maps "$1" "$SRC") $(rss_anon_kib "$1")"
}

openloop() { # DESCRIPTION NFILES COUNT
	check_exits_zero "$1" 300 "$HXZ" openloop "$MNT" "$2" "$3"
}

# Empty snapshots need no mapping.
NONEMPTY=$(find "$SRC" -maxdepth 1 -name 'f-*.hxz' -size +0 | wc -l)

# ------------------------------------------- 100,000 opens, map_cache=1024

# A cache bound below the number of files: the loop evicts and maps again.
mount_fg "$SRC" "$MNT" -o map_cache=1024
pid=$DAEMON_PID
openloop "warm-up: $WARMUP_OPENS opens, reads and closes" "$NFILES" "$WARMUP_OPENS"
sleep 0.3
read -r base_fds base_maps base_rss <<<"$(measure "$pid")"
daemon_stats "$pid" "$DAEMON_LOG" || true
base_nodes=${STATS[nodes]:-?}
echo "# after warm-up: $base_fds fds, $base_maps snapshot mappings, RssAnon $base_rss KiB," \
	"$base_nodes nodes"

openloop "$OPENS opens, verified reads and closes of $NFILES snapshots" "$NFILES" "$OPENS"
sleep 0.3
read -r after_fds after_maps after_rss <<<"$(measure "$pid")"
echo "# after $OPENS opens: $after_fds fds, $after_maps snapshot mappings, RssAnon $after_rss KiB"
check_le "[$OPENS opens] fds unchanged (+1 at most)" "$after_fds" $((base_fds + 1))
check_le "[$OPENS opens] mappings unchanged (+1 at most)" "$after_maps" $((base_maps + 1))
check_le "[$OPENS opens] mappings within the cache bound (1024)" "$after_maps" 1024
check_rss_growth "[$OPENS opens] RssAnon grows by less than $RSS_SLACK_KIB KiB" \
	"$base_rss" "$after_rss" "$RSS_SLACK_KIB"
if daemon_stats "$pid" "$DAEMON_LOG"; then
	echo "# daemon counters: $(grep 'stats:' "$DAEMON_LOG" | tail -n 1 | sed 's/.*stats: //')"
	check_eq "[$OPENS opens] the daemon counts no open file" 0 "${STATS[open_files]}"
	check_le "[$OPENS opens] the daemon counted every open" $((OPENS + WARMUP_OPENS)) \
		"${STATS[opens]}"
	check_eq "[$OPENS opens] no open failed in the daemon" 0 "${STATS[open_errors]}"
	check_le "[$OPENS opens] nodes stay at one per file and directory" "${STATS[nodes]}" \
		$((NFILES + 30))
else
	fail "SIGUSR1 prints the daemon's counters"
fi

# ---------------------------------------------------- 2,000 open at once

# The holder opens the first NFILES files, says so, and keeps them open
# until its stdin (a FIFO) reaches end of file.
mkfifo "$WORK/hold.in"
(ulimit -n $((NFILES + 100)) && exec timeout 120 "$HXZ" openloop "$MNT" "$NFILES" "$NFILES" --hold) \
	<"$WORK/hold.in" >"$WORK/hold.out" 2>&1 &
hold_pid=$!
exec {hold_in}>"$WORK/hold.in"
holding() { grep -q '^holding' "$WORK/hold.out"; }
if ! wait_until 60 holding; then
	fail "$NFILES snapshots held open at once" "the holder said: $(cat "$WORK/hold.out")"
else
	read -r held_fds held_maps held_rss <<<"$(measure "$pid")"
	daemon_stats "$pid" "$DAEMON_LOG" || true
	echo "# $NFILES files open: $held_fds fds, $held_maps snapshot mappings, RssAnon $held_rss KiB," \
		"daemon counts ${STATS[open_files]:-?} open files"
	check_le "[$NFILES open at once] the daemon holds no descriptor per open file" \
		"$held_fds" $((base_fds + 1))
	check_eq "[$NFILES open at once] one mapping per open (non-empty) file" "$NONEMPTY" "$held_maps"
	check_eq "[$NFILES open at once] the daemon counts them" "$NFILES" "${STATS[open_files]:-?}"
fi
exec {hold_in}>&-
rc=0
wait "$hold_pid" || rc=$?
sed 's/^/# /' "$WORK/hold.out"
check_eq "[$NFILES open at once] the holder verified every read and closed" 0 "$rc"
sleep 0.3
read -r closed_fds closed_maps closed_rss <<<"$(measure "$pid")"
echo "# all closed again: $closed_fds fds, $closed_maps snapshot mappings, RssAnon $closed_rss KiB"
check_le "[$NFILES open at once] once closed, mappings back within the cache bound" \
	"$closed_maps" 1024
check_le "[$NFILES open at once] once closed, fds unchanged" "$closed_fds" $((base_fds + 1))
check_serving "after the loops" "$pid" "$MNT" "$DAEMON_LOG"
unmount_fg "$MNT"

# --------------------------------------------- no mapping cache: map_cache=0

mount_fg "$SRC" "$MNT" -o map_cache=0
pid=$DAEMON_PID
openloop "[map_cache=0] warm-up" 200 10000
sleep 0.3
read -r base_fds base_maps base_rss <<<"$(measure "$pid")"
openloop "[map_cache=0] 20,000 opens, each mapping and unmapping" 200 20000
sleep 0.3
read -r after_fds after_maps after_rss <<<"$(measure "$pid")"
echo "# [map_cache=0] before: $base_fds fds, $base_maps mappings, RssAnon $base_rss KiB;" \
	"after: $after_fds fds, $after_maps mappings, RssAnon $after_rss KiB"
check_eq "[map_cache=0] no mapping is left once every file is closed" 0 "$after_maps"
check_le "[map_cache=0] fds unchanged" "$after_fds" $((base_fds + 1))
check_rss_growth "[map_cache=0] RssAnon grows by less than $RSS_SLACK_KIB KiB" \
	"$base_rss" "$after_rss" "$RSS_SLACK_KIB"
unmount_fg "$MNT"
# ------------------------------- deleted snapshots are not kept mapped

# A mapping pins its file: a snapshot deleted or replaced while the daemon
# keeps its idle mapping keeps using disk space. Once the mount has been
# listed again (every name looked up anew) and the entry timeout has
# passed, no mapping of a deleted file may remain.
P=$WORK/src-pin
mkdir "$P"
for v in 1 2 3; do
	"$HXZ" gen "$P/s$v.hxz" $(((2 << 20) | v))
done
mount_fg "$P" "$MNT"
pid=$DAEMON_PID
for v in 1 2 3; do
	hxzcheck "[deleted snapshots] s$v.hxz reads whole (its mapping is then kept idle)" \
		check "$MNT/s$v.hxz" $(((2 << 20) | v))
done
rm "$P/s1.hxz"
"$HXZ" gen "$P/.incoming" $(((2 << 20) | 4))
mv "$P/.incoming" "$P/s2.hxz"
ls -l "$MNT" >/dev/null
sleep 1.2
ls -l "$MNT" >/dev/null
hxzcheck "[deleted snapshots] the replaced s2.hxz reads its new version" \
	check "$MNT/s2.hxz" $(((2 << 20) | 4))
no_deleted_maps() { [ "$(proc_maps_deleted "$pid" "$P")" -eq 0 ]; }
if wait_until 3 no_deleted_maps; then
	pass "[deleted snapshots] no mapping of the deleted and the replaced snapshot is left"
else
	fail "[deleted snapshots] no mapping of the deleted and the replaced snapshot is left" \
		"still mapped: $(awk -v p="$P/" 'index($0, " " p) { sub(/.* \//, "/"); print }' \
			"/proc/$pid/maps" | sed "s|^$P/||" | tr '\n' ' ')"
fi
unmount_fg "$MNT"
check_sanitizer_logs
