#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# scripts/bench_contents.sh: the contents view (hexz archives) against the
# other ways Debian mounts a compressed image, on the same bytes (issue 12).
# Run by scripts/bench.sh after its own benchmark, or on its own.
#
# Data (deterministic): SIZE bytes shaped like a used disk image
# (tests/writer/gen_disk_image.py; LZ4 shrinks it about 1.5x, zstd 2x), a
# second one (another seed) for the two-reader workload, and a tree of
# FILES small files (1 to 64 KiB, slices of the first image). Each is
# written, with 64 KiB blocks, as
#   hexz archives      tests/writer/hexz_writer.py -c lz4|zstd --block-size 65536
#                      (a directory archive for the tree);
#   squashfs images    mksquashfs -comp lz4|zstd -b 65536 -noappend (zstd at
#                      -Xcompression-level 3, the writer's level, instead of
#                      mksquashfs's 15: same codec settings on both sides);
#   EROFS images       mkfs.erofs -zlz4 -C65536, LZ4 only: erofs-utils 1.5
#                      (Debian 12) offers lz4 and lz4hc, no zstd; lz4hc
#                      would compress differently from the writer's LZ4 (and
#                      takes minutes);
# and the uncompressed bytes, for hexzfs's raw view.
#
# Peers:
#   hexzfs          hexzfs -o view=contents over the archives (default
#                   cache_size; hexzfs_32m: -o cache_size=32M, sequential
#                   workloads only);
#   squashfuse_ll   one daemon per squashfs image;
#   ksquashfs       the kernel's squashfs, mount -o loop,ro;
#   erofs           the kernel's EROFS, mount(2) of the image file itself
#                   (file-backed, Linux >= 6.12; util-linux's mount would
#                   set up a loop device, so a tiny helper calls mount(2));
#                   a loop mount when the kernel refuses a file;
#   raw             hexzfs's raw view of the uncompressed bytes: what a FUSE
#                   server delivers here with nothing to decompress.
#
# Workloads (each on a fresh mount, so "cold" means every cache of the
# mount, the daemon's and the kernel's, is new; the sources, i.e. the
# archive or image files, are read with cat just before and stay in the
# page cache):
#   seq_cold   dd bs=1M of the whole disk image, fresh mount;
#   seq_warm   the same again in the same mount;
#   rss_*      the daemon's VmHWM (peak RSS), RssAnon and RssFile from
#              /proc/PID/status right after seq_cold (hexzfs, hexzfs_32m,
#              squashfuse_ll, raw);
#   rand_1/2   fio random 4 KiB reads, psync, buffered, 1 or 2 jobs; every
#              peer replays the same offsets (fio's fixed seeds), RAND_IO_MB
#              in all, capped at RAND_SECONDS; total IOPS;
#   par_2      two dd readers at once on two different disk images (two
#              archives in one hexzfs mount; two squashfuse_ll daemons; two
#              kernel mounts); aggregate MB/s over the wall time of both;
#   tar        tar -cf - of the whole tree, piped to wc -c (GNU tar does not
#              read the files at all when the archive is /dev/null).
# Each round runs every workload on every peer, the peers interleaved
# workload by workload in an order that rotates from round to round; the
# sequential cells (seq: seq_cold, seq_warm, rss_*, cpu_cold; and par_2),
# a few seconds each and the noisiest, run SEQ_REPEAT times per round,
# each time on a fresh mount and in another order. Figures are medians
# over all runs (min and max in results.tsv). Then
# bench/archive_bench, when the build has it: libhexz decoding an archive
# against the codec alone on the same blocks.
#
# Usage: scripts/bench_contents.sh [--quick] [--no-install] [--no-publish]
#   --quick       development run: small data, 2 rounds, nothing published
#                 (BENCH_QUICK=1 does the same)
#   --no-install  never call apt-get (fail if a tool is missing)
#   --no-publish  leave doc/bench/ and README.md alone
#
# Environment (defaults in brackets; --quick's in parentheses):
#   BENCH_CONTENTS_ROUNDS [5] (2)          rounds
#   BENCH_CONTENTS_SEQ_REPEAT [3] (1)      runs of the sequential cells per round
#   BENCH_CONTENTS_SIZE_MB [512] (64)      size of each disk image
#   BENCH_CONTENTS_FILES [10000] (1000)    files of the tree
#   BENCH_CONTENTS_RAND_SECONDS [10] (3)   time cap of each random-read run
#   BENCH_CONTENTS_RAND_IO_MB [SIZE/4]     bytes read per random run
#   BENCH_CONTENTS_LIB_ROUNDS [7] (3)      rounds of bench/archive_bench (on
#                                          archives of up to 128 MiB)
#   BENCH_TMPDIR [/var/tmp]                where data and mountpoints go
#   BENCH_BUILD_DIR [build-release]
#   BENCH_HEXZFS_BIN, BENCH_HEXZFS_ARGS    another hexzfs binary, or extra
#                                          arguments for every hexzfs mount
#                                          (nothing is published then)
#   BENCH_OUT [bench-results/<date>-contents]  where the results go
#
# Results: BENCH_OUT (raw.tsv, medians.tsv, results.tsv, results.txt,
# results.md, chart.png, archive_bench.tsv, bench.log, daemon logs), and,
# unless --quick or --no-publish, doc/bench/results-contents.{md,tsv,txt},
# doc/bench/chart-contents.png and the table between the
# <!-- bench-contents-table --> markers of README.md.
set -euo pipefail
export LC_ALL=C

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO
BENCH_NAME=bench_contents.sh
# shellcheck source=scripts/bench_lib.sh
. "$REPO/scripts/bench_lib.sh"

readonly PY=/usr/bin/python3 # Debian's, with python3-lz4 and python3-zstandard
readonly CODECS=(lz4 zstd)
# Table columns after hexzfs; hexzfs is compared with each.
readonly PEERS=(squashfuse_ll ksquashfs erofs raw)

QUICK=0
[[ ${BENCH_QUICK:-0} == 1 ]] && QUICK=1
INSTALL=1
PUBLISH=1

usage() {
	sed -n '/^# Usage:/,/^# Results:/{/^# Results:/d; s/^# \{0,1\}//; p}' "${BASH_SOURCE[0]}"
}

while (($#)); do
	case "$1" in
	--quick) QUICK=1 ;;
	--no-install) INSTALL=0 ;;
	--no-publish) PUBLISH=0 ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		echo "bench_contents.sh: unknown argument '$1'" >&2
		usage >&2
		exit 2
		;;
	esac
	shift
done

if ((QUICK)); then
	PUBLISH=0
	: "${BENCH_CONTENTS_ROUNDS:=2}" "${BENCH_CONTENTS_SIZE_MB:=64}" "${BENCH_CONTENTS_FILES:=1000}"
	: "${BENCH_CONTENTS_RAND_SECONDS:=3}" "${BENCH_CONTENTS_LIB_ROUNDS:=3}"
	: "${BENCH_CONTENTS_SEQ_REPEAT:=1}"
fi
ROUNDS=${BENCH_CONTENTS_ROUNDS:-5}
SEQ_REPEAT=${BENCH_CONTENTS_SEQ_REPEAT:-3}
SIZE_MB=${BENCH_CONTENTS_SIZE_MB:-512}
NFILES=${BENCH_CONTENTS_FILES:-10000}
RAND_SECONDS=${BENCH_CONTENTS_RAND_SECONDS:-10}
RAND_IO_MB=${BENCH_CONTENTS_RAND_IO_MB:-$((SIZE_MB / 4))}
LIB_ROUNDS=${BENCH_CONTENTS_LIB_ROUNDS:-7}
TMPBASE=${BENCH_TMPDIR:-/var/tmp}
BUILD_DIR=${BENCH_BUILD_DIR:-build-release}
[[ $BUILD_DIR = /* ]] || BUILD_DIR="$REPO/$BUILD_DIR"
HEXZFS_BIN=${BENCH_HEXZFS_BIN:-}
read -r -a HEXZFS_ARGS <<<"${BENCH_HEXZFS_ARGS:-}"
if [[ -n $HEXZFS_BIN || ${#HEXZFS_ARGS[@]} -gt 0 ]]; then
	PUBLISH=0
fi

for v in ROUNDS SEQ_REPEAT SIZE_MB NFILES RAND_SECONDS RAND_IO_MB LIB_ROUNDS; do
	if ! [[ ${!v} =~ ^[1-9][0-9]*$ ]]; then
		echo "bench_contents.sh: $v must be a positive whole number, not '${!v}'" >&2
		exit 2
	fi
done
if ((RAND_IO_MB < 4 || RAND_IO_MB > SIZE_MB)); then
	echo "bench_contents.sh: BENCH_CONTENTS_RAND_IO_MB must lie between 4 and the size" >&2
	exit 2
fi
readonly ROUNDS SEQ_REPEAT SIZE_MB NFILES RAND_SECONDS RAND_IO_MB LIB_ROUNDS TMPBASE BUILD_DIR
readonly HEXZFS_BIN HEXZFS_ARGS
readonly SIZE_BYTES=$((SIZE_MB * 1024 * 1024))
readonly LIB_MB=$((SIZE_MB < 128 ? SIZE_MB : 128))

STAMP=$(date -u +%Y%m%d-%H%M%S)
((QUICK)) && STAMP+="-quick"
OUT=${BENCH_OUT:-"$REPO/bench-results/$STAMP-contents"}
readonly STAMP OUT
mkdir -p "$OUT"
LOG="$OUT/bench.log"
readonly LOG
: >"$LOG"

# command:package (see bench.sh for gnuplot-nox).
readonly NEEDED=(
	squashfuse_ll:squashfuse mksquashfs:squashfs-tools mkfs.erofs:erofs-utils
	fio:fio gnuplot:gnuplot-nox fincore:util-linux fusermount3:fuse3 b3sum:b3sum
	meson:meson ninja:ninja-build cc:gcc pkg-config:pkg-config
)

# ---------------------------------------------------------------------------
# Mounts and cleanup
# ---------------------------------------------------------------------------

WORK=""
LOAD_START=""
EROFS_MODE="file-backed"
CACHE_DEFAULT_MB=""
# Mounts of the current cell, "fuse|kernel:PID:MOUNTPOINT", unmounted in
# reverse order; DPID is the daemon whose memory a cell reports.
ACTIVE=()
DPID=""

unmount_all() {
	local i entry kind pid mnt n

	for ((i = ${#ACTIVE[@]} - 1; i >= 0; i--)); do
		entry=${ACTIVE[$i]}
		kind=${entry%%:*}
		entry=${entry#*:}
		pid=${entry%%:*}
		mnt=${entry#*:}
		for n in $(seq 20); do
			mountpoint -q "$mnt" 2>/dev/null || break
			if [[ $kind == fuse ]]; then
				fusermount3 -u "$mnt" 2>/dev/null && break
			else
				umount "$mnt" 2>/dev/null && break
			fi
			sleep 0.2
		done
		if mountpoint -q "$mnt" 2>/dev/null; then
			log "warning: $mnt still busy; detaching it lazily"
			if [[ $kind == fuse ]]; then fusermount3 -uz "$mnt"; else umount -l "$mnt"; fi
		fi
		if [[ -n $pid ]]; then
			for n in $(seq 50); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
			if kill -0 "$pid" 2>/dev/null; then
				log "warning: daemon $pid still running after unmount; terminating it"
				kill "$pid" 2>/dev/null || true
			fi
			wait "$pid" 2>/dev/null || true
		fi
	done
	ACTIVE=()
	DPID=""
}

cleanup() {
	local rc=$?

	trap - EXIT INT TERM
	set +e
	unmount_all
	if [[ -n $WORK && -d $WORK ]]; then
		rm -rf --one-file-system "$WORK"
	fi
	((rc == 0)) || printf 'bench_contents.sh: failed (exit %s); mounts and work directory removed; log: %s\n' \
		"$rc" "$LOG" | tee -a "$LOG" >&2
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# fuse_mount NAME MOUNTPOINT COMMAND...: start a FUSE daemon in the
# foreground (of its own background job) and wait for its mount.
fuse_mount() {
	local name=$1 mnt=$2 dlog="$OUT/daemon-$1.log" pid i
	shift 2

	"$@" </dev/null >>"$dlog" 2>&1 &
	pid=$!
	ACTIVE+=("fuse:$pid:$mnt")
	[[ -n $DPID ]] || DPID=$pid
	for i in $(seq 200); do
		mountpoint -q "$mnt" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	die "$name did not mount on $mnt (see $dlog)"
}

squashfs_mount() {
	mount -t squashfs -o loop,ro "$1" "$2" 2>>"$LOG" || die "cannot mount $1 (loop)"
	ACTIVE+=("kernel::$2")
}

# mount(2) straight on the image file; util-linux would put a loop device
# under it. A kernel that refuses (no file-backed EROFS) gets a loop mount.
erofs_mount() {
	if [[ $EROFS_MODE == file-backed ]] && "$PY" - "$1" "$2" 2>>"$LOG" <<'EOF'; then
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.mount(os.fsencode(sys.argv[1]), os.fsencode(sys.argv[2]), b"erofs", 1, None) != 0:  # MS_RDONLY
    sys.exit("mount(2) of %s: %s" % (sys.argv[1], os.strerror(ctypes.get_errno())))
EOF
		ACTIVE+=("kernel::$2")
		return 0
	fi
	if [[ $EROFS_MODE == file-backed ]]; then
		log "warning: the kernel refuses a file-backed EROFS mount; using loop devices"
		EROFS_MODE="loop"
	fi
	mount -t erofs -o loop,ro "$1" "$2" 2>>"$LOG" || die "cannot mount $1 (loop)"
	ACTIVE+=("kernel::$2")
}

# cell_open PEER CODEC WHAT: mount PEER afresh for WHAT (disk: the disk
# image; pair: both disk images; tree: the small-file tree) and set FILES
# to the paths to read (the tree's root for tree). SOURCES: the files the
# mount reads from, made resident before the mount.
cell_open() {
	local peer=$1 codec=$2 what=$3 a="$WORK/mnt/a" b="$WORK/mnt/b" hx opts=()

	FILES=()
	case "$peer" in
	hexzfs | hexzfs_32m)
		hx="$WORK/hexz"
		case "$what" in
		disk) FILES=("$a/disk-$codec.hxz/main") SOURCES=("$hx/disk-$codec.hxz") ;;
		pair) FILES=("$a/disk-$codec.hxz/main" "$a/disk2-$codec.hxz/main") SOURCES=("$hx/disk-$codec.hxz" "$hx/disk2-$codec.hxz") ;;
		tree) FILES=("$a/tree-$codec.hxz") SOURCES=("$hx/tree-$codec.hxz") ;;
		esac
		opts=(-o view=contents)
		[[ $peer == hexzfs_32m ]] && opts+=(-o cache_size=32M)
		cat "${SOURCES[@]}" >/dev/null
		fuse_mount "$peer" "$a" "$HEXZFS" -f "${opts[@]}" "${HEXZFS_ARGS[@]}" "$hx" "$a"
		;;
	raw)
		case "$what" in
		disk) FILES=("$a/disk.hxz") SOURCES=("$WORK/raw/disk.hxz") ;;
		pair) FILES=("$a/disk.hxz" "$a/disk2.hxz") SOURCES=("$WORK/raw/disk.hxz" "$WORK/raw/disk2.hxz") ;;
		tree) die "no tree for the raw view" ;;
		esac
		cat "${SOURCES[@]}" >/dev/null
		fuse_mount raw "$a" "$HEXZFS" -f "${HEXZFS_ARGS[@]}" "$WORK/raw" "$a"
		;;
	squashfuse_ll | ksquashfs | erofs)
		local ext=sqfs
		[[ $peer == erofs ]] && ext=erofs
		case "$what" in
		disk) FILES=("$a/disk.img") SOURCES=("$WORK/img/disk-$codec.$ext") ;;
		pair) FILES=("$a/disk.img" "$b/disk2.img") SOURCES=("$WORK/img/disk-$codec.$ext" "$WORK/img/disk2-$codec.$ext") ;;
		tree) FILES=("$a") SOURCES=("$WORK/img/tree-$codec.$ext") ;;
		esac
		cat "${SOURCES[@]}" >/dev/null
		local i mnts=("$a" "$b")
		for i in "${!SOURCES[@]}"; do
			case "$peer" in
			squashfuse_ll) fuse_mount squashfuse_ll "${mnts[$i]}" squashfuse_ll -f "${SOURCES[$i]}" "${mnts[$i]}" ;;
			ksquashfs) squashfs_mount "${SOURCES[$i]}" "${mnts[$i]}" ;;
			erofs) erofs_mount "${SOURCES[$i]}" "${mnts[$i]}" ;;
			esac
		done
		;;
	esac
	check_sources_resident
}

check_sources_resident() {
	local f size res

	for f in "${SOURCES[@]}"; do
		size=$(stat -c %s "$f")
		res=$(resident "$f")
		# fincore counts whole pages: a partial last page counts in full.
		((res >= size)) || log "warning: only $res of $size bytes of $f are in the page cache"
	done
}

# A fresh mount has none of the file's pages; say so if it has.
check_cold() {
	local f res

	for f in "$@"; do
		res=$(resident "$f")
		((res == 0)) || log "warning: $res bytes of $f already cached on a fresh mount"
	done
}

# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------

write_hexz() {
	local out=$1 codec=$2
	shift 2

	"$PY" "$REPO/tests/writer/hexz_writer.py" -c "$codec" --block-size 65536 "$@" "$out" \
		>>"$LOG" 2>&1 || die "hexz_writer.py failed for $out (see $LOG)"
}

make_squashfs() {
	local src=$1 out=$2 codec=$3 level=()

	[[ $codec == zstd ]] && level=(-Xcompression-level 3)
	mksquashfs "$src" "$out" -comp "$codec" "${level[@]}" -b 65536 -noappend -no-xattrs \
		-no-progress -quiet >>"$LOG" 2>&1 || die "mksquashfs failed for $out"
}

make_erofs() {
	mkfs.erofs -zlz4 -C65536 --quiet "$2" "$1" >>"$LOG" 2>&1 || die "mkfs.erofs failed for $2"
}

# FILES files of 1 to 64 KiB (uniform sizes), slices of the first disk image
# at 4 KiB-aligned offsets, 100 to a directory; the same every time.
make_tree() {
	"$PY" - "$WORK/raw/disk.hxz" "$WORK/tree" "$NFILES" <<'EOF'
import mmap, os, random, sys
src, root, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(12)
with open(src, "rb") as f:
    data = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
    for i in range(n):
        d = os.path.join(root, "d%03d" % (i // 100))
        if i % 100 == 0:
            os.makedirs(d)
        size = rng.randint(1024, 65536)
        off = rng.randrange(0, len(data) - size) & ~4095
        p = os.path.join(d, "f%05d" % i)
        with open(p, "wb") as out:
            out.write(data[off:off + size])
        os.utime(p, (1700000000, 1700000000))
EOF
}

make_data() {
	local c n

	log "creating data in $WORK: 2 disk images of $SIZE_MB MiB, a tree of $NFILES files"
	mkdir -p "$WORK"/{raw,hexz,img,lib,mnt/a,mnt/b,src/disk,src/disk2}
	"$PY" "$REPO/tests/writer/gen_disk_image.py" "${SIZE_MB}M" "$WORK/raw/disk.hxz" --seed 1
	"$PY" "$REPO/tests/writer/gen_disk_image.py" "${SIZE_MB}M" "$WORK/raw/disk2.hxz" --seed 2
	# The image builders take directories: the same inodes, by other names.
	ln "$WORK/raw/disk.hxz" "$WORK/src/disk/disk.img"
	ln "$WORK/raw/disk2.hxz" "$WORK/src/disk2/disk2.img"
	make_tree
	TREE_BYTES=$(find "$WORK/tree" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
	readonly TREE_BYTES
	for c in "${CODECS[@]}"; do
		log "  $c: hexz archives, squashfs images"
		for n in disk disk2; do
			write_hexz "$WORK/hexz/$n-$c.hxz" "$c" --main "$WORK/src/$n/$n.img"
			make_squashfs "$WORK/src/$n" "$WORK/img/$n-$c.sqfs" "$c"
		done
		write_hexz "$WORK/hexz/tree-$c.hxz" "$c" --dir "$WORK/tree"
		make_squashfs "$WORK/tree" "$WORK/img/tree-$c.sqfs" "$c"
	done
	if [[ -n $ARCHIVE_BENCH ]]; then
		# archive_bench wants every block decoded: no zero blocks, no dedup;
		# LIB_MB of the same kind of data are plenty for a single thread.
		"$PY" "$REPO/tests/writer/gen_disk_image.py" "${LIB_MB}M" "$WORK/lib/disk.img" --seed 3
		for c in "${CODECS[@]}"; do
			write_hexz "$WORK/lib/disk-$c.hxz" "$c" --main "$WORK/lib/disk.img" --no-zero-blocks --no-dedup
		done
	fi
	log "  lz4: EROFS images"
	for n in disk disk2; do
		make_erofs "$WORK/src/$n" "$WORK/img/$n-lz4.erofs"
	done
	sync -f "$WORK/raw/disk.hxz"
	log "$(data_sizes)"
}

# One line per image: size and ratio to the uncompressed bytes.
data_sizes() {
	local f raw=$SIZE_BYTES

	echo "data (bytes, and uncompressed/compressed):"
	for f in "$WORK"/raw/*.hxz "$WORK"/hexz/*.hxz "$WORK"/img/*; do
		case "$(basename "$f")" in
		tree-*) raw=$TREE_BYTES ;;
		*) raw=$SIZE_BYTES ;;
		esac
		awk -v n="${f#"$WORK"/}" -v s="$(stat -c %s "$f")" -v r="$raw" \
			'BEGIN { printf "  %-24s %12d  %5.2fx\n", n, s, r / s }'
	done
	echo "  tree: $NFILES files, $TREE_BYTES bytes"
}

# ---------------------------------------------------------------------------
# Workloads: each prints one number
# ---------------------------------------------------------------------------

# fio random 4 KiB reads, psync, buffered; total IOPS of all jobs.
rand_read() {
	local file=$1 jobs=$2 out

	out=$(fio --name=rand --filename="$file" --readonly --ioengine=psync --rw=randread \
		--bs=4k --direct=0 --invalidate=1 --numjobs="$jobs" --group_reporting \
		--io_size=$((RAND_IO_MB / jobs))M --runtime="$RAND_SECONDS" \
		--output-format=terse --terse-version=3 2>>"$LOG")
	awk -F';' '{ printf "%d\n", $8 }' <<<"$out"
}

# Two dd readers at once, one per file; aggregate MB/s over the wall time.
par_read() {
	local t0 t1 p1 p2 r1=0 r2=0 e1="$WORK/par1.err" e2="$WORK/par2.err"

	t0=$(usec_now)
	dd if="$1" of=/dev/null bs=1M 2>"$e1" &
	p1=$!
	dd if="$2" of=/dev/null bs=1M 2>"$e2" &
	p2=$!
	wait "$p1" || r1=$?
	wait "$p2" || r2=$?
	((r1 == 0 && r2 == 0)) || { echo "dd failed" >&2; return 1; }
	t1=$(usec_now)
	awk -v want="$SIZE_BYTES" -v us=$((t1 - t0)) '
		/bytes/ && / copied/ { if ($1 != want) { print "short read" > "/dev/stderr"; exit 1 }; n++ }
		END { if (n != 2) exit 1; printf "%.1f\n", 2 * want / us }' "$e1" "$e2"
}

do_tar() {
	local bytes

	bytes=$(tar -C "$1" -cf - . | wc -c) || return 1
	((bytes >= TREE_BYTES)) || { echo "tar: only $bytes bytes" >&2; return 1; }
}

tar_read() {
	timed do_tar "$1"
}

# Busy time of all CPUs so far (user, nice, system, irq, softirq; not the
# steal time a virtual machine's host took), in microseconds, from /proc/stat.
cpu_busy_us() {
	awk -v hz="$(getconf CLK_TCK)" '/^cpu / { printf "%.0f\n", ($2 + $3 + $4 + $7 + $8) * 1e6 / hz }' /proc/stat
}

# VmHWM, RssAnon and RssFile of a daemon, in MiB.
daemon_memory() {
	awk '/^(VmHWM|RssAnon|RssFile):/ { printf "%s %.1f\n", $1, $2 / 1024 }' "/proc/$1/status"
}

# ---------------------------------------------------------------------------
# Rounds
# ---------------------------------------------------------------------------

ROUND=0

# record WORKLOAD CODEC PEER VALUE
record() {
	local unit

	[[ $4 =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "$1 $2 $3: no figure ('$4'; see $LOG)"
	unit=$(unit_of "$1")
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$ROUND" "$1" "$2" "$3" "$4" "$unit" >>"$OUT/raw.tsv"
	printf '  %-9s %-5s %-14s %10s %s\n' "$1" "$2" "$3" "$4" "$unit" | tee -a "$LOG"
}

# A cell: one workload group on one peer and codec, on fresh mounts.
cell() {
	local group=$1 peer=$2 codec=$3 key=$3 v line c0 c1

	[[ $peer == raw ]] && key=none
	case "$group" in
	seq)
		cell_open "$peer" "$codec" disk
		check_cold "${FILES[0]}"
		c0=$(cpu_busy_us)
		v=$(dd_read "${FILES[0]}" "$SIZE_BYTES") || die "$peer $codec: seq_cold failed"
		c1=$(cpu_busy_us)
		record seq_cold "$key" "$peer" "$v"
		# The CPU time the whole machine spent on it (reader, kernel,
		# daemon), per GiB: with every core busy, the read can go no
		# faster than this divided by the number of cores.
		record cpu_cold "$key" "$peer" \
			"$(awk -v us=$((c1 - c0)) -v b="$SIZE_BYTES" 'BEGIN { printf "%.3f\n", us / 1e6 * 1073741824 / b }')"
		if [[ -n $DPID ]]; then
			while read -r line; do
				case "$line" in
				VmHWM:*) record rss_hwm "$key" "$peer" "${line#* }" ;;
				RssAnon:*) record rss_anon "$key" "$peer" "${line#* }" ;;
				RssFile:*) record rss_file "$key" "$peer" "${line#* }" ;;
				esac
			done < <(daemon_memory "$DPID")
		fi
		v=$(dd_read "${FILES[0]}" "$SIZE_BYTES") || die "$peer $codec: seq_warm failed"
		record seq_warm "$key" "$peer" "$v"
		;;
	rand_1 | rand_2)
		cell_open "$peer" "$codec" disk
		v=$(rand_read "${FILES[0]}" "${group#rand_}") || die "$peer $codec: $group failed"
		record "$group" "$key" "$peer" "$v"
		;;
	par_2)
		cell_open "$peer" "$codec" pair
		v=$(par_read "${FILES[@]}") || die "$peer $codec: par_2 failed"
		record par_2 "$key" "$peer" "$v"
		;;
	tar)
		cell_open "$peer" "$codec" tree
		v=$(tar_read "${FILES[0]}") || die "$peer $codec: tar failed"
		record tar "$key" "$peer" "$v"
		;;
	esac
	unmount_all
}

# The peer:codec instances of each workload group.
instances() {
	local c

	for c in "${CODECS[@]}"; do
		echo "hexzfs:$c"
		[[ $1 == seq ]] && echo "hexzfs_32m:$c"
		echo "squashfuse_ll:$c"
		echo "ksquashfs:$c"
		[[ $1 != tar && $c == lz4 ]] && echo "erofs:$c"
	done
	[[ $1 != tar ]] && echo "raw:none"
	return 0
}

run_rounds() {
	local g list i k n r reps

	printf 'round\tworkload\tcodec\tpeer\tvalue\tunit\n' >"$OUT/raw.tsv"
	for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
		log "round $ROUND/$ROUNDS (at $SECONDS s)"
		for g in seq rand_1 rand_2 par_2 tar; do
			mapfile -t list < <(instances "$g")
			n=${#list[@]}
			reps=1
			[[ $g == seq || $g == par_2 ]] && reps=$SEQ_REPEAT
			# Rotate the order of the instances from run to run.
			for ((r = 0; r < reps; r++)); do
				for ((i = 0; i < n; i++)); do
					k=$(((i + (ROUND - 1) * reps + r) % n))
					cell "$g" "${list[$k]%%:*}" "${list[$k]#*:}"
				done
			done
		done
	done
}

run_archive_bench() {
	if [[ -z $ARCHIVE_BENCH ]]; then
		# HOOK: bench/archive_bench (libhexz against the codec alone) is not
		# in this build; once bench/meson.build builds it, it runs here.
		log "bench/archive_bench is not built: no library-only figures"
		return 0
	fi
	log "bench/archive_bench: libhexz against the codec alone ($LIB_ROUNDS rounds, $LIB_MB MiB; at $SECONDS s)"
	"$ARCHIVE_BENCH" -r "$LIB_ROUNDS" "$WORK/lib/disk-lz4.hxz" "$WORK/lib/disk-zstd.hxz" \
		>"$OUT/archive_bench.tsv" 2>>"$LOG" || die "archive_bench failed (see $LOG)"
	sed -i "s|$WORK/lib/||g" "$OUT/archive_bench.tsv"
	cat "$OUT/archive_bench.tsv" >>"$LOG"
}

# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------

unit_of() {
	case "$1" in
	seq_* | par_*) echo MB/s ;;
	rand_*) echo IOPS ;;
	rss_*) echo MiB ;;
	cpu_*) echo "CPU s/GiB" ;;
	*) echo s ;;
	esac
}

# 1 when a larger figure is better.
higher_is_better() {
	case "$1" in
	seq_* | rand_* | par_*) echo 1 ;;
	*) echo 0 ;;
	esac
}

# The rows of the table: row workload codec hexzfs-peer. The peers'
# figures are the same workload's; hexzfs_32m rows compare hexzfs with a
# 32 MiB cache against the peers as they are.
ROWS=(
	"seq_cold_lz4 seq_cold lz4 hexzfs" "seq_cold_zstd seq_cold zstd hexzfs"
	"seq_warm_lz4 seq_warm lz4 hexzfs" "seq_warm_zstd seq_warm zstd hexzfs"
	"rand_1_lz4 rand_1 lz4 hexzfs" "rand_1_zstd rand_1 zstd hexzfs"
	"rand_2_lz4 rand_2 lz4 hexzfs" "rand_2_zstd rand_2 zstd hexzfs"
	"par_2_lz4 par_2 lz4 hexzfs" "par_2_zstd par_2 zstd hexzfs"
	"tar_lz4 tar lz4 hexzfs" "tar_zstd tar zstd hexzfs"
	"seq_cold_32m_lz4 seq_cold lz4 hexzfs_32m" "seq_cold_32m_zstd seq_cold zstd hexzfs_32m"
	"rss_hwm_lz4 rss_hwm lz4 hexzfs" "rss_hwm_zstd rss_hwm zstd hexzfs"
	"rss_hwm_32m_lz4 rss_hwm lz4 hexzfs_32m" "rss_hwm_32m_zstd rss_hwm zstd hexzfs_32m"
	"rss_anon_lz4 rss_anon lz4 hexzfs" "rss_anon_zstd rss_anon zstd hexzfs"
	"rss_anon_32m_lz4 rss_anon lz4 hexzfs_32m" "rss_anon_32m_zstd rss_anon zstd hexzfs_32m"
	"cpu_cold_lz4 cpu_cold lz4 hexzfs" "cpu_cold_zstd cpu_cold zstd hexzfs"
)
readonly ROWS
# Rows of the chart (ratios of memory figures to other designs say little).
readonly CHART_ROWS=(seq_cold_lz4 seq_cold_zstd seq_warm_lz4 seq_warm_zstd rand_1_lz4
	rand_1_zstd rand_2_lz4 rand_2_zstd par_2_lz4 par_2_zstd tar_lz4 tar_zstd)

label_of() {
	local c=${1##*_} cz=LZ4 cache=""

	[[ $c == zstd ]] && cz=zstd
	[[ $1 == *_32m_* ]] && cache=", cache_size=32M"
	case "$1" in
	seq_cold_*) echo "sequential read, cold, $cz$cache" ;;
	seq_warm_*) echo "sequential re-read, warm, $cz" ;;
	rand_1_*) echo "random 4 KiB read, 1 job, $cz" ;;
	rand_2_*) echo "random 4 KiB read, 2 jobs, $cz" ;;
	par_2_*) echo "2 sequential readers, 2 archives, $cz" ;;
	tar_*) echo "tar of $NFILES files (1-64 KiB), $cz" ;;
	rss_hwm_*) echo "daemon peak RSS (VmHWM) after cold read, $cz$cache" ;;
	rss_anon_*) echo "daemon RssAnon after cold read, $cz$cache" ;;
	cpu_cold_*) echo "CPU time of the cold read (all processes), $cz" ;;
	esac
}

chart_label() {
	local c=${1##*_}

	case "$1" in
	seq_cold_*) printf 'seq cold\\n%s\n' "$c" ;;
	seq_warm_*) printf 'seq warm\\n%s\n' "$c" ;;
	rand_1_*) printf 'rand 4K\\n1 job %s\n' "$c" ;;
	rand_2_*) printf 'rand 4K\\n2 jobs %s\n' "$c" ;;
	par_2_*) printf '2 readers\\n%s\n' "$c" ;;
	tar_*) printf 'tar small\\nfiles %s\n' "$c" ;;
	esac
}

# results.tsv: row, workload, codec, unit, then median min max of hexzfs
# and of each peer, then hexzfs against each peer, oriented so that > 1
# means hexzfs is better. The raw view has no codec: its figure serves
# both codecs' rows.
summarize() {
	local spec row w c hp

	# workload codec peer unit median min max
	medians 3 "$OUT/raw.tsv" "$OUT/medians.tsv"
	{
		printf 'row\tworkload\tcodec\tunit\thexzfs\thexzfs_min\thexzfs_max'
		for p in "${PEERS[@]}"; do printf '\t%s\t%s_min\t%s_max' "$p" "$p" "$p"; done
		for p in "${PEERS[@]}"; do printf '\thexzfs_vs_%s' "$p"; done
		printf '\n'
		for spec in "${ROWS[@]}"; do
			read -r row w c hp <<<"$spec"
			awk -F'\t' -v row="$row" -v w="$w" -v c="$c" -v hp="$hp" -v unit="$(unit_of "$w")" \
				-v hb="$(higher_is_better "$w")" -v peers="${PEERS[*]}" '
				$1 == w && ($2 == c || $2 == "none") { med[$3] = $5; lo[$3] = $6; hi[$3] = $7 }
				END {
					np = split(peers, P, " ")
					printf "%s\t%s\t%s\t%s", row, w, c, unit
					if (hp in med) printf "\t%g\t%g\t%g", med[hp], lo[hp], hi[hp]
					else printf "\t-\t-\t-"
					for (i = 1; i <= np; i++) {
						p = P[i]
						if (p in med) printf "\t%g\t%g\t%g", med[p], lo[p], hi[p]
						else printf "\t-\t-\t-"
					}
					for (i = 1; i <= np; i++) {
						p = P[i]
						if (!(p in med) || !(hp in med) || med[p] == 0 || med[hp] == 0) { printf "\t-"; continue }
						printf "\t%.3f", hb ? med[hp] / med[p] : med[p] / med[hp]
					}
					printf "\n"
				}' "$OUT/medians.tsv"
		done
	} >"$OUT/results.tsv"
}

# Column of results.tsv by row and column name.
col() {
	awk -F'\t' -v r="$1" -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
		$1 == r { print $k }' "$OUT/results.tsv"
}

# A median as shown in the tables: precision by unit.
val() {
	col "$1" "$2" | awk -v u="$(col "$1" unit)" '$0 == "-" { print; next }
		{ if (u == "s" || u ~ /^CPU/) printf "%.3f\n", $0; else if (u == "MiB") printf "%.1f\n", $0; else printf "%.0f\n", $0 }'
}

# A ratio as shown in the tables.
rat() {
	col "$1" "$2" | awk '$0 == "-" { print; next } { printf "%.2f\n", $0 }'
}

# The peak RSS target: VmHWM <= cache_size + 32 MiB.
rss_verdict() {
	local row=$1 cache=$2 v

	v=$(col "$row" hexzfs)
	awk -v name="$3" -v v="$v" -v lim=$((cache + 32)) 'BEGIN {
		if (v == "" || v == "-") { printf "  %-58s %8s  %s\n", name, "-", "n/a"; exit }
		printf "  %-58s %8.1f  %s (limit %d MiB)\n", name, v, (v <= lim) ? "met" : "MISSED", lim
	}'
}

# What the CPU time allows against the raw view: the raw view's cold read
# takes T s/GiB; the contents view needs C CPU s/GiB in all, so on N
# cores it takes at least C/N s/GiB, and can reach at most T / (C/N) of
# the raw view's speed, however well its work is spread. Then the share
# of the N cores each read kept busy (CPU time over N times the wall time).
cpu_bound() {
	local c=$1

	awk -v name="  (bound on $(nproc) CPUs from CPU time, $c)" -v raw="$(col "seq_cold_$c" raw)" \
		-v cpu="$(col "cpu_cold_$c" hexzfs)" -v n="$(nproc)" 'BEGIN {
		if (raw == "" || raw == "-" || cpu == "" || cpu == "-" || raw == 0 || cpu == 0) exit
		t = 1073741824 / (raw * 1e6)
		printf "  %-58s %8.2f  (%.3f CPU s/GiB over %d CPUs against the raw view'"'"'s %.3f s/GiB)\n", name, t / (cpu / n), cpu, n, t
	}'
	# How busy the read kept the CPUs, against how busy the raw view's
	# own read kept them: how much of the bound the pipeline leaves idle.
	awk -v name="  (share of the $(nproc) CPUs busy during the cold read, $c)" \
		-v mbs="$(col "seq_cold_$c" hexzfs)" -v cpu="$(col "cpu_cold_$c" hexzfs)" \
		-v raw="$(col "seq_cold_$c" raw)" -v rawcpu="$(col "cpu_cold_$c" raw)" -v n="$(nproc)" 'BEGIN {
		if (mbs == "" || mbs == "-" || cpu == "" || cpu == "-" || raw == "" || raw == "-" || rawcpu == "" || rawcpu == "-") exit
		printf "  %-58s %8.2f  (the raw view'"'"'s read: %.2f)\n", name,
			cpu * mbs * 1e6 / 1073741824 / n, rawcpu * raw * 1e6 / 1073741824 / n
	}'
}

targets() {
	local c

	for c in "${CODECS[@]}"; do
		verdict "cold sequential, $c: >= 1.5x squashfuse_ll" "$(col "seq_cold_$c" hexzfs_vs_squashfuse_ll)" 1.5 0
		verdict "cold sequential, $c: >= 1.5x kernel squashfs" "$(col "seq_cold_$c" hexzfs_vs_ksquashfs)" 1.5 0
		verdict "cold sequential, $c: >= 0.8x raw view cold" "$(col "seq_cold_$c" hexzfs_vs_raw)" 0.8 0
		cpu_bound "$c"
	done
	verdict "cold sequential, lz4: >= 1.0x kernel EROFS" "$(col seq_cold_lz4 hexzfs_vs_erofs)" 1.0 0
	for c in "${CODECS[@]}"; do
		verdict "random 4 KiB, 1 job, $c: >= 2x squashfuse_ll" "$(col "rand_1_$c" hexzfs_vs_squashfuse_ll)" 2 0
		verdict "random 4 KiB, 2 jobs, $c: >= 2x squashfuse_ll" "$(col "rand_2_$c" hexzfs_vs_squashfuse_ll)" 2 0
	done
	for c in "${CODECS[@]}"; do
		verdict "tar of $NFILES files, $c: no slower than squashfuse_ll" "$(col "tar_$c" hexzfs_vs_squashfuse_ll)" 1 0
	done
	for c in "${CODECS[@]}"; do
		verdict "warm sequential, $c: >= 0.9x raw view warm" "$(col "seq_warm_$c" hexzfs_vs_raw)" 0.9 0
	done
	for c in "${CODECS[@]}"; do
		rss_verdict "rss_hwm_$c" "$CACHE_DEFAULT_MB" "peak RSS, $c, default cache_size: <= cache + 32 MiB"
		rss_verdict "rss_hwm_32m_$c" 32 "peak RSS, $c, cache_size=32M: <= cache + 32 MiB"
	done
}

machine_description() {
	machine_common
	echo "data in:     $(findmnt -no FSTYPE -T "$TMPBASE") (sources kept in the page cache)"
	if [[ -n $HEXZFS_BIN || ${#HEXZFS_ARGS[@]} -gt 0 ]]; then
		echo "hexzfs:      $HEXZFS ${HEXZFS_ARGS[*]} (custom: not the release build of this tree)"
	else
		echo "hexzfs:      $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown), $BUILD_DIR (buildtype=release), default cache_size ${CACHE_DEFAULT_MB} MiB"
	fi
	echo "peers:       libfuse $(pkg-config --modversion fuse3), squashfuse $(pkg_version squashfuse), squashfs-tools $(pkg_version squashfs-tools), erofs-utils $(pkg_version erofs-utils), EROFS mounts $EROFS_MODE, $(fio --version)"
	echo "parameters:  rounds=$ROUNDS seq_repeat=$SEQ_REPEAT size=${SIZE_MB}MiB files=$NFILES rand_io=${RAND_IO_MB}MiB rand_cap=${RAND_SECONDS}s blocks=64KiB zstd_level=3"
	echo "load:        $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end (1/5/15 min averages)"
}

pkg_version() {
	dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo '?'
}

report() {
	local spec row fmt

	machine_description >"$OUT/machine.txt"
	fmt='%-60s %-4s %8s %8s %8s %8s %8s %7s %7s %7s %7s\n'
	{
		echo "hexzfs contents view benchmark ($STAMP)"
		echo
		cat "$OUT/machine.txt"
		echo
		data_sizes
		echo
		echo "Medians of $ROUNDS rounds ($SEQ_REPEAT runs per round of the sequential cells). Peers: squashfuse_ll; ksquashfs, the kernel's squashfs"
		echo "(loop); erofs, the kernel's EROFS (LZ4 only); raw, hexzfs's raw view of the"
		echo "uncompressed bytes. Ratios: hexzfs/peer for MB/s and IOPS, peer/hexzfs for"
		echo "seconds and MiB, so that > 1 always means hexzfs is better."
		echo
		# shellcheck disable=SC2059
		printf "$fmt" workload unit hexzfs sqfuse ksqfs erofs raw /sqfuse /ksqfs /erofs /raw
		for spec in "${ROWS[@]}"; do
			read -r row _ <<<"$spec"
			# shellcheck disable=SC2059
			printf "$fmt" "$(label_of "$row")" "$(col "$row" unit)" "$(val "$row" hexzfs)" \
				"$(val "$row" squashfuse_ll)" "$(val "$row" ksquashfs)" "$(val "$row" erofs)" \
				"$(val "$row" raw)" "$(rat "$row" hexzfs_vs_squashfuse_ll)" \
				"$(rat "$row" hexzfs_vs_ksquashfs)" "$(rat "$row" hexzfs_vs_erofs)" \
				"$(rat "$row" hexzfs_vs_raw)"
		done
		echo
		echo "daemon RssFile (the archives' or images' pages mapped by the daemon, part of"
		echo "VmHWM, shared with the page cache) after the cold read, MiB:"
		awk -F'\t' '$1 == "rss_file" { printf "  %-14s %-5s %8.1f\n", $3, $2, $5 }' "$OUT/medians.tsv"
		echo
		if [[ -s $OUT/archive_bench.tsv ]]; then
			echo "bench/archive_bench: libhexz against the codec alone, single-threaded ($LIB_ROUNDS rounds, $LIB_MB MiB):"
			sed 's/^/  /' "$OUT/archive_bench.tsv"
		else
			echo "bench/archive_bench: not built; no library-only figures."
		fi
		echo
		echo "Targets (ratio as above; threshold):"
		targets
	} >"$OUT/results.txt"

	{
		echo "| workload | unit | hexzfs | squashfuse_ll | kernel squashfs | kernel EROFS | raw view | vs squashfuse_ll | vs kernel squashfs | vs EROFS | vs raw view |"
		echo "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
		for spec in "${ROWS[@]}"; do
			read -r row _ <<<"$spec"
			printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
				"$(label_of "$row")" "$(col "$row" unit)" "$(val "$row" hexzfs)" \
				"$(val "$row" squashfuse_ll)" "$(val "$row" ksquashfs)" "$(val "$row" erofs)" \
				"$(val "$row" raw)" "$(rat "$row" hexzfs_vs_squashfuse_ll)" \
				"$(rat "$row" hexzfs_vs_ksquashfs)" "$(rat "$row" hexzfs_vs_erofs)" \
				"$(rat "$row" hexzfs_vs_raw)"
		done
		echo
		echo "Medians of $ROUNDS rounds ($SEQ_REPEAT runs per round of the sequential reads); $SIZE_MB MiB of disk-image-like data, 64 KiB blocks;"
		echo "ratios above 1 mean hexzfs is better (hexzfs/peer for MB/s and IOPS,"
		echo "peer/hexzfs for seconds and MiB). EROFS: LZ4 only (erofs-utils 1.5 has no"
		echo "zstd). Peak RSS (VmHWM) counts the archive pages the daemon maps."
		lib_table
	} >"$OUT/table.md"
	{
		echo "# hexzfs contents view against squashfuse_ll, the kernel's squashfs and EROFS"
		echo
		echo "![hexzfs contents view relative to its peers](chart-contents.png)"
		echo
		cat "$OUT/table.md"
		echo
		echo '```'
		cat "$OUT/machine.txt"
		echo
		data_sizes
		echo
		echo "Targets:"
		targets
		echo '```'
	} >"$OUT/results.md"
}

# The library alone (bench/archive_bench): decoding throughput of the
# codec, and of libhexz reading or pinning blocks it must decode (cold).
lib_table() {
	[[ -s $OUT/archive_bench.tsv ]] || return 0
	echo
	echo "| libhexz alone, 1 thread (bench/archive_bench) | LZ4 GB/s | vs codec | zstd GB/s | vs codec |"
	echo "|---|--:|--:|--:|--:|"
	awk -F'\t' '/^#/ || NF < 5 || $4 !~ /^[0-9.]+$/ { next }
		{ if (!($3 in seen)) { seen[$3] = 1; order[++n] = $3 }; g[$3, $2] = $4; r[$3, $2] = $5 }
		END {
			for (i = 1; i <= n; i++) {
				m = order[i]
				if (m != "codec" && m != "crc+codec" && m != "cold_read" && m != "cold_pin") continue
				printf "| %s | %s | %s | %s | %s |\n", m, g[m, "lz4"], r[m, "lz4"], g[m, "zstd"], r[m, "zstd"]
			}
		}' "$OUT/archive_bench.tsv"
}

chart() {
	local row i=0 subtitle

	{
		echo "# index label vs_squashfuse_ll vs_ksquashfs vs_erofs vs_raw (> 1: hexzfs better)"
		for row in "${CHART_ROWS[@]}"; do
			printf '%d\t"%s"\t%s\t%s\t%s\t%s\n' "$i" "$(chart_label "$row")" \
				"$(rat "$row" hexzfs_vs_squashfuse_ll)" "$(rat "$row" hexzfs_vs_ksquashfs)" \
				"$(rat "$row" hexzfs_vs_erofs)" "$(rat "$row" hexzfs_vs_raw)"
			i=$((i + 1))
		done
	} >"$OUT/chart.dat"
	subtitle="$(sed -n 's/^cpu: *//p' "$OUT/machine.txt"), $(sed -n 's/^kernel: *//p' "$OUT/machine.txt"), $(date -u +%Y-%m-%d); medians of $ROUNDS rounds"
	gnuplot -e "datafile='$OUT/chart.dat'; outfile='$OUT/chart.png'; subtitle='$subtitle'; nrows=$i" \
		"$REPO/bench/chart-contents.gp" >>"$LOG" 2>&1 || die "gnuplot failed (see $LOG)"
}

# Copy the results to doc/bench and put the table in README.md between
# <!-- bench-contents-table --> and <!-- /bench-contents-table --> (added at
# the end of the Performance section the first time).
publish() {
	local dest="$REPO/doc/bench" readme="$REPO/README.md" block="$OUT/readme-block.md"

	mkdir -p "$dest"
	cp "$OUT/results.txt" "$dest/results-contents.txt"
	cp "$OUT/results.tsv" "$dest/results-contents.tsv"
	cp "$OUT/results.md" "$dest/results-contents.md"
	cp "$OUT/chart.png" "$dest/chart-contents.png"
	{
		echo "<!-- bench-contents-table -->"
		echo "![hexzfs contents view relative to its peers](doc/bench/chart-contents.png)"
		echo
		cat "$OUT/table.md"
		echo "<!-- /bench-contents-table -->"
	} >"$block"
	if ! grep -q '^<!-- bench-contents-table -->$' "$readme"; then
		awk -v block="$block" '
			function put() {
				print "### The contents view against squashfuse and the kernel\n"
				print "`scripts/bench_contents.sh` (run by `scripts/bench.sh`) measures the"
				print "contents view on hexz archives against squashfuse_ll, the kernel'"'"'s squashfs"
				print "and EROFS on images of the same bytes, and the raw view as the ceiling"
				print "([results](doc/bench/results-contents.md)):\n"
				print "<!-- bench-contents-table -->"
				print "<!-- /bench-contents-table -->\n"
				done = 1
			}
			/^## / && perf && !done { put() }
			/^## Performance/ { perf = 1 }
			{ print }
			END { if (!done) put() }' "$readme" >"$readme.tmp" && mv "$readme.tmp" "$readme"
	fi
	awk -v block="$block" '
		$0 == "<!-- bench-contents-table -->" { while ((getline l < block) > 0) print l; skip = 1; next }
		$0 == "<!-- /bench-contents-table -->" { skip = 0; next }
		!skip { print }' "$readme" >"$readme.tmp" && mv "$readme.tmp" "$readme"
	log "published to $dest and README.md"
}

# ---------------------------------------------------------------------------

main() {
	local started extra=()

	started=$(date +%s)
	LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
	((EUID == 0)) || die "run as root (kernel mounts, loop devices)"
	"$PY" -c 'import lz4.block' 2>/dev/null || extra+=(python3-lz4)
	"$PY" -c 'import zstandard' 2>/dev/null || extra+=(python3-zstandard)
	pkg-config --exists fuse3 2>/dev/null || extra+=(libfuse3-dev)
	install_tools "${extra[@]}"
	build_release
	# "-o cache_size=SIZE ... (default 256M)" in hexzfs --help.
	CACHE_DEFAULT_MB=$("$HEXZFS" --help 2>&1 | awk '/cache_size=SIZE/ { f = 3 }
		f && f-- && match($0, /\(default [0-9]+M\)/) { print substr($0, RSTART + 9, RLENGTH - 11); exit }')
	[[ $CACHE_DEFAULT_MB =~ ^[0-9]+$ ]] || CACHE_DEFAULT_MB=256
	readonly CACHE_DEFAULT_MB
	WORK=$(mktemp -d "$TMPBASE/hexzfs-bench-contents.XXXXXX")
	make_data
	log "data ready (at $SECONDS s)"
	run_rounds
	run_archive_bench
	summarize
	report
	chart
	[[ -n ${BENCH_OUT:-} ]] || ln -sfn "$(basename "$OUT")" "$REPO/bench-results/latest-contents"
	cat "$OUT/results.txt"
	if ((PUBLISH)); then publish; fi
	log "results in $OUT ($(($(date +%s) - started)) s)"
}

main
