#!/usr/bin/env bash
# Security of the contents view:
#  - a thin archive's parent outside SNAPSHOT_DIR is refused by default,
#    whether named by an absolute path, through '..' or through a symbolic
#    link (the archive is hidden and the reason logged), while parents
#    inside (also through a link that stays inside) are used; with
#    -o parents=any every one of them is used;
#  - -o passfile= is refused when its group or others may read it, or when
#    another user owns it, before anything is mounted;
#  - default_permissions with allow_other: an unprivileged user reads
#    through the contents view only what the archive file's mode (and a
#    manifest file's own mode) allows.
set -euo pipefail
# shellcheck source=tests/robustness/robust.sh
. "$(dirname -- "$0")/robust.sh"

setup_user
OUT=$WORK/outside
mkdir "$OUT" "$SRC/sub" "$WORK/tree"
export PYTHONPATH=$ROBUST_TESTS_DIR/../writer

# Parents (inside and outside), thin children naming them in every way,
# plain archives of two modes and a directory archive with a private file.
"$PYTHON" - "$SRC" "$OUT" "$WORK" <<'EOF'
import os, random, sys
import hexz_writer as hw
src, out, work = sys.argv[1:4]
base = random.Random(1).randbytes(6 * 4096)
def write(path, data, **kw):
    hw.write_archive(hw.Options(main=data, block_size=4096, **kw), path)
for p in (os.path.join(out, "_base.hxz"), os.path.join(src, "_inbase.hxz"),
          os.path.join(src, "sub", "_inbase2.hxz")):
    write(p, base)
os.symlink("../outside/_base.hxz", os.path.join(src, "_outlink.hxz"))
os.symlink("sub/_inbase2.hxz", os.path.join(src, "_inlink.hxz"))
child = base[:3 * 4096] + b"child data" * 100
open(os.path.join(work, "child.main"), "wb").write(child)
# Written against the inside parent (same blocks), then renamed in the header.
for name, parent in (("child-inside", "_inbase.hxz"), ("child-inlink", "_inlink.hxz"),
                     ("child-absolute", os.path.join(out, "_base.hxz")),
                     ("child-dotdot", "../outside/_base.hxz"),
                     ("child-outlink", "_outlink.hxz")):
    arch = hw.build_archive(hw.Options(main=child, block_size=4096, parents=["_inbase.hxz"],
                                       base_dir=src))
    assert any(r.how == "parent" for r in arch.blocks)
    arch.header.parent_paths = [parent]
    open(os.path.join(src, name + ".hxz"), "wb").write(hw.serialize(arch))
data = random.Random(2).randbytes(5000)
open(os.path.join(work, "plain.main"), "wb").write(data)
write(os.path.join(src, "private.hxz"), data)
write(os.path.join(src, "public.hxz"), data)
os.chmod(os.path.join(src, "private.hxz"), 0o600)
os.chmod(os.path.join(src, "public.hxz"), 0o644)
tree = os.path.join(work, "tree")
for rel, mode in (("README", 0o644), ("secret.key", 0o600), ("bin/tool", 0o755)):
    os.makedirs(os.path.dirname(os.path.join(tree, rel)), exist_ok=True)
    open(os.path.join(tree, rel), "wb").write(b"content of " + rel.encode() + b"\n")
    os.chmod(os.path.join(tree, rel), mode)
hw.write_archive(hw.Options(directory=tree, block_size=4096), os.path.join(src, "tree.hxz"))
os.chmod(os.path.join(src, "tree.hxz"), 0o644)
EOF
cd "$WORK" # relative parent paths "as written" start here

shown() { # NAME: the contents view shows NAME as a directory
	[ -d "$MNT/$1" ]
}

check_parents() { # LABEL SHOWN... -- HIDDEN...
	local label=$1 name hidden=0
	shift
	for name in "$@"; do
		if [ "$name" == -- ]; then
			hidden=1
		elif [ "$hidden" -eq 0 ]; then
			if shown "$name.hxz"; then
				check_cmp "[$label] $name.hxz/main reads the child's bytes through its parent" \
					"$WORK/child.main" "$MNT/$name.hxz/main"
			else
				fail "[$label] $name.hxz is shown"
			fi
		elif shown "$name.hxz"; then
			fail "[$label] $name.hxz is hidden: its parent lies outside SNAPSHOT_DIR"
		else
			pass "[$label] $name.hxz is hidden: its parent lies outside SNAPSHOT_DIR"
			check_contains "[$label] the log says why for $name.hxz" "$(cat "$DAEMON_LOG")" \
				"$name.hxz: parent"
		fi
	done
}

mount_fg "$SRC" "$MNT" -o view=contents
check_parents "parents=inside (default)" child-inside child-inlink -- \
	child-absolute child-dotdot child-outlink
check_contains "[parents=inside] the refusal names the policy" "$(cat "$DAEMON_LOG")" \
	"lies outside the snapshot directory"
check_serving "[parents=inside]" "$DAEMON_PID" "$MNT" "$DAEMON_LOG"
unmount_fg "$MNT"

mount_fg "$SRC" "$MNT" -o view=contents,parents=any
check_parents "parents=any" child-inside child-inlink child-absolute child-dotdot child-outlink
unmount_fg "$MNT"

# ------------------------------------------------------------- passfile

pass_refused() { # LABEL MODE [OWNER]
	local pf=$WORK/pass.$2${3:+.$3} out rc=0
	printf 'secret\n' >"$pf"
	chmod "$2" "$pf"
	[ -z "${3:-}" ] || chown "$3" "$pf"
	out=$(timeout 20 "$HEXZFS" -f -o "view=contents,passfile=$pf" "$SRC" "$MNT" 2>&1) || rc=$?
	if [ "$rc" -ne 0 ] && [[ $out == *"passfile '$pf'"* ]]; then
		pass "[passfile $1] refused before mounting: ${out%%$'\n'*}"
	else
		fail "[passfile $1] refused before mounting" "status $rc" "$out"
	fi
	if is_mounted "$MNT"; then
		fail "[passfile $1] nothing is mounted"
		fusermount3 -u "$MNT" || true
	fi
}
pass_refused "mode 0644" 0644
pass_refused "mode 0640" 0640
pass_refused "mode 0604" 0604
pass_refused "owned by $TEST_USER" 0600 "$TEST_USER"
printf 'secret\n' >"$WORK/pass.ok"
chmod 0600 "$WORK/pass.ok"
mount_fg "$SRC" "$MNT" -o "view=contents,passfile=$WORK/pass.ok"
pass "[passfile mode 0600, own] accepted"
unmount_fg "$MNT"

# ------------------------------- default_permissions with allow_other

mount_fg "$SRC" "$MNT" -o view=contents,allow_other
user=$TEST_USER
rcheck --as-user errno EACCES read "$MNT/private.hxz/main" \
	"[allow_other] as $user, private.hxz (0600)/main: read"
rcheck --as-user errno EACCES listdir "$MNT/private.hxz" \
	"[allow_other] as $user, private.hxz (0600): listing"
rcheck --as-user errno OK read "$MNT/public.hxz/main" "[allow_other] as $user, public.hxz (0644)/main: read"
check_eq "[allow_other] as $user, public.hxz/main has the archive's bytes" \
	"$(sha256sum <"$WORK/plain.main")" "$(timeout 20 "${AS_USER[@]}" cat "$MNT/public.hxz/main" | sha256sum)"
rcheck --as-user errno OK read "$MNT/tree.hxz/README" "[allow_other] as $user, tree.hxz/README (0644): read"
rcheck --as-user errno EACCES read "$MNT/tree.hxz/secret.key" \
	"[allow_other] as $user, tree.hxz/secret.key (0600 in the manifest): read"
check_eq "[allow_other] root reads private.hxz/main" "$(sha256sum <"$WORK/plain.main")" \
	"$(timeout 20 sha256sum <"$MNT/private.hxz/main")"
# A permission taken away while mounted holds once the attributes expire.
chmod 0600 "$SRC/public.hxz"
sleep 1.2
rcheck --as-user errno EACCES read "$MNT/public.hxz/main" \
	"[allow_other] as $user, public.hxz after chmod 0600: read"
chmod 0644 "$SRC/public.hxz"
unmount_fg "$MNT"

mount_fg "$SRC" "$MNT" -o view=contents
rcheck --as-user errno EACCES read "$MNT/public.hxz/main" \
	"[no allow_other] as $user, public.hxz/main: read"
unmount_fg "$MNT"

check_eq "nothing left mounted" "" "$(mounts_in_work)"
check_sanitizer_logs
echo "# $((CHECKS - FAILURES)) passed, $FAILURES failed"
