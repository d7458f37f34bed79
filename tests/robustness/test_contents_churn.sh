#!/usr/bin/env bash
# Churn and pressure in the contents view (contents_churn.py makes archives
# whose every 4 KiB chunk says which archive, version and chunk it is):
#  - 8 verifying readers across the archives while a writer adds, deletes,
#    replaces (rename) and modifies them in place (bytes flipped, truncated,
#    rewritten whole), with -o cache_size=1M so that eviction never stops:
#    no wrong byte, no error but ENOENT/ESTALE/EIO, no crash, and the
#    daemon's descriptors, mappings and private memory stay bounded;
#  - 100,000 open/read/close cycles on contents files: no descriptor,
#    mapping or memory growth;
#  - SIGKILL, lazy unmount and SIGTERM with contents reads in flight:
#    readers get errors, not hangs, and never a wrong byte; the daemon ends
#    as it should (status 0 for SIGTERM and the lazy unmount); no stale
#    mount is left.
set -euo pipefail
# shellcheck source=tests/robustness/robust.sh
. "$(dirname -- "$0")/robust.sh"

CHURN_SECONDS=${CHURN_SECONDS:-20}
OPENS=${CONTENTS_OPENS:-100000}
WARMUP_OPENS=20000
MAP_CACHE=64
# Bounds during the churn, over the figures after a warm-up:
#  - fds: the daemon keeps no descriptor per archive or handle (mappings
#    keep none; directories are O_PATH nodes of the top directory and
#    stable/ only): +8 for transient opens of archives and parents;
#  - mappings of archives: every one is held by an open handle, by a node
#    the kernel still references (an archive node keeps its version's
#    mapping, archive and tree: the kernel forgets nodes of replaced
#    versions only when it evicts their inodes, so this is bounded by the
#    kernel's inode cache, not by map_cache), or is one of at most
#    MAP_CACHE idle ones: mappings <= nodes + MAP_CACHE (SIGUSR1 counters);
#    all /proc/PID/maps lines: the archive mappings plus the stack and
#    malloc arena of each thread (10 + one per CPU): reported;
#  - RssAnon: the 1 MiB block cache, over-committed by the blocks pinned
#    by in-flight reads (up to 1 MiB per request), plus the index caches
#    and trees of the ~100 live archive versions: + 24 MiB.
FD_SLACK=8
RSS_SLACK_KIB=$((24 << 10))
# After the open loop, as test_leaks.sh: a leak of 10 bytes per cycle would
# be 1 MiB over 100,000 cycles.
LOOP_RSS_SLACK_KIB=1024
DAEMON_ENV=(-u MALLOC_PERTURB_) # see test_leaks.sh
CHURN=("$PYTHON" "$WORK/contents_churn.py")
cp "$ROBUST_TESTS_DIR/contents_churn.py" "$WORK/contents_churn.py"
# The writer module, for the copy of contents_churn.py in $WORK.
export PYTHONPATH=$ROBUST_TESTS_DIR/../writer

mkdir "$SRC/stable"
"${CHURN[@]}" make "$SRC" 1 40 >/dev/null
"${CHURN[@]}" make "$SRC/stable" 1001 20 >/dev/null
STABLE=()
for i in $(seq 1001 1020); do
	STABLE+=("stable/c-$i.hxz")
done

measure() { # PID: "fds maps rss archive-maps"
	echo "$(proc_fds "$1") $(wc -l <"/proc/$1/maps") $(rss_anon_kib "$1") $(proc_maps "$1" "$SRC")"
}

# The highest of each figure of PID, every 100 ms, until FILE.stop.
sample_max() { # PID FILE
	local f=0 m=0 r=0 s=0 a b c d
	while [ ! -e "$2.stop" ]; do
		read -r a b c d <<<"$(measure "$1" 2>/dev/null)" || break
		[ -z "$a" ] || [ "$a" -le "$f" ] || f=$a
		[ -z "$b" ] || [ "$b" -le "$m" ] || m=$b
		[ -z "$c" ] || [ "$c" -le "$r" ] || r=$c
		[ -z "$d" ] || [ "$d" -le "$s" ] || s=$d
		echo "$f $m $r $s" >"$2"
		sleep 0.1
	done
}

openloop() { # LABEL COUNT
	check_exits_zero "$1: every chunk right" 600 "${CHURN[@]}" openloop "$MNT" "$2" "${STABLE[@]}"
}

# ------------------------------------------------------------------ churn

mount_fg "$SRC" "$MNT" -o "view=contents,cache_size=1M,map_cache=$MAP_CACHE"
pid=$DAEMON_PID
openloop "warm-up: 2,000 opens" 2000
read -r base_fds base_maps base_rss _ <<<"$(measure "$pid")"
echo "# before the churn: $base_fds fds, $base_maps maps lines, RssAnon $base_rss KiB"

sample_max "$pid" "$WORK/churn.max" &
sampler=$!
"${CHURN[@]}" writer "$SRC" "$CHURN_SECONDS" 13 >"$WORK/writer.out" 2>&1 &
writer=$!
readers=()
for i in $(seq 1 8); do
	timeout $((CHURN_SECONDS + 60)) "${CHURN[@]}" reader "$MNT" "$CHURN_SECONDS" "$i" \
		>"$WORK/reader.$i.out" 2>&1 &
	readers+=($!)
done
rc=0
wait "$writer" || rc=$?
check_eq "[churn] the writer ran" 0 "$rc"
echo "# [churn] writer: $(tail -n 1 "$WORK/writer.out")"
chunks=0 eio=0 enoent=0
for i in "${!readers[@]}"; do
	rc=0
	wait "${readers[$i]}" || rc=$?
	out=$WORK/reader.$((i + 1)).out
	line=$(grep '^{' "$out" | tail -n 1 || true)
	if [ "$rc" -eq 0 ]; then
		pass "[churn] reader $((i + 1)): no wrong byte, no unexpected error, no hang"
	else
		fail "[churn] reader $((i + 1)): no wrong byte, no unexpected error, no hang" \
			"status $rc$([ "$rc" -ne 124 ] || echo ': hung')" "$(head -n 12 "$out")"
	fi
	chunks=$((chunks + $(sed -n 's/.*"chunks": \([0-9]*\).*/\1/p' <<<"$line" || echo 0)))
	eio=$((eio + $(sed -n 's/.*"eio": \([0-9]*\).*/\1/p' <<<"$line" || echo 0)))
	enoent=$((enoent + $(sed -n 's/.*"enoent": \([0-9]*\).*/\1/p' <<<"$line" || echo 0)))
done
touch "$WORK/churn.max.stop"
wait "$sampler" || true
read -r max_fds max_maps max_rss max_amaps <"$WORK/churn.max"
echo "# [churn] $chunks chunks verified by 8 readers in ${CHURN_SECONDS}s; $eio EIO," \
	"$enoent ENOENT/ESTALE; daemon peaks: $max_fds fds, $max_amaps archive mappings," \
	"$max_maps maps lines, RssAnon $max_rss KiB"
check_le "[churn] the readers verified chunks" 1000 "$chunks"
check_le "[churn] fds bounded (peak within $FD_SLACK of the start)" "$max_fds" $((base_fds + FD_SLACK))
if daemon_stats "$pid" "$DAEMON_LOG"; then
	echo "# [churn] after: ${STATS[mappings]} mappings, ${STATS[nodes]} nodes," \
		"${STATS[archive_errors]} archive versions not shown, ${STATS[read_errors]} read errors"
	check_le "[churn] every mapping is held by a node or the idle cache (mappings <= nodes + $MAP_CACHE)" \
		"${STATS[mappings]}" $((STATS[nodes] + MAP_CACHE))
	check_le "[churn] /proc/PID/maps: archive mappings within the daemon's count (+8 in flight)" \
		"$(proc_maps "$pid" "$SRC")" $((STATS[mappings] + 8))
else
	fail "SIGUSR1 prints the daemon's counters"
fi
check_rss_growth "[churn] private memory bounded (peak within $RSS_SLACK_KIB KiB of the start)" \
	"$base_rss" "$max_rss" "$RSS_SLACK_KIB"
check_serving "[churn]" "$pid" "$MNT" "$DAEMON_LOG"

# ------------------------------------------------- 100,000 open/read/close

openloop "[open loop] warm-up: $WARMUP_OPENS cycles" "$WARMUP_OPENS"
sleep 0.3
read -r b_fds b_maps b_rss _ <<<"$(measure "$pid")"
openloop "[open loop] $OPENS open/read/close cycles" "$OPENS"
sleep 0.3
read -r a_fds a_maps a_rss _ <<<"$(measure "$pid")"
echo "# [open loop] before: $b_fds fds, $b_maps maps lines, RssAnon $b_rss KiB;" \
	"after $OPENS cycles: $a_fds fds, $a_maps maps lines, RssAnon $a_rss KiB"
check_le "[open loop] fds unchanged" "$a_fds" "$b_fds"
check_le "[open loop] mappings unchanged (+2 lines at most)" "$a_maps" $((b_maps + 2))
check_rss_growth "[open loop] RssAnon grows by less than $LOOP_RSS_SLACK_KIB KiB" \
	"$b_rss" "$a_rss" "$LOOP_RSS_SLACK_KIB"
if daemon_stats "$pid" "$DAEMON_LOG"; then
	check_eq "[open loop] the daemon counts no open file" 0 "${STATS[open_files]:-?}"
fi
unmount_fg "$MNT"

# ----------------------------------------------- faults with reads in flight

start_readers() { # LABEL
	local i
	READERS=()
	for i in 1 2 3 4; do
		timeout 60 "${CHURN[@]}" reader "$MNT" 30 "$i$RANDOM" --until-error \
			>"$WORK/$1.$i.out" 2>&1 &
		READERS+=($!)
	done
}

check_readers() { # LABEL
	local i rc out stops=()
	for i in "${!READERS[@]}"; do
		rc=0
		wait "${READERS[$i]}" || rc=$?
		out=$WORK/$1.$((i + 1)).out
		stops+=("$(sed -n 's/.*"stopped": "\([^"]*\)".*/\1/p' "$out")")
		if [ "$rc" -eq 0 ]; then
			pass "[$1] reader $((i + 1)): an error, not a hang, and no wrong byte"
		else
			fail "[$1] reader $((i + 1)): an error, not a hang, and no wrong byte" \
				"status $rc$([ "$rc" -ne 124 ] || echo ': hung')" "$(head -n 5 "$out")"
		fi
	done
	echo "# [$1] readers stopped on: ${stops[*]}"
}

check_exit() { # LABEL PID WANT
	if wait_exit "$2"; then
		check_eq "[$1] the daemon exits with status $3" "$3" "$EXIT_STATUS"
	else
		fail "[$1] the daemon exits" "still running after ${EXIT_DEADLINE}s"
		dump_stacks "$2"
		kill -KILL "$2" 2>/dev/null || true
	fi
}

check_unmounted() { # LABEL
	if is_mounted "$MNT"; then
		fail "[$1] no stale mount is left" "$(mount_line "$MNT")"
	else
		pass "[$1] no stale mount is left"
	fi
}

# On the stable archives: the churned ones may be damaged (EIO) for good.
label="SIGKILL"
mount_fg "$SRC/stable" "$MNT" -o view=contents,cache_size=1M
start_readers sigkill
sleep 1
kill -KILL "$DAEMON_PID"
check_exit "$label" "$DAEMON_PID" 137
check_readers sigkill
check_ok "[$label] fusermount3 -u cleans the dead mount" fusermount3 -u "$MNT"
check_unmounted "$label"

label="lazy unmount"
mount_fg "$SRC/stable" "$MNT" -o view=contents,cache_size=1M
start_readers lazy
sleep 1
if [ "$(id -u)" -eq 0 ]; then
	check_ok "[$label] umount -l" umount -l "$MNT"
else
	check_ok "[$label] fusermount3 -uz" fusermount3 -uz "$MNT"
fi
check_unmounted "$label"
check_readers lazy
check_exit "$label, once the readers closed" "$DAEMON_PID" 0

label="SIGTERM"
mount_fg "$SRC/stable" "$MNT" -o view=contents,cache_size=1M
start_readers sigterm
sleep 1
kill -TERM "$DAEMON_PID"
check_readers sigterm
check_exit "$label" "$DAEMON_PID" 0
check_unmounted "$label"

check_eq "nothing left mounted" "" "$(mounts_in_work)"
check_sanitizer_logs
echo "# $((CHECKS - FAILURES)) passed, $FAILURES failed"
