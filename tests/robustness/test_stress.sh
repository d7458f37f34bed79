#!/usr/bin/env bash
# Load: eight readers (or $STRESS_READERS) do verified random reads (pread,
# read, preadv, mmap; every byte compared with what the version it came
# from holds at that offset) and listings, on snapshots that two mutators
# meanwhile replace by rename, add, delete, truncate in place, and whose
# directories they create and remove. Nothing read may be wrong: a read
# returns bytes of exactly one version, the one its handle opened, correct
# for their offsets, or fails with EIO on a file truncated in place (a
# short read only at the version's own end). The one exception, as the
# README states it: the zeros truncate(2) leaves in the tail of the page
# holding the new end, seen by a read that the truncation lands in the
# middle of: checked against the source's size just before the read, and
# its ctime, with 50 ms of slack for hexzfs's post-reply invalidation to
# be scheduled on a loaded machine (see hxzverify.c). Any other zero byte
# fails the test.
# The daemon stays up, and its descriptors, mappings and private memory stay
# bounded while it works and come back down when the load ends.
#
# Two mounts: the defaults, then -o timeout=0,map_cache=2 (every open looks
# the name up again; mappings are dropped almost at once).
set -euo pipefail
# shellcheck source=tests/robustness/robust.sh
. "$(dirname -- "$0")/robust.sh"

READERS=${STRESS_READERS:-8}
MUTATORS=2
# Seconds of load per mount (after a 3 s warm-up without mutators).
LOAD_A=${STRESS_SECONDS:-20}
LOAD_B=$(((LOAD_A + 1) / 2))
# Private memory the daemon may gain under load, beyond its warm-up level.
RSS_SLACK_KIB=$((16 * 1024))

echo "# $("$HXZ" populate "$SRC")"

# Sample the daemon every 0.25 s until killed:
# "fds maps deleted rss threads directory-fds other-fds lease-fds".
sampler() { # PID FILE
	local fds dirs leased
	while proc_alive "$1"; do
		fds=$(proc_fds "$1")
		dirs=$(proc_fds_opath "$1")
		leased=$(proc_fds_leased "$1")
		printf '%s %s %s %s %s %s %s %s\n' "$fds" "$(proc_maps "$1" "$SRC")" \
			"$(proc_maps_deleted "$1" "$SRC")" "$(rss_anon_kib "$1")" "$(proc_threads "$1")" \
			"$dirs" $((fds - dirs - leased)) "$leased" >>"$2" 2>/dev/null || true
		sleep 0.25
	done
}

# Column COL's maximum in FILE.
column_max() { # FILE COL
	awk -v c="$2" '$c > m { m = $c } END { printf "%.0f\n", m }' "$1"
}

# Sum of the number before WORD over the readers' summary lines.
sum_of() { # WORD FILE...
	local word=$1
	shift
	cat "$@" | grep -E '^(reader|mutator)' | grep -oE "[0-9]+ $word" |
		awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# Start READERS readers (and the mutators if WITH_MUTATORS) for SECONDS,
# wait for all, check their verdicts. Output files: $WORK/LABEL.*.out
run_load() { # LABEL SECONDS WITH_MUTATORS
	local label=$1 secs=$2 mutate=$3 i who rc guard=$(($2 + 60))
	local -a pids=() names=()
	for i in $(seq 1 "$READERS"); do
		timeout "$guard" "$HXZ" reader "$MNT" "$secs" "$((RANDOM * 1000 + i))" --source "$SRC" \
			>"$WORK/$label.reader$i.out" 2>&1 &
		pids+=($!)
		names+=("reader $i")
	done
	if [ "$mutate" -eq 1 ]; then
		for i in $(seq 0 $((MUTATORS - 1))); do
			timeout "$guard" "$HXZ" mutator "$SRC" "$secs" "$((RANDOM + i))" "$i" "$MUTATORS" \
				>"$WORK/$label.mutator$i.out" 2>&1 &
			pids+=($!)
			names+=("mutator $i")
		done
	fi
	for i in "${!pids[@]}"; do
		rc=0
		wait "${pids[$i]}" || rc=$?
		who=${names[$i]}
		if [ "$rc" -eq 0 ]; then
			continue
		fi
		fail "[$label] ${names[$i]} finished without a violation" \
			"status $rc$([ "$rc" -ne 124 ] || echo ": hung past the ${guard}s guard")" \
			"$(grep -hE '^FAIL|^reader|^mutator|hxzverify' "$WORK/$label.${who// /}.out" | head -n 25)"
	done
	pass "[$label] $READERS readers$([ "$mutate" -eq 0 ] || echo " and $MUTATORS mutators") ran ${secs}s"
}

# One mount under load; OPTIONS are hexzfs's. MAPS_IDLE_MAX: the most
# mappings the daemon may keep once every handle is closed.
phase() { # LABEL SECONDS MAPS_IDLE_MAX [OPTION...]
	local label=$1 secs=$2 maps_idle_max=$3
	shift 3
	local pid fds0 rss0 maps0 fds1 rss1 maps1 del1 peak_fds peak_maps peak_rss peak_threads
	local fds_mount fds2 live fds0_other peak_dirs peak_other peak_leased
	mount_fg "$SRC" "$MNT" "$@"
	pid=$DAEMON_PID
	fds_mount=$(proc_fds "$pid")

	# Warm-up: threads, arenas and the directory descriptors come into being.
	run_load "$label-warmup" 3 0
	sleep 0.3
	fds0=$(proc_fds "$pid")
	fds0_other=$((fds0 - $(proc_fds_opath "$pid") - $(proc_fds_leased "$pid")))
	rss0=$(rss_anon_kib "$pid")
	maps0=$(proc_maps "$pid" "$SRC")
	echo "# [$label] after warm-up: $fds0 fds, $maps0 snapshot mappings, RssAnon $rss0 KiB"

	: >"$WORK/$label.samples"
	sampler "$pid" "$WORK/$label.samples" &
	local sampler_pid=$!
	run_load "$label" "$secs" 1
	kill "$sampler_pid" 2>/dev/null || true
	wait "$sampler_pid" 2>/dev/null || true

	local outs=("$WORK/$label".*.out)
	grep -hE '^(reader|mutator)' "${outs[@]}" | sed "s/^/# [$label] /"
	local verified bytes ops eio short sigbus listings truncs opens estale enoent tails
	verified=$(sum_of 'verified' "${outs[@]}")
	bytes=$(grep -hoE '\(([0-9]+) bytes\)' "${outs[@]}" | tr -dc '0-9\n' | awk '{ s += $1 } END { printf "%.0f\n", s }')
	ops=$(sum_of 'operations' "${outs[@]}")
	truncs=$(sum_of 'truncated' "${outs[@]}")
	eio=$(sum_of 'EIO' "${outs[@]}")
	short=$(sum_of 'short' "${outs[@]}")
	sigbus=$(grep -hoE '\(([0-9]+) SIGBUS\)' "${outs[@]}" | tr -dc '0-9\n' | awk '{ s += $1 } END { printf "%.0f\n", s }')
	listings=$(sum_of 'listings' "${outs[@]}")
	opens=$(sum_of 'opens' "${outs[@]}")
	estale=$(sum_of 'ESTALE' "${outs[@]}")
	enoent=$(sum_of 'ENOENT' "${outs[@]}")
	tails=$(sum_of 'zero page tails' "${outs[@]}")
	echo "# [$label] figures: $verified reads verified byte for byte ($((bytes / 1048576)) MiB)," \
		"$short short, $eio EIO, $sigbus SIGBUS through mmap (all on files truncated in place)," \
		"$tails zero page tails of truncations racing the read," \
		"$listings listings, $opens opens ($enoent ENOENT on names being added and deleted," \
		"$estale ESTALE); $ops mutations ($truncs truncations in place)"
	local zeros stale short_never other_bad
	zeros=$(cat "${outs[@]}" | grep -c '^FAIL: .*WRONG BYTES.*all-zero from there: yes' || true)
	stale=$(cat "${outs[@]}" | grep -c '^FAIL: .*a stale cached page' || true)
	short_never=$(cat "${outs[@]}" | grep -c '^FAIL: .*never truncated' || true)
	other_bad=$(($(cat "${outs[@]}" | grep -c '^FAIL: ' || true) - zeros - stale - short_never))
	echo "# [$label] violations seen (each reader stops counting at 20): $zeros runs of zeros" \
		"that are no racing page tail, $stale page tails of truncations complete before the" \
		"read, $short_never short reads of files never truncated, $other_bad others"
	check_le "[$label] the readers verified reads (at least 1000)" 1000 "$verified"
	check_le "[$label] the mutators changed the set (at least 100 operations)" 100 "$ops"

	peak_fds=$(column_max "$WORK/$label.samples" 1)
	peak_maps=$(column_max "$WORK/$label.samples" 2)
	peak_rss=$(column_max "$WORK/$label.samples" 4)
	peak_threads=$(column_max "$WORK/$label.samples" 5)
	peak_dirs=$(column_max "$WORK/$label.samples" 6)
	peak_other=$(column_max "$WORK/$label.samples" 7)
	peak_leased=$(column_max "$WORK/$label.samples" 8)
	echo "# [$label] peaks under load ($(wc -l <"$WORK/$label.samples") samples): $peak_fds fds" \
		"($peak_dirs directory nodes, $peak_leased leases, $peak_other others)," \
		"$peak_maps snapshot mappings," \
		"RssAnon $peak_rss KiB, $peak_threads threads"
	check_serving "[$label] after the load" "$pid" "$MNT" "$DAEMON_LOG"

	# Every handle is closed now. List the whole mount (every name is looked
	# up again) and let the entry timeout pass: what the daemon keeps
	# mapped must then be live snapshot versions only, not versions that
	# were deleted, replaced or truncated since their last close.
	timeout 30 ls -lR "$MNT" >/dev/null 2>&1 || true
	sleep 1.2
	fds1=$(proc_fds "$pid")
	rss1=$(rss_anon_kib "$pid")
	maps1=$(proc_maps "$pid" "$SRC")
	del1=$(proc_maps_deleted "$pid" "$SRC")
	live=$(find "$SRC" -name '*.hxz' -type f -size +0 | wc -l)
	echo "# [$label] after the load: $fds1 fds, $maps1 snapshot mappings ($del1 of deleted" \
		"files; $live non-empty snapshots exist), RssAnon $rss1 KiB"
	# Open handles cost no descriptor; directories the kernel knows one each
	# (O_PATH), and as many as the kernel keeps: checked below, once it drops
	# them. Others are the session's plus one per request in progress.
	check_le "[$label] fds other than directory nodes and leases under load stay within warm-up + 12 (no fd per handle or read)" \
		"$peak_other" $((fds0_other + 12))
	check_le "[$label] lease descriptors under load: at most one per snapshot mapping" \
		"$peak_leased" "$peak_maps"
	# Under load: what is open (readers x 4 handles), the idle bound, the
	# versions being opened at that instant.
	check_le "[$label] mappings under load stay within $((READERS * 4)) open + $maps_idle_max idle + 8" \
		"$peak_maps" $((READERS * 4 + maps_idle_max + 8))
	check_le "[$label] mappings after the load: at most $maps_idle_max (the idle bound)" \
		"$maps1" "$maps_idle_max"
	if [ "$maps1" -le "$live" ] && [ "$del1" -eq 0 ]; then
		pass "[$label] every mapping left is of a live snapshot version ($maps1 <= $live, none deleted)"
	else
		fail "[$label] every mapping left is of a live snapshot version" \
			"$maps1 mappings of files under SNAPSHOT_DIR, $live non-empty snapshots exist," \
			"$del1 mappings are of deleted files (they pin the files' disk space):" \
			"$(awk -v p="$SRC/" 'index($0, " " p) { sub(/.* \//, "/"); print }' "/proc/$pid/maps" |
				sed "s|^$SRC/||" | sort | uniq -c | sort -rn | head -n 8)"
	fi
	check_rss_growth "[$label] RssAnon after the load within warm-up + $((RSS_SLACK_KIB / 1024)) MiB" \
		"$rss0" "$rss1" "$RSS_SLACK_KIB"
	if daemon_stats "$pid" "$DAEMON_LOG"; then
		echo "# [$label] daemon counters: $(grep 'stats:' "$DAEMON_LOG" | tail -n 1 | sed 's/.*stats: //')"
		check_eq "[$label] the daemon counts no open file once every reader closed" 0 \
			"${STATS[open_files]}"
	else
		fail "[$label] SIGUSR1 prints the daemon's counters" "$(tail -n 5 "$DAEMON_LOG")"
	fi
	# Directory descriptors live as long as the kernel's nodes, and the
	# kernel keeps nodes of removed directories while cached entries under
	# them pin them. Once it drops its unused entries, the daemon must be
	# back to the descriptors of a fresh mount.
	if [ -w /proc/sys/vm/drop_caches ]; then
		echo "# [$label] descriptors before the kernel drops its caches:"
		proc_fd_targets "$pid" | sed 's/^/#   /'
		sync
		# FORGETs reach the daemon asynchronously, and one pass of
		# drop_caches may free a child's entry but not yet its parent's,
		# which the child pinned: drop again each time round, up to 10 s
		# (a daemon that leaks node descriptors never gets there).
		# Idle mappings keep their leases (one descriptor each).
		waited=0
		while :; do
			echo 2 >/proc/sys/vm/drop_caches
			sleep 0.25
			waited=$((waited + 1))
			fds2=$(($(proc_fds "$pid") - $(proc_fds_leased "$pid")))
			[ "$fds2" -gt $((fds_mount + 1)) ] && [ "$waited" -lt 40 ] || break
		done
		echo "# [$label] descriptors back after $waited drop_caches rounds of 0.25 s"
		if [ "$fds2" -le $((fds_mount + 1)) ]; then
			pass "[$label] once the kernel forgot its unused nodes, fds but leases are back to a fresh mount's ($fds2 <= $fds_mount + 1)"
		else
			fail "[$label] once the kernel forgot its unused nodes, fds are back to a fresh mount's" \
				"$fds2 fds, $fds_mount right after mounting:" "$(proc_fd_targets "$pid")"
		fi
	else
		check_le "[$label] fds after the load within warm-up + 16" "$fds1" $((fds0 + 16))
	fi
	unmount_fg "$MNT"
}

# The default bound of the idle mapping cache, as --help states it.
DEFAULT_MAP_CACHE=$("$HEXZFS" --help 2>&1 | sed -n 's/.*map_cache=N.*(default \([0-9]*\)).*/\1/p')
phase defaults "$LOAD_A" "${DEFAULT_MAP_CACHE:-1024}"
phase "timeout=0,map_cache=2" "$LOAD_B" 2 -o timeout=0,map_cache=2

# The source is untouched by the mount: the stable snapshots read whole.
for i in 0 1 2 3; do
	hxzcheck "stable-$i.hxz is intact in the source" check "$SRC/stable-$i.hxz" \
		$(((3 << 20) | (1000000 + i) & 0xfffff))
done
check_sanitizer_logs
