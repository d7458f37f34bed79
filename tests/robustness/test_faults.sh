#!/usr/bin/env bash
# Faults: the daemon killed (SIGKILL) or stopped (SIGTERM, -s too) while
# verified reads are in flight; unmounting (fusermount3 -u, -uz, umount -f)
# under readers and under a held handle; SNAPSHOT_DIR removed or made
# unreadable; one snapshot that cannot be read (permission removed, a file
# that cannot be mapped, a FIFO put in its place, truncated in place).
# Readers never get a wrong byte and never hang; errors are the documented
# ones; one bad file fails alone; the daemon does not crash.
set -euo pipefail
# shellcheck source=tests/robustness/robust.sh
. "$(dirname -- "$0")/robust.sh"

echo "# $("$HXZ" populate "$SRC")"
STABLE=stable-0.hxz,stable-1.hxz,stable-2.hxz,stable-3.hxz
FAULTS=0

stable_version() { # I
	echo $(((3 << 20) | ((1000000 + $1) & 0xfffff)))
}

# Start N verified readers of the stable snapshots, each stopping at its
# first error (or after SECONDS).
start_readers() { # LABEL N SECONDS
	local i
	READER_PIDS=()
	for i in $(seq 1 "$2"); do
		timeout $(($3 + 30)) "$HXZ" reader "$MNT" "$3" "$i$RANDOM" --until-error --names "$STABLE" \
			>"$WORK/$1.r$i.out" 2>&1 &
		READER_PIDS+=($!)
	done
}

# Each reader must end without a wrong byte or a hang, stopped by one of
# ALLOWED (errno names; OK: it ran to its end without an error).
check_readers() { # LABEL ALLOWED
	local label=$1 allowed=$2 i rc stopped out n verified=0 seen=()
	for i in "${!READER_PIDS[@]}"; do
		rc=0
		wait "${READER_PIDS[$i]}" || rc=$?
		out=$WORK/$label.r$((i + 1)).out
		n=$(sed -n 's/.* reads: \([0-9]*\) verified.*/\1/p' "$out")
		verified=$((verified + ${n:-0}))
		case $rc in
		0) stopped=OK ;;
		3) stopped=$(sed -n 's/^reader: stopped on //p' "$out") ;;
		*)
			fail "[$label] reader $((i + 1)): no wrong byte, no hang" \
				"status $rc$([ "$rc" -ne 124 ] || echo ': hung')" \
				"$(grep -E '^FAIL|^reader' "$out" | head -n 5)"
			continue
			;;
		esac
		seen+=("$stopped")
		if [[ "|$allowed|" == *"|$stopped|"* ]]; then
			pass "[$label] reader $((i + 1)): no wrong byte, no hang, ended by $stopped"
		else
			fail "[$label] reader $((i + 1)) ended by one of $allowed" "ended by $stopped" \
				"$(grep -E '^FAIL|^reader' "$out" | head -n 5)"
		fi
	done
	echo "# [$label] readers verified $verified reads; ended by: ${seen[*]}"
}

# After a stop was asked for: the daemon exits with status 0 in time.
check_exit() { # LABEL PID [WANT_STATUS]
	if wait_exit "$2"; then
		if [ "$EXIT_STATUS" == "${3:-0}" ]; then
			pass "[$1] the daemon exits with status ${3:-0}"
		else
			fail "[$1] the daemon exits with status ${3:-0}" "status $EXIT_STATUS; its stderr:" \
				"$(tail -n 15 "$DAEMON_LOG")"
		fi
	else
		fail "[$1] the daemon exits" "still running after ${EXIT_DEADLINE}s"
		dump_stacks "$2"
		kill -KILL "$2" 2>/dev/null || true
	fi
}

check_unmounted() { # LABEL MOUNTPOINT
	if is_mounted "$2"; then
		fail "[$1] nothing is left mounted" "$(mount_line "$2")"
	else
		pass "[$1] nothing is left mounted"
	fi
}

# ------------------------------------------------------------- SIGKILL

for cleaner in -u -uz; do
	label="SIGKILL, then fusermount3 $cleaner"
	mount_fg "$SRC" "$MNT"
	exec {held}<"$MNT/stable-3.hxz"
	start_readers sigkill$cleaner 4 20
	sleep 1
	kill -KILL "$DAEMON_PID"
	FAULTS=$((FAULTS + 1))
	check_exit "$label" "$DAEMON_PID" 137
	check_readers sigkill$cleaner "ENOTCONN|ECONNABORTED"
	rcheck errno-within 5 ENOTCONN stat "$MNT/never-looked-up.hxz" "[$label] a lookup"
	rcheck errno-within 5 ENOTCONN listdir "$MNT" "[$label] listing the mount"
	rcheck errno-within 5 ENOTCONN open "$MNT/stable-2.hxz" "[$label] an open"
	rcheck readfd-dead "$held" "$SRC/stable-3.hxz" $((8 << 20)) "[$label] the handle held open"
	[ "$cleaner" == -uz ] || exec {held}<&-
	check_ok "[$label] fusermount3 $cleaner cleans the dead mount" fusermount3 "$cleaner" "$MNT"
	check_unmounted "$label" "$MNT"
	[ "$cleaner" != -uz ] || exec {held}<&-
	mount_fg "$SRC" "$MNT"
	hxzcheck "[$label] a new mount on the same mountpoint serves" check "$MNT/stable-0.hxz" \
		"$(stable_version 0)"
	unmount_fg "$MNT"
done

# ------------------------------------- lazy unmount under a held handle

label="fusermount3 -uz with a handle open"
mount_fg "$SRC" "$MNT"
exec {held}<"$MNT/stable-2.hxz"
rcheck readfd "$held" "$SRC/stable-2.hxz" 0 "[$label] before: the first MiB" $((1 << 20))
check_ok "[$label] fusermount3 -uz" fusermount3 -uz "$MNT"
FAULTS=$((FAULTS + 1))
check_unmounted "$label" "$MNT"
sleep 0.5
check_ok "[$label] the daemon keeps serving the open handle" proc_alive "$DAEMON_PID"
rcheck readfd "$held" "$SRC/stable-2.hxz" $((1 << 20)) "[$label] the held handle reads the rest"
exec {held}<&-
check_exit "$label, once the last handle closed" "$DAEMON_PID"

# ---------------------------------------------- unmount with reads in flight

label="fusermount3 -u while reads are in flight"
mount_fg "$SRC" "$MNT"
start_readers busy-u 4 4
sleep 1
rc=0
out=$(fusermount3 -u "$MNT" 2>&1) || rc=$?
FAULTS=$((FAULTS + 1))
if [ "$rc" -ne 0 ]; then
	check_contains "[$label] refused while files are open: busy" "$out" "busy"
	check_readers busy-u OK
	unmount_fg "$MNT"
else
	pass "[$label] succeeded between two opens"
	check_readers busy-u "OK|ENOENT"
	check_exit "$label" "$DAEMON_PID"
fi

label="fusermount3 -uz while reads are in flight"
mount_fg "$SRC" "$MNT"
start_readers busy-uz 4 20
sleep 1
check_ok "[$label] fusermount3 -uz" fusermount3 -uz "$MNT"
FAULTS=$((FAULTS + 1))
# Open handles keep reading; new opens find the empty mountpoint.
check_readers busy-uz "ENOENT"
check_exit "$label, once the readers closed" "$DAEMON_PID"
check_unmounted "$label" "$MNT"

if [ "$(id -u)" -eq 0 ]; then
	label="umount -f while reads are in flight"
	mount_fg "$SRC" "$MNT"
	start_readers force 4 20
	sleep 1
	umount -f "$MNT" 2>/dev/null || true
	FAULTS=$((FAULTS + 1))
	check_readers force "ENOTCONN|ECONNABORTED|ENOENT"
	check_exit "$label" "$DAEMON_PID"
	if is_mounted "$MNT"; then
		# A forced unmount aborts the connection; libfuse then leaves the
		# (dead) mount for fusermount3 -u, as after SIGKILL.
		echo "# [$label] the aborted mount is left behind, dead; fusermount3 -u removes it"
		rcheck errno-within 5 ENOTCONN listdir "$MNT" "[$label] the dead mount answers ENOTCONN"
		check_ok "[$label] fusermount3 -u cleans it" fusermount3 -u "$MNT"
	fi
	check_unmounted "$label" "$MNT"
fi

# ----------------------------------------------- SIGTERM with reads in flight

for mode in "" -s; do
	label="SIGTERM while reads are in flight${mode:+, $mode}"
	mount_fg "$SRC" "$MNT" $mode
	start_readers "term$mode" 4 20
	sleep 1
	kill -TERM "$DAEMON_PID"
	FAULTS=$((FAULTS + 1))
	check_readers "term$mode" "ENOTCONN|ECONNABORTED|ENOENT"
	check_exit "$label" "$DAEMON_PID"
	check_unmounted "$label" "$MNT"
done

# ------------------------------------------------ SNAPSHOT_DIR removed

label="SNAPSHOT_DIR removed while mounted"
S2=$WORK/src-removed
mkdir -p "$S2/sub"
"$HXZ" gen "$S2/a.hxz" 2097153
"$HXZ" gen "$S2/b.hxz" 2097154
"$HXZ" gen "$S2/sub/c.hxz" 2097155
cp "$S2/a.hxz" "$WORK/a.copy"
mount_fg "$S2" "$MNT"
exec {held}<"$MNT/a.hxz"
stat "$MNT/b.hxz" "$MNT/sub/c.hxz" >/dev/null
rm -rf "$S2"
FAULTS=$((FAULTS + 1))
sleep 1.1 # the entry and attribute timeouts
check_eq "[$label] the mount lists nothing" "" "$(timeout 10 ls -A "$MNT" 2>&1)"
rcheck errno-within 5 ENOENT stat "$MNT/b.hxz" "[$label] a snapshot that was there"
rcheck errno-within 5 ENOENT open "$MNT/sub/c.hxz" "[$label] a snapshot in a subdirectory"
rcheck readfd "$held" "$WORK/a.copy" 0 "[$label] a handle opened before"
exec {held}<&-
check_serving "$label" "$DAEMON_PID" "$MNT" "$DAEMON_LOG"
# A new directory at the same path is another directory: not served.
mkdir "$S2"
"$HXZ" gen "$S2/new.hxz" 2097156
check_eq "[$label] a new directory at the same path is not served" "" \
	"$(timeout 10 ls -A "$MNT" 2>&1)"
unmount_fg "$MNT"

# -------------------------------- as an unprivileged daemon: permissions

setup_user
SU=$WORK/src-user
MU=$WORK/mnt-user
mkdir "$SU" "$MU"
"$HXZ" gen "$SU/a.hxz" 2097157
"$HXZ" gen "$SU/b.hxz" 2097158
chown -R "$TEST_USER" "$SU" "$MU"
chmod 755 "$SU"

user_serving() { # LABEL
	if proc_alive "$DAEMON_PID" &&
		timeout 10 "${UNPRIV_PROBE[@]}" stat "$MU" >/dev/null 2>&1; then
		pass "$1: the daemon is alive and its mount answers"
	else
		fail "$1: the daemon is alive and its mount answers" "$(tail -n 5 "$DAEMON_LOG")"
	fi
}

mount_fg_unprivileged "$SU" "$MU"
label="SNAPSHOT_DIR made unreadable, unprivileged daemon"
echo "# unprivileged daemon: $UNPRIV_DESC"
rcheck --unpriv errno OK read "$MU/a.hxz" "[$label] before: a.hxz reads"
chmod 000 "$SU"
FAULTS=$((FAULTS + 1))
sleep 1.1
rcheck --unpriv errno-within 5 EACCES listdir "$MU" "[$label] mode 000: listing"
rcheck --unpriv errno-within 5 EACCES stat "$MU/b.hxz" "[$label] mode 000: a lookup"
rcheck --unpriv errno-within 5 EACCES open "$MU/a.hxz" "[$label] mode 000: an open"
user_serving "[$label] mode 000"
chmod 311 "$SU"
sleep 1.1
rcheck --unpriv errno-within 5 EACCES listdir "$MU" "[$label] mode 311: listing"
rcheck --unpriv errno OK read "$MU/b.hxz" "[$label] mode 311: a known name still reads"
chmod 755 "$SU"
sleep 1.1
rcheck --unpriv errno OK listdir "$MU" "[$label] mode 755 again: listing"
rcheck --unpriv errno OK read "$MU/a.hxz" "[$label] mode 755 again: a.hxz reads"
unmount_fg "$MU"

# -o umask=022 shows every file readable, so the kernel lets an
# unprivileged open through and the daemon itself meets the source's
# permission; with
# symlinks=any, a link to a file that cannot be mapped (sysfs).
ln -s /sys/kernel/uevent_seqnum "$SU/unmappable.hxz"
mount_fg_unprivileged "$SU" "$MU" -o umask=022,symlinks=any
label="one snapshot unreadable, unprivileged daemon, umask=022"
rcheck --unpriv errno OK read "$MU/b.hxz" "[$label] before: b.hxz reads"
chmod 000 "$SU/b.hxz"
FAULTS=$((FAULTS + 1))
sleep 1.1
rcheck --unpriv errno-within 5 EACCES open "$MU/b.hxz" "[$label] b.hxz, its source now mode 000: open"
rcheck --unpriv errno OK read "$MU/a.hxz" "[$label] a.hxz still reads"
rcheck --unpriv errno-within 5 "ENODEV|EIO|EINVAL|EACCES" open "$MU/unmappable.hxz" \
	"[$label] a file that cannot be mapped (sysfs): open fails"
FAULTS=$((FAULTS + 1))
rcheck --unpriv errno OK read "$MU/a.hxz" "[$label] a.hxz still reads after the unmappable one"
user_serving "[$label]"
chmod 644 "$SU/b.hxz"
sleep 1.1
rcheck --unpriv errno OK read "$MU/b.hxz" "[$label] b.hxz reads again once readable"
unmount_fg "$MU"

# ------------------------------------------- a FIFO in place of a snapshot

label="a snapshot replaced by a FIFO"
S3=$WORK/src-fifo
mkdir "$S3"
"$HXZ" gen "$S3/c.hxz" 2097159
"$HXZ" gen "$S3/d.hxz" 2097160
"$HXZ" gen "$S3/e.hxz" 2097161
mkfifo "$S3/fifo"
for mode in "" "-o timeout=0"; do
	# shellcheck disable=SC2086 # the mode is two words or none
	mount_fg "$S3" "$MNT" $mode
	stat "$MNT/c.hxz" "$MNT/e.hxz" >/dev/null # names and attributes cached
	rm "$S3/c.hxz"
	mkfifo "$S3/c.hxz"
	rm "$S3/e.hxz"
	ln -s fifo "$S3/e.hxz"
	FAULTS=$((FAULTS + 2))
	rcheck errno-within 5 "ENOENT|ESTALE" open "$MNT/c.hxz" "[$label${mode:+, $mode}] open, no hang"
	rcheck errno-within 5 "ENOENT|ESTALE" open "$MNT/e.hxz" \
		"[$label${mode:+, $mode}] a link to a FIFO: open, no hang"
	sleep 1.1
	rcheck errno ENOENT stat "$MNT/c.hxz" "[$label${mode:+, $mode}] then hidden"
	check_eq "[$label${mode:+, $mode}] the listing shows the regular snapshot only" d.hxz \
		"$(timeout 10 ls -A "$MNT" 2>&1)"
	hxzcheck "[$label${mode:+, $mode}] the other snapshot reads" check "$MNT/d.hxz" 2097160
	check_serving "[$label${mode:+, $mode}]" "$DAEMON_PID" "$MNT" "$DAEMON_LOG"
	unmount_fg "$MNT"
	rm "$S3/c.hxz" "$S3/e.hxz"
	"$HXZ" gen "$S3/c.hxz" 2097159
	"$HXZ" gen "$S3/e.hxz" 2097161
done

# --------------------------------------------- truncated in place, mid-page

# The new end falls inside a page: the rest of that page reads as zeros in
# any mapping of the file, and those zeros were never the file's content.
label="truncated in place to a size inside a page"
mount_fg "$S3" "$MNT"
for size in 5000 $((3 * 4096 + 1)); do
	"$HXZ" gen "$S3/t.hxz" 2097162
	sleep 1.1 # a fresh version, looked up again
	rcheck truncate-tail "$MNT/t.hxz" "$S3/t.hxz" "$size"
	FAULTS=$((FAULTS + 1))
done
check_serving "[$label]" "$DAEMON_PID" "$MNT" "$DAEMON_LOG"
unmount_fg "$MNT"

# ------------------------------------------------- an inode number reused

# The daemon keys a node on (directory, name, device, inode number); a
# deleted file that nothing pins frees its number for the next file.
label="an inode number reused under an open handle"
rm -f "$S3/t.hxz"
mount_fg "$S3" "$MNT"
rcheck ino-reuse "$MNT" "$S3"
rcheck ino-reuse-cached "$MNT" "$S3"
FAULTS=$((FAULTS + 2))
check_serving "[$label]" "$DAEMON_PID" "$MNT" "$DAEMON_LOG"
unmount_fg "$MNT"

echo "# $FAULTS faults injected"
check_eq "nothing left mounted" "" "$(mounts_in_work)"
check_sanitizer_logs
