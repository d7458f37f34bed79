#!/usr/bin/env bash
# The command line: help and version, every way to name the snapshot
# directory, bad invocations refused before anything is mounted, FUSE's
# own options passed through, -f -d -s.
set -euo pipefail
# shellcheck source=tests/mount/lib.sh
. "$(dirname -- "$0")/lib.sh"

printf 'hello snapshot\n' >"$SRC/a.hxz"
printf 'not a snapshot\n' >"$SRC/notes.txt"
printf 'plain file\n' >"$WORK/file.hxz"

# ------------------------------------------------------------ help, version

for flag in -h --help; do
	rc=0
	out=$(timeout 20 "$HEXZFS" "$flag" 2>&1) || rc=$?
	check_eq "hexzfs $flag exits 0" 0 "$rc"
	check_contains "hexzfs $flag prints the usage" "$out" "SNAPSHOT_DIR MOUNTPOINT"
done
for opt in source= entry_timeout= attr_timeout= timeout= negative_timeout= map_cache= \
	symlinks= uid= gid= umask= idle_timeout= ' -f ' ' -d ' ' -s ' ' -V ' allow_other; do
	check_contains "hexzfs --help documents '${opt// /}'" "$out" "$opt"
done
rc=0
out=$(timeout 20 "$HEXZFS" --help "$SRC" "$MNT" 2>&1) || rc=$?
check_eq "hexzfs --help SNAPSHOT_DIR MOUNTPOINT exits 0" 0 "$rc"
check_eq "hexzfs --help SNAPSHOT_DIR MOUNTPOINT mounts nothing" "" "$(mounts_in_work)"

for flag in -V --version; do
	rc=0
	out=$(timeout 20 "$HEXZFS" "$flag" 2>&1) || rc=$?
	check_eq "hexzfs $flag exits 0" 0 "$rc"
	check_contains "hexzfs $flag prints the version" "$out" "${HEXZFS_VERSION:-version}"
done

# --------------------------------------------------------- bad invocations

# True when one line of TEXT contains every NEEDLE (case-insensitive).
line_with_all() { # TEXT NEEDLE...
	local text=${1,,} line needle
	shift
	while IFS= read -r line; do
		for needle; do
			[[ $line == *"${needle,,}"* ]] || continue 2
		done
		return 0
	done <<<"$text"
	return 1
}

# Run a command that must be refused: non-zero status (not a timeout), a
# message line that names every NEEDLE (|-separated, case-insensitive),
# nothing mounted under $WORK, no daemon left.
expect_refused() { # DESCRIPTION NEEDLES COMMAND...
	local desc=$1 out rc=0
	local -a needles
	IFS='|' read -r -a needles <<<"$2"
	shift 2
	out=$(timeout 20 "$@" 2>&1 </dev/null) || rc=$?
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]; then
		pass "$desc: refused (status $rc)"
	else
		fail "$desc: refused with a non-zero status" "status $rc (124: still running after 20s)" \
			"output: $out"
	fi
	if line_with_all "$out" "${needles[@]}"; then
		pass "$desc: a message names $(printf "'%s' " "${needles[@]}")"
	else
		fail "$desc: a message names $(printf "'%s' " "${needles[@]}")" "output: $out"
	fi
	check_eq "$desc: nothing mounted" "" "$(mounts_in_work)"
	check_eq "$desc: no daemon left" "" "$(daemons_in_work)"
}

expect_refused "no arguments" "MOUNTPOINT" "$HEXZFS"
expect_refused "SNAPSHOT_DIR missing" "$WORK/absent|no such file" "$HEXZFS" "$WORK/absent" "$MNT"
expect_refused "SNAPSHOT_DIR is a file" "$WORK/file.hxz|not a directory" \
	"$HEXZFS" "$WORK/file.hxz" "$MNT"
expect_refused "-o source= missing" "$WORK/absent" "$HEXZFS" -o "source=$WORK/absent" "$MNT"
expect_refused "MOUNTPOINT missing" "$WORK/nomnt|no such file" "$HEXZFS" "$SRC" "$WORK/nomnt"
expect_refused "MOUNTPOINT is a file" "$WORK/file.hxz|not a directory" \
	"$HEXZFS" "$SRC" "$WORK/file.hxz"
expect_refused "too many arguments" "extra" "$HEXZFS" "$SRC" "$MNT" extra
expect_refused "snapshot directory given twice" "$SRC" "$HEXZFS" -o "source=$SRC" "$SRC" "$MNT"
expect_refused "unknown -o bogus" "bogus" "$HEXZFS" -o bogus "$SRC" "$MNT"
expect_refused "unknown -o bogus=1 among good ones" "bogus" \
	"$HEXZFS" -o ro,bogus=1,allow_other "$SRC" "$MNT"
expect_refused "unknown --bogus" "--bogus" "$HEXZFS" --bogus "$SRC" "$MNT"
expect_refused "unknown -Z" "-Z" "$HEXZFS" -Z "$SRC" "$MNT"
for bad in attr_timeout=abc entry_timeout=1x negative_timeout=-1 timeout= \
	map_cache=-1 map_cache=1.5 map_cache=99999999999999999999 symlinks=sideways symlinks= \
	umask=999 umask=abc umask=-1 uid=no-such-user-hexzfs gid=no-such-group-hexzfs \
	idle_timeout=soon; do
	names=${bad%%=*}
	[ -z "${bad#*=}" ] || names+="|${bad#*=}"
	expect_refused "-o $bad" "$names" "$HEXZFS" -o "$bad" "$SRC" "$MNT"
done

# Unreadable snapshot directories, as an unprivileged user.
setup_user
user=$TEST_USER
mkdir -m 0755 "$WORK/umnt"
chown "$user" "$WORK/umnt"
for mode in 0000 0311 0644; do
	dir=$WORK/unreadable-$mode
	mkdir -m "$mode" "$dir"
	expect_refused "SNAPSHOT_DIR mode $mode, as $user" "$dir|permission denied" \
		"${AS_USER[@]}" "$HEXZFS" "$dir" "$WORK/umnt"
done

# ------------------------------------------------------- good invocations

# Mount in daemon mode: hexzfs returns 0 once the mount is live. Then a
# read must work at once, and fusermount3 -u must end the daemon, which is
# found by the snapshot directory it holds open: $SERVED, else $SRC.
daemon_mount() { # DESCRIPTION MOUNTPOINT(absolute) COMMAND...
	local desc=$1 mnt=$2 out rc=0 pids served=${SERVED:-$SRC}
	shift 2
	MOUNTS+=("$mnt")
	out=$(timeout 20 "$@" 2>&1 </dev/null) || rc=$?
	check_eq "$desc: exits 0" 0 "$rc"
	[ "$rc" -eq 0 ] || { printf '    output: %s\n' "$out"; return 1; }
	check_eq "$desc: a read right after it returns gets the snapshot" \
		"hello snapshot" "$(timeout 20 cat "$mnt/a.hxz" 2>&1)"
	pids=$(hexzfs_serving "$served")
	DAEMON_PID=0
	check_ne "$desc: a daemon serves the mount" "" "$pids"
	for DAEMON_PID in $pids; do
		DAEMONS+=("$DAEMON_PID")
	done
}

# The daemon of a background mount exits after fusermount3 -u.
daemon_unmount() { # MOUNTPOINT PID
	check_ok "fusermount3 -u $(basename "$1")" fusermount3 -u "$1"
	if wait_until "$EXIT_DEADLINE" proc_gone "$2"; then
		pass "the background daemon exits after fusermount3 -u"
	else
		fail "the background daemon exits after fusermount3 -u" "pid $2 still there"
	fi
}

for i in 1 2 3 4 5; do
	daemon_mount "hexzfs SNAPSHOT_DIR MOUNTPOINT (round $i)" "$MNT" "$HEXZFS" "$SRC" "$MNT"
	if [ "$i" -eq 1 ]; then
		mount_info "$MNT"
		check_eq "the filesystem type is fuse.hexzfs" fuse.hexzfs "$MI_FSTYPE"
		check_eq "the mount source is SNAPSHOT_DIR" "$SRC" "$MI_SOURCE"
		check_contains "the mount is read-only" ",$MI_OPTS," ",ro,"
		check_eq "notes.txt is not shown" "a.hxz" "$(ls -A "$MNT")"
	fi
	daemon_unmount "$MNT" "$DAEMON_PID"
done

daemon_mount "hexzfs -o source=DIR MOUNTPOINT" "$MNT" "$HEXZFS" -o "source=$SRC" "$MNT"
daemon_unmount "$MNT" "$DAEMON_PID"

daemon_mount "hexzfs MOUNTPOINT, run in SNAPSHOT_DIR" "$MNT" \
	env -C "$SRC" "$HEXZFS" "$MNT"
check_eq "hexzfs MOUNTPOINT serves the current directory" "a.hxz" "$(ls -A "$MNT")"
daemon_unmount "$MNT" "$DAEMON_PID"

mkdir "$WORK/mnt-rel"
daemon_mount "hexzfs src mnt-rel (relative paths)" "$WORK/mnt-rel" \
	env -C "$WORK" "$HEXZFS" src mnt-rel
daemon_unmount "$WORK/mnt-rel" "$DAEMON_PID"

daemon_mount "options after the paths (as mount.fuse3 passes them)" "$MNT" \
	"$HEXZFS" "$SRC" "$MNT" -o fsname=myfs,allow_other
mount_info "$MNT"
check_eq "-o fsname= passes through" myfs "$MI_SOURCE"
check_contains "-o allow_other passes through" ",$MI_SUPER," ",allow_other,"
check_eq "with allow_other, $user reads" "hello snapshot" \
	"$(timeout 20 "${AS_USER[@]}" cat "$MNT/a.hxz" 2>&1)"
daemon_unmount "$MNT" "$DAEMON_PID"

# Paths with spaces, commas and an equals sign (fsname escaping, mountinfo).
ODDSRC="$WORK/src, with=odd chars"
ODDMNT="$WORK/mnt with space"
mkdir "$ODDSRC" "$ODDMNT"
cp "$SRC/a.hxz" "$ODDSRC/"
SERVED=$ODDSRC daemon_mount "odd characters in both paths" "$ODDMNT" "$HEXZFS" "$ODDSRC" "$ODDMNT"
check_eq "odd characters: listing" "a.hxz" "$(ls -A "$ODDMNT")"
daemon_unmount "$ODDMNT" "$DAEMON_PID"

daemon_mount "without allow_other" "$MNT" "$HEXZFS" "$SRC" "$MNT"
pycheck_user() {
	local out rc=0
	out=$(timeout 20 "${AS_USER[@]}" "$PYTHON" "$WORK/fsops.py" "$@" 2>&1) || rc=$?
	case $out in
	ok:*) pass "${out#ok: } (as $user)" ;;
	*) fail "fsops.py $* as $user" "$out" ;;
	esac
}
pycheck_user errno EACCES stat "$MNT/a.hxz"
daemon_unmount "$MNT" "$DAEMON_PID"

# ------------------------------------------------------- -f, -s, -d

mount_fg "$SRC" "$MNT"
check_eq "-f: the process started is the one serving" "$DAEMON_PID" "$(hexzfs_serving "$SRC")"
check_eq "-f: reads work" "hello snapshot" "$(timeout 20 cat "$MNT/a.hxz")"
unmount_fg "$MNT"

mount_fg "$SRC" "$MNT" -s
check_eq "-s: reads work" "hello snapshot" "$(timeout 20 cat "$MNT/a.hxz")"
check_eq "-s: listing works" "a.hxz" "$(ls -A "$MNT")"
unmount_fg "$MNT"

mount_fg "$SRC" "$MNT" -d
check_eq "-d: reads work" "hello snapshot" "$(timeout 20 cat "$MNT/a.hxz")"
check_contains "-d: requests are traced on stderr" "$(cat "$DAEMON_LOG")" "LOOKUP"
unmount_fg "$MNT"
