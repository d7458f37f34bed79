#!/usr/bin/env bash
# Every modifying operation fails with EROFS, from the system calls and
# from the usual tools, on a plain mount and on one asked to be rw; the
# source tree is never modified.
set -euo pipefail
# shellcheck source=tests/mount/lib.sh
. "$(dirname -- "$0")/lib.sh"

mkdir "$SRC/sub" "$SRC/empty"
head -c 100000 /dev/urandom >"$SRC/a.hxz"
head -c 5000 /dev/urandom >"$SRC/b.hxz"
head -c 777 /dev/urandom >"$SRC/sub/c.hxz"
ln -s b.hxz "$SRC/link.hxz"
setfattr -n user.keep -v 1 "$SRC/b.hxz" 2>/dev/null || true
touch -d "2001-01-01 01:01:01.1" "$SRC/a.hxz" "$SRC/b.hxz" "$SRC/sub/c.hxz" "$SRC/sub" \
	"$SRC/empty" "$SRC"

# Everything about the source that a write could change.
source_state() {
	(
		cd "$SRC"
		LC_ALL=C find . -printf '%p %y %s %m %U %G %T@ %C@ %l\n' | LC_ALL=C sort
		find . -type f -exec sha256sum {} + | LC_ALL=C sort
		getfattr -R -d -m - . 2>/dev/null
	)
}
BEFORE=$(source_state)

# A tool that must fail with "Read-only file system".
expect_erofs() { # DESCRIPTION COMMAND...
	local desc=$1 out rc=0
	shift
	out=$(timeout 20 "$@" 2>&1 </dev/null) || rc=$?
	if [ "$rc" -ne 0 ] && [[ $out == *"Read-only file system"* ]]; then
		pass "$desc fails with EROFS"
	else
		fail "$desc fails with EROFS" "command: $*" "status $rc, output: $out"
	fi
}

# shellcheck disable=SC2016 # $1 is for the inner shell
tool_checks() { # LABEL
	local l=$1
	expect_erofs "[$l] touch (existing)" touch "$MNT/a.hxz"
	expect_erofs "[$l] touch -d (existing)" touch -d 2000-01-01 "$MNT/sub/c.hxz"
	expect_erofs "[$l] touch (new)" touch "$MNT/new.hxz"
	expect_erofs "[$l] shell redirection >" bash -c 'echo x >"$1"' _ "$MNT/a.hxz"
	expect_erofs "[$l] shell redirection >>" bash -c 'echo x >>"$1"' _ "$MNT/a.hxz"
	expect_erofs "[$l] shell redirection > (new)" bash -c 'echo x >"$1"' _ "$MNT/new.hxz"
	expect_erofs "[$l] cp into" cp "$SRC/b.hxz" "$MNT/copy.hxz"
	expect_erofs "[$l] cp over" cp "$SRC/b.hxz" "$MNT/a.hxz"
	expect_erofs "[$l] rm" rm -f "$MNT/a.hxz"
	expect_erofs "[$l] rm (link entry)" rm -f "$MNT/link.hxz"
	expect_erofs "[$l] rm -r" rm -rf "$MNT/sub"
	expect_erofs "[$l] mv" mv "$MNT/a.hxz" "$MNT/renamed.hxz"
	expect_erofs "[$l] mv into sub/" mv "$MNT/a.hxz" "$MNT/sub/"
	expect_erofs "[$l] mkdir" mkdir "$MNT/newdir"
	expect_erofs "[$l] rmdir" rmdir "$MNT/empty"
	expect_erofs "[$l] ln" ln "$MNT/a.hxz" "$MNT/hard.hxz"
	expect_erofs "[$l] ln -s" ln -s a.hxz "$MNT/soft.hxz"
	expect_erofs "[$l] mknod" mknod "$MNT/node.hxz" c 1 3
	expect_erofs "[$l] mkfifo" mkfifo "$MNT/fifo.hxz"
	expect_erofs "[$l] truncate -s 0" truncate -s 0 "$MNT/a.hxz"
	expect_erofs "[$l] truncate -s 1G" truncate -s 1G "$MNT/b.hxz"
	expect_erofs "[$l] chmod" chmod 0644 "$MNT/a.hxz"
	expect_erofs "[$l] chmod (directory)" chmod 0700 "$MNT/sub"
	expect_erofs "[$l] chown" chown 1:1 "$MNT/a.hxz"
	expect_erofs "[$l] chgrp (root directory)" chgrp 1 "$MNT"
	expect_erofs "[$l] setfattr" setfattr -n user.test -v 1 "$MNT/a.hxz"
	expect_erofs "[$l] setfattr (directory)" setfattr -n user.test -v 1 "$MNT/sub"
	expect_erofs "[$l] setfattr -x" setfattr -x user.keep "$MNT/b.hxz"
	expect_erofs "[$l] dd conv=notrunc" dd if=/dev/zero of="$MNT/a.hxz" bs=1 count=1 conv=notrunc status=none
	expect_erofs "[$l] fallocate" fallocate -l 1M "$MNT/a.hxz"
}

# ------------------------------------------------------- a plain mount

mount_fg "$SRC" "$MNT"
pycheck readonly "$MNT" a.hxz sub empty ro
pycheck readonly "$MNT" link.hxz sub empty "ro, through a link"
tool_checks ro
check_cmp "[ro] a.hxz still reads whole" "$SRC/a.hxz" "$MNT/a.hxz"
unmount_fg "$MNT"
check_eq "[ro] the source tree is unchanged" "$BEFORE" "$(source_state)"

# -------------------------------------- the driver's own refusals (rw)

# Asked for rw, the mount may come up rw: then the kernel lets every
# modifying request through to the daemon, which must refuse it itself.
mount_fg "$SRC" "$MNT" -o rw
mount_info "$MNT"
echo "# mounted with -o rw: options $MI_OPTS"
pycheck readonly "$MNT" a.hxz sub empty "-o rw"
pycheck readonly "$MNT" link.hxz sub empty "-o rw, through a link"
tool_checks "-o rw"
check_cmp "[-o rw] a.hxz still reads whole" "$SRC/a.hxz" "$MNT/a.hxz"
unmount_fg "$MNT"
check_eq "[-o rw] the source tree is unchanged" "$BEFORE" "$(source_state)"

mount_fg "$SRC" "$MNT"
if mount -o remount,rw "$MNT" 2>/dev/null; then
	mount_info "$MNT"
	echo "# remounted rw: options $MI_OPTS"
fi
pycheck readonly "$MNT" a.hxz sub empty "after mount -o remount,rw"
tool_checks "remount,rw"
unmount_fg "$MNT"
check_eq "[remount,rw] the source tree is unchanged" "$BEFORE" "$(source_state)"
