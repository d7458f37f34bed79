#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Regenerate the seeds of fuzz_archive (fuzz/corpus/fuzz_archive/) with the
# test writer, deterministically (fixed data, salts, modes and times).
# Each seed is one flags byte (see the top of fuzz/fuzz_archive.c) followed
# by a small archive (512-byte blocks, tiny inputs: a few KiB each, most of
# it the 4096-byte header area).
#
#   fuzz/make_archive_seeds.sh        (PYTHON=... to choose the interpreter)
#
# Seeds that a fuzzing run found (regression inputs) are not made here:
# their names start with "crash-" or "regress-" and this script keeps them.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
out="$here/corpus/fuzz_archive"
PY=${PYTHON:-/usr/bin/python3}
W="$PY $top/tests/writer/hexz_writer.py"
SALT=000102030405060708090a0b0c0d0e0f

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$out"
find "$out" -type f ! -name 'crash-*' ! -name 'regress-*' -delete

# Inputs: text-like, random-like and zero runs, as a disk image has.
$PY "$top/tests/writer/gen_disk_image.py" 3K "$tmp/disk" --seed 1 --max-segment 512
$PY "$top/tests/writer/gen_disk_image.py" 1K "$tmp/mem" --seed 2 --max-segment 256
$PY - "$tmp" <<'EOF'
import sys
d = sys.argv[1]
text = b"".join(b"line %04d of a small text file\n" % i for i in range(64))
open(d + "/text", "wb").write(text)
open(d + "/zeros", "wb").write(bytes(2048) + b"end" + bytes(509))
open(d + "/dup", "wb").write((b"A" * 512 + b"B" * 512) * 2)
open(d + "/short", "wb").write(b"hello")
open(d + "/empty", "wb").write(b"")
EOF
mkdir -p "$tmp/tree/sub"
printf 'top-level file\n' >"$tmp/tree/a.txt"
printf 'nested %s\n' 1 2 3 4 5 6 7 8 >"$tmp/tree/sub/b.txt"
: >"$tmp/tree/sub/empty"
find "$tmp/tree" -type f -exec chmod 644 {} +
find "$tmp/tree" -type f -exec touch -d @1764000000 {} +

# seed NAME PASSWORD CHUNK BUDGET ROOM WRITER-ARGS...: the archive with its two
# flag bytes in front (fuzz_archive.c): PASSWORD 0 none, 1 "fuzz", 2 "wrong",
# 3 ""; CHUNK 0-7 indexes chunk_sizes[] (1, 7, 512, 4096, 4097, 64 Ki,
# 64 Ki + 1, 1 Mi), BUDGET 0-3 budgets[] (1 byte, 64 KiB, 1 MiB, 16 MiB),
# ROOM 1: pin one piece per call. The second byte asks for CRC repair, so
# that mutations of a seed's blocks reach the codecs.
seed() {
	name=$1
	flags=$(($2 | $3 << 2 | $4 << 5 | $5 << 7))
	shift 5
	$W "$tmp/$name.hxz" "$@" >/dev/null
	{ printf %b "\\0$(printf %o "$flags")\\0001"; cat "$tmp/$name.hxz"; } >"$out/$name"
}

seed lz4-main 0 2 2 0 --main "$tmp/disk" --block-size 512
seed lz4-both-streams 0 4 1 0 --main "$tmp/text" --aux "$tmp/mem" --block-size 512
seed lz4-hc 0 3 0 1 --main "$tmp/text" --block-size 1024 --level 9
seed zstd-main 0 7 2 0 --main "$tmp/disk" --block-size 512 -c zstd
seed zstd-dict 0 1 1 0 --main "$tmp/text" --block-size 512 -c zstd --dict "$tmp/text"
seed variable-blocks 0 6 3 1 --main "$tmp/disk" --block-size 512 --variable \
	--min-size 64 --avg-size 256 --max-size 1024
seed encrypted-lz4 1 4 2 0 --main "$tmp/text" --block-size 512 --password fuzz \
	--iterations 1 --salt $SALT
seed encrypted-zstd 1 2 1 1 --main "$tmp/disk" --aux "$tmp/mem" --block-size 512 -c zstd \
	--password fuzz --iterations 1 --salt $SALT
seed encrypted-wrong-password 2 3 2 0 --main "$tmp/short" -c zstd --password fuzz \
	--iterations 1 --salt $SALT
seed encrypted-no-password 0 3 2 0 --main "$tmp/short" --password fuzz --iterations 1 \
	--salt $SALT
seed encrypted-many-iterations 1 3 2 0 --main "$tmp/short" --password fuzz \
	--iterations 1000000 --salt $SALT
seed manifest 0 5 2 0 --dir "$tmp/tree" --block-size 512
seed manifest-zstd-variable 0 2 1 1 --dir "$tmp/tree" -c zstd --variable --min-size 64 \
	--avg-size 128 --max-size 512
seed aux-only 0 4 2 0 --aux "$tmp/mem" --block-size 512
seed zero-blocks 0 2 0 1 --main "$tmp/zeros" --block-size 512
seed dedup 0 4 1 0 --main "$tmp/dup" --block-size 512
seed many-pages 0 1 2 0 --main "$tmp/text" --block-size 128 --page-entries 2
seed empty-streams 0 4 2 0 --main "$tmp/empty"
seed short-block 0 0 2 0 --main "$tmp/short"
seed damaged-block 0 6 2 0 --main "$tmp/text" --block-size 512 --corrupt-block 1
# the same without CRC repair: the damaged block fails its checksum
$W "$tmp/damaged.hxz" --main "$tmp/text" --block-size 512 --corrupt-block 1 >/dev/null
{ printf '\060\000'; cat "$tmp/damaged.hxz"; } >"$out/damaged-block-crc-mismatch"
seed thin-refused 0 4 2 0 --main "$tmp/short" --parent parent.hxz --no-parent-lookup
seed signed 0 4 2 0 --main "$tmp/short" --sign-key \
	000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
ls -l "$out"
