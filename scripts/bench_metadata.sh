#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# scripts/bench_metadata.sh: metadata of directory archives with many files
# (issue 19): hexzfs's contents view against squashfuse_ll and the kernel's
# squashfs on the same trees. Run by scripts/bench.sh --suite metadata, or
# on its own.
#
# Data (deterministic, tests/writer/gen_tree.py; generated once and kept,
# see "Cache" below):
#   text   300,000 files of 1 to 64 KiB (log-uniform sizes, about 15 KiB on
#          average), slices of pseudo-text, in about 100,000 directories
#          (1000 top-level directories of 50 to 150 subdirectories each);
#   tiny   1,000,000 files of 0 to 4 KiB (5 % empty, the rest uniform), in
#          about 100,000 directories likewise;
#   files go to directories with lognormal weights (most directories hold a
#   few files, some hundreds), and one top-level directory of each tree
#   holds exactly 10,000 files: the subtree tar reads;
#   disk   a 512 MiB disk-image-like file (tests/writer/gen_disk_image.py);
#   10M    a directory archive whose manifest lists 10,000,000 empty files
#          (gen_tree.py manifest; no squashfs counterpart).
# Each tree is written as a hexz directory archive by the project's writer
# (tests/writer/hexz_writer.py -c lz4 --block-size 65536 --dir) and as a
# squashfs image (mksquashfs -comp lz4 -b 65536 -noappend -no-xattrs).
#
# Peers:
#   hexzfs          hexzfs -f -o view=contents DIR MNT (release build, its
#                   defaults: what a new user gets), one archive in DIR;
#   squashfuse_ll   squashfuse_ll -f IMAGE MNT;
#   ksquashfs       mount -t squashfs -o loop,ro IMAGE MNT.
#
# Workloads, in cells that each start on a fresh mount (new daemon, new
# superblock: the kernel's dentries, inodes and pages of the mount are new;
# for ksquashfs the loop device's own page cache is also dropped with
# bench/dropcache right after the mount). The sources (archive and image
# files) are read with cat just before each mount and checked resident with
# fincore, as in the contents suite: "cold" is the mount, not the disk.
#   open        the first `ls` of the tree's root after the mount (for
#               hexzfs the archive is opened then; the others read their
#               superblock at mount time, which is not counted);
#   find_cold   find ROOT -type f | wc -l (the count is checked);
#   find_warm   the same again in the same mount;
#   lslr_cold   ls -lR ROOT > /dev/null, in a fresh mount;
#   lslr_warm   the same again;
#   du          du -s ROOT, in a fresh mount;
#   tar         tar -C ROOT -cf - SUBTREE | wc -c, in a fresh mount (10,000
#               files; GNU tar reads no file data when it writes to
#               /dev/null, hence the pipe; the byte count is checked);
#   anon_W,hwm_W  the daemon's RssAnon and VmHWM (/proc/PID/status) right
#               after workload W (hexzfs, squashfuse_ll);
#   rand_rss    hexzfs -o cache_size=64M over the disk archive: fio random
#               4 KiB reads (psync, 1 job, RAND_SECONDS) of its main stream
#               while VmRSS is sampled every 100 ms; peak VmRSS, and VmHWM
#               and RssAnon at the end.
# Each round runs every cell on every peer and tree, the peers interleaved
# cell by cell in an order that rotates from round to round; figures are
# medians over the rounds (min and max in results.tsv). Once, after the
# rounds:
#   manifest    hexzfs over the 10,000,000-entry archive: time of the first
#               `ls` of its root, RssAnon and VmHWM after it;
#   profile     where the time of one cold find goes: per peer and tree,
#               the wall time, the CPU time of find (user, kernel) and of
#               the daemon (user, kernel) from /proc, and, in another fresh
#               mount with the daemon's -d (libfuse's request log), the
#               FUSE requests by opcode.
#
# Cache: the generated data live in BENCH_METADATA_DATA, one directory per
# generator version (VERSION in gen_tree.py), scale and input (the sha256
# of the parameters, mksquashfs's version, the writer and gen_disk_image.py),
# so a re-run reuses them; a run that changes any of these regenerates and
# removes the older sets of the same scale.
# Full scale needs about 9 GB there (about 13 GB while generating), and
# took 17 minutes to generate on 2 loaded cores (doc/bench/README.md).
#
# Usage: scripts/bench_metadata.sh [--quick] [--no-install] [--no-publish]
#                                  [--manifest-only] [--generate-only]
#   --quick           BENCH_METADATA_SCALE=small (BENCH_QUICK=1 does the same)
#   --no-install      never call apt-get (fail if a tool is missing)
#   --no-publish      leave doc/bench/ alone
#   --manifest-only   only the 10,000,000-entry manifest (open time, memory);
#                     BENCH_METADATA_ONLY=manifest does the same
#   --generate-only   generate (or find cached) data, report how long it took,
#                     stop; BENCH_METADATA_ONLY=generate does the same
#
# Environment (defaults in brackets; small scale's in parentheses):
#   BENCH_METADATA_SCALE [full]            full, or small: the same suite on
#                                          10,000 and 30,000 files in about
#                                          3,000 directories each, subtrees
#                                          of 1,000 files, a 128 MiB disk,
#                                          100,000 manifest entries, one
#                                          round; about a minute (and 30 s
#                                          to generate the data once); never
#                                          published
#   BENCH_METADATA_ROUNDS [3] (1)          rounds
#   BENCH_METADATA_RAND_SECONDS [5] (3)    length of each random-read run
#   BENCH_METADATA_CACHE_SIZE [64M]        hexzfs cache_size of rand_rss
#   BENCH_METADATA_MANIFEST_ENTRIES [10000000] (100000)
#   BENCH_METADATA_DATA [BENCH_TMPDIR/hexzfs-bench-metadata]  data cache
#   BENCH_TMPDIR [/var/tmp]                where mountpoints (and the cache) go
#   BENCH_BUILD_DIR [build-release]
#   BENCH_HEXZFS_BIN, BENCH_HEXZFS_ARGS    another hexzfs binary, or extra
#                                          arguments for every hexzfs mount
#                                          (nothing is published then)
#   BENCH_OUT [bench-results/<date>-metadata]  where the results go
#
# Results: BENCH_OUT (raw.tsv, medians.tsv, results.tsv, results.txt,
# results.md, profile.txt, bench.log, daemon logs) and, unless small scale,
# --manifest-only, --generate-only or --no-publish,
# doc/bench/results-metadata.{md,tsv,txt}.
set -euo pipefail
export LC_ALL=C

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO
BENCH_NAME=bench_metadata.sh
# shellcheck source=scripts/bench_lib.sh
. "$REPO/scripts/bench_lib.sh"

readonly PY=/usr/bin/python3 # Debian's, with python3-lz4 and python3-zstandard
readonly PEERS=(hexzfs squashfuse_ll ksquashfs)
readonly TREES=(text tiny)

SCALE=${BENCH_METADATA_SCALE:-full}
[[ ${BENCH_QUICK:-0} == 1 ]] && SCALE=small
INSTALL=1
PUBLISH=1
MODE=${BENCH_METADATA_ONLY:-all}

usage() {
	sed -n '/^# Usage:/,/^# Results:/{/^# Results:/d; s/^# \{0,1\}//; p}' "${BASH_SOURCE[0]}"
}

while (($#)); do
	case "$1" in
	--quick) SCALE=small ;;
	--no-install) INSTALL=0 ;;
	--no-publish) PUBLISH=0 ;;
	--manifest-only) MODE=manifest ;;
	--generate-only) MODE=generate ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		echo "bench_metadata.sh: unknown argument '$1'" >&2
		usage >&2
		exit 2
		;;
	esac
	shift
done

# Per tree: files top-level-dirs mean-subdirs sizes(MIN:MAX:DIST) empty-share
# subtree-files seed.
declare -A TREE_SPEC=()
case "$SCALE" in
full)
	TREE_SPEC[text]="300000 1000 100 1024:65536:log 0 10000 1"
	TREE_SPEC[tiny]="1000000 1000 100 1:4096:uniform 0.05 10000 2"
	DISK_MB=512
	: "${BENCH_METADATA_RAND_SECONDS:=5}" "${BENCH_METADATA_MANIFEST_ENTRIES:=10000000}"
	NEED_GB=18
	;;
small)
	TREE_SPEC[text]="10000 100 33 1024:65536:log 0 1000 1"
	TREE_SPEC[tiny]="30000 100 30 1:4096:uniform 0.05 1000 2"
	DISK_MB=128
	PUBLISH=0
	: "${BENCH_METADATA_ROUNDS:=1}"
	: "${BENCH_METADATA_RAND_SECONDS:=3}" "${BENCH_METADATA_MANIFEST_ENTRIES:=100000}"
	NEED_GB=1
	;;
*)
	echo "bench_metadata.sh: BENCH_METADATA_SCALE must be full or small, not '$SCALE'" >&2
	exit 2
	;;
esac
readonly TREE_SPEC DISK_MB NEED_GB SCALE
ROUNDS=${BENCH_METADATA_ROUNDS:-3}
RAND_SECONDS=$BENCH_METADATA_RAND_SECONDS
MANIFEST_ENTRIES=$BENCH_METADATA_MANIFEST_ENTRIES
CACHE_SIZE=${BENCH_METADATA_CACHE_SIZE:-64M}
TMPBASE=${BENCH_TMPDIR:-/var/tmp}
DATA_BASE=${BENCH_METADATA_DATA:-$TMPBASE/hexzfs-bench-metadata}
BUILD_DIR=${BENCH_BUILD_DIR:-build-release}
[[ $BUILD_DIR = /* ]] || BUILD_DIR="$REPO/$BUILD_DIR"
HEXZFS_BIN=${BENCH_HEXZFS_BIN:-}
read -r -a HEXZFS_ARGS <<<"${BENCH_HEXZFS_ARGS:-}"
case "$MODE" in
all | manifest | generate) ;;
*)
	echo "bench_metadata.sh: BENCH_METADATA_ONLY must be manifest or generate, not '$MODE'" >&2
	exit 2
	;;
esac
if [[ -n $HEXZFS_BIN || ${#HEXZFS_ARGS[@]} -gt 0 || $MODE != all ]]; then
	PUBLISH=0
fi

for v in ROUNDS RAND_SECONDS MANIFEST_ENTRIES; do
	if ! [[ ${!v} =~ ^[1-9][0-9]*$ ]]; then
		echo "bench_metadata.sh: $v must be a positive whole number, not '${!v}'" >&2
		exit 2
	fi
done
if ! [[ $CACHE_SIZE =~ ^[1-9][0-9]*[KMG]?$ ]]; then
	echo "bench_metadata.sh: BENCH_METADATA_CACHE_SIZE must be a size such as 64M, not '$CACHE_SIZE'" >&2
	exit 2
fi
readonly ROUNDS RAND_SECONDS MANIFEST_ENTRIES CACHE_SIZE TMPBASE DATA_BASE BUILD_DIR
readonly HEXZFS_BIN HEXZFS_ARGS MODE

STAMP=$(date -u +%Y%m%d-%H%M%S)
[[ $SCALE == small ]] && STAMP+="-small"
OUT=${BENCH_OUT:-"$REPO/bench-results/$STAMP-metadata"}
readonly STAMP OUT
mkdir -p "$OUT"
LOG="$OUT/bench.log"
readonly LOG
: >"$LOG"

# command:package (see bench.sh for gnuplot-nox; no chart here).
readonly NEEDED=(
	squashfuse_ll:squashfuse mksquashfs:squashfs-tools fio:fio fincore:util-linux
	losetup:mount fusermount3:fuse3 b3sum:b3sum meson:meson ninja:ninja-build
	cc:gcc pkg-config:pkg-config
)

# ---------------------------------------------------------------------------
# Mounts and cleanup
# ---------------------------------------------------------------------------

WORK=""
DATA=""
LOAD_START=""
# Mounts of the current cell, "fuse|kernel:PID:MOUNTPOINT", unmounted in
# reverse order; DPID is the daemon whose memory the cell reports.
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
			for n in $(seq 100); do
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
	((rc == 0)) || printf 'bench_metadata.sh: failed (exit %s); mounts and work directory removed; log: %s\n' \
		"$rc" "$LOG" | tee -a "$LOG" >&2
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# fuse_mount NAME MOUNTPOINT DAEMON-LOG COMMAND...: start a FUSE daemon in
# the foreground (of its own background job) and wait for its mount.
fuse_mount() {
	local name=$1 mnt=$2 dlog=$3 pid i
	shift 3

	"$@" </dev/null >>"$dlog" 2>&1 &
	pid=$!
	ACTIVE+=("fuse:$pid:$mnt")
	DPID=$pid
	for i in $(seq 400); do
		mountpoint -q "$mnt" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	die "$name did not mount on $mnt (see $dlog)"
}

# The loop device is new, but its page cache could hold what an earlier
# mount of the same device read: drop it.
squashfs_mount() {
	local dev

	mount -t squashfs -o loop,ro "$1" "$2" 2>>"$LOG" || die "cannot mount $1 (loop)"
	ACTIVE+=("kernel::$2")
	dev=$(findmnt -no SOURCE "$2")
	[[ $dev == /dev/loop* ]] || die "no loop device under $2 ('$dev')"
	"$DROPCACHE" "$dev" 2>>"$LOG" || die "cannot drop the page cache of $dev"
}

# mount_peer PEER TREE [DAEMON-ARGS...]: a fresh mount of TREE's archive or
# image; sets ROOT to the tree's root as the peer shows it.
mount_peer() {
	local peer=$1 tree=$2 mnt="$WORK/mnt" src
	shift 2

	case "$peer" in
	hexzfs)
		src="$DATA/hexz/$tree/$tree.hxz"
		ROOT="$mnt/$tree.hxz"
		;;
	*)
		src="$DATA/img/$tree.sqfs"
		ROOT="$mnt"
		;;
	esac
	cat "$src" >/dev/null
	check_resident "$src"
	case "$peer" in
	hexzfs)
		fuse_mount hexzfs "$mnt" "$OUT/daemon-hexzfs.log" \
			"$HEXZFS" -f -o view=contents "$@" "${HEXZFS_ARGS[@]}" "$DATA/hexz/$tree" "$mnt"
		;;
	squashfuse_ll)
		fuse_mount squashfuse_ll "$mnt" "$OUT/daemon-squashfuse_ll.log" squashfuse_ll -f "$@" "$src" "$mnt"
		;;
	ksquashfs) squashfs_mount "$src" "$mnt" ;;
	esac
}

check_resident() {
	local size res

	size=$(stat -c %s "$1")
	res=$(resident "$1")
	# fincore counts whole pages: a partial last page counts in full.
	((res >= size)) || log "warning: only $res of $size bytes of $1 are in the page cache"
}

# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------

spec_field() {
	local -a f
	read -r -a f <<<"${TREE_SPEC[$1]}"
	echo "${f[$2]}"
}

tree_files() { spec_field "$1" 0; }

# The cache key: the generator's VERSION (bumped whenever its output
# changes: a comment edited in gen_tree.py does not regenerate 9 GB), the
# scale and parameters, mksquashfs's version, and the code without a
# version of its own that turns them into bytes: the writer and the disk
# image generator.
data_key() {
	local version

	version=$(sed -n 's/^VERSION = \([0-9]*\)$/\1/p' "$REPO/tests/writer/gen_tree.py")
	[[ -n $version ]] || die "no VERSION in tests/writer/gen_tree.py"
	{
		echo "scale=$SCALE text=${TREE_SPEC[text]} tiny=${TREE_SPEC[tiny]} disk=$DISK_MB"
		mksquashfs -version 2>&1 | head -n 1
		cat "$REPO/tests/writer/gen_disk_image.py" "$REPO/tests/writer/hexz_writer.py"
	} | sha256sum | awk -v v="$version" -v s="$SCALE" '{ printf "gen%s-%s-%s\n", v, s, substr($1, 1, 12) }'
}

# step NAME COMMAND...: run a generation step, note its seconds.
step() {
	local name=$1 t0 t1
	shift

	t0=$(usec_now)
	"$@" >>"$LOG" 2>&1 || die "data generation: $name failed (see $LOG)"
	t1=$(usec_now)
	awk -v n="$name" -v us=$((t1 - t0)) 'BEGIN { printf "%s\t%.1f\n", n, us / 1e6 }' >>"$DATA/generation.tsv"
	log "  $name: $(tail -n 1 "$DATA/generation.tsv" | cut -f 2) s"
}

write_hexz() {
	local out=$1
	shift

	"$PY" "$REPO/tests/writer/hexz_writer.py" -c lz4 --block-size 65536 "$@" "$out"
}

make_squashfs() {
	mksquashfs "$1" "$2" -comp lz4 -b 65536 -noappend -no-xattrs -no-progress -quiet
}

gen_tree() {
	local tree=$1 f

	read -r -a f <<<"${TREE_SPEC[$tree]}"
	"$PY" "$REPO/tests/writer/gen_tree.py" tree "$DATA/src-$tree" --files "${f[0]}" \
		--top "${f[1]}" --sub "${f[2]}" --sizes "${f[3]}" --empty "${f[4]}" \
		--subtree-files "${f[5]}" --seed "${f[6]}" --info "$DATA/$tree.info"
}

make_disk() {
	"$PY" "$REPO/tests/writer/gen_disk_image.py" "${DISK_MB}M" "$DATA/disk.img" --seed 1 &&
		write_hexz "$DATA/hexz/disk/disk.hxz" --main "$DATA/disk.img" &&
		rm -f "$DATA/disk.img"
}

# The trees, their archives and images, and the disk archive: from the
# cache when a complete set for this key is there.
make_data() {
	local key tree free_gb old

	key=$(data_key)
	DATA="$DATA_BASE/$key"
	if [[ $MODE == manifest ]]; then
		# Only the manifest archive, beside the other data of this key.
		mkdir -p "$DATA/hexz/manifest"
		touch "$DATA/generation.tsv"
		return 0
	fi
	if [[ -f $DATA/complete ]]; then
		log "data: cached in $DATA (generated in $(awk -F'\t' '{ s += $2 } END { printf "%.0f", s }' "$DATA/generation.tsv") s)"
		return 0
	fi
	mkdir -p "$DATA_BASE"
	for old in "$DATA_BASE"/gen*-"$SCALE"-*; do
		[[ -d $old && $old != "$DATA" ]] || continue
		log "data: removing $old (older generator or parameters)"
		rm -rf --one-file-system "$old"
	done
	rm -rf --one-file-system "$DATA"
	free_gb=$(df -P --block-size=1G "$DATA_BASE" | awk 'NR == 2 { print $4 }')
	((free_gb >= NEED_GB)) || die "$DATA_BASE has $free_gb GB free; the $SCALE data need about $NEED_GB GB"
	mkdir -p "$DATA"/{hexz/text,hexz/tiny,hexz/disk,hexz/manifest,img}
	: >"$DATA/generation.tsv"
	log "data: generating into $DATA ($SCALE scale)"
	for tree in "${TREES[@]}"; do
		step "$tree: tree of $(tree_files "$tree") files" gen_tree "$tree"
		step "$tree: hexz archive" write_hexz "$DATA/hexz/$tree/$tree.hxz" --dir "$DATA/src-$tree"
		step "$tree: squashfs image" make_squashfs "$DATA/src-$tree" "$DATA/img/$tree.sqfs"
		step "$tree: tree removed" rm -rf --one-file-system "$DATA/src-$tree"
	done
	step "disk: ${DISK_MB} MiB image and archive" make_disk
	touch "$DATA/complete"
}

# The manifest archive, generated the first time it is needed.
make_manifest() {
	local m="$DATA/hexz/manifest/m.hxz" info="$DATA/manifest-$MANIFEST_ENTRIES.info"

	[[ -f $info && -f $m && $(jq_int "$info" entries) == "$MANIFEST_ENTRIES" ]] && return 0
	rm -f "$m" "$info"
	step "manifest: $MANIFEST_ENTRIES entries" \
		"$PY" "$REPO/tests/writer/gen_tree.py" manifest "$m" --entries "$MANIFEST_ENTRIES" --info "$info"
}

# A whole-number field of a one-line JSON summary.
jq_int() {
	"$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

data_sizes() {
	local tree f

	echo "data (bytes on disk; files, directories, bytes of the tree):"
	for tree in "${TREES[@]}"; do
		printf '  %-5s %8d files %7d dirs %13d bytes; subtree %s: %d files, %d bytes\n' "$tree" \
			"$(jq_int "$DATA/$tree.info" files)" "$(jq_int "$DATA/$tree.info" dirs)" \
			"$(jq_int "$DATA/$tree.info" bytes)" "$(subtree_of "$tree")" \
			"$(jq_int "$DATA/$tree.info" subtree_files)" "$(jq_int "$DATA/$tree.info" subtree_bytes)"
	done
	for f in "$DATA"/hexz/*/*.hxz "$DATA"/img/*; do
		[[ -f $f ]] && printf '  %-24s %13d\n' "${f#"$DATA"/}" "$(stat -c %s "$f")"
	done
	echo "generation (s; from the run that made these data):"
	awk -F'\t' '{ printf "  %-44s %8.1f\n", $1, $2; s += $2 } END { printf "  %-44s %8.1f\n", "total", s }' \
		"$DATA/generation.tsv"
}

subtree_of() {
	"$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["subtree"])' "$DATA/$1.info"
}

# ---------------------------------------------------------------------------
# Workloads: each prints one number
# ---------------------------------------------------------------------------

do_open() { ls -- "$1" >/dev/null; }

do_find() {
	local n

	n=$(find "$1" -type f | wc -l)
	((n == $2)) || { echo "find: $n files, expected $2" >&2; return 1; }
}

do_lslr() { ls -lR -- "$1" >/dev/null; }

do_du() {
	local kb

	kb=$(du -s -- "$1" | cut -f 1)
	if ! [[ $kb =~ ^[0-9]+$ ]] || ((kb == 0)); then
		echo "du: '$kb'" >&2
		return 1
	fi
}

do_tar() {
	local bytes

	bytes=$(tar -C "$1" -cf - -- "$2" | wc -c) || return 1
	((bytes >= $3)) || { echo "tar: only $bytes bytes" >&2; return 1; }
}

# VmHWM, RssAnon (and VmRSS) of a daemon, in KiB.
status_kb() {
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}

# ---------------------------------------------------------------------------
# Rounds
# ---------------------------------------------------------------------------

ROUND=0
declare -A NOT_SHOWN=()

# record WORKLOAD TREE PEER VALUE UNIT
record() {
	[[ $4 =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "$1 $2 $3: no figure ('$4'; see $LOG)"
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$ROUND" "$1" "$2" "$3" "$4" "$5" >>"$OUT/raw.tsv"
	printf '  %-10s %-5s %-14s %10s %s\n' "$1" "$2" "$3" "$4" "$5" | tee -a "$LOG"
}

# run_w WORKLOAD TREE PEER COMMAND...: time it, record it and the daemon's
# memory after it. Fails (returns 1) when the command does.
run_w() {
	local w=$1 tree=$2 peer=$3 v
	shift 3

	v=$(timed "$@" 2>>"$LOG") || return 1
	record "$w" "$tree" "$peer" "$v" s
	[[ -n $DPID ]] || return 0
	record "anon_$w" "$tree" "$peer" "$(awk -v k="$(status_kb "$DPID" RssAnon)" 'BEGIN { printf "%.1f", k / 1024 }')" MiB
	record "hwm_$w" "$tree" "$peer" "$(awk -v k="$(status_kb "$DPID" VmHWM)" 'BEGIN { printf "%.1f", k / 1024 }')" MiB
}

# A cell: one group of workloads on one peer and tree, on a fresh mount.
# An archive hexzfs does not show fails its cell, logged once; the other
# cells go on (its figures are then missing, and its targets missed).
cell() {
	local group=$1 peer=$2 tree=$3 nfiles sub

	nfiles=$(tree_files "$tree")
	mount_peer "$peer" "$tree"
	if ! run_w open "$tree" "$peer" do_open "$ROOT"; then
		if [[ -z ${NOT_SHOWN[$peer:$tree]:-} ]]; then
			NOT_SHOWN[$peer:$tree]=1
			log "warning: $peer does not show the $tree tree ($ROOT): $(grep -i 'not shown' "$OUT/daemon-$peer.log" | tail -n 1)"
		fi
		unmount_all
		return 0
	fi
	case "$group" in
	find)
		run_w find_cold "$tree" "$peer" do_find "$ROOT" "$nfiles" || die "$peer $tree: find failed"
		run_w find_warm "$tree" "$peer" do_find "$ROOT" "$nfiles" || die "$peer $tree: find failed"
		;;
	lslr)
		run_w lslr_cold "$tree" "$peer" do_lslr "$ROOT" || die "$peer $tree: ls -lR failed"
		run_w lslr_warm "$tree" "$peer" do_lslr "$ROOT" || die "$peer $tree: ls -lR failed"
		;;
	du) run_w du "$tree" "$peer" do_du "$ROOT" || die "$peer $tree: du failed" ;;
	tar)
		sub=$(subtree_of "$tree")
		run_w tar "$tree" "$peer" do_tar "$ROOT" "$sub" "$(jq_int "$DATA/$tree.info" subtree_bytes)" ||
			die "$peer $tree: tar failed"
		;;
	esac
	unmount_all
}

# Peak VmRSS of PID, sampled every 100 ms until STOPFILE appears, in KiB,
# written to OUTFILE.
sample_rss() {
	local pid=$1 stop=$2 out=$3 max=0 k v _

	while [[ ! -e $stop ]] && [[ -r /proc/$pid/status ]]; do
		while read -r k v _; do
			[[ $k == VmRSS: ]] && ((v > max)) && max=$v
		done <"/proc/$pid/status"
		sleep 0.1
	done
	echo "$max" >"$out"
}

# hexzfs with a small cache_size, random 4 KiB reads of the disk archive.
cell_rand_rss() {
	local mnt="$WORK/mnt" file stop="$WORK/rss.stop" peak="$WORK/rss.peak" spid out iops

	cat "$DATA/hexz/disk/disk.hxz" >/dev/null
	fuse_mount hexzfs "$mnt" "$OUT/daemon-hexzfs.log" \
		"$HEXZFS" -f -o view=contents -o cache_size="$CACHE_SIZE" "${HEXZFS_ARGS[@]}" "$DATA/hexz/disk" "$mnt"
	file="$mnt/disk.hxz/main"
	[[ -f $file ]] || die "hexzfs does not show $file (see $OUT/daemon-hexzfs.log)"
	rm -f "$stop" "$peak"
	sample_rss "$DPID" "$stop" "$peak" &
	spid=$!
	out=$(fio --name=rand --filename="$file" --readonly --ioengine=psync --rw=randread \
		--bs=4k --direct=0 --numjobs=1 --time_based --runtime="$RAND_SECONDS" \
		--output-format=terse --terse-version=3 2>>"$LOG") || die "fio failed (see $LOG)"
	touch "$stop"
	wait "$spid"
	iops=$(awk -F';' '{ printf "%d\n", $8 }' <<<"$out")
	record rand_iops disk hexzfs "$iops" IOPS
	record rand_vmrss_peak disk hexzfs "$(awk -v k="$(cat "$peak")" 'BEGIN { printf "%.1f", k / 1024 }')" MiB
	record rand_hwm disk hexzfs "$(awk -v k="$(status_kb "$DPID" VmHWM)" 'BEGIN { printf "%.1f", k / 1024 }')" MiB
	record rand_anon disk hexzfs "$(awk -v k="$(status_kb "$DPID" RssAnon)" 'BEGIN { printf "%.1f", k / 1024 }')" MiB
	unmount_all
}

run_rounds() {
	local g list i k n tree peer

	printf 'round\tworkload\ttree\tpeer\tvalue\tunit\n' >"$OUT/raw.tsv"
	list=()
	for tree in "${TREES[@]}"; do
		for peer in "${PEERS[@]}"; do
			list+=("$peer:$tree")
		done
	done
	n=${#list[@]}
	for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
		log "round $ROUND/$ROUNDS (at $SECONDS s)"
		for g in find lslr du tar; do
			# Rotate the order of the instances from round to round.
			for ((i = 0; i < n; i++)); do
				k=$(((i + ROUND - 1) % n))
				cell "$g" "${list[$k]%%:*}" "${list[$k]#*:}"
			done
		done
		cell_rand_rss
	done
}

# ---------------------------------------------------------------------------
# Once: the big manifest, and where the time of a cold find goes
# ---------------------------------------------------------------------------

# Writes $OUT/manifest.txt.
run_manifest() {
	local mnt="$WORK/mnt" t dlog="$OUT/daemon-hexzfs-manifest.log" entries shown anon hwm

	make_manifest
	entries=$(jq_int "$DATA/manifest-$MANIFEST_ENTRIES.info" entries)
	log "manifest: $entries entries, $(stat -c %s "$DATA/hexz/manifest/m.hxz") bytes (at $SECONDS s)"
	cat "$DATA/hexz/manifest/m.hxz" >/dev/null
	fuse_mount hexzfs "$mnt" "$dlog" "$HEXZFS" -f -o view=contents "${HEXZFS_ARGS[@]}" \
		"$DATA/hexz/manifest" "$mnt"
	{
		printf 'manifest of %d entries (%d bytes of JSON, archive %d bytes):\n' "$entries" \
			"$(jq_int "$DATA/manifest-$MANIFEST_ENTRIES.info" manifest_bytes)" \
			"$(stat -c %s "$DATA/hexz/manifest/m.hxz")"
		if t=$(timed do_open "$mnt/m.hxz" 2>>"$LOG"); then
			printf '  open (first ls of its root)   %10.3f s\n' "$t"
			shown=1
		else
			printf '  open: FAILED, not shown: %s\n' "$(grep -i 'not shown' "$dlog" | tail -n 1)"
			shown=0
		fi
		anon=$(status_kb "$DPID" RssAnon)
		hwm=$(status_kb "$DPID" VmHWM)
		awk -v k="$anon" 'BEGIN { printf "  daemon RssAnon after it       %10.1f MiB\n", k / 1024 }'
		awk -v k="$hwm" 'BEGIN { printf "  daemon VmHWM after it         %10.1f MiB\n", k / 1024 }'
		((shown)) && awk -v a="$anon" -v h="$hwm" -v n="$entries" \
			'BEGIN { printf "  (%.1f and %.1f bytes per entry)\n", a * 1024 / n, h * 1024 / n }'
	} >"$OUT/manifest.txt"
	tee -a "$LOG" <"$OUT/manifest.txt"
	unmount_all
}

# CPU time of a process (all threads), user and system, in clock ticks.
proc_cpu() {
	awk '{ sub(/^.*\) /, ""); print $12, $13 }' "/proc/$1/stat"
}

# One cold find: "wall find_user find_sys daemon_user daemon_sys" (s).
profiled_find() {
	local root=$1 want=$2 t0 t1 c0=(0 0) c1=(0 0) times hz

	hz=$(getconf CLK_TCK)
	[[ -n $DPID ]] && read -r -a c0 <<<"$(proc_cpu "$DPID")"
	t0=$(usec_now)
	# times: the subshell's own CPU, then its children's (find and wc).
	times=$( (do_find "$root" "$want" >&2 && times) 2>>"$LOG" | tail -n 1) || return 1
	t1=$(usec_now)
	[[ -n $DPID ]] && read -r -a c1 <<<"$(proc_cpu "$DPID")"
	awk -v us=$((t1 - t0)) -v t="$times" -v du=$((c1[0] - c0[0])) -v ds=$((c1[1] - c0[1])) -v hz="$hz" '
		function secs(s,   m) { m = s; sub(/m.*/, "", m); sub(/^[0-9]+m/, "", s); sub(/s$/, "", s); return m * 60 + s }
		BEGIN { split(t, f, " "); printf "%.3f %.3f %.3f %.3f %.3f\n", us / 1e6, secs(f[1]), secs(f[2]), du / hz, ds / hz }'
}

# opcode_counts TREE PEER WHICH LOG: one line, the requests of a libfuse -d
# log ("unique: N, opcode: NAME (N), ...") by opcode, most frequent first.
opcode_counts() {
	local counts

	counts=$(grep -o 'opcode: [A-Z_]*' "$4" | cut -c 9- | sort | uniq -c | sort -k1,1nr -k2,2 |
		awk '{ printf " %s=%d", $2, $1; all += $1 } END { printf "\t%d\n", all }')
	printf '  %-5s %-14s %-4s %9d:%s\n' "$1" "$2" "$3" "${counts##*$'\t'}" "${counts%$'\t'*}"
}

# Writes $OUT/profile.txt.
run_profile() {
	local tree peer line dlog want split

	{
		echo "Where the time of one cold find -type f goes (fresh mount; s):"
		printf '  %-5s %-14s %8s %8s %8s %9s %9s\n' tree peer wall find_usr find_sys daemon_usr daemon_sys
	} >"$OUT/profile.txt"
	for tree in "${TREES[@]}"; do
		want=$(tree_files "$tree")
		for peer in "${PEERS[@]}"; do
			[[ -n ${NOT_SHOWN[$peer:$tree]:-} ]] && continue
			mount_peer "$peer" "$tree"
			if do_open "$ROOT" 2>>"$LOG" && line=$(profiled_find "$ROOT" "$want"); then
				# shellcheck disable=SC2086 # five fields
				printf '  %-5s %-14s %8s %8s %8s %9s %9s\n' "$tree" "$peer" $line >>"$OUT/profile.txt"
			else
				log "warning: profile of $peer on $tree failed"
			fi
			unmount_all
		done
	done
	echo "(ksquashfs has no daemon: its work is the kernel time of find.)" >>"$OUT/profile.txt"
	{
		echo
		echo "FUSE requests of a cold find -type f (fresh mount, with the first ls of the"
		echo "root), then of a warm one (the same mount; until the unmount), from the"
		echo "daemon's -d log:"
	} >>"$OUT/profile.txt"
	for tree in "${TREES[@]}"; do
		want=$(tree_files "$tree")
		for peer in hexzfs squashfuse_ll; do
			[[ -n ${NOT_SHOWN[$peer:$tree]:-} ]] && continue
			dlog="$WORK/debug-$peer-$tree.log"
			: >"$dlog"
			case "$peer" in
			hexzfs)
				cat "$DATA/hexz/$tree/$tree.hxz" >/dev/null
				fuse_mount hexzfs "$WORK/mnt" "$dlog" "$HEXZFS" -f -d -o view=contents \
					"${HEXZFS_ARGS[@]}" "$DATA/hexz/$tree" "$WORK/mnt"
				ROOT="$WORK/mnt/$tree.hxz"
				;;
			squashfuse_ll)
				cat "$DATA/img/$tree.sqfs" >/dev/null
				fuse_mount squashfuse_ll "$WORK/mnt" "$dlog" squashfuse_ll -f -d "$DATA/img/$tree.sqfs" "$WORK/mnt"
				ROOT="$WORK/mnt"
				;;
			esac
			if ! { do_open "$ROOT" && do_find "$ROOT" "$want"; } 2>>"$LOG"; then
				log "warning: debug find of $peer on $tree failed"
			fi
			# libfuse logs each request as it takes it: all of the
			# cold find's are in the log once find is done.
			split=$(wc -l <"$dlog")
			if ! do_find "$ROOT" "$want" 2>>"$LOG"; then
				log "warning: debug find of $peer on $tree failed"
			fi
			unmount_all
			opcode_counts "$tree" "$peer" cold <(head -n "$split" "$dlog") >>"$OUT/profile.txt"
			opcode_counts "$tree" "$peer" warm <(tail -n +"$((split + 1))" "$dlog") >>"$OUT/profile.txt"
			rm -f "$dlog"
		done
	done
	tee -a "$LOG" <"$OUT/profile.txt"
}

# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------

# Rows of the main table: row workload tree.
ROWS=()
for t in "${TREES[@]}"; do
	for w in open find_cold find_warm lslr_cold lslr_warm du tar; do
		ROWS+=("${w}_$t $w $t")
	done
done
readonly ROWS
# Rows of the memory table.
MEM_ROWS=()
for t in "${TREES[@]}"; do
	for w in open find_cold find_warm lslr_cold lslr_warm du tar; do
		MEM_ROWS+=("anon_${w}_$t anon_$w $t" "hwm_${w}_$t hwm_$w $t")
	done
done
MEM_ROWS+=("rand_vmrss_peak rand_vmrss_peak disk" "rand_hwm rand_hwm disk" "rand_anon rand_anon disk"
	"rand_iops rand_iops disk")
readonly MEM_ROWS

label_of() {
	local w=$1 t=$2 n=""

	[[ $t == disk ]] || n=$(tree_files "$t")
	case "$w" in
	open) echo "open: first ls of the root, $n files" ;;
	find_cold) echo "find -type f, cold, $n files" ;;
	find_warm) echo "find -type f, warm, $n files" ;;
	lslr_cold) echo "ls -lR, cold, $n files" ;;
	lslr_warm) echo "ls -lR, warm, $n files" ;;
	du) echo "du -s, cold, $n files" ;;
	tar) echo "tar of a $(jq_int "$DATA/$t.info" subtree_files)-file subtree, cold, $n files" ;;
	anon_*) echo "RssAnon after ${w#anon_}, $n files" ;;
	hwm_*) echo "VmHWM after ${w#hwm_}, $n files" ;;
	rand_vmrss_peak) echo "peak VmRSS, random 4 KiB reads, cache_size=$CACHE_SIZE" ;;
	rand_hwm) echo "VmHWM after the random reads" ;;
	rand_anon) echo "RssAnon after the random reads" ;;
	rand_iops) echo "random 4 KiB reads of the $DISK_MB MiB archive" ;;
	esac
}

# results.tsv: row workload tree unit, median min max of each peer, then
# hexzfs against each other peer, peer/hexzfs (lower figures are better
# for every workload here, so > 1 means hexzfs is better).
summarize() {
	local spec row w t

	# workload tree peer unit median min max
	medians 3 "$OUT/raw.tsv" "$OUT/medians.tsv"
	{
		printf 'row\tworkload\ttree\tunit'
		for p in "${PEERS[@]}"; do printf '\t%s\t%s_min\t%s_max' "$p" "$p" "$p"; done
		printf '\thexzfs_vs_squashfuse_ll\thexzfs_vs_ksquashfs\n'
		for spec in "${ROWS[@]}" "${MEM_ROWS[@]}"; do
			read -r row w t <<<"$spec"
			awk -F'\t' -v row="$row" -v w="$w" -v t="$t" -v peers="${PEERS[*]}" '
				$1 == w && $2 == t { med[$3] = $5; lo[$3] = $6; hi[$3] = $7; unit = $4 }
				END {
					np = split(peers, P, " ")
					printf "%s\t%s\t%s\t%s", row, w, t, (unit == "" ? "-" : unit)
					for (i = 1; i <= np; i++) {
						p = P[i]
						if (p in med) printf "\t%g\t%g\t%g", med[p], lo[p], hi[p]
						else printf "\t-\t-\t-"
					}
					for (i = 2; i <= np; i++) {
						p = P[i]
						if (!(p in med) || !("hexzfs" in med) || med[p] == 0 || med["hexzfs"] == 0) { printf "\t-"; continue }
						printf "\t%.3f", med[p] / med["hexzfs"]
					}
					printf "\n"
				}' "$OUT/medians.tsv"
		done
	} >"$OUT/results.tsv"
}

col() {
	awk -F'\t' -v r="$1" -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
		$1 == r { print $k }' "$OUT/results.tsv"
}

val() {
	col "$1" "$2" | awk -v u="$(col "$1" unit)" '$0 == "-" { print; next }
		{ if (u == "s") printf "%.3f\n", $0; else if (u == "MiB") printf "%.1f\n", $0; else printf "%.0f\n", $0 }'
}

rat() {
	col "$1" "$2" | awk '$0 == "-" { print; next } { printf "%.2f\n", $0 }'
}

# An absolute target: name, figure, limit, unit (met when figure <= limit).
limit_verdict() {
	awk -v name="$1" -v v="$2" -v lim="$3" -v u="$4" 'BEGIN {
		if (v == "" || v == "-") { printf "  %-58s %8s  %s\n", name, "-", "MISSED (no figure: not shown)"; exit }
		printf "  %-58s %8.2f  %s (limit %s %s)\n", name, v, (v <= lim) ? "met" : "MISSED", lim, u
	}'
}

# A ratio target as in the other suites, but a missing hexzfs figure (the
# archive was not shown) is a miss, not "n/a".
ratio_verdict() {
	local name=$1 row=$2 peer=$3 thr=$4

	if [[ $(col "$row" hexzfs) == - ]]; then
		printf '  %-58s %8s  %s\n' "$name" - "MISSED (no figure: not shown)"
	else
		verdict "$name" "$(col "$row" "hexzfs_vs_$peer")" "$thr" 0
	fi
}

targets() {
	local t n w

	for t in "${TREES[@]}"; do
		n=$(tree_files "$t")
		for w in find lslr; do
			ratio_verdict "$w cold, $n files: <= 0.8x squashfuse_ll (>= 1.25)" "${w}_cold_$t" squashfuse_ll 1.25
		done
		for w in find lslr; do
			ratio_verdict "$w warm, $n files: <= 1.5x kernel squashfs (>= 0.667)" "${w}_warm_$t" ksquashfs 0.6667
		done
		ratio_verdict "tar of the subtree, $n files: <= kernel squashfs" "tar_$t" ksquashfs 1
	done
	n=$(tree_files tiny)
	limit_verdict "$n-file archive opens in <= 2 s (s)" "$(col open_tiny hexzfs)" 2 s
	limit_verdict "$n-file archive: RssAnon after a full find <= 160 MiB" "$(col anon_find_cold_tiny hexzfs)" 160 MiB
	limit_verdict "peak VmRSS, random reads, cache_size=$CACHE_SIZE: <= 128 MiB" "$(col rand_vmrss_peak hexzfs)" 128 MiB
}

machine_description() {
	machine_common
	echo "data in:     $(findmnt -no FSTYPE -T "$DATA") (sources kept in the page cache)"
	if [[ -n $HEXZFS_BIN || ${#HEXZFS_ARGS[@]} -gt 0 ]]; then
		echo "hexzfs:      $HEXZFS ${HEXZFS_ARGS[*]} (custom: not the release build of this tree)"
	else
		echo "hexzfs:      $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown), $BUILD_DIR (buildtype=release), its defaults"
	fi
	echo "peers:       libfuse $(pkg-config --modversion fuse3), squashfuse $(pkg_version squashfuse), squashfs-tools $(pkg_version squashfs-tools), $(fio --version)"
	echo "parameters:  scale=$SCALE rounds=$ROUNDS rand=${RAND_SECONDS}s cache_size=$CACHE_SIZE disk=${DISK_MB}MiB blocks=64KiB lz4"
	echo "load:        $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end (1/5/15 min averages)"
}

pkg_version() {
	dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo '?'
}

report() {
	local spec row w t fmt

	machine_description >"$OUT/machine.txt"
	fmt='%-52s %-4s %9s %9s %9s %8s %8s\n'
	{
		echo "hexzfs metadata benchmark ($STAMP)"
		echo
		cat "$OUT/machine.txt"
		echo
		data_sizes
		echo
		echo "Medians of $ROUNDS rounds; every cell on a fresh mount. Ratios: peer/hexzfs"
		echo "(> 1: hexzfs is faster)."
		echo
		# shellcheck disable=SC2059
		printf "$fmt" workload unit hexzfs sqfuse ksqfs /sqfuse /ksqfs
		for spec in "${ROWS[@]}"; do
			read -r row w t <<<"$spec"
			# shellcheck disable=SC2059
			printf "$fmt" "$(label_of "$w" "$t")" "$(col "$row" unit)" "$(val "$row" hexzfs)" \
				"$(val "$row" squashfuse_ll)" "$(val "$row" ksquashfs)" \
				"$(rat "$row" hexzfs_vs_squashfuse_ll)" "$(rat "$row" hexzfs_vs_ksquashfs)"
		done
		echo
		echo "Daemon memory (MiB, medians):"
		printf '  %-58s %9s %9s\n' "" hexzfs sqfuse
		for spec in "${MEM_ROWS[@]}"; do
			read -r row w t <<<"$spec"
			printf '  %-58s %9s %9s\n' "$(label_of "$w" "$t") ($(col "$row" unit))" \
				"$(val "$row" hexzfs)" "$(val "$row" squashfuse_ll)"
		done
		echo
		if [[ -s $OUT/manifest.txt ]]; then
			cat "$OUT/manifest.txt"
			echo
		fi
		cat "$OUT/profile.txt"
		echo
		if ((${#NOT_SHOWN[@]})); then
			echo "Not shown (no figures): ${!NOT_SHOWN[*]}; the daemon's reason:"
			grep -hi 'not shown' "$OUT"/daemon-*.log | sort -u | sed 's/^/  /'
			echo
		fi
		echo "Targets (ratio as above; threshold):"
		targets
	} >"$OUT/results.txt"

	{
		echo "# hexzfs metadata: directory archives of many files against squashfuse_ll and the kernel's squashfs"
		echo
		echo "| workload | unit | hexzfs | squashfuse_ll | kernel squashfs | vs squashfuse_ll | vs kernel squashfs |"
		echo "|---|---|--:|--:|--:|--:|--:|"
		for spec in "${ROWS[@]}"; do
			read -r row w t <<<"$spec"
			printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$(label_of "$w" "$t")" "$(col "$row" unit)" \
				"$(val "$row" hexzfs)" "$(val "$row" squashfuse_ll)" "$(val "$row" ksquashfs)" \
				"$(rat "$row" hexzfs_vs_squashfuse_ll)" "$(rat "$row" hexzfs_vs_ksquashfs)"
		done
		echo
		echo "| daemon memory | unit | hexzfs | squashfuse_ll |"
		echo "|---|---|--:|--:|"
		for spec in "${MEM_ROWS[@]}"; do
			read -r row w t <<<"$spec"
			printf '| %s | %s | %s | %s |\n' "$(label_of "$w" "$t")" "$(col "$row" unit)" \
				"$(val "$row" hexzfs)" "$(val "$row" squashfuse_ll)"
		done
		echo
		echo "Medians of $ROUNDS rounds, every cell on a fresh mount, the archive and image"
		echo "files in the page cache; ratios peer/hexzfs (> 1: hexzfs is faster)."
		echo
		echo '```'
		cat "$OUT/machine.txt"
		echo
		data_sizes
		echo
		[[ -s $OUT/manifest.txt ]] && { cat "$OUT/manifest.txt"; echo; }
		cat "$OUT/profile.txt"
		echo
		echo "Targets:"
		targets
		echo '```'
	} >"$OUT/results.md"
}

publish() {
	local dest="$REPO/doc/bench"

	mkdir -p "$dest"
	cp "$OUT/results.txt" "$dest/results-metadata.txt"
	cp "$OUT/results.tsv" "$dest/results-metadata.tsv"
	cp "$OUT/results.md" "$dest/results-metadata.md"
	log "published to $dest"
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
	WORK=$(mktemp -d "$TMPBASE/hexzfs-bench-metadata.XXXXXX")
	mkdir "$WORK/mnt"
	make_data
	log "data ready (at $SECONDS s)"
	case "$MODE" in
	generate)
		make_manifest
		data_sizes | tee -a "$LOG"
		return 0
		;;
	manifest)
		run_manifest
		return 0
		;;
	esac
	run_rounds
	run_manifest
	run_profile
	summarize
	report
	[[ -n ${BENCH_OUT:-} ]] || ln -sfn "$(basename "$OUT")" "$REPO/bench-results/latest-metadata"
	cat "$OUT/results.txt"
	if ((PUBLISH)); then publish; fi
	log "results in $OUT ($(($(date +%s) - started)) s)"
}

main
