#!/usr/bin/env bash
# The life of a mount: unmounting with fusermount3 or umount, SIGTERM and
# SIGINT (foreground and background, absolute and relative paths, with a
# file open), SIGUSR1 counters, idle_timeout, the daemon gone at once
# after an unmount, mounting again.
set -euo pipefail
# shellcheck source=tests/mount/lib.sh
. "$(dirname -- "$0")/lib.sh"

printf 'hello snapshot\n' >"$SRC/a.hxz"
head -c 1000000 /dev/urandom >"$SRC/big.hxz"
mkdir "$WORK/mnt-rel"
RELMNT=$WORK/mnt-rel

# After the daemon was told to stop: the mount goes, the daemon exits 0.
check_stopped() { # LABEL MOUNTPOINT PID [LOG]
	local label=$1 mnt=$2 pid=$3 log=${4:-}
	if wait_exit "$pid"; then
		pass "[$label] the daemon exits"
		if [ -n "$EXIT_STATUS" ]; then
			check_eq "[$label] the daemon exits with status 0 (a requested stop is no error)" \
				0 "$EXIT_STATUS"
		fi
	else
		fail "[$label] the daemon exits" "pid $pid still running after ${EXIT_DEADLINE}s"
		dump_stacks "$pid"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	if is_mounted "$mnt"; then
		fail "[$label] the mount is gone" "$(mount_line "$mnt")" \
			"stat: $(stat "$mnt" 2>&1 | head -1 || true)" \
			"daemon stderr: $(cat "$log" 2>/dev/null || true)"
		fusermount3 -uz "$mnt" 2>/dev/null || true
	else
		pass "[$label] the mount is gone"
	fi
}

# Start a background (daemonized) mount from directory DIR; sets BG_PID.
mount_bg() { # DIR MOUNTPOINT(absolute) ARG...
	local dir=$1 mnt=$2 out rc=0
	shift 2
	MOUNTS+=("$mnt")
	out=$(cd "$dir" && timeout 20 "$HEXZFS" "$@" 2>&1 </dev/null) || rc=$?
	[ "$rc" -eq 0 ] || die "hexzfs $* (in $dir) mounts" "status $rc: $out"
	BG_PID=$(hexzfs_serving "$SRC")
	if [ -z "$BG_PID" ] || [[ $BG_PID == *$'\n'* ]]; then
		die "exactly one daemon serves $SRC" "found: '$BG_PID'"
	fi
	DAEMONS+=("$BG_PID")
}

# ------------------------------------------------------------ unmounting

mount_fg "$SRC" "$MNT"
check_eq "mounted: reads" "hello snapshot" "$(cat "$MNT/a.hxz")"
unmount_fg "$MNT"

mount_fg "$SRC" "$MNT" -s
cat "$MNT/a.hxz" >/dev/null
unmount_fg "$MNT"

mount_fg "$SRC" "$MNT"
check_ok "umount (not fusermount3) unmounts" umount "$MNT"
check_stopped "umount" "$MNT" "$DAEMON_PID" "$DAEMON_LOG"

mount_fg "$SRC" "$MNT"
check_ok "fusermount3 -uz unmounts" fusermount3 -uz "$MNT"
check_stopped "fusermount3 -uz" "$MNT" "$DAEMON_PID" "$DAEMON_LOG"

mount_bg "$WORK" "$MNT" "$SRC" "$MNT"
check_eq "[background] reads" "hello snapshot" "$(cat "$MNT/a.hxz")"
check_ok "[background] fusermount3 -u" fusermount3 -u "$MNT"
check_stopped "background, fusermount3 -u" "$MNT" "$BG_PID"

# --------------------------------------------------------------- signals

for sig in TERM INT; do
	mount_fg "$SRC" "$MNT"
	cat "$MNT/a.hxz" >/dev/null
	kill -"$sig" "$DAEMON_PID"
	check_stopped "SIG$sig, foreground" "$MNT" "$DAEMON_PID" "$DAEMON_LOG"

	mount_fg "$SRC" "$MNT" -s
	kill -"$sig" "$DAEMON_PID"
	check_stopped "SIG$sig, foreground, -s" "$MNT" "$DAEMON_PID" "$DAEMON_LOG"

	mount_bg "$WORK" "$MNT" "$SRC" "$MNT"
	kill -"$sig" "$BG_PID"
	check_stopped "SIG$sig, background" "$MNT" "$BG_PID"

	# Relative paths: the daemon changes to / once mounted.
	NDAEMON=$((NDAEMON + 1))
	DAEMON_LOG=$WORK/daemon.$NDAEMON.log
	(cd "$WORK" && exec env --default-signal=INT,QUIT "$HEXZFS" -f src mnt-rel 2>"$DAEMON_LOG") &
	DAEMON_PID=$!
	DAEMONS+=("$DAEMON_PID")
	MOUNTS+=("$RELMNT")
	wait_mounted "$RELMNT" "$DAEMON_PID" "$DAEMON_LOG"
	cat "$RELMNT/a.hxz" >/dev/null
	kill -"$sig" "$DAEMON_PID"
	check_stopped "SIG$sig, foreground, relative paths" "$RELMNT" "$DAEMON_PID" "$DAEMON_LOG"

	mount_bg "$WORK" "$RELMNT" src mnt-rel
	kill -"$sig" "$BG_PID"
	check_stopped "SIG$sig, background, relative paths" "$RELMNT" "$BG_PID"
done

# SIGTERM while a reader holds a file open and is mid-way.
mount_fg "$SRC" "$MNT"
exec {held}<"$MNT/big.hxz"
head -c 4096 <&"$held" >/dev/null
kill -TERM "$DAEMON_PID"
check_stopped "SIGTERM with a file open" "$MNT" "$DAEMON_PID" "$DAEMON_LOG"
exec {held}<&-

# A stop signal that lands after the loop checked whether to stop and
# before it blocks reading the next request. stop_race_shim.c, preloaded,
# sleeps a second right there; after a request (stat -f) the serving thread
# is in that sleep when the signal comes.
SHIM=$WORK/stop_race_shim.so
${CC:-cc} -shared -fPIC -O2 -o "$SHIM" "$MOUNT_TESTS_DIR/stop_race_shim.c" -ldl ||
	die "build stop_race_shim.so"
DAEMON_ENV=("LD_PRELOAD=$SHIM" HEXZFS_SHIM_DELAY_MS=1000
	"ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
for sig in TERM INT; do
	for mode in -s ""; do
		mount_fg "$SRC" "$MNT" $mode
		stat -f "$MNT" >/dev/null # waits for INIT, then one STATFS
		kill -"$sig" "$DAEMON_PID"
		check_stopped "SIG$sig just before the loop waits${mode:+, $mode}" "$MNT" "$DAEMON_PID" "$DAEMON_LOG"
	done
done
DAEMON_ENV=()

# ---------------------------------------------------------------- SIGUSR1

# True once LOG has at least N lines starting "hexzfs: stats:".
has_stats_lines() { # LOG N
	[ "$(grep -c '^hexzfs: stats:' "$1" || true)" -ge "$2" ]
}

mount_fg "$SRC" "$MNT"
kill -USR1 "$DAEMON_PID" # right after the mount appears
if wait_until 5 has_stats_lines "$DAEMON_LOG" 1; then
	pass "SIGUSR1 right after mounting prints a 'hexzfs: stats:' line"
else
	fail "SIGUSR1 right after mounting prints a 'hexzfs: stats:' line" "stderr: $(cat "$DAEMON_LOG")"
fi
cat "$MNT/big.hxz" >/dev/null
kill -USR1 "$DAEMON_PID"
if wait_until 5 has_stats_lines "$DAEMON_LOG" 2; then
	pass "a second SIGUSR1 prints a second 'hexzfs: stats:' line"
else
	fail "a second SIGUSR1 prints a second 'hexzfs: stats:' line" "stderr: $(cat "$DAEMON_LOG")"
fi
check_ok "after SIGUSR1 the daemon is alive" proc_alive "$DAEMON_PID"
check_eq "after SIGUSR1 the daemon serves" "hello snapshot" "$(cat "$MNT/a.hxz")"
unmount_fg "$MNT"

mount_bg "$WORK" "$MNT" "$SRC" "$MNT"
kill -USR1 "$BG_PID"
sleep 0.3
check_ok "[background] after SIGUSR1 the daemon is alive" proc_alive "$BG_PID"
check_eq "[background] after SIGUSR1 the daemon serves" "hello snapshot" "$(cat "$MNT/a.hxz")"
check_ok "[background] fusermount3 -u" fusermount3 -u "$MNT"
check_stopped "background, after SIGUSR1" "$MNT" "$BG_PID"

# ----------------------------------------------------------- idle_timeout

mount_fg "$SRC" "$MNT" -o idle_timeout=1
exec {held}<"$MNT/a.hxz"
sleep 2.5
check_ok "idle_timeout=1: still mounted while a file is open" is_mounted "$MNT"
exec {held}<&-
EXIT_DEADLINE=15
check_stopped "idle_timeout=1, once idle" "$MNT" "$DAEMON_PID" "$DAEMON_LOG"
EXIT_DEADLINE=10

# ------------------------------------------- gone at once after unmount

# Scripts unmount and then wait for, check or restart the daemon: it must
# be gone within GONE_LIMIT_MS of `fusermount3 -u` returning (it takes a
# few ms), with status 0, whatever the mode, idle or holding many cached
# mappings. Polled every 2 ms with shell builtins only, so the figure is
# the daemon's, not the poll's; how long fusermount3 itself took is shown
# too.
GONE_LIMIT_MS=500

# True while PID exists and is not a zombie (no process forked).
alive_now() { # PID
	local stat
	{ read -r stat </proc/"$1"/stat; } 2>/dev/null || return 1
	stat=${stat##*) }
	[ "${stat:0:1}" != Z ]
}

check_gone_after_unmount() { # LABEL MOUNTPOINT PID CHILD(1: ours, status known)
	local label=$1 mnt=$2 pid=$3 child=$4 t0 t1 ms fm_ms rc=0 out
	t0=${EPOCHREALTIME/./}
	out=$(fusermount3 -u "$mnt" 2>&1) || { fail "[$label] fusermount3 -u" "$out"; return 0; }
	t1=${EPOCHREALTIME/./}
	fm_ms=$(((t1 - t0) / 1000))
	t0=$t1
	while alive_now "$pid"; do
		[ $((${EPOCHREALTIME/./} - t0)) -lt 10000000 ] || break
		sleep 0.002
	done
	ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
	if alive_now "$pid"; then
		fail "[$label] the daemon is gone after fusermount3 -u" "still running after ${ms} ms"
		dump_stacks "$pid"
		kill -KILL "$pid" 2>/dev/null || true
		return 0
	fi
	echo "# [$label] daemon gone ${ms} ms after fusermount3 -u returned (which took ${fm_ms} ms)"
	check_le "[$label] the daemon is gone within ${GONE_LIMIT_MS} ms of fusermount3 -u" \
		"$ms" "$GONE_LIMIT_MS"
	if [ "$child" -eq 1 ]; then
		wait "$pid" || rc=$?
		check_eq "[$label] the daemon exits with status 0" 0 "$rc"
	fi
}

mount_fg "$SRC" "$MNT"
cat "$MNT/a.hxz" "$MNT/big.hxz" >/dev/null
sleep 1.2 # a housekeeper round passes: it sleeps in its one-second wait
check_gone_after_unmount "-f, idle" "$MNT" "$DAEMON_PID" 1

mount_fg "$SRC" "$MNT" -s
cat "$MNT/a.hxz" "$MNT/big.hxz" >/dev/null
sleep 1.2
check_gone_after_unmount "-f -s, idle" "$MNT" "$DAEMON_PID" 1

mount_bg "$WORK" "$MNT" "$SRC" "$MNT"
cat "$MNT/a.hxz" "$MNT/big.hxz" >/dev/null
sleep 1.2
check_gone_after_unmount "background, idle" "$MNT" "$BG_PID" 0

# Holding many cached mappings (each file read once and closed) and
# directory nodes, in each mode.
MANY=$WORK/many
mkdir -p "$MANY/sub"
for i in $(seq 1 2000); do
	printf '%s\n' "$i" >"$MANY/sub/f$i.hxz"
done
for mode in -f -s bg; do
	if [ "$mode" = bg ]; then
		# mount_bg finds its daemon by the snapshot directory it holds.
		SRC=$MANY mount_bg "$WORK" "$MNT" "$MANY" "$MNT"
		pid=$BG_PID child=0
	else
		mount_fg "$MANY" "$MNT" ${mode#-f}
		pid=$DAEMON_PID child=1
	fi
	cat "$MNT"/sub/*.hxz >/dev/null
	check_gone_after_unmount "$mode, 2000 cached mappings" "$MNT" "$pid" "$child"
done

# ---------------------------------------------------------- mount again

mount_fg "$SRC" "$MNT"
check_eq "mounting again on the same mountpoint serves" "hello snapshot" "$(cat "$MNT/a.hxz")"
unmount_fg "$MNT"
check_eq "nothing left mounted" "" "$(mounts_in_work)"
check_eq "no daemon left" "" "$(daemons_in_work)"
