#!/usr/bin/env bash
# -o view=contents, reading: every case of the writer's corpus through the
# mount, byte for byte; archives that cannot be opened hidden and logged
# once; a damaged block; random reads at odd offsets, EOF, mmap; parallel
# readers across archives; a block cache far smaller than the data, with
# the daemon's memory measured against the budget.
set -euo pipefail
# shellcheck source=tests/mount/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/mount/contents_lib.sh
. "$MOUNT_TESTS_DIR/contents_lib.sh"

MiB=$((1 << 20))

# ------------------------------------------------------------ the archives

make_corpus
corpus_into_src
# .hxz files that are not archives.
head -c 10000 /dev/urandom >"$SRC/random.hxz"
: >"$SRC/zero-length.hxz"
printf 'hexz, but only in name\n' >"$SRC/text.hxz"
printf 'HEXZ and then nothing that makes sense' >"$SRC/magic-only.hxz"
# Subdirectories are mirrored.
mkdir "$SRC/sub"
cp -p "$CORPUS/zstd_fixed.hxz" "$SRC/sub/inner.hxz"

# Archives of several MiB: main and auxiliary streams in fixed and
# content-defined blocks, and a directory tree.
image "$WORK/img1" $((8 * MiB)) 1
image "$WORK/img2" $((3 * MiB + 11)) 2
image "$WORK/img3" $((6 * MiB + 12345)) 3
image "$WORK/img4" $((2 * MiB + 777)) 4
mkdir -p "$WORK/tree/b/c"
image "$WORK/tree/a.bin" $((3 * MiB + 5)) 5
image "$WORK/tree/b/c/d.bin" $((1 * MiB)) 6
printf 'small\n' >"$WORK/tree/b/small.txt"
writer --main "$WORK/img1" --aux "$WORK/img2" -c lz4 --block-size 65536 "$SRC/big_lz4.hxz"
writer --main "$WORK/img3" -c zstd --block-size 131072 "$SRC/big_zstd.hxz"
writer --main "$WORK/img4" -c zstd --variable --block-size 16384 "$SRC/big_var.hxz"
writer --dir "$WORK/tree" -c lz4 --block-size 8192 "$SRC/big_tree.hxz"
# mount path (inside $MNT) = expected bytes
BIG_FILES=("big_lz4.hxz/main=$WORK/img1" "big_lz4.hxz/auxiliary=$WORK/img2"
	"big_zstd.hxz/main=$WORK/img3" "big_var.hxz/main=$WORK/img4"
	"big_tree.hxz/a.bin=$WORK/tree/a.bin" "big_tree.hxz/b/c/d.bin=$WORK/tree/b/c/d.bin"
	"big_tree.hxz/b/small.txt=$WORK/tree/b/small.txt")
CORPUS_FILES=("pages_many.hxz/main=$CORPUS/pages_many.main"
	"pages_many.hxz/auxiliary=$CORPUS/pages_many.aux"
	"lz4_variable.hxz/auxiliary=$CORPUS/lz4_variable.aux"
	"zstd_dict_trained.hxz/main=$CORPUS/zstd_dict_trained.main"
	"thin_leaf.hxz/main=$CORPUS/thin_leaf.main"
	"thin_position_child.hxz/main=$CORPUS/thin_position_child.main"
	"dedup_across.hxz/auxiliary=$CORPUS/dedup_across.aux"
	"dir_tree.hxz/big/multi-block.bin=$CORPUS/dir_tree.files/004"
	"block_1000.hxz/main=$CORPUS/block_1000.main")
with_mnt() { # PATH=EXPECTED...: the same with $MNT/ in front
	local p
	for p; do
		printf '%s\n' "$MNT/$p"
	done
}

# The archives that cannot be shown without a password, and why:
# name|what the log line must say (extended regular expression, any case).
HIDDEN=("random.hxz|not a hexz archive" "zero-length.hxz|not a hexz archive"
	"text.hxz|not a hexz archive" "magic-only.hxz|(version|header|truncated|short)")
while IFS=$'\t' read -r name archive password error _; do
	case $error in
	-) [ "$password" == - ] || HIDDEN+=("$archive|password") ;;
	missing_parent) HIDDEN+=("$archive|gone_parent\.hxz.*(not found|no such)") ;;
	parent_cycle) HIDDEN+=("$archive|(cycle|loop|leads back)") ;;
	chain_too_deep) HIDDEN+=("$archive|(deep|depth)") ;;
	bad_password) ;; # the encrypted archive itself, listed above
	*) die "corpus: unknown expected error '$error' of $name" ;;
	esac
done <<<"$CASES"
declare -A IS_HIDDEN=()
for h in "${HIDDEN[@]}"; do
	IS_HIDDEN[${h%%|*}]=1
done
expected_listing() {
	local f
	for f in "$SRC"/*; do
		f=${f##*/}
		if [ -d "$SRC/$f" ] || { [[ $f == *.hxz ]] && [ -z "${IS_HIDDEN[$f]:-}" ]; }; then
			printf '%s\n' "$f"
		fi
	done | LC_ALL=C sort
}

# Every shown corpus case: its tree, then every stream and manifest file
# with cmp. Encrypted cases only when LABEL says the password is given.
corpus_checks() { # LABEL WITH_PASSWORD(0|1)
	local label=$1 with_pw=$2 name archive password error main aux aux_size manifest damaged
	local path file
	while IFS=$'\t' read -r name archive password error main aux aux_size manifest damaged; do
		[ "$error" == - ] || continue
		[ "$password" == - ] || [ "$with_pw" -eq 1 ] || continue
		[ "$damaged" == - ] || continue # the damaged block has its own checks
		cpycheck tree "$MNT/$archive" "$CORPUS" "$name"
		if [ "$manifest" -eq 1 ]; then
			while IFS=$'\t' read -r path file; do
				check_cmp "[$label] $name: manifest file '$path'" "$CORPUS/$file" "$MNT/$archive/$path"
			done < <("${CONTENTS_OPS[@]}" manifest-files "$CORPUS" "$name")
			continue
		fi
		if [ "$main" != - ]; then
			check_cmp "[$label] $name: main" "$CORPUS/$main" "$MNT/$archive/main"
		else
			check_eq "[$label] $name: main, absent from the archive, is empty" 0 \
				"$(wc -c <"$MNT/$archive/main")"
		fi
		if [ "$aux_size" -gt 0 ]; then
			check_cmp "[$label] $name: auxiliary" "$CORPUS/$aux" "$MNT/$archive/auxiliary"
		fi
	done <<<"$CASES"
}

# The daemon PID's RssAnon sampled every 50 ms into FILE, its peak so far,
# until the daemon exits or the sampler is killed; sets SAMPLER.
sample_anon_peak() { # PID FILE
	local pid=$1 file=$2
	(
		peak=0
		while [ -e "/proc/$pid/status" ]; do
			a=$(awk '/^RssAnon:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || break
			[ -z "$a" ] || [ "$a" -le "$peak" ] || { peak=$a; echo "$peak" >"$file"; }
			sleep 0.05
		done
	) &
	SAMPLER=$!
}

# ------------------------------------------------------ the whole corpus

mount_contents
sample_anon_peak "$DAEMON_PID" "$WORK/anon.default.peak"
check_eq "the listing shows every archive that opens, and directories" \
	"$(expected_listing)" "$(LC_ALL=C ls "$MNT")"
corpus_checks corpus 0
check_cmp "an archive in a subdirectory: sub/inner.hxz/main" "$CORPUS/zstd_fixed.main" \
	"$MNT/sub/inner.hxz/main"
for pair in "${BIG_FILES[@]}"; do
	check_cmp "${pair%%=*} reads whole" "${pair#*=}" "$MNT/${pair%%=*}"
done

# ------------------------------------------------------ hidden archives

for h in "${HIDDEN[@]}"; do
	name=${h%%|*}
	listing=$(ls "$MNT")
	if grep -qxF -- "$name" <<<"$listing"; then
		fail "$name (cannot be opened) is not listed"
	else
		pass "$name (cannot be opened) is not listed"
	fi
	check_enoent "$name: lookup fails with ENOENT" "$MNT/$name"
	check_enoent "$name/main: lookup fails with ENOENT" "$MNT/$name/main"
	ls -l "$MNT" >/dev/null
done
for h in "${HIDDEN[@]}"; do
	name=${h%%|*}
	check_eq "$name: 'not shown' logged exactly once after listings and lookups" 1 \
		"$(log_count "not shown: $SRC/$name:")"
	line=$(grep -F -- "not shown: $SRC/$name:" "$DAEMON_LOG" | head -n 1)
	if grep -qiE -- "${h#*|}" <<<"$line"; then
		pass "$name: the log line gives the reason (/${h#*|}/)"
	else
		fail "$name: the log line gives the reason (/${h#*|}/)" "line: $line"
	fi
done
check_eq "the encrypted archive's files are not reachable without a password" "" \
	"$(cat "$MNT/encrypted_lz4.hxz/main" 2>/dev/null || true)"

# ------------------------------------------------------ a damaged block

read -r DAMAGED_OFF DAMAGED_LEN DAMAGED_BLOCK < <("$PYTHON" - "$CORPUS" <<'EOF'
import json, sys
for c in json.load(open(sys.argv[1] + "/corpus.json"))["cases"]:
    if c["damaged_blocks"]:
        r = c["damaged_ranges"][0]
        assert r["stream"] == "main"
        print(r["offset"], r["length"], c["damaged_blocks"][0])
        break
EOF
)
cpycheck damaged "$MNT/corrupt_block.hxz/main" "$CORPUS/corrupt_block.main" \
	"$DAMAGED_OFF" "$DAMAGED_LEN"
out=$(cat "$MNT/corrupt_block.hxz/main" 2>&1 >/dev/null) || true
check_contains "cat of the damaged stream reports an I/O error" "$out" "Input/output error"
errors=$(grep -F "read error:" "$DAEMON_LOG" | grep -F "corrupt_block.hxz" || true)
check_eq "the damaged block is logged once, though read many times" 1 \
	"$(grep -c . <<<"$errors" || true)"
check_contains "the log line names the archive" "$errors" "$SRC/corrupt_block.hxz"
check_contains "the log line names the stream" "$errors" "main"
if grep -qE "block #?$DAMAGED_BLOCK([^0-9]|$)" <<<"$errors"; then
	pass "the log line names block $DAMAGED_BLOCK"
else
	fail "the log line names block $DAMAGED_BLOCK" "line: $errors"
fi
check_eq "no read error is logged for another archive" "" \
	"$(grep -F "read error:" "$DAEMON_LOG" | grep -vF corrupt_block.hxz || true)"

# ------------------------------------------------------ reads, EOF, mmap

specs_for() { # SIZE: odd offsets and sizes, EOF and past it
	local size=$1
	printf '%s\n' 0:1 0:4095 0:4097 1:1 1:131073 4095:2 4097:65535 65535:3 \
		"$((size / 3)):$((size / 5 + 1))" "$((size / 2 - 1)):1048577" \
		"$((size - 1)):1" "$((size - 1)):4096" "$((size - 4097)):8193" "$size:1" "$size:4096" \
		"$((size + 1)):1" "$((size + 123456)):4096" "0:$((size + 65536))"
}
for pair in "${BIG_FILES[@]}" "${CORPUS_FILES[@]}"; do
	size=$(stat -c %s "${pair#*=}")
	[ "$size" -gt 8192 ] || continue
	mapfile -t specs < <(specs_for "$size")
	pycheck preads "$MNT/${pair%%=*}" "${pair#*=}" "${specs[@]}"
done
mapfile -t pairs < <(with_mnt "${BIG_FILES[@]}" "${CORPUS_FILES[@]}")
cpycheck random-reads 4 1 "${pairs[@]}"
# dd's own reads at odd byte offsets and counts.
for spec in 1:1 12345:1 99999:77777 $((5 * MiB + 3)):$((MiB + 1)) $((8 * MiB - 5)):100; do
	skip=${spec%%:*} count=${spec#*:}
	check_eq "dd of big_lz4.hxz/main, $count bytes at $skip" \
		"$(dd if="$WORK/img1" bs=65536 skip="$skip" count="$count" iflag=skip_bytes,count_bytes status=none | sha256sum)" \
		"$(dd if="$MNT/big_lz4.hxz/main" bs=65536 skip="$skip" count="$count" iflag=skip_bytes,count_bytes status=none | sha256sum)"
done
check_eq "dd at the end of big_zstd.hxz/main reads nothing" 0 \
	"$(dd if="$MNT/big_zstd.hxz/main" bs=4096 skip="$(stat -c %s "$WORK/img3")" \
		iflag=skip_bytes status=none | wc -c)"
pycheck seqread "$MNT/big_lz4.hxz/auxiliary" "$WORK/img2" 131072
pycheck seqread "$MNT/big_var.hxz/main" "$WORK/img4" 1000003
pycheck seqread "$MNT/empty.hxz/main" "$CORPUS/empty.main" 4096
pycheck mmap "$MNT/big_lz4.hxz/main" "$WORK/img1"
pycheck mmap "$MNT/big_tree.hxz/a.bin" "$WORK/tree/a.bin" 0:4096 1:3 $((MiB - 7)):100000 -4096:4096
pycheck mmap "$MNT/pages_many.hxz/auxiliary" "$CORPUS/pages_many.aux"
pycheck mmap "$MNT/dir_tree.hxz/README" "$CORPUS/dir_tree.files/002"

# ------------------------------------------------------ parallel readers

# Eight processes, each reading every file of a set spread over several
# archives, starting at a different one; each file's sha256 is checked.
parallel_readers() { # LABEL
	local label=$1 i j n pair pids=() bad=0
	local -a set=("${BIG_FILES[@]}" "${CORPUS_FILES[@]:0:4}")
	n=${#set[@]}
	for i in 0 1 2 3 4 5 6 7; do
		(
			for ((j = 0; j < n; j++)); do
				pair=${set[$(((i + j) % n))]}
				printf '%s %s\n' "${pair%%=*}" "$(timeout 60 sha256sum <"$MNT/${pair%%=*}")"
			done
		) >"$WORK/par.$i" 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" || bad=$((bad + 1))
	done
	check_eq "[$label] 8 parallel readers all finished" 0 "$bad"
	for pair in "${set[@]}"; do
		want="${pair%%=*} $(sha256sum <"${pair#*=}")"
		n=$(grep -cxF -- "$want" "$WORK"/par.* | awk -F: '{ s += $2 } END { print s }')
		check_eq "[$label] ${pair%%=*}: sha256 right for all 8 readers" 8 "$n"
	done
}
parallel_readers "default cache"
# What the default cache (256 MiB) held at its peak, every block read
# cached: the same reads in flight as below, and all their blocks kept.
kill "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
DEFAULT_ANON=$(cat "$WORK/anon.default.peak" 2>/dev/null || echo 0)
echo "# memory, default cache_size, after all of the above: $(grep -E '^(VmHWM|VmRSS|RssAnon):' \
	"/proc/$DAEMON_PID/status" | tr -s ' \t\n' ' ')"
unmount_contents

# ------------------------------------------- a cache far smaller than data

# Over 20 MiB of decompressed data read through a 1 MiB block cache.
# Resident memory is sampled while it runs: RssAnon (the daemon's private
# memory: cache, index pages, buffers, stacks) and VmHWM (peak of all
# resident memory, including the pages of the mapped archive files, which
# are the kernel's page cache, shared and reclaimable).
CACHE=$MiB
mount_contents -o cache_size=1M
PID=$DAEMON_PID
daemon_memory "$PID"
START_HWM=$VM_HWM START_RSS=$VM_RSS
sample_anon_peak "$PID" "$WORK/anon.peak"
for pair in "${BIG_FILES[@]}"; do
	check_cmp "[cache_size=1M] ${pair%%=*} reads whole" "${pair#*=}" "$MNT/${pair%%=*}"
done
corpus_checks "cache_size=1M" 0
mapfile -t pairs < <(with_mnt "${BIG_FILES[@]}")
cpycheck random-reads 4 2 "${pairs[@]}"
parallel_readers "cache_size=1M"
daemon_memory "$PID"
kill "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
ANON_PEAK=$(cat "$WORK/anon.peak" 2>/dev/null || echo 0)
DATA_KIB=$((($(cat "$WORK"/img1 "$WORK"/img2 "$WORK"/img3 "$WORK"/img4 "$WORK"/tree/a.bin | wc -c)) / 1024))
echo "# memory, -o cache_size=1M, ${DATA_KIB} KiB of data: after mount VmHWM ${START_HWM} KiB" \
	"VmRSS ${START_RSS} KiB; after the reads VmHWM ${VM_HWM} KiB VmRSS ${VM_RSS} KiB," \
	"RssAnon peak ${ANON_PEAK} KiB"
# The bounds: the cache's 1 MiB plus a fixed overhead of 24 MiB for the
# private memory, and 64 MiB for the peak of everything resident, mapped
# archives included. Measured (2 CPUs, 2 workers): RssAnon peaks at 7.5
# to 11.5 MiB, VmHWM at 27 to 32 MiB; with the default 256 MiB cache, the
# same reads leave RssAnon at 25 to 29 MiB (the whole data cached). The
# overhead allowed: blocks pinned by the reads in flight (up to
# max_threads = 10 requests of 1 MiB, each rounded out to whole blocks:
# about 13 MiB), one block per decompression in flight, and the daemon's
# own heap, stacks and FUSE buffers (about 4 MiB at start). Under
# AddressSanitizer, shadow memory and its quarantine of freed blocks dwarf
# both: the figures are reported, not held to these bounds.
ANON_OVERHEAD=$((24 * 1024))
ALL_OVERHEAD=$((64 * 1024))
if under_asan "$PID"; then
	echo "# AddressSanitizer build: memory bounds reported, not checked"
else
	check_le "[cache_size=1M] private memory (RssAnon peak ${ANON_PEAK} KiB) within cache_size + 24 MiB" \
		"$ANON_PEAK" $((CACHE / 1024 + ANON_OVERHEAD))
	check_le "[cache_size=1M] peak resident memory (VmHWM ${VM_HWM} KiB) within cache_size + 64 MiB" \
		"$VM_HWM" $((CACHE / 1024 + ALL_OVERHEAD))
	# The budget binds: peak against peak (the reads in flight pin blocks
	# in both; only the default cache also keeps every block read).
	check_le "[cache_size=1M] private memory peaks below the default cache's peak (${DEFAULT_ANON} KiB)" \
		"$ANON_PEAK" "$DEFAULT_ANON"
fi
if proc_alive "$PID"; then
	pass "[cache_size=1M] the daemon is alive after the reads"
else
	fail "[cache_size=1M] the daemon is alive after the reads" "$(cat "$DAEMON_LOG")"
fi
unmount_contents
