#!/usr/bin/env bash
# Reads: exactly the bytes asked for except at EOF, then 0; files over
# 4 GiB at every offset; mmap; parallel readers; the mapping cache.
set -euo pipefail
# shellcheck source=tests/mount/lib.sh
. "$(dirname -- "$0")/lib.sh"

GiB=$((1 << 30))
BIG_SIZE=$((5 * GiB + 4097))
rand() { # NAME SIZE
	head -c "$2" /dev/urandom >"$SRC/$1"
}
: >"$SRC/empty.hxz"
rand one.hxz 1
rand page.hxz 4096
rand page1.hxz 4097
rand odd.hxz 100003
rand med.hxz $((8 * 1024 * 1024 + 13))
# Sparse, with random 64 KiB blocks where offsets change width: at 0, at
# 2^31 and 2^32 (straddling), past 4 GiB, and at the very end.
BLOCKS=(0 $((2 * GiB - 32768)) $((4 * GiB - 32768)) $((4 * GiB + 12345)) $((BIG_SIZE - 65536)))
"$PYTHON" - "$SRC/big.hxz" "$BIG_SIZE" "${BLOCKS[@]}" <<'EOF'
import os, sys
path, size, offsets = sys.argv[1], int(sys.argv[2]), [int(x) for x in sys.argv[3:]]
with open(path, "wb") as f:
    f.truncate(size)
    for off in offsets:
        f.seek(off)
        f.write(os.urandom(65536))
EOF
SMALL=(empty.hxz one.hxz page.hxz page1.hxz odd.hxz med.hxz)

read_checks() { # LABEL
	local label=$1 f size
	for f in "${SMALL[@]}"; do
		check_cmp "[$label] $f reads whole" "$SRC/$f" "$MNT/$f"
	done
	for f in "${SMALL[@]}"; do
		size=$(stat -c %s "$SRC/$f")
		specs=(0:1 0:4096 "0:$size" "0:$((size + 1))" "0:$((size + 65536))"
			"$((size / 2)):$((size / 3 + 1))" "$size:1" "$size:4096" "$((size + 1)):1"
			"$((size + 100000)):4096" 4095:2)
		[ "$size" -eq 0 ] || specs+=("$((size - 1)):1" "$((size - 1)):100")
		pycheck preads "$MNT/$f" "$SRC/$f" "${specs[@]}"
	done
}

# ------------------------------------------------------------- defaults

mount_fg "$SRC" "$MNT"
read_checks defaults
pycheck seqread "$MNT/odd.hxz" "$SRC/odd.hxz" 3
pycheck seqread "$MNT/odd.hxz" "$SRC/odd.hxz" 4096
pycheck seqread "$MNT/med.hxz" "$SRC/med.hxz" 131072
pycheck seqread "$MNT/med.hxz" "$SRC/med.hxz" 1000003
pycheck seqread "$MNT/med.hxz" "$SRC/med.hxz" $((16 * 1024 * 1024))
pycheck seqread "$MNT/empty.hxz" "$SRC/empty.hxz" 4096

# Over 4 GiB.
check_eq "big.hxz: size over 4 GiB" "$BIG_SIZE" "$(stat -c %s "$MNT/big.hxz")"
specs=()
for off in "${BLOCKS[@]}"; do
	specs+=("$off:65536" "$((off + 65535)):2" "$((off + 4096)):12345")
	[ "$off" -eq 0 ] || specs+=("$((off - 1)):2" "$((off - 100000)):200000")
done
specs+=("$((2 * GiB - 1)):2" "$((4 * GiB - 1)):2" "$((4 * GiB)):1" "$((4 * GiB - 524288)):1048576"
	"$((4 * GiB - 8388608)):16777216" "$((BIG_SIZE - 1)):1" "$((BIG_SIZE - 1)):10"
	"$((BIG_SIZE - 65536)):16777216" "$BIG_SIZE:1" "$((BIG_SIZE + 1)):4096"
	"$((1 << 40)):4096" "$((3 * GiB)):4096")
pycheck preads "$MNT/big.hxz" "$SRC/big.hxz" "${specs[@]}"
# cmp's own reads, from just under 4 GiB to the end (1 GiB and a bit).
from=$((4 * GiB - 4 * 1024 * 1024))
check_ok "big.hxz: every byte from 4 GiB - 4 MiB to EOF equals the source" \
	timeout 120 cmp -i "$from:$from" "$SRC/big.hxz" "$MNT/big.hxz"
check_eq "big.hxz: tail -c 100000" "$(tail -c 100000 "$SRC/big.hxz" | sha256sum)" \
	"$(tail -c 100000 "$MNT/big.hxz" | sha256sum)"
check_eq "big.hxz: dd of 1 MiB from 4 GiB + 12345 - 7" \
	"$(dd if="$SRC/big.hxz" bs=1M count=1 skip=$((4 * GiB + 12338)) iflag=skip_bytes status=none | sha256sum)" \
	"$(dd if="$MNT/big.hxz" bs=1M count=1 skip=$((4 * GiB + 12338)) iflag=skip_bytes status=none | sha256sum)"

# mmap.
pycheck mmap "$MNT/med.hxz" "$SRC/med.hxz"
pycheck mmap "$MNT/odd.hxz" "$SRC/odd.hxz"
pycheck mmap "$MNT/page1.hxz" "$SRC/page1.hxz"
mspecs=()
for off in "${BLOCKS[@]}"; do
	mspecs+=("$off:65536")
done
mspecs+=("$((4 * GiB - 4096)):8192" "$((BIG_SIZE - 10)):10")
pycheck mmap "$MNT/big.hxz" "$SRC/big.hxz" "${mspecs[@]}"

# Parallel readers, each file read by four at once.
declare -A want
for f in med.hxz odd.hxz page1.hxz one.hxz; do
	want[$f]=$(sha256sum <"$SRC/$f")
done
pids=()
for i in 1 2 3 4; do
	for f in med.hxz odd.hxz page1.hxz one.hxz; do
		timeout 60 sha256sum <"$MNT/$f" >"$WORK/par.$i.$f" &
		pids+=($!)
	done
done
for pid in "${pids[@]}"; do
	wait "$pid" || true
done
for i in 1 2 3 4; do
	for f in med.hxz odd.hxz page1.hxz one.hxz; do
		check_eq "parallel reader $i of $f" "${want[$f]}" "$(cat "$WORK/par.$i.$f")"
	done
done

# Open, read, close, many times: the shared mapping is reused.
bad=0
for i in $(seq 1 30); do
	[ "$(sha256sum <"$MNT/odd.hxz")" == "$(sha256sum <"$SRC/odd.hxz")" ] || bad=$((bad + 1))
done
check_eq "30 successive opens of odd.hxz read the same bytes" 0 "$bad"
unmount_fg "$MNT"

# ----------------------------------------- single-threaded, tiny map cache

mount_fg "$SRC" "$MNT" -s
read_checks "-s"
unmount_fg "$MNT"

mount_fg "$SRC" "$MNT" -o map_cache=0
read_checks "map_cache=0"
check_cmp "[map_cache=0] med.hxz again after its mapping was dropped" "$SRC/med.hxz" "$MNT/med.hxz"
unmount_fg "$MNT"

mount_fg "$SRC" "$MNT" -o map_cache=1
for round in 1 2; do
	for f in "${SMALL[@]}"; do
		check_cmp "[map_cache=1] round $round: $f" "$SRC/$f" "$MNT/$f"
	done
done
unmount_fg "$MNT"
