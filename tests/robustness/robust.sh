# shellcheck shell=bash
# Harness of the robustness tests, sourced by every tests/robustness/test_*.sh:
# tests/mount/lib.sh (work directory, checks, mounting, cleanup) plus what
# these tests measure: the daemon's descriptors, mappings and private memory
# from /proc, its own counters (SIGUSR1), sanitizer reports in its stderr,
# daemons run as the unprivileged user, and the hxzverify helper.

# shellcheck source=tests/mount/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/../mount/lib.sh"

: "${HXZVERIFY:?HXZVERIFY must name the hxzverify helper (meson test sets it)}"
HXZVERIFY=$(realpath -- "$HXZVERIFY")
ROBUST_TESTS_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# A copy the unprivileged user can run (the build tree may not be reachable).
cp "$HXZVERIFY" "$WORK/hxzverify"
chmod 755 "$WORK/hxzverify"
HXZ=$WORK/hxzverify
cp "$ROBUST_TESTS_DIR/rprobe.py" "$WORK/rprobe.py"
chmod 755 "$WORK/rprobe.py"

# The daemon's build: tsan, asan or empty (plain). A sanitizer runtime
# keeps shadow memory, quarantines and its own threads: the daemon's private
# memory then says nothing about hexzfs, and those checks are skipped.
DAEMON_SANITIZER=
if grep -qa __tsan_init "$HEXZFS"; then
	DAEMON_SANITIZER=tsan
elif grep -qa __asan_init "$HEXZFS" || ldd "$HEXZFS" 2>/dev/null | grep -q libasan; then
	DAEMON_SANITIZER=asan
fi

# ------------------------------------------------------------- /proc figures

# Open descriptors of PID.
proc_fds() { # PID
	local n=0 fd
	for fd in "/proc/$1"/fd/*; do
		[ -e "$fd" ] || [ -L "$fd" ] || continue
		n=$((n + 1))
	done
	echo "$n"
}

# Of those, the O_PATH ones: the daemon's directory nodes (node_table.h),
# which live as long as the kernel keeps the directory's node.
proc_fds_opath() { # PID
	local n=0 info flags
	for info in "/proc/$1"/fdinfo/*; do
		flags=$(awk '/^flags:/ { print $2 }' "$info" 2>/dev/null) || continue
		[ -n "$flags" ] || continue
		(((8#$flags & 8#10000000) == 0)) || n=$((n + 1))
	done
	echo "$n"
}

# Of those, the ones holding a read lease: one per leased snapshot mapping
# (map_cache.h), open as long as the mapping.
proc_fds_leased() { # PID
	cat "/proc/$1"/fdinfo/* 2>/dev/null | grep -c '^lock:.* LEASE ' || true
}

# Mappings of PID whose file lies under PREFIX (default $WORK): one line of
# /proc/PID/maps each, deleted files included.
proc_maps() { # PID [PREFIX]
	local prefix=${2:-$WORK}
	awk -v p="$prefix/" 'index($0, " " p) { n++ } END { print n + 0 }' "/proc/$1/maps" 2>/dev/null ||
		echo 0
}

# Of those, the mappings of files deleted (or replaced) since they were mapped.
proc_maps_deleted() { # PID [PREFIX]
	local prefix=${2:-$WORK}
	awk -v p="$prefix/" 'index($0, " " p) && / \(deleted\)$/ { n++ } END { print n + 0 }' \
		"/proc/$1/maps" 2>/dev/null || echo 0
}

# What PID's descriptors refer to, one a line, counted ("3 /dev/fuse").
proc_fd_targets() { # PID
	local fd
	for fd in "/proc/$1"/fd/*; do
		readlink "$fd" 2>/dev/null || true
	done | sed "s|^$WORK/||" | sort | uniq -c | sort -rn | head -n 20
}

# Private memory in KiB: anonymous resident pages.
rss_anon_kib() { # PID
	awk '/^RssAnon:/ { print $2 }' "/proc/$1/status"
}

# RssAnon AFTER (KiB) within BEFORE + SLACK, unless the daemon is sanitized.
check_rss_growth() { # DESCRIPTION BEFORE AFTER SLACK_KIB
	if [ -n "$DAEMON_SANITIZER" ]; then
		echo "# $1: not checked, the daemon runs under ${DAEMON_SANITIZER^^} ($2 -> $3 KiB)"
		return
	fi
	check_le "$1 (RssAnon $2 -> $3 KiB)" "$3" $(($2 + $4))
}

# Threads of PID.
proc_threads() { # PID
	awk '/^Threads:/ { print $2 }' "/proc/$1/status"
}

# ------------------------------------------------------------ daemon counters

# Ask daemon PID (foreground, stderr in LOG) for its counters; set STATS
# (an associative array: reads, opens, open_files, mappings, nodes, ...).
# Returns 1 if no new stats line came within 5 s.
# shellcheck disable=SC2034 # read by the tests
declare -A STATS
daemon_stats() { # PID LOG
	local before line kv
	before=$(grep -c 'stats:' "$2" 2>/dev/null || true)
	kill -USR1 "$1" 2>/dev/null || return 1
	STATS=()
	wait_until 5 stats_lines_over "$2" "$before" || return 1
	line=$(grep 'stats:' "$2" | tail -n 1)
	for kv in ${line#*stats: }; do
		# shellcheck disable=SC2034 # read by the tests
		STATS[${kv%%=*}]=${kv#*=}
	done
}

stats_lines_over() { # LOG N
	[ "$(grep -c 'stats:' "$1" 2>/dev/null || true)" -gt "$2" ]
}

# ------------------------------------------------------------- the daemon

# True while daemon PID lives and its mount answers a stat.
daemon_serving() { # PID MOUNTPOINT
	proc_alive "$1" && timeout 10 stat -- "$2" >/dev/null 2>&1
}

check_serving() { # LABEL PID MOUNTPOINT LOG
	if daemon_serving "$2" "$3"; then
		pass "$1: the daemon is alive and its mount answers"
	else
		fail "$1: the daemon is alive and its mount answers" \
			"alive: $(proc_alive "$2" && echo yes || echo no)" \
			"stderr: $(tail -n 20 "$4" 2>/dev/null)"
	fi
}

# A daemon that meets file permissions as an ordinary user does (root's
# bypass would hide the daemon's handling of EACCES): run as $TEST_USER
# where that user may open /dev/fuse, else as root without
# CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH. Like lib.sh's mount_fg
# otherwise (call setup_user first; the mountpoint must be $TEST_USER's).
# Sets DAEMON_PID, DAEMON_LOG, UNPRIV_DESC, and UNPRIV_PROBE: the command
# prefix under which probes of this mount run (the daemon's user).
mount_fg_unprivileged() { # SNAPSHOT_DIR MOUNTPOINT [OPTION...]
	local src=$1 mnt=$2
	local -a wrap
	shift 2
	if "${AS_USER[@]}" test -r /dev/fuse -a -w /dev/fuse; then
		wrap=("${AS_USER[@]}")
		UNPRIV_PROBE=("${AS_USER[@]}")
		# shellcheck disable=SC2034 # read by the tests
		UNPRIV_DESC="daemon as $TEST_USER"
	else
		# shellcheck disable=SC2054 # one argument: a comma-separated list
		wrap=(setpriv --bounding-set=-dac_override,-dac_read_search --)
		UNPRIV_PROBE=()
		# shellcheck disable=SC2034 # read by the tests
		UNPRIV_DESC="daemon as root without CAP_DAC_OVERRIDE ($TEST_USER cannot open /dev/fuse)"
	fi
	NDAEMON=$((NDAEMON + 1))
	DAEMON_LOG=$WORK/daemon.$NDAEMON.log
	env --default-signal=INT,QUIT "${DAEMON_ENV[@]}" "${wrap[@]}" "$HEXZFS" -f "$@" \
		"$src" "$mnt" 2>"$DAEMON_LOG" &
	DAEMON_PID=$!
	DAEMONS+=("$DAEMON_PID")
	MOUNTS+=("$mnt")
	wait_mounted "$mnt" "$DAEMON_PID" "$DAEMON_LOG"
}

# ------------------------------------------------------------- sanitizers

# Every daemon's stderr is free of sanitizer reports (ASan, UBSan, TSan,
# LeakSanitizer): one check per test, at its end.
check_sanitizer_logs() {
	local log found=()
	for log in "$WORK"/daemon.*.log; do
		[ -e "$log" ] || continue
		if grep -qE 'ERROR: (Address|Leak|Memory)Sanitizer|WARNING: ThreadSanitizer|runtime error:|ThreadSanitizer: reported' "$log"; then
			found+=("$log")
		fi
	done
	if [ "${#found[@]}" -eq 0 ]; then
		pass "no sanitizer report in any daemon's stderr"
		return
	fi
	fail "no sanitizer report in any daemon's stderr" "reports in: ${found[*]##*/}"
	for log in "${found[@]}"; do
		sed -n '/Sanitizer\|runtime error/,+40p' "$log" | head -n 80 | sed 's/^/    | /'
	done
}

# ------------------------------------------------------------------ misc

# Run hxzverify as a check: its "ok: " and "FAIL: " lines count as checks,
# other lines are shown; a non-zero status without a FAIL line fails too.
# HXZ_OUT keeps the output.
hxzcheck() { # DESCRIPTION HXZVERIFY-ARGS...
	local desc=$1 out rc=0 line reported=0
	shift
	out=$(timeout 120 "$HXZ" "$@" 2>&1) || rc=$?
	# shellcheck disable=SC2034 # read by the tests
	HXZ_OUT=$out
	while IFS= read -r line; do
		case $line in
		'ok: '*) pass "${line#ok: }" ;;
		'FAIL: '*)
			fail "$desc: ${line#FAIL: }"
			reported=1
			;;
		'') ;;
		*) printf '    %s\n' "$line" ;;
		esac
	done <<<"$out"
	if [ "$rc" -ne 0 ] && [ "$reported" -eq 0 ]; then
		fail "$desc" "hxzverify $* exited with status $rc (124: timed out)" "$out"
	elif [ "$rc" -eq 0 ] && [ "$reported" -eq 0 ]; then
		pass "$desc"
	fi
}

# One check: COMMAND, stopped after SECONDS, passes when it exits 0; its
# output is shown as comments either way.
check_exits_zero() { # DESCRIPTION SECONDS COMMAND...
	local desc=$1 seconds=$2 out rc=0
	shift 2
	out=$(timeout "$seconds" "$@" 2>&1) || rc=$?
	printf '%s\n' "$out" | sed 's/^/# /'
	if [ "$rc" -eq 0 ]; then
		pass "$desc"
	else
		fail "$desc" "status $rc$([ "$rc" -ne 124 ] || echo ': timed out')"
	fi
}

# Run an rprobe.py check (as pycheck does for fsops.py): each "ok: " or
# "FAIL: " line is a check; a crash or a hang (60 s) without a FAIL line
# fails too. With --as-user first, it runs as $TEST_USER (setup_user);
# with --unpriv, as UNPRIV_PROBE says (mount_fg_unprivileged).
rcheck() { # [--as-user|--unpriv] SUBCOMMAND ARGS...
	local -a pre=()
	local out rc=0 line reported=0
	if [ "$1" == --as-user ]; then
		pre=("${AS_USER[@]}")
		shift
	elif [ "$1" == --unpriv ]; then
		pre=("${UNPRIV_PROBE[@]}")
		shift
	fi
	out=$(timeout 60 "${pre[@]}" "$PYTHON" "$WORK/rprobe.py" "$@" 2>&1) || rc=$?
	while IFS= read -r line; do
		case $line in
		'ok: '*) pass "${line#ok: }${pre[*]:+ (as $TEST_USER)}" ;;
		'FAIL: '*)
			fail "${line#FAIL: }${pre[*]:+ (as $TEST_USER)}"
			reported=1
			;;
		'') ;;
		*) printf '    %s\n' "$line" ;;
		esac
	done <<<"$out"
	if [ "$rc" -ne 0 ] && [ "$reported" -eq 0 ]; then
		fail "rprobe.py $1 ran to completion" "exit status $rc (124: timed out)" "$out"
	fi
}
