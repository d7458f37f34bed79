#!/usr/bin/env bash
# -o view=contents: attributes (archive directories, streams, manifest
# files, implied directories; uid=, gid=, umask=); passwords (passfile=,
# HEXZ_PASSWORD, a wrong one, a passfile others can read); parents outside
# SNAPSHOT_DIR (parents=inside|any); every modifying operation fails with
# EROFS; the raw view unchanged; bad option values refused before mounting.
# Reads are in test_contents_reads.sh, changes in test_contents_changes.sh.
set -euo pipefail
# shellcheck source=tests/mount/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/mount/contents_lib.sh
. "$MOUNT_TESTS_DIR/contents_lib.sh"

make_corpus
corpus_into_src

# ------------------------------------------------------------- attributes

# name:mode:owner of archive files, with times set apart: mtime in the
# past, atime in the future (so that reading the file does not move it).
ATTR_CASES=(lz4_fixed:0640:1234:5678 both_streams:0604:0:0 aux_only:0444:0:0 empty:0400:0:0
	dir_tree:0644:4321:8765 empty_main:0040:0:0 pages_one:0755:7:7)
for spec in "${ATTR_CASES[@]}"; do
	IFS=: read -r name mode owner group <<<"$spec"
	chmod "$mode" "$SRC/$name.hxz"
	chown "$owner:$group" "$SRC/$name.hxz"
	touch -m -d "2001-02-03 04:05:06.123456789" "$SRC/$name.hxz"
	touch -a -d "2037-06-07 08:09:10.987654321" "$SRC/$name.hxz"
done

attr_checks() { # UID GID UMASK (each - for none)
	local spec name
	for spec in "${ATTR_CASES[@]}"; do
		name=${spec%%:*}
		cpycheck attrs "$MNT/$name.hxz" "$SRC/$name.hxz" "$CORPUS" "$name" "$@"
	done
}

mount_contents
attr_checks - - -
unmount_contents
mount_contents -o uid=4242,gid=2424,umask=027
attr_checks 4242 2424 027
unmount_contents
mount_contents -o umask=0
attr_checks - - 0
unmount_contents

# ------------------------------------------------------------- passwords

ENCRYPTED=(encrypted_lz4 encrypted_zstd)
encrypted_checks() { # LABEL
	local name
	for name in "${ENCRYPTED[@]}"; do
		check_cmp "[$1] $name.hxz/main" "$CORPUS/$name.main" "$MNT/$name.hxz/main"
		check_cmp "[$1] $name.hxz/auxiliary" "$CORPUS/$name.aux" "$MNT/$name.hxz/auxiliary"
	done
	check_eq "[$1] nothing is logged as not shown for the encrypted archives" 0 \
		"$(log_count "encrypted_")"
}
encrypted_hidden() { # LABEL REASON
	local name
	for name in "${ENCRYPTED[@]}"; do
		check_enoent "[$1] $name.hxz is not shown" "$MNT/$name.hxz"
		ls "$MNT" >/dev/null
		check_eq "[$1] $name.hxz: logged once as not shown" 1 \
			"$(log_count "not shown: $SRC/$name.hxz:")"
		check_contains "[$1] $name.hxz: the log line says why" \
			"$(grep -F "not shown: $SRC/$name.hxz:" "$DAEMON_LOG" || true)" "$2"
	done
}

printf '%s\n' "$CORPUS_PASSWORD" >"$WORK/passfile"
chmod 0600 "$WORK/passfile"
mount_contents -o "passfile=$WORK/passfile"
encrypted_checks "passfile, mode 0600, trailing newline"
unmount_contents

printf '%s' "$CORPUS_PASSWORD" >"$WORK/passfile.ro"
chmod 0400 "$WORK/passfile.ro"
mount_contents -o "passfile=$WORK/passfile.ro"
encrypted_checks "passfile, mode 0400, no newline"
unmount_contents

DAEMON_ENV=("HEXZ_PASSWORD=$CORPUS_PASSWORD")
mount_contents
encrypted_checks "HEXZ_PASSWORD"
unmount_contents
DAEMON_ENV=("HEXZ_PASSWORD=not-the-password")
mount_contents
encrypted_hidden "wrong HEXZ_PASSWORD" "password"
check_cmp "[wrong HEXZ_PASSWORD] an archive without encryption still reads" \
	"$CORPUS/lz4_fixed.main" "$MNT/lz4_fixed.hxz/main"
unmount_contents
DAEMON_ENV=()
mount_contents
encrypted_hidden "no password" "password"
unmount_contents

# A command that must be refused before anything is mounted: non-zero
# status (not a timeout), an error line naming every NEEDLE (|-separated,
# any case), nothing mounted, no daemon left.
expect_refused() { # DESCRIPTION NEEDLES COMMAND...
	local desc=$1 out rc=0 line needle found=0
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
	while IFS= read -r line; do
		for needle in "${needles[@]}"; do
			[[ ${line,,} == *"${needle,,}"* ]] || continue 2
		done
		found=1
	done <<<"$out"
	if [ "$found" -eq 1 ]; then
		pass "$desc: a message names $(printf "'%s' " "${needles[@]}")"
	else
		fail "$desc: a message names $(printf "'%s' " "${needles[@]}")" "output: $out"
	fi
	check_eq "$desc: nothing mounted" "" "$(mounts_in_work)"
	check_eq "$desc: no daemon left" "" "$(daemons_in_work)"
}

for mode in 0644 0640 0604 0660; do
	cp "$WORK/passfile" "$WORK/passfile.$mode"
	chmod "$mode" "$WORK/passfile.$mode"
	for fg in -f ''; do
		expect_refused "passfile mode $mode${fg:+ (-f)}" "$WORK/passfile.$mode|chmod 600" \
			"$HEXZFS" $fg -o view=contents,passfile="$WORK/passfile.$mode" "$SRC" "$MNT"
	done
done
expect_refused "passfile missing" "$WORK/no-such-passfile|no such file" \
	"$HEXZFS" -o view=contents,passfile="$WORK/no-such-passfile" "$SRC" "$MNT"
expect_refused "passfile is a directory" "$WORK/cwd|regular file" \
	"$HEXZFS" -o view=contents,passfile="$WORK/cwd" "$SRC" "$MNT"

# --------------------------------------------------- parents outside

# base.hxz lies outside SNAPSHOT_DIR; thin children inside name it by an
# absolute path, through a symbolic link inside, and through '..'. A
# child whose parent lies inside is shown either way.
mkdir "$WORK/outside"
image "$WORK/base.img" 262144 7
"$PYTHON" - "$WORK/base.img" "$WORK/child.img" <<'EOF'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
for off in (0, 65536 + 4096, 200000):
    data[off:off + 4096] = bytes((i * 7 + off) & 0xff for i in range(4096))
open(sys.argv[2], "wb").write(data)
EOF
writer --main "$WORK/base.img" -c lz4 --block-size 4096 "$WORK/outside/base.hxz"
cp -p "$WORK/outside/base.hxz" "$SRC/base_in.hxz"
ln -s ../outside/base.hxz "$SRC/base-link.img"
(
	cd "$SRC"
	writer --main "$WORK/child.img" -c lz4 --block-size 4096 --parent "$WORK/outside/base.hxz" \
		child_abs.hxz
	writer --main "$WORK/child.img" -c lz4 --block-size 4096 --parent base-link.img child_link.hxz
	writer --main "$WORK/child.img" -c lz4 --block-size 4096 --parent ../outside/base.hxz \
		child_dotdot.hxz
	writer --main "$WORK/child.img" -c zstd --block-size 4096 --parent base_in.hxz child_in.hxz
)
CHILDREN_OUT=(child_abs child_link child_dotdot)

mount_contents
for name in "${CHILDREN_OUT[@]}"; do
	check_enoent "[parents=inside] $name.hxz (parent outside) is not shown" "$MNT/$name.hxz"
	ls "$MNT" >/dev/null
	line=$(grep -F "not shown: $SRC/$name.hxz:" "$DAEMON_LOG" || true)
	check_eq "[parents=inside] $name.hxz: logged once as not shown" 1 "$(grep -c . <<<"$line" || true)"
	check_contains "[parents=inside] $name.hxz: the log line says the parent lies outside" \
		"$line" "outside"
done
check_cmp "[parents=inside] child_in.hxz (parent inside) reads" "$WORK/child.img" \
	"$MNT/child_in.hxz/main"
check_cmp "[parents=inside] base_in.hxz reads" "$WORK/base.img" "$MNT/base_in.hxz/main"
# The counters (SIGUSR1) count the archives not shown.
kill -USR1 "$DAEMON_PID"
wait_until 5 grep -q 'stats:' "$DAEMON_LOG" || true
stats=$(grep 'stats:' "$DAEMON_LOG" | tail -n 1)
not_shown=$(grep -c 'not shown:' "$DAEMON_LOG" || true)
check_contains "SIGUSR1's counters count the $not_shown archives not shown" "$stats" \
	"archive_errors=$not_shown"
unmount_contents

mount_contents -o parents=any
for name in "${CHILDREN_OUT[@]}" child_in; do
	check_cmp "[parents=any] $name.hxz reads through its parent" "$WORK/child.img" \
		"$MNT/$name.hxz/main"
done
check_eq "[parents=any] nothing about the children is logged as not shown" 0 \
	"$(log_count "not shown: $SRC/child_")"
unmount_contents

# ------------------------------------------------------------- read-only

source_state() {
	(
		cd "$SRC"
		LC_ALL=C find . -printf '%p %y %s %m %U %G %T@ %C@ %l\n' | LC_ALL=C sort
		find . -type f -exec sha256sum {} + | LC_ALL=C sort
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
readonly_checks() { # LABEL
	local l=$1 a=$MNT/dir_tree.hxz s=$MNT/both_streams.hxz
	pycheck readonly "$a" README big nested/a "$l, manifest tree"
	pycheck readonly "$MNT" both_streams.hxz/main dir_tree.hxz empty.hxz "$l, streams"
	expect_erofs "[$l] touch main" touch "$s/main"
	expect_erofs "[$l] touch a manifest file" touch "$a/docs/guide.txt"
	expect_erofs "[$l] touch (new, in an archive)" touch "$s/new"
	expect_erofs "[$l] touch (new, in an implied directory)" touch "$a/big/new"
	expect_erofs "[$l] mkdir in an archive" mkdir "$s/newdir"
	expect_erofs "[$l] mkdir in an implied directory" mkdir "$a/nested/newdir"
	expect_erofs "[$l] rm main" rm -f "$s/main"
	expect_erofs "[$l] rm a manifest file" rm -f "$a/README"
	expect_erofs "[$l] rm -r an archive directory" rm -rf "$MNT/empty.hxz"
	expect_erofs "[$l] rmdir an implied directory" rmdir "$a/nested/a/b/c"
	expect_erofs "[$l] mv inside an archive" mv "$s/main" "$s/moved"
	expect_erofs "[$l] mv an archive directory" mv "$MNT/empty.hxz" "$MNT/moved.hxz"
	expect_erofs "[$l] mv a file out of an archive" mv "$a/README" "$MNT/README"
	expect_erofs "[$l] shell redirection > main" bash -c 'echo x >"$1"' _ "$s/main"
	expect_erofs "[$l] shell redirection >> a manifest file" bash -c 'echo x >>"$1"' _ "$a/README"
	expect_erofs "[$l] cp over main" cp "$CORPUS/both_streams.main" "$s/main"
	expect_erofs "[$l] dd conv=notrunc into auxiliary" \
		dd if=/dev/zero of="$s/auxiliary" bs=1 count=1 conv=notrunc status=none
	expect_erofs "[$l] truncate -s 0 main" truncate -s 0 "$s/main"
	expect_erofs "[$l] truncate -s 1G a manifest file" truncate -s 1G "$a/big/multi-block.bin"
	expect_erofs "[$l] chmod main" chmod 0644 "$s/main"
	expect_erofs "[$l] chmod an archive directory" chmod 0700 "$s"
	expect_erofs "[$l] chmod an implied directory" chmod 0700 "$a/nested"
	expect_erofs "[$l] chown a manifest file" chown 1:1 "$a/bin/tool.sh"
	expect_erofs "[$l] touch -d an archive directory" touch -d 2000-01-01 "$s"
	expect_erofs "[$l] setfattr main" setfattr -n user.test -v 1 "$s/main"
	expect_erofs "[$l] setfattr an implied directory" setfattr -n user.test -v 1 "$a/nested"
	expect_erofs "[$l] setfattr an archive directory" setfattr -n user.test -v 1 "$s"
	expect_erofs "[$l] ln" ln "$s/main" "$s/hard"
	expect_erofs "[$l] ln -s" ln -s main "$s/soft"
	expect_erofs "[$l] mkfifo" mkfifo "$a/fifo"
	expect_erofs "[$l] fallocate" fallocate -l 1M "$s/main"
	check_cmp "[$l] both_streams.hxz/main still reads whole" "$CORPUS/both_streams.main" "$s/main"
	check_cmp "[$l] dir_tree.hxz/README still reads whole" "$CORPUS/dir_tree.files/002" "$a/README"
}

mount_contents
readonly_checks ro
unmount_contents
check_eq "[ro] the source tree is unchanged" "$BEFORE" "$(source_state)"
# Asked for rw, the kernel lets modifying requests through to the daemon,
# which must refuse them itself.
mount_contents -o rw
mount_info "$MNT"
echo "# mounted with -o rw: options $MI_OPTS"
readonly_checks "-o rw"
unmount_contents
check_eq "[-o rw] the source tree is unchanged" "$BEFORE" "$(source_state)"

# ------------------------------------------------------ the raw view

raw_checks() { # LABEL
	local f bad=0 n=0
	for f in "$SRC"/*.hxz; do
		if [ ! -f "$f" ] || [ -L "$f" ]; then
			continue
		fi
		n=$((n + 1))
		cmp -s -- "$f" "$MNT/${f##*/}" || {
			bad=$((bad + 1))
			echo "    differs: ${f##*/}"
		}
	done
	check_eq "[$1] all $n archive files read byte for byte as the files themselves" 0 "$bad"
	check_eq "[$1] the listing is the raw one (files, not directories)" \
		"$(cd "$SRC" && find . -maxdepth 1 -name '*.hxz' -type f -printf '%f\n' | LC_ALL=C sort)" \
		"$(cd "$MNT" && find . -maxdepth 1 -name '*.hxz' -type f -printf '%f\n' | LC_ALL=C sort)"
	check_eq "[$1] lz4_fixed.hxz is a file of the archive's size" \
		"regular file $(stat -c %s "$SRC/lz4_fixed.hxz")" "$(stat -c '%F %s' "$MNT/lz4_fixed.hxz")"
}
mount_fg "$SRC" "$MNT"
raw_checks "default view"
unmount_contents
mount_fg "$SRC" "$MNT" -o view=raw
raw_checks "view=raw"
unmount_contents

# ------------------------------------------------------ bad option values

for bad in view=foo view= view=Contents cache_size=0 cache_size=1x cache_size=2000G \
	cache_size=512K cache_size=-1M cache_size= cache_size=1.5M parents=bar parents= \
	parents=Inside workers=-1 workers=999 workers=abc workers= passfile= contents_timeout=-1 \
	contents_timeout=1x contents_timeout=2000000000 contents_timeout=; do
	names=${bad%%=*}
	[ -z "${bad#*=}" ] || names+="|${bad#*=}"
	expect_refused "-o $bad" "$names" "$HEXZFS" -o "$bad" "$SRC" "$MNT"
	expect_refused "-o view=contents,$bad" "$names" "$HEXZFS" -o "view=contents,$bad" "$SRC" "$MNT"
done
