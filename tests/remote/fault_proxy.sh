#!/usr/bin/env bash
# The fault-injecting proxy (fault_proxy.py) in front of a test server, on
# free ports of 127.0.0.1 that the proxy binds itself (port 0, no race).
#
# Usage: tests/remote/fault_proxy.sh start STATE_DIR UPSTREAM_HOST:PORT
#        tests/remote/fault_proxy.sh stop STATE_DIR
#
# start prints shell assignments (also kept in STATE_DIR/env):
#   FAULT_PROXY_PORT=...  FAULT_PROXY_CONTROL_PORT=...
#   FAULT_PROXY_LOG=STATE_DIR/requests.jsonl
# Faults are set with PUT http://127.0.0.1:$FAULT_PROXY_CONTROL_PORT/faults
# (see fault_proxy.py). Both commands are idempotent and stop is safe from
# a trap; everything the proxy writes is in STATE_DIR.
set -Eeuo pipefail

REMOTE_SCRIPT=fault_proxy.sh
trap 'echo "$REMOTE_SCRIPT: line $LINENO: \"$BASH_COMMAND\" failed" >&2' ERR
# shellcheck source=tests/remote/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

PROXY=$(dirname -- "$(realpath -- "${BASH_SOURCE[0]}")")/fault_proxy.py
START_DEADLINE=10
STOP_DEADLINE=5

usage() {
	echo "usage: $0 start STATE_DIR UPSTREAM_HOST:PORT | stop STATE_DIR" >&2
	exit 2
}

start() {
	local state=$1 upstream=$2 pid deadline port control
	[ -d "$state" ] || remote_die "state directory $state does not exist (make it with mktemp -d)"
	[[ $upstream =~ ^[^:]+:[0-9]+$ ]] || remote_die "upstream must be HOST:PORT, not $upstream"
	state=$(realpath -- "$state")
	remote_starting "$state"
	pid=$(remote_pid_of "$state/fault_proxy.pid" "${REMOTE_PYTHON##*/}" "$state")
	if [ -n "$pid" ] && [ -s "$state/env" ]; then
		remote_started "$state"
		cat -- "$state/env"
		return 0
	fi
	rm -f -- "$state/ports.json"
	setsid "$REMOTE_PYTHON" "$PROXY" --upstream "$upstream" \
		--state-file "$state/ports.json" --log "$state/requests.jsonl" \
		</dev/null >"$state/proxy.out" 2>&1 &
	echo $! >"$state/fault_proxy.pid"
	deadline=$((SECONDS + START_DEADLINE))
	until [ -s "$state/ports.json" ]; do
		if [ ! -d "/proc/$!" ] || [ "$SECONDS" -ge "$deadline" ]; then
			stop "$state"
			remote_die "the proxy did not start: $(tail -n 5 "$state/proxy.out")"
		fi
		sleep 0.02
	done
	read -r port control < <("$REMOTE_PYTHON" -c 'import json, sys
s = json.load(open(sys.argv[1]))
print(s["port"], s["control_port"])' "$state/ports.json")
	{
		echo "FAULT_PROXY_PORT=$port"
		echo "FAULT_PROXY_CONTROL_PORT=$control"
		echo "FAULT_PROXY_LOG=$state/requests.jsonl"
	} >"$state/env"
	remote_started "$state"
	cat -- "$state/env"
}

stop() {
	local state=$1
	[ -d "$state" ] || return 0
	state=$(realpath -- "$state")
	remote_stop "$state/fault_proxy.pid" "${REMOTE_PYTHON##*/}" "$state" "$STOP_DEADLINE" || return 1
	rm -f -- "$state/env" "$state/ports.json"
}

case ${1:-} in
start)
	[ $# -eq 3 ] || usage
	start "$2" "$3"
	;;
stop)
	[ $# -eq 2 ] || usage
	[ ! -d "$2" ] || remote_stop_starter "$(realpath -- "$2")"
	stop "$2"
	;;
*) usage ;;
esac
