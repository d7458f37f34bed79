#!/usr/bin/env bash
# Security: default_permissions is on, so with allow_other a user gets
# through the mount exactly the access the source gives them (compared
# operation by operation, as an unprivileged user), the uid=/umask=
# overrides being what is checked when given; and only files under
# SNAPSHOT_DIR are served, even while links and directories in it are
# swapped atomically to point outside, again and again, under readers.
set -euo pipefail
# shellcheck source=tests/robustness/robust.sh
. "$(dirname -- "$0")/robust.sh"

setup_user
user=$TEST_USER
echo "# unprivileged user: $user"

mk() { # PATH MODE [OWNER]
	printf 'content of %s\n' "${1#"$SRC"/}" >"$1"
	chmod "$2" "$1"
	[ -z "${3:-}" ] || chown "$3" "$1"
}
mkdir -m 0700 "$SRC/private"
mkdir -m 0644 "$SRC/noexec"
mkdir -m 0711 "$SRC/listonly"
mkdir -m 0755 "$SRC/open"
mk "$SRC/public.hxz" 0644
mk "$SRC/secret.hxz" 0600
mk "$SRC/group.hxz" 0640
mk "$SRC/userown.hxz" 0600 "$user"
mk "$SRC/nobody-read.hxz" 0000
mk "$SRC/private/inside.hxz" 0644
mk "$SRC/noexec/f.hxz" 0644
mk "$SRC/listonly/known.hxz" 0644
mk "$SRC/open/g.hxz" 0644
CASES=(
	"read public.hxz" "read secret.hxz" "stat secret.hxz" "read group.hxz" "read userown.hxz"
	"read nobody-read.hxz" "listdir private" "stat private/inside.hxz" "read private/inside.hxz"
	"listdir noexec" "read noexec/f.hxz" "listdir listonly" "read listonly/known.hxz"
	"listdir open" "read open/g.hxz" "listdir ."
)

# The same operation as $user on the source and through the mount: same
# outcome. ROOT_MODE: also check root sees what the source gives root.
same_access() { # LABEL MOUNTPOINT
	local label=$1 mnt=$2 c op rel want seen
	for c in "${CASES[@]}"; do
		op=${c%% *}
		rel=${c#* }
		want=$(timeout 20 "${AS_USER[@]}" "$PYTHON" -c '
import os, sys
ops = {"read": lambda p: open(p, "rb").read(), "stat": os.stat, "listdir": os.listdir}
try:
    ops[sys.argv[1]](sys.argv[2]); print("OK")
except OSError as e:
    import errno; print(errno.errorcode[e.errno])' "$op" "$SRC/$rel" 2>&1)
		seen=$(timeout 20 "${AS_USER[@]}" "$PYTHON" -c '
import os, sys
ops = {"read": lambda p: open(p, "rb").read(), "stat": os.stat, "listdir": os.listdir}
try:
    ops[sys.argv[1]](sys.argv[2]); print("OK")
except OSError as e:
    import errno; print(errno.errorcode[e.errno])' "$op" "$mnt/$rel" 2>&1)
		check_eq "[$label] as $user, $op $rel: as on the source ($want)" "$want" "$seen"
	done
}

# ------------------------------------------------- allow_other, defaults

mount_fg "$SRC" "$MNT" -o allow_other
same_access "allow_other" "$MNT"
check_eq "[allow_other] as $user, public.hxz has its content" "content of public.hxz" \
	"$(timeout 20 "${AS_USER[@]}" cat "$MNT/public.hxz" 2>&1)"
check_eq "[allow_other] root reads secret.hxz" "content of secret.hxz" \
	"$(timeout 20 cat "$MNT/secret.hxz" 2>&1)"
# A permission taken away while mounted holds once the attributes expire.
chmod 0600 "$SRC/public.hxz"
sleep 1.1
rcheck --as-user errno EACCES read "$MNT/public.hxz" "[allow_other] public.hxz after chmod 0600 on its source: read"
chmod 0644 "$SRC/public.hxz"
sleep 1.1
rcheck --as-user errno OK read "$MNT/public.hxz" "[allow_other] public.hxz after chmod 0644 again: read"
unmount_fg "$MNT"

# ------------------------------------------------- without allow_other

mount_fg "$SRC" "$MNT"
for rel in public.hxz userown.hxz open/g.hxz; do
	rcheck --as-user errno EACCES read "$MNT/$rel" "[no allow_other] read $rel"
done
unmount_fg "$MNT"

# ------------------------------------------- the overrides are what counts

mount_fg "$SRC" "$MNT" -o "allow_other,uid=$user"
rcheck --as-user errno OK read "$MNT/secret.hxz" "[uid=$user] secret.hxz, shown as $user's: read"
rcheck --as-user errno EACCES read "$MNT/nobody-read.hxz" "[uid=$user] nobody-read.hxz, mode 0: read"
unmount_fg "$MNT"
mount_fg "$SRC" "$MNT" -o "allow_other,umask=0077"
rcheck --as-user errno EACCES read "$MNT/public.hxz" "[umask=0077] public.hxz: read"
rcheck --as-user errno EACCES listdir "$MNT/open" "[umask=0077] open/: listing"
unmount_fg "$MNT"

# ------------------------------------------ only what is under SNAPSHOT_DIR

S=$WORK/src-swap
OUT=$WORK/outside
mkdir "$S" "$OUT"
rcheck make-swap "$S" "$OUT"
for mode in "" "-o timeout=0"; do
	# shellcheck disable=SC2086 # the mode is two words or none
	mount_fg "$S" "$MNT" $mode
	rcheck swap-race "$MNT" "$S" 4 "swap race${mode:+, $mode}"
	check_serving "[swap race${mode:+, $mode}]" "$DAEMON_PID" "$MNT" "$DAEMON_LOG"
	unmount_fg "$MNT"
done
# Whatever state the swaps left: nothing from outside in the whole mount.
mount_fg "$S" "$MNT" -o timeout=0
leaked=$(timeout 30 grep -rl "OUTSIDE SECRET" "$MNT" 2>/dev/null || true)
check_eq "after the races, no file of the mount has content from outside" "" "$leaked"
unmount_fg "$MNT"
check_sanitizer_logs
