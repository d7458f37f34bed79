#!/usr/bin/env bash
# Installed as `hexzfs`, the driver mounts through mount(8) and
# mount.fuse3: `mount -t fuse.hexzfs SNAPSHOT_DIR MOUNTPOINT -o OPTIONS`
# and fstab lines (`mount -T FSTAB`, `mount --fstab FSTAB`).
#
# mount(8) clears PATH before it runs mount.fuse3, whose /bin/sh then finds
# `hexzfs` on the shell's default path only. So the test runs in a private
# mount namespace in which a directory holding a symbolic link `hexzfs` to
# the built binary is bound over /usr/local/sbin, the first directory of
# that default path; nothing outside the namespace sees it.
set -euo pipefail
if [ "${HEXZFS_MOUNT_NS:-}" != 1 ]; then
	exec unshare --mount --propagation private env HEXZFS_MOUNT_NS=1 bash "$0" "$@"
fi
# shellcheck source=tests/mount/lib.sh
. "$(dirname -- "$0")/lib.sh"

setup_user
printf 'hello snapshot\n' >"$SRC/a.hxz"
ln -s a.hxz "$SRC/link.hxz"
mkdir "$SRC/sub"
printf 'deep\n' >"$SRC/sub/b.hxz"

mkdir "$WORK/bin"
ln -s "$HEXZFS" "$WORK/bin/hexzfs"
mkdir -p /usr/local/sbin
mount --bind "$WORK/bin" /usr/local/sbin
check_eq "hexzfs is found on the default path of /bin/sh" /usr/local/sbin/hexzfs \
	"$(env -i /bin/sh -c 'command -v hexzfs')"

none_serving() {
	[ -z "$(hexzfs_serving "$SRC")" ]
}

# After a mount through mount(8): served, read-only, readable by others
# (allow_other); then umount ends the daemon.
check_mounted_by_mount() { # LABEL [EXPECTED LISTING]
	local label=$1 listing=${2:-"a.hxz link.hxz sub"} pid
	MOUNTS+=("$MNT")
	if ! is_mounted "$MNT"; then
		fail "[$label] mounted"
		return 0
	fi
	pass "[$label] mounted"
	mount_info "$MNT"
	check_eq "[$label] filesystem type" fuse.hexzfs "$MI_FSTYPE"
	check_contains "[$label] read-only" ",$MI_OPTS," ",ro,"
	check_contains "[$label] allow_other" ",$MI_SUPER," ",allow_other,"
	check_eq "[$label] listing" "$listing" "$(cd "$MNT" && echo *)"
	check_eq "[$label] a read right after mount returns" "hello snapshot" "$(timeout 20 cat "$MNT/a.hxz")"
	check_eq "[$label] $TEST_USER reads (allow_other)" "deep" \
		"$(timeout 20 "${AS_USER[@]}" cat "$MNT/sub/b.hxz" 2>&1)"
	pid=$(hexzfs_serving "$SRC")
	check_ne "[$label] a hexzfs daemon serves it" "" "$pid"
	for p in $pid; do
		DAEMONS+=("$p")
	done
	check_ok "[$label] umount" umount "$MNT"
	if wait_until "$EXIT_DEADLINE" none_serving; then
		pass "[$label] the daemon exits after umount"
	else
		fail "[$label] the daemon exits after umount" "still running: $(hexzfs_serving "$SRC")"
	fi
	check_eq "[$label] nothing left mounted" "" "$(mounts_in_work)"
}

# --------------------------------------------------------------- mount -t

check_ok "mount -t fuse.hexzfs SNAPSHOT_DIR MOUNTPOINT -o ro,allow_other" \
	timeout 20 mount -t fuse.hexzfs "$SRC" "$MNT" -o ro,allow_other
check_mounted_by_mount "mount -t"

check_ok "mount -t fuse.hexzfs with hexzfs options (symlinks=none,map_cache=4,umask=022)" \
	timeout 20 mount -t fuse.hexzfs "$SRC" "$MNT" -o ro,allow_other,symlinks=none,map_cache=4,umask=022
check_mounted_by_mount "mount -t, symlinks=none" "a.hxz sub"

# ------------------------------------------------------------------ fstab

cat >"$WORK/fstab" <<EOF
# A test fstab: hexzfs mounts.
$SRC $MNT fuse.hexzfs ro,allow_other 0 0
$SRC $WORK/mnt2 fuse.hexzfs ro,allow_other,symlinks=none,noauto 0 0
EOF
mkdir "$WORK/mnt2"

check_ok "mount -T FSTAB MOUNTPOINT" timeout 20 mount -T "$WORK/fstab" "$MNT"
check_mounted_by_mount "mount -T"

check_ok "mount --fstab FSTAB MOUNTPOINT" timeout 20 mount --fstab "$WORK/fstab" "$MNT"
check_mounted_by_mount "mount --fstab"

check_ok "mount -T FSTAB MOUNTPOINT (an fstab line with hexzfs options)" \
	timeout 20 mount -T "$WORK/fstab" "$WORK/mnt2"
MNT_SAVED=$MNT
MNT=$WORK/mnt2
check_mounted_by_mount "mount -T, symlinks=none" "a.hxz sub"
MNT=$MNT_SAVED

# ---------------------------------------------------- refused through mount

rc=0
out=$(timeout 20 mount -t fuse.hexzfs "$WORK/absent" "$MNT" -o ro 2>&1) || rc=$?
check_ne "mount -t fuse.hexzfs of a missing SNAPSHOT_DIR fails" 0 "$rc"
check_contains "mount -t fuse.hexzfs of a missing SNAPSHOT_DIR names it" "$out" "$WORK/absent"
rc=0
out=$(timeout 20 mount -t fuse.hexzfs "$SRC" "$MNT" -o ro,bogus 2>&1) || rc=$?
check_ne "mount -t fuse.hexzfs -o bogus fails" 0 "$rc"
check_contains "mount -t fuse.hexzfs -o bogus names it" "$out" "bogus"
check_eq "after refused mounts, nothing is mounted" "" "$(mounts_in_work)"
check_eq "after refused mounts, no daemon is left" "" "$(daemons_in_work)"
