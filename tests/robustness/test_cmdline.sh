#!/usr/bin/env bash
# The command line, fed odd values: paths close to and over PATH_MAX;
# option values that are not numbers or out of range (refused, named in
# the message, nothing mounted, no crash) and the extreme values that are
# valid (mounted and served); commas, backslashes, newlines, quotes and
# option-like text in paths (the mount source in mountinfo is exactly the
# path, and no option is injected); a SNAPSHOT_DIR that starts with '-'.
set -euo pipefail
# shellcheck source=tests/robustness/robust.sh
. "$(dirname -- "$0")/robust.sh"

"$HXZ" gen "$SRC/a.hxz" 5
INPUTS=0

# Refused: non-zero status (not a crash, not a hang), a message line naming
# every NEEDLE (|-separated), nothing mounted, no daemon left.
expect_refused() { # DESCRIPTION NEEDLES COMMAND...
	local desc=$1 out rc=0 needle missing=()
	local -a needles
	IFS='|' read -r -a needles <<<"$2"
	shift 2
	INPUTS=$((INPUTS + 1))
	out=$(timeout 20 "$@" 2>&1 </dev/null) || rc=$?
	for needle in "${needles[@]}"; do
		[[ ${out,,} == *"${needle,,}"* ]] || missing+=("$needle")
	done
	if [ "$rc" -ne 0 ] && [ "$rc" -lt 124 ] && [ "${#missing[@]}" -eq 0 ] &&
		[ -z "$(mounts_in_work)" ] && [ -z "$(daemons_in_work)" ]; then
		pass "$desc: refused (status $rc), the message names it, nothing left"
	else
		fail "$desc: refused, the message names it, nothing left" \
			"status $rc (124: hung; over 128: killed by a signal)" \
			"not named: ${missing[*]}" "output: ${out:0:300}" \
			"mounted: $(mounts_in_work)" "daemons: $(daemons_in_work)"
		local mnt pid
		for mnt in $(mounts_in_work); do fusermount3 -u "$mnt" 2>/dev/null || true; done
		for pid in $(daemons_in_work); do DAEMONS+=("$pid"); done
	fi
}

# Accepted: mounts, serves a.hxz, unmounts with status 0.
expect_served() { # DESCRIPTION SNAPSHOT_DIR MOUNTPOINT [OPTION...]
	local desc=$1 src=$2 mnt=$3
	shift 3
	INPUTS=$((INPUTS + 1))
	mount_fg "$src" "$mnt" "$@"
	hxzcheck "$desc: mounted, a.hxz reads" check "$mnt/a.hxz" 5
	unmount_fg "$mnt"
}

# ----------------------------------------------------------- long paths

seg=$(printf 'p%.0s' $(seq 200))
LONG=$WORK/long
for _ in $(seq 18); do LONG=$LONG/$seg; done
mkdir -p "$LONG/src" "$LONG/mnt"
cp "$SRC/a.hxz" "$LONG/src/"
echo "# long paths: ${#LONG} bytes + /src, /mnt"
expect_served "SNAPSHOT_DIR of ${#LONG}+4 bytes" "$LONG/src" "$MNT"
mount_fg "$LONG/src" "$LONG/mnt"
mount_info "$LONG/mnt"
check_eq "MOUNTPOINT and SNAPSHOT_DIR of ${#LONG}+4 bytes: mountinfo shows the source" \
	"$LONG/src" "$MI_SOURCE"
hxzcheck "MOUNTPOINT of ${#LONG}+4 bytes: a.hxz reads" check "$LONG/mnt/a.hxz" 5
unmount_fg "$LONG/mnt"
TOOLONG=$LONG/$seg$seg
expect_refused "SNAPSHOT_DIR of ${#TOOLONG} bytes (over PATH_MAX)" "too long" \
	"$HEXZFS" "$TOOLONG" "$MNT"
expect_refused "MOUNTPOINT of ${#TOOLONG} bytes (over PATH_MAX)" "too long" \
	"$HEXZFS" "$SRC" "$TOOLONG"
expect_refused "-o source= of ${#TOOLONG} bytes" "too long" \
	"$HEXZFS" -o "source=$TOOLONG" "$MNT"

# ------------------------------------------------------ bad option values

HUGE=$(printf '1%.0s' $(seq 100000))
for bad in entry_timeout=1e10 entry_timeout=1000000000.5 entry_timeout=nan entry_timeout=inf \
	entry_timeout=-0 "entry_timeout= 1" entry_timeout=1e entry_timeout=. entry_timeout=0x10 \
	entry_timeout=0x1p3 attr_timeout=1e-400 attr_timeout=-1 negative_timeout=abc \
	"timeout=$HUGE" map_cache=1000001 map_cache=-0 map_cache=+1 map_cache=0x10 map_cache=1e3 \
	map_cache=99999999999999999999 idle_timeout=100000001 idle_timeout=-1 idle_timeout=1.5 \
	readahead_kb=1048577 readahead_kb=-1 umask=0778 umask=8 umask=01000 umask=-0 \
	uid=4294967295 uid=4294967296 uid=-1 uid= gid=99999999999 gid=-1 symlinks=INSIDE \
	symlinks=inside,symlinks=bogus source= max_threads=abc; do
	name=${bad%%=*}
	value=${bad#*=}
	value=${value%%,*}
	named=$name
	if [ "$bad" == symlinks=inside,symlinks=bogus ]; then
		named+="|bogus"
	elif [ -n "$value" ] && [ ${#value} -le 100 ]; then
		named+="|$value"
	fi
	# Not -f: a value wrongly accepted mounts, returns 0 and is cleaned up.
	expect_refused "-o ${bad:0:60}" "$named" "$HEXZFS" -o "$bad" "$SRC" "$MNT"
done
expect_refused "-o fsname= (empty)" "mount" "$HEXZFS" -o fsname= "$SRC" "$MNT"
expect_refused "-dash as SNAPSHOT_DIR without --" "" env -C "$WORK" "$HEXZFS" -dash mnt

# ---------------------------------------------------- extreme valid values

for good in entry_timeout=1000000000 attr_timeout=0 negative_timeout=0.001 timeout=1000000000 \
	map_cache=0 map_cache=1000000 map_cache=007 idle_timeout=100000000 readahead_kb=0 \
	readahead_kb=1048576 umask=0 umask=0777 uid=0 gid=0 max_threads=1 max_idle_threads=0 \
	"$(printf 'map_cache=1,%.0s' $(seq 2000))map_cache=2"; do
	expect_served "-o ${good:0:60}" "$SRC" "$MNT" -o "$good"
done

# ----------------------------------------------------------- odd paths

# The mount source is SNAPSHOT_DIR exactly (mountinfo escapes space, tab,
# newline and backslash); commas and "=" stay text, never options.
for name in "a,b,c" "x,allow_other" "y,fsname=fake,subtype=evil,allow_other" 'back\slash,' \
	$'new\nline' $'tab\t,' "sp ace" "q'\"\`" "eq=1" "-dash" "ünï,cödé"; do
	dir=$WORK/$name
	mkdir -p "$dir"
	cp "$SRC/a.hxz" "$dir/"
	INPUTS=$((INPUTS + 1))
	label=$(printf '%q' "$name")
	mount_fg "$dir" "$MNT"
	mount_info "$MNT"
	check_eq "[$label] mountinfo source is the path" "$(mountinfo_escape "$dir")" "$MI_SOURCE"
	check_eq "[$label] filesystem type fuse.hexzfs" fuse.hexzfs "$MI_FSTYPE"
	check_eq "[$label] no option injected into the superblock" "ro,user_id=0,group_id=0,default_permissions" \
		"$MI_SUPER"
	hxzcheck "[$label] a.hxz reads" check "$MNT/a.hxz" 5
	unmount_fg "$MNT"
done
ODDMNT="$WORK/m,allow_other,fsname=x"
mkdir "$ODDMNT"
mount_fg "$SRC" "$ODDMNT"
mount_info "$ODDMNT"
check_eq "[mountpoint with commas] mountinfo source is SNAPSHOT_DIR" "$SRC" "$MI_SOURCE"
check_eq "[mountpoint with commas] no option injected" "ro,user_id=0,group_id=0,default_permissions" \
	"$MI_SUPER"
unmount_fg "$ODDMNT"

# A SNAPSHOT_DIR starting with '-', after --.
NDAEMON=$((NDAEMON + 1))
DAEMON_LOG=$WORK/daemon.$NDAEMON.log
(cd "$WORK" && exec env --default-signal=INT,QUIT "$HEXZFS" -f -- -dash mnt 2>"$DAEMON_LOG") &
DAEMON_PID=$!
DAEMONS+=("$DAEMON_PID")
MOUNTS+=("$MNT")
wait_mounted "$MNT" "$DAEMON_PID" "$DAEMON_LOG"
mount_info "$MNT"
check_eq "[-- -dash] the mount source is $WORK/-dash" "$WORK/-dash" "$MI_SOURCE"
hxzcheck "[-- -dash] a.hxz reads" check "$MNT/a.hxz" 5
unmount_fg "$MNT"

echo "# $INPUTS command lines tried"
check_eq "nothing left mounted" "" "$(mounts_in_work)"
check_eq "no daemon left" "" "$(daemons_in_work)"
check_sanitizer_logs
