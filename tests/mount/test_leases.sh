#!/usr/bin/env bash
# The raw view's read leases (README: "How reads are kept from zeros"). A
# snapshot of 1 MiB or more mapped while no one has it open for writing is
# leased: its reads make no system call of their own
# (no size check), a writer that opens it or truncates it is let through
# at once (not after the kernel's lease-break-time), and from then on its
# reads check the size again: a truncated version fails with EIO. A
# snapshot that was open for writing when mapped is never leased and is
# checked on every read.
set -euo pipefail
# shellcheck source=tests/mount/lib.sh
. "$(dirname -- "$0")/lib.sh"

command -v strace >/dev/null || die "strace is missing (scripts/deps.sh installs it)"

READS=256 # O_DIRECT 4 KiB reads per measurement: each one a READ request

rand() { # NAME SIZE
	head -c "$2" /dev/urandom >"$SRC/$1"
}
rand leased.hxz $((4 * 1024 * 1024))
rand writer.hxz $((4 * 1024 * 1024))
rand trunc.hxz $((4 * 1024 * 1024))
rand busy.hxz $((4 * 1024 * 1024))
rand small.hxz $((1024 * 1024 - 1))

# The daemon's lease lines in /proc/locks for source file NAME (0 or more).
leases_on() { # NAME
	local ino
	ino=$(stat -c %i "$SRC/$1")
	awk -v pid="$DAEMON_PID" -v ino=":$ino" \
		'$2 == "LEASE" && $5 == pid && substr($6, length($6) - length(ino) + 1) == ino' \
		/proc/locks | wc -l
}

# Reads READS distinct pages of MNT/NAME with O_DIRECT (each one reaches the
# daemon) under strace; sets CALLS[syscall]=count for the daemon meanwhile.
declare -A CALLS
count_calls() { # NAME
	local out=$WORK/strace.out err=$WORK/strace.err spid line
	rm -f "$out" "$err"
	strace -f -c -p "$DAEMON_PID" -o "$out" 2>"$err" &
	spid=$!
	wait_until 10 grep -q attached "$err" || die "strace did not attach: $(cat "$err")"
	dd if="$MNT/$1" of=/dev/null bs=4096 count="$READS" iflag=direct status=none
	kill -INT "$spid"
	wait "$spid" || true
	CALLS=()
	while read -r line; do
		# "% time seconds usecs/call calls [errors] syscall"
		read -r -a f <<<"$line"
		[[ ${#f[@]} -ge 5 && ${f[0]} =~ ^[0-9.]+$ ]] || continue
		CALLS[${f[-1]}]=${f[3]}
	done <"$out"
}
size_checks() { echo $((${CALLS[statx]:-0} + ${CALLS[newfstatat]:-0})); }

mount_fg "$SRC" "$MNT"

# ------------------------------------------------------ a leased snapshot

cat "$MNT/leased.hxz" >/dev/null
check_eq "the daemon holds a read lease on a snapshot it mapped" 1 "$(leases_on leased.hxz)"
count_calls leased.hxz
check_le "[leased] every O_DIRECT read reached the daemon ($READS replies)" "$READS" \
	"${CALLS[writev]:-0}"
check_le "[leased] reads make no size check (statx + fstatat over $READS reads, open and attributes included: at most 4)" \
	"$(size_checks)" 4
check_cmp "[leased] reads are correct" "$SRC/leased.hxz" "$MNT/leased.hxz"
cat "$MNT/small.hxz" >/dev/null
check_eq "a snapshot under 1 MiB is not leased (a lease costs more than its checks)" 0 \
	"$(leases_on small.hxz)"

# ------------------------------------- a writer opens it: the lease breaks

# A writer that opens the snapshot for writing when told to, reports how
# long its open took, and holds it open until told again. The lease break
# must be answered in well under a second, not after the kernel's
# lease-break-time (45 s by default).
coproc WRITER {
	python3 -c '
import os, sys, time
sys.stdin.readline()
t = time.monotonic()
fd = os.open(sys.argv[1], os.O_RDWR)
print(int((time.monotonic() - t) * 1000), flush=True)
sys.stdin.readline()
' "$SRC/writer.hxz"
}
# shellcheck disable=SC2153 # set by coproc
writer_pid=$WRITER_PID
cat "$MNT/writer.hxz" >/dev/null # the mapping, and its lease, come first
check_eq "[writer] the snapshot is leased before the writer opens it" 1 "$(leases_on writer.hxz)"
exec 3<"$MNT/writer.hxz"
echo go >&"${WRITER[1]}"
read -r -t 30 open_ms <&"${WRITER[0]}" || open_ms=30000
check_le "[writer] the writer's open waited for the lease under 1000 ms ($open_ms ms)" "$open_ms" 999
check_eq "[writer] the lease is gone" 0 "$(leases_on writer.hxz)"
count_calls writer.hxz
check_le "[writer] once the lease broke, every read checks the size twice" $((2 * READS)) \
	"$(size_checks)"
check_cmp "[writer] reads are still correct" "$SRC/writer.hxz" "$MNT/writer.hxz"
exec 3<&-
echo stop >&"${WRITER[1]}"
wait "$writer_pid" || true

# ---------------------------------- truncated: let through at once, then EIO

# Open and read through the mount, truncate the source (timed), then read
# the held handle past the new end: "MS ERRNO".
truncated=$(python3 -c '
import errno, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
os.pread(fd, 4096, 0)
ino = ":%d" % os.stat(sys.argv[2]).st_ino
with open("/proc/locks") as f:
    leased = sum(1 for l in f if l.split()[1] == "LEASE" and l.split()[4] == sys.argv[3]
                 and l.split()[5].endswith(ino))
t = time.monotonic()
os.truncate(sys.argv[2], 1 << 20)
ms = int((time.monotonic() - t) * 1000)
try:
    os.pread(fd, 4096, 3 << 20)
    err = "OK"
except OSError as e:
    err = errno.errorcode[e.errno]
print(leased, ms, err)
' "$MNT/trunc.hxz" "$SRC/trunc.hxz" "$DAEMON_PID")
read -r t_leased t_ms t_err <<<"$truncated"
check_eq "[truncate] the snapshot is leased while a handle reads it" 1 "$t_leased"
check_le "[truncate] truncate(2) of a leased snapshot waits under 1000 ms ($t_ms ms)" "$t_ms" 999
check_eq "[truncate] a held handle then reads past the new end with EIO" EIO "$t_err"

# ------------------------------------- open for writing when mapped: checked

coproc BUSY { exec 4<>"$SRC/busy.hxz" && echo open && read -r _; }
# shellcheck disable=SC2153 # set by coproc
busy_pid=$BUSY_PID
read -r -t 10 _ <&"${BUSY[0]}"
count_calls busy.hxz
check_eq "[busy] a snapshot open for writing when mapped is not leased" 0 "$(leases_on busy.hxz)"
check_le "[busy] its reads check the size twice each" $((2 * READS)) "$(size_checks)"
echo stop >&"${BUSY[1]}"
wait "$busy_pid" || true

# The counters: the writer's break and the truncation's.
before=$(grep -c 'stats:' "$DAEMON_LOG" || true)
kill -USR1 "$DAEMON_PID"
wait_until 5 test "$(grep -c 'stats:' "$DAEMON_LOG")" -gt "$before" || true
check_contains "SIGUSR1 counts the two leases let go of" \
	"$(grep 'stats:' "$DAEMON_LOG" | tail -n 1)" "lease_breaks=2"
unmount_fg "$MNT"
