#!/usr/bin/env bash
# Attributes: size, mode less write bits, owner, group, mtime and inode
# number mirror the source, the same through lookup, getattr and
# readdirplus; uid=, gid=, umask= override them; modes are enforced.
set -euo pipefail
# shellcheck source=tests/mount/lib.sh
. "$(dirname -- "$0")/lib.sh"

setup_user

mkfile() { # NAME MODE UID:GID SIZE MTIME
	head -c "$4" /dev/urandom >"$SRC/$1"
	chown "$3" "$SRC/$1"
	chmod "$2" "$SRC/$1"
	touch -d "$5" "$SRC/$1"
}
mkdir "$SRC/d750" "$SRC/d555" "$SRC/d777"
mkfile f644.hxz 0644 0:0 4097 "2001-02-03 04:05:06.123456789"
mkfile f600.hxz 0600 1234:5678 1 "2011-12-13 14:15:16.5"
mkfile f755.hxz 0755 4321:0 0 "1999-01-01 00:00:00"
mkfile f444.hxz 0444 0:100 4095 "2020-02-29 12:00:00.000000001"
mkfile f640.hxz 0640 0:100 1048579 "2024-06-30 23:59:59.999999999"
mkfile f000.hxz 0000 0:0 10 "2030-01-01 00:00:00"
mkfile f777.hxz 0777 0:0 12 "2002-02-02 02:02:02"
mkfile d750/inner.hxz 0604 42:43 777 "2005-05-05 05:05:05.5"
mkfile d555/ro.hxz 0444 0:0 3 "2006-06-06 06:06:06"
truncate -s 5G "$SRC/sparse-5g.hxz"
printf 'tail' | dd of="$SRC/sparse-5g.hxz" bs=1 seek=$((5 * 1024 * 1024 * 1024 - 4)) conv=notrunc status=none
ln -s f640.hxz "$SRC/link.hxz"
chown 42:43 "$SRC/d750"
chmod 0750 "$SRC/d750"
chmod 0555 "$SRC/d555"
chmod 0777 "$SRC/d777"
touch -d "2010-10-10 10:10:10.10" "$SRC/d750" "$SRC/d555"

FILES=(f000.hxz f444.hxz f600.hxz f640.hxz f644.hxz f755.hxz f777.hxz link.hxz
	sparse-5g.hxz d750/inner.hxz d555/ro.hxz)
DIRS=(d555 d750 d777)

# What the mount should report for source entry P: "size mode uid gid
# mtime ino type". UID, GID, UMASK override when not empty.
expected_attrs() { # P [UID GID UMASK]
	local p=$1 uid=${2:-} gid=${3:-} umask=${4:-} size mode suid sgid mtime ino type
	IFS='|' read -r size mode suid sgid mtime ino type < <(stat -L -c '%s|%a|%u|%g|%y|%i|%F' -- "$SRC/$p")
	mode=$((8#$mode))
	if [ -n "$umask" ]; then
		if [ "$type" == directory ]; then
			mode=$((0777 & ~8#$umask))
		else
			mode=$((0666 & ~8#$umask))
		fi
	fi
	printf '%s %o %s %s %s %s %s\n' "$size" $((mode & ~0222)) "${uid:-$suid}" "${gid:-$sgid}" \
		"$mtime" "$ino" "$type"
}

mounted_attrs() { # P
	stat -c '%s %a %u %g %y %i %F' -- "$MNT/$1"
}

check_all_attrs() { # LABEL [UID GID UMASK]
	local label=$1 p
	shift
	for p in "${FILES[@]}" "${DIRS[@]}" .; do
		check_eq "[$label] attributes of $p (size mode uid gid mtime ino type)" \
			"$(expected_attrs "$p" "$@")" "$(mounted_attrs "$p")"
	done
}

# ls -ln as the first request after mounting: names and attributes come
# from readdirplus. Source listing with links followed, write bits off.
ls_expected() { # DIR
	LC_ALL=C ls -lnAL --time-style=+%s.%N -- "$SRC/$1" |
		awk 'NR > 1 { gsub("w", "-", $1); $2 = ""; print }'
}
ls_mounted() { # DIR
	LC_ALL=C ls -lnA --time-style=+%s.%N -- "$MNT/$1" | awk 'NR > 1 { $2 = ""; print }'
}

# --------------------------------------------------------------- defaults

mount_fg "$SRC" "$MNT"
check_eq "[readdirplus] ls -ln of the root, first thing after mounting" \
	"$(ls_expected .)" "$(ls_mounted .)"
check_eq "[readdirplus] ls -ln of d750/" "$(ls_expected d750)" "$(ls_mounted d750)"
check_all_attrs defaults
pycheck sizes "$MNT" "$SRC"
check_eq "statfs reports a read-only filesystem" 1 \
	"$("$PYTHON" -c 'import os, sys; print(int(bool(os.statvfs(sys.argv[1]).f_flag & os.ST_RDONLY)))' "$MNT")"
declare -A ino_before
for p in "${FILES[@]}" "${DIRS[@]}"; do
	ino_before[$p]=$(stat -c %i "$MNT/$p")
done
unmount_fg "$MNT"

# No attribute caching: every stat is a LOOKUP, every fstat a GETATTR.
mount_fg "$SRC" "$MNT" -o attr_timeout=0,entry_timeout=0
check_all_attrs "no cache"
pycheck sizes "$MNT" "$SRC"
pycheck sizes "$MNT/d750" "$SRC/d750"
for p in "${FILES[@]}" "${DIRS[@]}"; do
	check_eq "inode of $p is stable across remounts" "${ino_before[$p]}" "$(stat -c %i "$MNT/$p")"
done
unmount_fg "$MNT"

# ------------------------------------------------------- uid, gid, umask

mount_fg "$SRC" "$MNT" -o uid=1234,gid=5678,umask=027
check_all_attrs "uid=1234,gid=5678,umask=027" 1234 5678 027
unmount_fg "$MNT"

mount_fg "$SRC" "$MNT" -o uid=nobody,gid=nogroup,umask=0
check_all_attrs "uid=nobody,gid=nogroup,umask=0" "$(id -u nobody)" "$(getent group nogroup | cut -d: -f3)" 0
unmount_fg "$MNT"

mount_fg "$SRC" "$MNT" -o umask=0777
check_all_attrs "umask=0777" "" "" 0777
unmount_fg "$MNT"

# ------------------------------------------ modes are enforced (as a user)

user_reads() { # PATH: "ok" or the errno name of a read by the test user
	"${AS_USER[@]}" "$PYTHON" -c '
import errno, os, sys
try:
    os.close(os.open(sys.argv[1], os.O_RDONLY))
    print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])' "$1"
}

mount_fg "$SRC" "$MNT" -o allow_other
check_eq "$TEST_USER reads f644.hxz (mode 0644)" ok "$(user_reads "$MNT/f644.hxz")"
check_eq "$TEST_USER reads f444.hxz (mode 0444)" ok "$(user_reads "$MNT/f444.hxz")"
check_eq "$TEST_USER cannot read f600.hxz (mode 0600, owner 1234)" EACCES "$(user_reads "$MNT/f600.hxz")"
check_eq "$TEST_USER cannot read f000.hxz (mode 0000)" EACCES "$(user_reads "$MNT/f000.hxz")"
check_eq "$TEST_USER cannot enter d750/ (mode 0750, owner 42)" EACCES \
	"$(user_reads "$MNT/d750/inner.hxz")"
unmount_fg "$MNT"

mount_fg "$SRC" "$MNT" -o allow_other,umask=0
check_eq "umask=0: $TEST_USER reads f600.hxz" ok "$(user_reads "$MNT/f600.hxz")"
check_eq "umask=0: $TEST_USER reads f000.hxz" ok "$(user_reads "$MNT/f000.hxz")"
check_eq "umask=0: $TEST_USER reads d750/inner.hxz" ok "$(user_reads "$MNT/d750/inner.hxz")"
unmount_fg "$MNT"

mount_fg "$SRC" "$MNT" -o allow_other,uid="$TEST_USER",umask=077
check_eq "uid=$TEST_USER,umask=077: $TEST_USER reads f000.hxz" ok "$(user_reads "$MNT/f000.hxz")"
unmount_fg "$MNT"
