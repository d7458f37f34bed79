# shellcheck shell=bash
# Helpers of the test servers' scripts (nginx.sh, ceph_rgw.sh), sourced by
# them: free ports, waiting with a deadline, and stopping a daemon that a
# script started, found by its pid file and recognised by its command line,
# never by a name alone.

# The system's python3 (one under /root would not run as another user).
REMOTE_PYTHON=python3
[ ! -x /usr/bin/python3 ] || REMOTE_PYTHON=/usr/bin/python3

remote_die() {
	echo "$REMOTE_SCRIPT: $*" >&2
	exit 1
}

# A TCP port of 127.0.0.1 that is free now: the kernel picks it. Another
# process may take it before the server binds it, so the callers retry a
# start that fails to bind.
remote_free_port() {
	"$REMOTE_PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Seconds since an arbitrary point, with milliseconds.
remote_now() {
	local t
	t=$(date +%s%N)
	echo "$((t / 1000000000)).$(printf '%03d' $(((t / 1000000) % 1000)))"
}

# remote_elapsed START: seconds since START (from remote_now), 3 decimals.
remote_elapsed() {
	"$REMOTE_PYTHON" -c 'import sys; print("%.3f" % (float(sys.argv[2]) - float(sys.argv[1])))' \
		"$1" "$(remote_now)"
}

# remote_pid_of PIDFILE PROGRAM MARK: the pid in PIDFILE when that process
# is alive, runs PROGRAM (its /proc/PID/comm, as the kernel cuts it to 15
# bytes) and has MARK (the state directory) in its command line; nothing
# otherwise, so a stale pid file never gets another process signalled.
remote_pid_of() {
	local pidfile=$1 program=$2 mark=$3 pid comm
	[ -s "$pidfile" ] || return 0
	pid=$(tr -dc '0-9' <"$pidfile")
	[ -n "$pid" ] && [ -d "/proc/$pid" ] || return 0
	comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 0
	[ "$comm" = "${program:0:15}" ] || return 0
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$mark" || return 0
	echo "$pid"
}

# remote_wait_gone PID SECONDS: until PID has exited; 1 at the deadline.
remote_wait_gone() {
	local pid=$1 deadline=$((SECONDS + $2))
	while [ -d "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.05
	done
	return 0
}

# remote_stop PIDFILE PROGRAM MARK SECONDS [SIGNAL]: stop the daemon of
# PIDFILE (see remote_pid_of) with SIGNAL (TERM by default), then KILL
# after SECONDS; done at once when it is not running. Returns 1 only when
# even KILL left it alive.
remote_stop() {
	local pidfile=$1 program=$2 mark=$3 seconds=$4 signal=${5:-TERM} pid
	pid=$(remote_pid_of "$pidfile" "$program" "$mark")
	if [ -z "$pid" ]; then
		rm -f -- "$pidfile"
		return 0
	fi
	kill "-$signal" "$pid" 2>/dev/null || true
	if ! remote_wait_gone "$pid" "$seconds"; then
		echo "$REMOTE_SCRIPT: $program (pid $pid) still running ${seconds}s after SIG$signal: SIGKILL" >&2
		kill -KILL "$pid" 2>/dev/null || true
		remote_wait_gone "$pid" 5 || {
			echo "$REMOTE_SCRIPT: $program (pid $pid) survived SIGKILL" >&2
			return 1
		}
	fi
	rm -f -- "$pidfile"
	return 0
}

# remote_wait_http URL SECONDS [CURL ARGS...]: until URL answers with any
# HTTP status; 1 at the deadline.
remote_wait_http() {
	local url=$1 deadline=$((SECONDS + $2)) code
	shift 2
	while :; do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@" -- "$url" 2>/dev/null) || true
		[ "${code:-000}" = 000 ] || return 0
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# A start in progress records itself, so that a stop called meanwhile (from
# the trap of a test being interrupted) ends it first and no daemon is
# launched after the stop.
remote_starting() {
	echo "$$" >"$1/start.pid"
}

remote_started() {
	rm -f -- "$1/start.pid"
}

# remote_stop_starter STATE: end the start of STATE in progress, if any
# (not the calling process itself).
remote_stop_starter() {
	local pid
	pid=$(remote_pid_of "$1/start.pid" bash "$1")
	[ -n "$pid" ] && [ "$pid" != "$$" ] || return 0
	remote_stop "$1/start.pid" bash "$1" 5
}
