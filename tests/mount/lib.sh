# shellcheck shell=bash
# Harness of the mount tests, sourced by every tests/mount/test_*.sh.
#
# Each test gets a private work directory ($WORK, with $SRC for snapshots
# and $MNT for the mountpoint), checks that count and report failures
# without stopping the script, and a trap that unmounts, stops every daemon
# it started and removes $WORK whatever happens. A test exits 77 (meson's
# SKIP) only when FUSE is absent: no /dev/fuse or no fusermount3.
#
# Daemons are started with -f in the background, so that the test owns
# them: it can wait for their exit and read their exit status. Readiness is
# the mount appearing in /proc/self/mountinfo, polled with a deadline while
# the daemon is checked to be alive.

set -Eeuo pipefail
shopt -s inherit_errexit

skip() {
	echo "SKIP: $*"
	exit 77
}

[ -e /dev/fuse ] || skip "/dev/fuse is absent: this kernel or container has no FUSE"
[ -c /dev/fuse ] || skip "/dev/fuse is not a character device"
command -v fusermount3 >/dev/null || skip "fusermount3 is not installed (Debian package fuse3)"

: "${HEXZFS:?HEXZFS must name the hexzfs binary (meson test sets it)}"
HEXZFS=$(realpath -- "$HEXZFS")
MOUNT_TESTS_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
TEST_NAME=$(basename -- "$0" .sh)
# The system's python3 (one under /root would not run as another user).
PYTHON=python3
[ ! -x /usr/bin/python3 ] || PYTHON=/usr/bin/python3
FSOPS=("$PYTHON" "$MOUNT_TESTS_DIR/fsops.py")

# Seconds: how long a mount may take to appear, a daemon to exit.
READY_DEADLINE=10
EXIT_DEADLINE=10

[ -x "$HEXZFS" ] || { echo "FAIL: HEXZFS=$HEXZFS is not an executable" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || echo "note: not root; the checks that need root will fail" >&2

CHECKS=0
FAILURES=0
MOUNTS=()  # every mountpoint a test mounted
DAEMONS=() # pids of the daemons the test started or found
NDAEMON=0
DAEMON_ENV=() # NAME=VALUE settings for the daemons mount_fg starts
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hexzfs-$TEST_NAME.XXXXXX")
WORK=$(realpath -- "$WORK")
chmod 755 "$WORK" # the unprivileged user must reach its contents
SRC=$WORK/src
MNT=$WORK/mnt
mkdir "$SRC" "$MNT"
# A copy the unprivileged user can run wherever the source tree lies.
cp "$MOUNT_TESTS_DIR/fsops.py" "$WORK/fsops.py"
chmod 755 "$WORK/fsops.py"

# ---------------------------------------------------------------- reporting

pass() { # DESCRIPTION
	CHECKS=$((CHECKS + 1))
	printf 'ok %d - %s\n' "$CHECKS" "$1"
}

fail() { # DESCRIPTION [DETAIL LINE...]
	CHECKS=$((CHECKS + 1))
	FAILURES=$((FAILURES + 1))
	printf 'FAIL %d - %s\n' "$CHECKS" "$1"
	shift
	local line
	for line in "$@"; do
		printf '    %s\n' "$line"
	done
}

# Stop the test now: something it depends on did not happen.
die() {
	fail "$@"
	exit 1
}

check_eq() { # DESCRIPTION EXPECTED ACTUAL
	if [ "$2" == "$3" ]; then
		pass "$1"
	elif [[ $2 == *$'\n'* || $3 == *$'\n'* ]]; then
		fail "$1" "expected (-) vs seen (+):" \
			"$({ diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") || true; } |
				sed -n '/^[<>]/s/^</-/;s/^>/+/p')"
	else
		fail "$1" "expected: '$2'" "seen:     '$3'"
	fi
}

check_ne() { # DESCRIPTION UNEXPECTED ACTUAL
	if [ "$2" != "$3" ]; then
		pass "$1"
	else
		fail "$1" "expected anything but '$2'"
	fi
}

check_contains() { # DESCRIPTION TEXT NEEDLE
	if [[ $2 == *"$3"* ]]; then
		pass "$1"
	else
		fail "$1" "expected to contain: '$3'" "seen: '$2'"
	fi
}

check_le() { # DESCRIPTION A B: integer A <= B
	if [ "$2" -le "$3" ]; then
		pass "$1"
	else
		fail "$1" "expected $2 <= $3"
	fi
}

check_ok() { # DESCRIPTION COMMAND...: COMMAND exits 0
	local desc=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	if [ "$rc" -eq 0 ]; then
		pass "$desc"
	else
		fail "$desc" "command: $*" "expected exit status 0, seen $rc" "output: $out"
	fi
}

check_cmp() { # DESCRIPTION EXPECTED_FILE ACTUAL_FILE: same bytes
	local out rc=0
	out=$(timeout 120 cmp -- "$2" "$3" 2>&1) || rc=$?
	if [ "$rc" -eq 0 ]; then
		pass "$1"
	else
		fail "$1" "cmp $2 $3 (status $rc): $out"
	fi
}

# Run a python check helper (fsops.py SUBCOMMAND ARGS...): each line it
# prints as "ok: ..." or "FAIL: ..." counts as one check. A helper that
# exits non-zero without reporting a failure (crash, hang) fails too.
pycheck() {
	local out rc=0 line reported=0
	out=$(timeout 120 "${FSOPS[@]}" "$@" 2>&1) || rc=$?
	while IFS= read -r line; do
		case $line in
		'ok: '*) pass "${line#ok: }" ;;
		'FAIL: '*)
			fail "${line#FAIL: }"
			reported=1
			;;
		*) printf '    %s\n' "$line" ;;
		esac
	done <<<"$out"
	if [ "$rc" -ne 0 ] && [ "$reported" -eq 0 ]; then
		fail "fsops.py $1 ran to completion" "exit status $rc (124: timed out)" "$out"
	fi
}

# ---------------------------------------------------------------- processes

now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# True while PID exists and is not a zombie.
proc_alive() { # PID
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat:0:1}" != Z ]
}

proc_gone() { # PID
	! proc_alive "$1"
}

# Poll COMMAND every 20 ms until it succeeds or SECONDS pass.
wait_until() { # SECONDS COMMAND...
	local deadline=$(($(now_ms) + $1 * 1000))
	shift
	until "$@"; do
		[ "$(now_ms)" -lt "$deadline" ] || return 1
		sleep 0.02
	done
}

# mountinfo escapes these characters in paths.
mountinfo_escape() {
	local s=${1//\\/\\134}
	s=${s// /\\040}
	s=${s//$'\t'/\\011}
	s=${s//$'\n'/\\012}
	printf '%s' "$s"
}

# True when something is mounted on MOUNTPOINT (absolute, canonical).
is_mounted() { # MOUNTPOINT
	local want _id _parent _dev _root mp _rest
	want=$(mountinfo_escape "$1")
	while read -r _id _parent _dev _root mp _rest; do
		[ "$mp" != "$want" ] || return 0
	done </proc/self/mountinfo
	return 1
}

# The mountinfo line of MOUNTPOINT (the last one: the top of the stack).
mount_line() { # MOUNTPOINT
	local want line found='' _id _parent _dev _root mp _rest
	want=$(mountinfo_escape "$1")
	while IFS= read -r line; do
		read -r _id _parent _dev _root mp _rest <<<"$line"
		[ "$mp" != "$want" ] || found=$line
	done </proc/self/mountinfo
	printf '%s' "$found"
}

# Set MI_OPTS (per-mount options), MI_FSTYPE, MI_SOURCE and MI_SUPER (the
# superblock options) from MOUNTPOINT's mountinfo line; 1 if not mounted.
mount_info() { # MOUNTPOINT
	local line pre post
	# shellcheck disable=SC2034 # read by the tests
	MI_OPTS='' MI_FSTYPE='' MI_SOURCE='' MI_SUPER=''
	line=$(mount_line "$1")
	[ -n "$line" ] || return 1
	pre=${line%% - *}
	post=${line#* - }
	# shellcheck disable=SC2034
	read -r _ _ _ _ _ MI_OPTS _ <<<"$pre"
	# shellcheck disable=SC2034
	read -r MI_FSTYPE MI_SOURCE MI_SUPER <<<"$post"
}

# Mountpoints under $WORK that are mounted now, one a line.
mounts_in_work() {
	local _id _parent _dev _root mp _rest
	while read -r _id _parent _dev _root mp _rest; do
		[[ $mp != "$WORK"/* ]] || printf '%s\n' "$mp"
	done </proc/self/mountinfo
}

# Pids of live hexzfs processes, one a line. (test -ef follows
# /proc/PID/exe to the binary without forking a process per pid.)
hexzfs_all_pids() {
	local dir
	for dir in /proc/[0-9]*; do
		[ "$dir/exe" -ef "$HEXZFS" ] || continue
		! proc_alive "${dir#/proc/}" || echo "${dir#/proc/}"
	done
}

# Live hexzfs processes of this test, one a line: those with an argument
# or an open descriptor that names something under $WORK.
daemons_in_work() {
	local pid fd
	for pid in $(hexzfs_all_pids); do
		if tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$WORK/"; then
			echo "$pid"
			continue
		fi
		for fd in "/proc/$pid"/fd/*; do
			if [[ $(readlink "$fd" 2>/dev/null) == "$WORK"/* ]]; then
				echo "$pid"
				break
			fi
		done
	done
}

# Live hexzfs processes holding SNAPSHOT_DIR open (path as in /proc/PID/fd).
hexzfs_serving() { # SNAPSHOT_DIR
	local pid fd
	for pid in $(daemons_in_work); do
		for fd in "/proc/$pid"/fd/*; do
			if [ "$(readlink "$fd" 2>/dev/null)" == "$1" ]; then
				echo "$pid"
				break
			fi
		done
	done
}

# Wait for daemon PID to be ready on MOUNTPOINT; die, showing LOG, if it
# exits first or the deadline passes.
wait_mounted() { # MOUNTPOINT PID LOG
	local deadline=$(($(now_ms) + READY_DEADLINE * 1000)) rc=0
	until is_mounted "$1"; do
		if ! proc_alive "$2"; then
			wait "$2" 2>/dev/null || rc=$?
			die "hexzfs mounted $1" "the daemon exited (status $rc) before mounting" \
				"stderr: $(cat "$3" 2>/dev/null)"
		fi
		if [ "$(now_ms)" -ge "$deadline" ]; then
			die "hexzfs mounted $1" "not in /proc/self/mountinfo after ${READY_DEADLINE}s" \
				"stderr: $(cat "$3" 2>/dev/null)"
		fi
		sleep 0.02
	done
}

# Start `hexzfs -f OPTIONS... SNAPSHOT_DIR MOUNTPOINT` in the background and
# wait until it is mounted. Sets DAEMON_PID and DAEMON_LOG (its stderr).
mount_fg() { # SNAPSHOT_DIR MOUNTPOINT [OPTION...]
	local src=$1 mnt=$2
	shift 2
	NDAEMON=$((NDAEMON + 1))
	DAEMON_LOG=$WORK/daemon.$NDAEMON.log
	# A non-interactive shell starts background jobs with SIGINT and
	# SIGQUIT ignored, which the daemon would inherit: restore them, as
	# for a daemon started from a terminal.
	env --default-signal=INT,QUIT "${DAEMON_ENV[@]}" "$HEXZFS" -f "$@" "$src" "$mnt" \
		2>"$DAEMON_LOG" &
	DAEMON_PID=$!
	DAEMONS+=("$DAEMON_PID")
	MOUNTS+=("$mnt")
	wait_mounted "$mnt" "$DAEMON_PID" "$DAEMON_LOG"
}

# True when PID runs with AddressSanitizer, whose shadow memory and
# quarantine make resident-memory bounds meaningless.
under_asan() { # PID
	grep -q 'libasan\|libclang_rt.asan' "/proc/$1/maps" 2>/dev/null ||
		grep -qa '__asan_init' "/proc/$1/exe" 2>/dev/null
}

# Wait up to EXIT_DEADLINE for PID to exit. For a child of this shell, set
# EXIT_STATUS to its exit status. Returns 1 if it lingers.
wait_exit() { # PID
	EXIT_STATUS=
	if ! wait_until "$EXIT_DEADLINE" proc_gone "$1"; then
		return 1
	fi
	local rc=0
	if wait "$1" 2>/dev/null; then
		EXIT_STATUS=0
	else
		rc=$?
		# 127: not our child (a daemon that went to the background).
		[ "$rc" -eq 127 ] || EXIT_STATUS=$rc
	fi
	return 0
}

# What a daemon that should have exited is doing: each thread's kernel wait
# channel and, where gdb is installed, its stack.
dump_stacks() { # PID
	local task
	for task in "/proc/$1"/task/*; do
		printf '    thread %s (%s): waiting in %s\n' "${task##*/}" "$(cat "$task/comm" 2>/dev/null)" \
			"$(cat "$task/wchan" 2>/dev/null)"
	done
	if command -v gdb >/dev/null; then
		timeout 30 gdb -p "$1" -batch -ex 'thread apply all bt' 2>/dev/null |
			grep -E '^(Thread|#)' | sed 's/^/    /' || true
	fi
}

# Unmount MOUNTPOINT with fusermount3 -u, then check that daemon PID exits
# within the deadline with status 0 (PID defaults to the last mount_fg).
unmount_fg() { # MOUNTPOINT [PID]
	local mnt=$1 pid=${2:-$DAEMON_PID} out rc=0
	out=$(fusermount3 -u "$mnt" 2>&1) || rc=$?
	if [ "$rc" -ne 0 ]; then
		fail "fusermount3 -u $mnt succeeds" "status $rc: $out"
		return 0
	fi
	if is_mounted "$mnt"; then
		fail "$mnt is no longer mounted after fusermount3 -u"
	fi
	if ! wait_exit "$pid"; then
		fail "daemon $pid exits after fusermount3 -u" "still running after ${EXIT_DEADLINE}s"
		dump_stacks "$pid"
		kill -KILL "$pid" 2>/dev/null || true
		return 0
	fi
	check_eq "daemon exits with status 0 after fusermount3 -u $(basename "$mnt")" 0 "$EXIT_STATUS"
}

# --------------------------------------------------------------- privilege

# The unprivileged user the tests run commands as: hexzfs-test, created if
# missing (a system user without a home), else nobody. Sets TEST_USER and
# AS_USER, a command prefix that runs what follows as that user.
setup_user() {
	if ! id -u hexzfs-test >/dev/null 2>&1; then
		useradd --system --no-create-home --shell /usr/sbin/nologin hexzfs-test \
			>/dev/null 2>&1 || true
	fi
	if id -u hexzfs-test >/dev/null 2>&1; then
		TEST_USER=hexzfs-test
	else
		TEST_USER=nobody
	fi
	# shellcheck disable=SC2034 # used by the tests
	AS_USER=(setpriv "--reuid=$(id -u "$TEST_USER")" "--regid=$(id -g "$TEST_USER")"
		--clear-groups --)
}

# ----------------------------------------------------------------- cleanup

# True when PID is a live hexzfs process: a pid of ours that was reaped
# may belong to some other process by now, which must not be signalled.
is_hexzfs() { # PID
	proc_alive "$1" && [ "/proc/$1/exe" -ef "$HEXZFS" ]
}

cleanup() {
	local rc=$? mnt pid
	set +e
	trap - ERR
	for mnt in "${MOUNTS[@]}"; do
		if is_mounted "$mnt"; then
			timeout 10 fusermount3 -u "$mnt" 2>/dev/null ||
				timeout 10 fusermount3 -uz "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null
		fi
	done
	# Daemons of ours that went to the background carry a path under $WORK.
	for pid in $(daemons_in_work); do
		DAEMONS+=("$pid")
	done
	for pid in "${DAEMONS[@]}"; do
		! is_hexzfs "$pid" || kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${DAEMONS[@]}"; do
		if ! wait_until 5 proc_gone "$pid" && is_hexzfs "$pid"; then
			kill -KILL "$pid" 2>/dev/null
		fi
		wait "$pid" 2>/dev/null # reap our children
	done
	for mnt in "${MOUNTS[@]}"; do
		! is_mounted "$mnt" || fusermount3 -uz "$mnt" 2>/dev/null || umount -l "$mnt"
	done
	chmod -R u+rwx "$WORK" 2>/dev/null
	rm -rf --one-file-system "$WORK"
	if [ "$rc" -ne 0 ] && [ "$FAILURES" -eq 0 ]; then
		echo "FAIL - $TEST_NAME stopped early (status $rc)"
	fi
	if [ "$FAILURES" -gt 0 ] && [ "$rc" -eq 0 ]; then
		rc=1
	fi
	echo "# $TEST_NAME: $CHECKS checks, $FAILURES failed"
	exit "$rc"
}
trap cleanup EXIT
# Stopped by meson's timeout or ^C: still clean up.
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'echo "error: line $LINENO: $BASH_COMMAND (status $?)"' ERR
