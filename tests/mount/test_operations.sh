#!/usr/bin/env bash
# Operations: df shows the snapshot directory's filesystem, read-only; -d
# prints every request and its reply; a daemonized hexzfs logs to syslog
# (its counters on SIGUSR1, its stop on SIGTERM) and prints nothing.
set -euo pipefail
# shellcheck source=tests/mount/lib.sh
. "$(dirname -- "$0")/lib.sh"

printf 'hello\n' >"$SRC/a.hxz"
head -c 300000 /dev/urandom >"$SRC/b.hxz"

# --- statfs: the figures of the filesystem holding SNAPSHOT_DIR ----------
mount_fg "$SRC" "$MNT"
check_eq "statfs: total blocks and block size are the source filesystem's" \
	"$(stat -f -c '%b %S' "$SRC")" "$(stat -f -c '%b %S' "$MNT")"
check_eq "statfs: total inodes are the source filesystem's" \
	"$(stat -f -c '%c' "$SRC")" "$(stat -f -c '%c' "$MNT")"
check_contains "df lists the mount with the snapshot directory as its source" \
	"$(df -P "$MNT" | tail -n 1)" "$SRC"
mount_info "$MNT"
check_contains "the mount is read-only in mountinfo" "$MI_OPTS," "ro,"
unmount_fg "$MNT"

# --- -d: each request and its outcome ----------------------------------
mount_fg "$SRC" "$MNT" -d
cat "$MNT/a.hxz" >/dev/null
cat "$MNT/missing.hxz" 2>/dev/null || true
unmount_fg "$MNT"
debug_log=$(cat "$DAEMON_LOG")
check_contains "-d shows the LOOKUP request" "$debug_log" "opcode: LOOKUP"
check_contains "-d shows the OPEN request" "$debug_log" "opcode: OPEN"
check_contains "-d shows the READ request" "$debug_log" "opcode: READ"
check_contains "-d shows a failed request's error (ENOENT for missing.hxz)" \
	"$debug_log" "error: -2 (No such file or directory)"

# --- background: messages go to syslog ------------------------------------
# syslog(3) writes to /dev/log. To capture it without touching the host,
# run the daemon in a private mount namespace whose /dev is a tmpfs holding
# the devices it needs and a socket of ours.
command -v unshare >/dev/null || die "unshare (util-linux) is missing"
cat >"$WORK/in_namespace.sh" <<'NS'
set -euo pipefail
work=$1 hexzfs=$2 src=$3 mnt=$4 python=$5 sink=$6
mkdir -p "$work/realdev"
mount --make-rprivate /
mount --bind /dev "$work/realdev"
mount -t tmpfs -o mode=0755 devtmp /dev
for dev in null zero fuse urandom; do
	touch "/dev/$dev"
	mount --bind "$work/realdev/$dev" "/dev/$dev"
done
"$python" "$sink" /dev/log "$work/syslog.txt" &
sink_pid=$!
for _ in $(seq 100); do [ -S /dev/log ] && break; sleep 0.05; done
set +e
"$hexzfs" "$src" "$mnt" >"$work/bg.stdout" 2>"$work/bg.stderr"
echo "$?" >"$work/bg.status"
pid=$(pgrep -n -f -x "$hexzfs $src $mnt")
echo "$pid" >"$work/bg.pid"
cat "$mnt/a.hxz" >/dev/null
kill -USR1 "$pid"
for _ in $(seq 100); do grep -q 'stats:' "$work/syslog.txt" && break; sleep 0.05; done
kill -TERM "$pid"
for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$pid" 2>/dev/null; then
	echo lingering >"$work/bg.lingering"
	kill -KILL "$pid"
	umount -l "$mnt"
fi
grep -q " $mnt " /proc/self/mounts && echo mounted >"$work/bg.still_mounted"
kill "$sink_pid"
exit 0
NS
unshare -m bash "$WORK/in_namespace.sh" "$WORK" "$HEXZFS" "$SRC" "$MNT" "$PYTHON" \
	"$MOUNT_TESTS_DIR/syslog_sink.py"
check_eq "background: hexzfs returns 0 once mounted" 0 "$(cat "$WORK/bg.status")"
check_eq "background: nothing on stdout" "" "$(cat "$WORK/bg.stdout")"
check_eq "background: nothing on stderr" "" "$(cat "$WORK/bg.stderr")"
syslog=$(cat "$WORK/syslog.txt")
pid=$(cat "$WORK/bg.pid")
check_contains "background: SIGUSR1 logs the counters to syslog, tagged with the pid" \
	"$syslog" "hexzfs[$pid]: stats: reads=1 "
check_contains "background: SIGTERM is logged to syslog" "$syslog" "hexzfs[$pid]: Terminated: unmounting"
exists() { if [ -e "$1" ]; then echo yes; else echo no; fi; }
check_eq "background: the daemon exits within 10 s of SIGTERM" no "$(exists "$WORK/bg.lingering")"
check_eq "background: the mount is gone after SIGTERM" no "$(exists "$WORK/bg.still_mounted")"
