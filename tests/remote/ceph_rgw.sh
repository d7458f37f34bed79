#!/usr/bin/env bash
# A test S3 server: Ceph's RADOS Gateway from Debian on a single-node
# cluster made from nothing in a state directory: one monitor, one OSD
# keeping its objects in memory (memstore), radosgw. No ceph-mgr: radosgw
# does not need it. Everything binds 127.0.0.1 only.
#
# Usage: tests/remote/ceph_rgw.sh start STATE_DIR
#        tests/remote/ceph_rgw.sh stop STATE_DIR
#
# start makes an S3 user whose secret has '+', '/' and '=' and a bucket,
# then prints shell assignments, also kept in STATE_DIR/env (mode 0600),
# which alone holds the secret:
#   RGW_ENDPOINT=http://127.0.0.1:PORT   RGW_BUCKET=hexz-test
#   RGW_ACCESS_KEY_ID=...                RGW_REGION=us-east-1
#   RGW_ENV=STATE_DIR/env                RGW_STARTUP_SECONDS=...
# (source RGW_ENV for RGW_SECRET_ACCESS_KEY). The bucket is made with a
# request signed by libhexz's own signer: tests/remote/s3_request, named
# by $HEXZ_S3_REQUEST or found in ./build.
#
# Facts this relies on (measured here, see REMOTE.md): with `auth ... =
# none` radosgw must use `ms mon client mode = crc` (in its default
# `secure` mode it cannot reach the monitor and hangs for 300 s); without
# `public addr`/`cluster addr` the OSD binds 0.0.0.0; radosgw must stop
# before the monitor and the OSD or its shutdown hangs. Every launch and
# every wait is bounded.
#
# Both commands are idempotent: start on a running cluster prints its
# settings again, stop on a stopped one does nothing, so stop is safe to
# call from a trap, and twice. The caller creates STATE_DIR (mktemp -d)
# and removes it after stop.
set -Eeuo pipefail

REMOTE_SCRIPT=ceph_rgw.sh
trap 'echo "$REMOTE_SCRIPT: line $LINENO: \"$BASH_COMMAND\" failed" >&2' ERR
REMOTE_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/remote/lib.sh
. "$REMOTE_DIR/lib.sh"

# Seconds: bounds on each daemon's launch and readiness, and on each stop.
LAUNCH_DEADLINE=30
READY_DEADLINE=60
STOP_DEADLINE=15
# Attempts at a whole start, should another process take a free port first.
START_ATTEMPTS=3
# The most the OSD keeps in memory (bytes); the objects of the tests fit.
MEMSTORE_BYTES=${HEXZ_RGW_MEMSTORE_BYTES:-4294967296}
BUCKET=hexz-test
REGION=us-east-1

usage() {
	echo "usage: $0 start STATE_DIR | stop STATE_DIR" >&2
	exit 2
}

# The daemons, in the order they start (stop runs it backwards).
# name:program
DAEMONS=(mon.a:ceph-mon osd.0:ceph-osd client.rgw:radosgw)

# ceph and radosgw-admin, bounded, against the cluster of $STATE.
ceph_cli() {
	timeout "$LAUNCH_DEADLINE" ceph -c "$STATE/ceph.conf" --connect-timeout 10 "$@"
}

rgw_admin() {
	timeout "$LAUNCH_DEADLINE" radosgw-admin -c "$STATE/ceph.conf" "$@"
}

# The last lines of the logs, for a failure's message.
log_tail() {
	local f
	for f in "$STATE"/cluster/log/*.log "$STATE"/cluster/*.out; do
		[ -s "$f" ] || continue
		echo "--- $f"
		grep -v '^\s*$' "$f" | tail -n 8
	done
}

# Stop what was started, then say why (the logs outlive the daemons), so
# that a reader closing the pipe early cannot leave daemons behind.
fail() {
	stop_all || true
	remote_started "$STATE"
	echo "$REMOTE_SCRIPT: $*" >&2
	log_tail >&2 || true
	exit 1
}

# write_config MON_PORT RGW_PORT
write_config() {
	local mon_port=$1 rgw_port=$2 c=$STATE/cluster
	cat >"$c/ceph.conf" <<EOF
# Made by tests/remote/ceph_rgw.sh.
[global]
fsid = $(cat /proc/sys/kernel/random/uuid)
mon host = v2:127.0.0.1:$mon_port
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms bind retry count = 1
ms bind retry delay = 1
keyring = $c/keyring
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
paxos propose interval = 0.1
osd objectstore = memstore
memstore device bytes = $MEMSTORE_BYTES
client mount timeout = 20
rados mon op timeout = 20
rados osd op timeout = 20
run dir = $c/run
admin socket = $c/run/\$name.asok
log file = $c/log/\$name.log
pid file = $c/run/\$name.pid
crash dir = $c/crash
mon data = $c/mon.\$id
osd data = $c/osd\$id
mon cluster log file = $c/log/cluster.log

[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw data = $c/rgw
rgw thread pool size = 64
rgw init timeout = $READY_DEADLINE
rgw enable usage log = false
rgw enable ops log = false
EOF
	ln -sf cluster/ceph.conf "$STATE/ceph.conf"
}

# Until `ceph osd stat` counts one OSD up, or the deadline.
wait_osd_up() {
	local deadline=$((SECONDS + READY_DEADLINE))
	until ceph_cli osd stat 2>/dev/null | grep -q '1 up'; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# One attempt at a cluster from nothing; 1 when a port was taken first.
start_cluster() {
	local c=$STATE/cluster mon_port rgw_port uuid
	rm -rf -- "$c"
	mkdir -p -- "$c/run" "$c/log" "$c/mon.a" "$c/osd0" "$c/rgw" "$c/crash"
	mon_port=$(remote_free_port)
	rgw_port=$(remote_free_port)
	[ "$mon_port" != "$rgw_port" ] || return 1
	write_config "$mon_port" "$rgw_port"

	monmaptool --create --fsid "$(sed -n 's/^fsid = //p' "$c/ceph.conf")" \
		--addv a "[v2:127.0.0.1:$mon_port]" "$c/monmap" >"$c/monmaptool.out" 2>&1 ||
		fail "monmaptool failed"
	timeout "$LAUNCH_DEADLINE" ceph-mon -c "$c/ceph.conf" -i a --mkfs --monmap "$c/monmap" \
		>"$c/mon-mkfs.out" 2>&1 || fail "ceph-mon --mkfs failed"
	timeout "$LAUNCH_DEADLINE" ceph-mon -c "$c/ceph.conf" -i a >"$c/mon.out" 2>&1 ||
		fail "ceph-mon did not start"
	if ! ceph_cli mon stat >"$c/mon-stat.out" 2>&1; then
		grep -qs "Address already in use" "$c/log/mon.a.log" && return 1
		fail "the monitor does not answer on 127.0.0.1:$mon_port"
	fi

	uuid=$(cat /proc/sys/kernel/random/uuid)
	[ "$(ceph_cli osd new "$uuid" 2>"$c/osd-new.out")" = 0 ] || fail "ceph osd new failed"
	timeout "$LAUNCH_DEADLINE" ceph-osd -c "$c/ceph.conf" -i 0 --mkfs --osd-uuid "$uuid" \
		>"$c/osd-mkfs.out" 2>&1 || fail "ceph-osd --mkfs failed"
	timeout "$LAUNCH_DEADLINE" ceph-osd -c "$c/ceph.conf" -i 0 >"$c/osd.out" 2>&1 ||
		fail "ceph-osd did not start"
	wait_osd_up || fail "the OSD is not up after ${READY_DEADLINE}s"

	timeout "$LAUNCH_DEADLINE" radosgw -c "$c/ceph.conf" -n client.rgw >"$c/rgw.out" 2>&1 ||
		fail "radosgw did not start"
	if ! remote_wait_http "http://127.0.0.1:$rgw_port/" "$READY_DEADLINE"; then
		grep -qs "Address already in use" "$c/log/client.rgw.log" && return 1
		fail "radosgw does not answer on 127.0.0.1:$rgw_port after ${READY_DEADLINE}s"
	fi
	echo "$rgw_port" >"$c/rgw.port"
}

# The S3 user (a secret with '+', '/' and '=') and the bucket.
make_user_and_bucket() {
	local c=$STATE/cluster rgw_port access secret r s3_request
	rgw_port=$(cat "$c/rgw.port")
	access=HEXZ$(openssl rand -hex 8 | tr 'a-f' 'A-F')
	r=$(openssl rand -base64 30 | tr -d '\n')
	secret="${r:0:12}+${r:12:12}/${r:24:12}="
	rgw_admin user create --uid=hexz --display-name="hexzfs tests" \
		--access-key="$access" --secret-key="$secret" >"$c/user.out" 2>&1 ||
		fail "radosgw-admin user create failed"
	(
		umask 077
		{
			echo "RGW_ENDPOINT=http://127.0.0.1:$rgw_port"
			echo "RGW_BUCKET=$BUCKET"
			echo "RGW_REGION=$REGION"
			echo "RGW_ACCESS_KEY_ID=$access"
			echo "RGW_SECRET_ACCESS_KEY='$secret'"
			echo "RGW_ENV=$STATE/env"
		} >"$STATE/env.new"
	)

	s3_request=${HEXZ_S3_REQUEST:-$REMOTE_DIR/../../build/tests/remote/s3_request}
	[ -x "$s3_request" ] ||
		fail "no s3_request at $s3_request: build the tests, or set HEXZ_S3_REQUEST"
	AWS_ENDPOINT_URL_S3="http://127.0.0.1:$rgw_port" AWS_REGION=$REGION \
		AWS_ACCESS_KEY_ID=$access AWS_SECRET_ACCESS_KEY=$secret AWS_SESSION_TOKEN="" \
		timeout "$LAUNCH_DEADLINE" "$s3_request" PUT "$BUCKET" >"$c/bucket.out" 2>&1 ||
		fail "creating the bucket failed: $(cat "$c/bucket.out")"
}

# Is every daemon of $STATE running?
all_running() {
	local d
	for d in "${DAEMONS[@]}"; do
		[ -n "$(remote_pid_of "$STATE/cluster/run/${d%%:*}.pid" "${d#*:}" "$STATE")" ] ||
			return 1
	done
}

# Print the settings, all but the secret.
print_env() {
	grep -v '^RGW_SECRET_ACCESS_KEY=' "$STATE/env"
}

# radosgw first (it hangs in its shutdown without the monitor), then the
# OSD and the monitor together.
stop_all() {
	local rc=0 pid_osd=0 pid_mon=0
	[ -d "$STATE/cluster/run" ] || return 0
	remote_stop "$STATE/cluster/run/client.rgw.pid" radosgw "$STATE" "$STOP_DEADLINE" || rc=1
	remote_stop "$STATE/cluster/run/osd.0.pid" ceph-osd "$STATE" "$STOP_DEADLINE" &
	pid_osd=$!
	remote_stop "$STATE/cluster/run/mon.a.pid" ceph-mon "$STATE" "$STOP_DEADLINE" &
	pid_mon=$!
	wait "$pid_osd" || rc=1
	wait "$pid_mon" || rc=1
	rm -f -- "$STATE/env" "$STATE/env.new"
	return "$rc"
}

start() {
	local started attempt tool
	remote_starting "$STATE"
	for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool; do
		command -v "$tool" >/dev/null ||
			remote_die "$tool is missing (Debian packages ceph-mon ceph-osd radosgw ceph-common)"
	done
	if all_running && [ -s "$STATE/env" ]; then
		remote_started "$STATE"
		print_env
		return 0
	fi
	stop_all
	started=$(remote_now)
	for attempt in $(seq 1 "$START_ATTEMPTS"); do
		start_cluster && break
		stop_all
		[ "$attempt" -lt "$START_ATTEMPTS" ] ||
			fail "no free port after $START_ATTEMPTS attempts"
	done
	make_user_and_bucket
	echo "RGW_STARTUP_SECONDS=$(remote_elapsed "$started")" >>"$STATE/env.new"
	mv -- "$STATE/env.new" "$STATE/env"
	remote_started "$STATE"
	print_env
}

case ${1:-} in
start)
	[ $# -eq 2 ] || usage
	[ -d "$2" ] || remote_die "state directory $2 does not exist (make it with mktemp -d)"
	STATE=$(realpath -- "$2")
	start
	;;
stop)
	[ $# -eq 2 ] || usage
	[ -d "$2" ] || exit 0
	STATE=$(realpath -- "$2")
	remote_stop_starter "$STATE"
	stop_all
	;;
*) usage ;;
esac
