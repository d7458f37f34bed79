#!/bin/sh
# Regenerate examples/archives/ (the README demo archives) deterministically
# with the test writer.  Inputs are generated here into a temporary directory;
# the archives are written from inside examples/archives so that the thin
# child records its parent as the relative path "disk.hxz".
#
#   tests/writer/make_examples.sh        (PYTHON=... to choose the interpreter)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "$here/../.." && pwd)/examples/archives
PY=${PYTHON:-/usr/bin/python3}
W="$PY $here/hexz_writer.py"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$out"

# a small disk image, its "memory" (auxiliary stream) and a changed copy
$PY "$here/gen_disk_image.py" 192K "$tmp/disk.img" --seed 7 --max-segment 16K
$PY "$here/gen_disk_image.py" 64K "$tmp/memory.img" --seed 8 --max-segment 16K
cp "$tmp/disk.img" "$tmp/child.img"
printf 'this block was changed in the child archive' |
    dd of="$tmp/child.img" bs=1 seek=40000 conv=notrunc status=none

# a small tree of text files with fixed modes and times
mkdir -p "$tmp/tree/docs" "$tmp/tree/src/lib"
printf 'Example tree packed by tests/writer/make_examples.sh.\n' > "$tmp/tree/README"
printf 'Nested file one.\n%.0s' 1 2 3 4 5 6 7 8 > "$tmp/tree/docs/intro.txt"
printf 'int answer(void) { return 42; }\n' > "$tmp/tree/src/lib/answer.c"
find "$tmp/tree" -type f -exec chmod 644 {} +
find "$tmp/tree" -type f -exec touch -d @1764000000 {} +

cd "$out"
$W disk.hxz --main "$tmp/disk.img" --aux "$tmp/memory.img" --block-size 16K
$W tree.hxz --dir "$tmp/tree" --compression zstd
$W disk-child.hxz --main "$tmp/child.img" --aux "$tmp/memory.img" --block-size 16K \
    --parent disk.hxz
ls -l "$out"
