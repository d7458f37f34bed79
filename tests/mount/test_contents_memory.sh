#!/usr/bin/env bash
# -o view=contents, memory as ps and top show it: with a block cache far
# smaller than the archives, random and sequential reads of a large
# archive, and random reads spread over several archives, keep the
# daemon's resident set (VmRSS, which counts the archive pages it maps)
# within cache_size + 64 MiB, and read the right bytes.
set -euo pipefail
# shellcheck source=tests/mount/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/mount/contents_lib.sh
. "$MOUNT_TESTS_DIR/contents_lib.sh"

MiB=$((1 << 20))
CACHE_MIB=16
BOUND_KIB=$(((CACHE_MIB + 64) * 1024))

# A large archive (256 MiB of disk-image-like data, about 180 MiB stored)
# and three smaller ones, all LZ4 in 64 KiB blocks.
image "$WORK/big" $((256 * MiB)) 11
writer --main "$WORK/big" -c lz4 --block-size 65536 "$SRC/big.hxz"
SMALL=()
for i in 1 2 3; do
	image "$WORK/small$i" $((48 * MiB)) $((20 + i))
	writer --main "$WORK/small$i" -c lz4 --block-size 65536 "$SRC/small$i.hxz"
	SMALL+=("$MNT/small$i.hxz/main=$WORK/small$i")
done
STORED_KIB=$(($(stat -c %s "$SRC/big.hxz") / 1024))
# Without a bound on the mapped pages, reading the big archive alone maps
# more than the bound allows: the checks below can fail.
check_le "the big archive (${STORED_KIB} KiB stored) is larger than cache_size + 64 MiB" \
	"$BOUND_KIB" "$STORED_KIB"

mount_contents -o "cache_size=${CACHE_MIB}M"
PID=$DAEMON_PID

# Peaks of VmRSS and of its mapped-file part (RssFile), sampled every
# 20 ms. The kernel's own peak (VmHWM) is checked too: it misses nothing,
# however late a busy machine runs the sampler.
(
	rss=0 file=0
	while [ -e "/proc/$PID/status" ]; do
		read -r r f < <(awk '/^VmRSS:/ { r = $2 } /^RssFile:/ { f = $2 } END { print r, f }' \
			"/proc/$PID/status" 2>/dev/null) || break
		[ -z "$r" ] || [ "$r" -le "$rss" ] || { rss=$r; echo "$rss" >"$WORK/rss.peak"; }
		[ -z "$f" ] || [ "$f" -le "$file" ] || { file=$f; echo "$file" >"$WORK/file.peak"; }
		sleep 0.02
	done
) &
SAMPLER=$!

# Random pages through O_DIRECT: every read reaches the daemon, and 30,000
# of them decompress nearly every block of the archive.
cpycheck random-pages 30000 1 1 "$MNT/big.hxz/main=$WORK/big"
daemon_memory "$PID"
echo "# after random O_DIRECT reads: VmRSS ${VM_RSS} KiB, VmHWM ${VM_HWM} KiB"
check_cmp "the big archive reads whole, in sequence" "$WORK/big" "$MNT/big.hxz/main"
daemon_memory "$PID"
echo "# after a sequential read: VmRSS ${VM_RSS} KiB, VmHWM ${VM_HWM} KiB"
# Buffered random pages over the three small archives: the rest of each
# block goes to the page cache (block fill), as for any random reader.
cpycheck random-pages 20000 2 0 "${SMALL[@]}"
daemon_memory "$PID"
kill "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
RSS_PEAK=$(cat "$WORK/rss.peak" 2>/dev/null || echo 0)
FILE_PEAK=$(cat "$WORK/file.peak" 2>/dev/null || echo 0)
echo "# after random reads of three archives: VmRSS ${VM_RSS} KiB, VmHWM ${VM_HWM} KiB;" \
	"sampled peaks: VmRSS ${RSS_PEAK} KiB, RssFile ${FILE_PEAK} KiB"
kill -USR1 "$PID"
sleep 0.5
grep -F 'block cache:' "$DAEMON_LOG" | tail -n 1 | sed 's/^/# /'

# Under AddressSanitizer, shadow memory and the quarantine of freed blocks
# make the private part meaningless; the mapped part still holds.
if under_asan "$PID"; then
	echo "# AddressSanitizer build: VmRSS reported; the mapped part (RssFile) checked"
else
	check_le "peak VmRSS (sampled, ${RSS_PEAK} KiB) within cache_size + 64 MiB" \
		"$RSS_PEAK" "$BOUND_KIB"
	check_le "peak VmRSS (VmHWM, ${VM_HWM} KiB) within cache_size + 64 MiB" \
		"$VM_HWM" "$BOUND_KIB"
fi
check_le "peak mapped-file memory (sampled RssFile, ${FILE_PEAK} KiB) within 64 MiB" \
	"$FILE_PEAK" $((64 * 1024))
if proc_alive "$PID"; then
	pass "the daemon is alive after the reads"
else
	fail "the daemon is alive after the reads" "$(cat "$DAEMON_LOG")"
fi
unmount_contents
