#!/usr/bin/env bash
# What the mount shows: every regular *.hxz file (odd names included),
# symbolic links by policy, subdirectories mirrored; nothing else.
set -euo pipefail
# shellcheck source=tests/mount/lib.sh
. "$(dirname -- "$0")/lib.sh"

OUT=$WORK/outside
mkdir "$OUT" "$WORK/src-twin"

# Writes NAME with content that tells it apart from every other file.
mk() { # PATH
	printf 'content of %s\n' "${1#"$WORK"/}" >"$1"
}

mk "$SRC/plain.hxz"
mk "$SRC/with space.hxz"
mk "$SRC/ünïcödé-日本語.hxz"
mk "$SRC/.dot.hxz"
mk "$SRC/tab	and,comma=.hxz"
mk "$SRC/back\\slash.hxz"
LONG=$(printf 'L%.0s' $(seq 251)).hxz # 255 bytes, the longest name
mk "$SRC/$LONG"
mk "$SRC/notes.txt"
mk "$SRC/plain.hxz.bak"
mk "$SRC/hxz"
mkdir -p "$SRC/sub/deeper" "$SRC/empty" "$SRC/dir.hxz"
mk "$SRC/sub/inner.hxz"
mk "$SRC/sub/deeper/deep.hxz"
mk "$SRC/sub/deeper/deep.txt"
mk "$SRC/dir.hxz/in-dir.hxz"
mk "$OUT/out.hxz"
mk "$WORK/src-twin/twin.hxz"
mkfifo "$SRC/fifo.hxz"
"$PYTHON" -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$SRC/sock.hxz"
mknod "$SRC/null.hxz" c 1 3
mknod "$SRC/block.hxz" b 7 0

# Symbolic links, named for what they are.
ln -s plain.hxz "$SRC/link-rel.hxz"
ln -s "$SRC/plain.hxz" "$SRC/link-abs.hxz"
ln -s sub/inner.hxz "$SRC/link-down.hxz"
ln -s ../plain.hxz "$SRC/sub/link-up.hxz"
ln -s link-rel.hxz "$SRC/link-chain.hxz"
ln -s notes.txt "$SRC/link-to-txt.hxz"
ln -s plain.hxz "$SRC/link-no-suffix"
ln -s "$OUT/out.hxz" "$SRC/link-out-abs.hxz"
ln -s ../outside/out.hxz "$SRC/link-out-rel.hxz"
ln -s "$WORK/src-twin/twin.hxz" "$SRC/link-out-twin.hxz" # shares a prefix with $SRC
ln -s nowhere.hxz "$SRC/dangling.hxz"
ln -s loop-b.hxz "$SRC/loop-a.hxz"
ln -s loop-a.hxz "$SRC/loop-b.hxz"
ln -s self.hxz "$SRC/self.hxz"
ln -s sub "$SRC/link-dir.hxz"
ln -s "$OUT" "$SRC/link-dir-out.hxz"
ln -s fifo.hxz "$SRC/link-fifo.hxz"
ln -s null.hxz "$SRC/link-dev.hxz"
ln -s sub "$SRC/link-dir"

# A directory of 3000 entries, visible and hidden interleaved: listing it
# takes several READDIR(PLUS) requests, later ones plain READDIR.
mkdir "$SRC/mixed"
"$PYTHON" - "$SRC/mixed" <<'EOF'
import os, sys
d = sys.argv[1]
for i in range(3000):
    name = os.path.join(d, f"e{i:04d}")
    kind = i % 8
    if kind == 0:
        open(name + ".txt", "w").close()
    elif kind == 1:
        os.symlink("nowhere", name + ".hxz")
    elif kind == 2:
        os.mkfifo(name + ".hxz")
    elif kind == 3:
        os.symlink(f"e{i + 1:04d}.hxz", name + ".hxz")  # to a visible file
    elif kind == 4:
        os.mkdir(name + ".d")
    else:
        with open(name + ".hxz", "w") as f:
            f.write("x" * (i % 1000))
EOF

REGULAR=(".dot.hxz" "plain.hxz" "tab	and,comma=.hxz" "with space.hxz" "ünïcödé-日本語.hxz"
	"back\\slash.hxz" "$LONG")
LINKS_INSIDE=(link-abs.hxz link-chain.hxz link-down.hxz link-rel.hxz link-to-txt.hxz)
LINKS_OUTSIDE=(link-out-abs.hxz link-out-rel.hxz link-out-twin.hxz)
DIRS=(dir.hxz empty mixed sub)
HIDDEN=(notes.txt plain.hxz.bak hxz fifo.hxz sock.hxz null.hxz block.hxz link-no-suffix
	dangling.hxz loop-a.hxz loop-b.hxz self.hxz link-dir.hxz link-dir-out.hxz
	link-fifo.hxz link-dev.hxz link-dir)

sorted() { # NAME...: one a line, in byte order
	printf '%s\n' "$@" | LC_ALL=C sort
}

listing() { # DIR: ls -A, in byte order
	LC_ALL=C ls -A1 --quoting-style=literal -- "$1"
}

# Every shown file has the content of the file it stands for.
check_contents() { # LABEL NAME...
	local label=$1 name target
	shift
	for name; do
		target=$(readlink -f -- "$SRC/$name")
		check_cmp "[$label] $name has the content of ${target#"$WORK"/}" "$target" "$MNT/$name"
	done
}

check_hidden() { # LABEL NAME...
	local label=$1 name
	shift
	for name; do
		pycheck errno ENOENT stat "$MNT/$name"
		pycheck errno ENOENT open_r "$MNT/$name"
	done
}

# -------------------------------------------------------- default: inside

mount_fg "$SRC" "$MNT"
check_eq "[inside] the root lists regular snapshots, links inside, directories" \
	"$(sorted "${REGULAR[@]}" "${LINKS_INSIDE[@]}" "${DIRS[@]}")" "$(listing "$MNT")"
check_eq "[inside] sub/ is mirrored" "$(sorted deeper inner.hxz link-up.hxz)" \
	"$(listing "$MNT/sub")"
check_eq "[inside] sub/deeper/ is mirrored" "deep.hxz" "$(listing "$MNT/sub/deeper")"
check_eq "[inside] a directory named dir.hxz is mirrored" "in-dir.hxz" "$(listing "$MNT/dir.hxz")"
check_eq "[inside] an empty directory stays empty" "" "$(listing "$MNT/empty")"
pycheck names "$MNT/mixed" "$SRC/mixed"
mapfile -t mixed < <(cd "$SRC" && find mixed -mindepth 1 \( -name '*.d' -o -name '*.hxz' \) \
	\( -type d -o -type f -o -xtype f \) -printf '%p\n')
check_eq "[inside] find sees the same tree as the rules say" \
	"$(sorted "${REGULAR[@]}" "${LINKS_INSIDE[@]}" "${DIRS[@]}" sub/deeper sub/inner.hxz \
		sub/link-up.hxz sub/deeper/deep.hxz dir.hxz/in-dir.hxz "${mixed[@]}")" \
	"$(cd "$MNT" && LC_ALL=C find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort)"
check_eq "[inside] nothing in the mount is a symbolic link" "" "$(find "$MNT" -type l)"
check_eq "[inside] every entry is a regular file or a directory" "" \
	"$(find "$MNT" ! -type f ! -type d)"
mapfile -t names < <(sorted "${REGULAR[@]}" "${LINKS_INSIDE[@]}" "${DIRS[@]}")
types=()
for n in "${names[@]}"; do
	case $n in
	dir.hxz | empty | mixed | sub) types+=("  $n d") ;;
	*) types+=("  $n f") ;;
	esac
done
check_eq "[inside] readdir types: f for files (links included), d for directories" \
	"$(printf '%s\n' "${types[@]}")" "$("${FSOPS[@]}" scandir "$MNT")"
check_contents inside "${REGULAR[@]}" "${LINKS_INSIDE[@]}" sub/inner.hxz sub/link-up.hxz \
	sub/deeper/deep.hxz dir.hxz/in-dir.hxz
check_hidden inside "${HIDDEN[@]}" "${LINKS_OUTSIDE[@]}" sub/deeper/deep.txt
unmount_fg "$MNT"

# SNAPSHOT_DIR named through a symbolic link, and with a trailing slash:
# links inside it are still inside.
ln -s src "$WORK/src-alias"
for given in "$WORK/src-alias" "$SRC/"; do
	mount_fg "$given" "$MNT"
	check_eq "[inside, SNAPSHOT_DIR given as ${given#"$WORK"/}] the same listing" \
		"$(sorted "${REGULAR[@]}" "${LINKS_INSIDE[@]}" "${DIRS[@]}")" "$(listing "$MNT")"
	check_contents "inside, ${given#"$WORK"/}" link-abs.hxz link-rel.hxz
	unmount_fg "$MNT"
done

# ------------------------------------------------------------ symlinks=any

mount_fg "$SRC" "$MNT" -o symlinks=any
check_eq "[any] the root also lists links to outside" \
	"$(sorted "${REGULAR[@]}" "${LINKS_INSIDE[@]}" "${LINKS_OUTSIDE[@]}" "${DIRS[@]}")" \
	"$(listing "$MNT")"
check_contents any "${LINKS_OUTSIDE[@]}" link-rel.hxz
check_hidden any "${HIDDEN[@]}"
unmount_fg "$MNT"

# ----------------------------------------------------------- symlinks=none

mount_fg "$SRC" "$MNT" -o symlinks=none
check_eq "[none] the root lists regular snapshots and directories only" \
	"$(sorted "${REGULAR[@]}" "${DIRS[@]}")" "$(listing "$MNT")"
check_eq "[none] sub/ has no link" "$(sorted deeper inner.hxz)" "$(listing "$MNT/sub")"
check_contents none plain.hxz "with space.hxz"
check_hidden none "${LINKS_INSIDE[@]}" "${LINKS_OUTSIDE[@]}" sub/link-up.hxz
unmount_fg "$MNT"

# ------------------------------------- the tree changes under the symlinks

mount_fg "$SRC" "$MNT"
# A link retargeted from inside to outside disappears; one made dangling too.
ln -sfn "$OUT/out.hxz" "$SRC/link-rel.hxz"
rm "$SRC/sub/inner.hxz"
sleep 1.1 # entry and attribute timeouts (1 s by default)
check_eq "[inside] links retargeted outside or left dangling leave the listing" \
	"$(sorted "${REGULAR[@]}" link-abs.hxz link-to-txt.hxz "${DIRS[@]}")" "$(listing "$MNT")"
check_hidden inside link-rel.hxz link-chain.hxz link-down.hxz
unmount_fg "$MNT"
