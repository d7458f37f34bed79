#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# scripts/bench.sh: hexzfs against its peers, in one run.
#
# Installs what it needs (Debian), builds hexzfs in release mode in its own
# build directory, then measures the same data through
#   direct          the source files, read straight from the page cache
#                   (the physical limit);
#   hexzfs          this project;
#   bindfs          bindfs -r over the same directory (read-only FUSE
#                   passthrough, its defaults: single-threaded, no kernel
#                   page cache kept across opens);
#   squashfuse_ll   over an uncompressed squashfs image of the same data
#                   (mksquashfs -noI -noD -noF -noX);
# and a micro-benchmark of libhexz: read_exact against memcpy. Then, unless
# told otherwise (--suite), scripts/bench_contents.sh: the contents view
# (hexz archives) against squashfuse_ll, the kernel's squashfs and EROFS,
# and the raw view (see that script and doc/bench/README.md). Both share
# their helpers through scripts/bench_lib.sh, as does the metadata suite
# (scripts/bench_metadata.sh: directory archives of 300,000 and 1,000,000
# files against squashfuse_ll and the kernel's squashfs), which runs only
# when asked for (--suite metadata): it needs about 9 GB of generated data
# and an hour.
#
# Method (the same for every peer):
#   * Each round mounts the three FUSE peers afresh and runs every workload
#     on every peer, the peers interleaved workload by workload, in an
#     order that rotates from round to round. Figures are medians over the
#     rounds (min and max are kept in results.tsv).
#   * The sources stay in the page cache throughout: the snapshot
#     directory (for direct, hexzfs, bindfs) and the squashfs image (for
#     squashfuse_ll); they are re-read before each round and their
#     residency is checked with fincore.
#   * "cold" (data) = the pages cached for the file *as seen through the
#     mount* are dropped with posix_fadvise(DONTNEED) on the mounted path
#     (bench/dropcache), checked with fincore to be 0 bytes; the daemon and
#     its sources stay as they are. direct is never dropped.
#   * "cold" (metadata, small files) = a fresh mount: each round's mounts
#     are new, and the ls, stat and cat workloads each use their own
#     directory that nothing touched before in that mount. direct runs with
#     the source's dentries cached.
#   * Memory: RssAnon of each daemon, read from /proc/PID/status at the end
#     of each round, after that mount served every workload.
#
# Usage: scripts/bench.sh [--quick] [--no-install] [--no-publish] [--suite S]
#   --quick       smoke test: small data, one round, nothing published
#                 (BENCH_QUICK=1 does the same)
#   --no-install  never call apt-get (fail if a tool is missing)
#   --no-publish  leave doc/bench/ alone
#   --suite S     raw: this script's benchmark only; contents: only
#                 scripts/bench_contents.sh (same options); metadata: only
#                 scripts/bench_metadata.sh (same options; --quick is its
#                 small scale); all (default): raw and contents, one after
#                 the other
#
# Environment (defaults in brackets; --quick lowers them):
#   BENCH_ROUNDS [7]           rounds of every workload on every peer
#   BENCH_SIZE_MB [1024]       size of the big snapshot
#   BENCH_FILES [10000]        files per small-file directory (ls, stat, cat)
#   BENCH_SMALL_KB [4]         size of each small file
#   BENCH_RAND_SECONDS [10]    time cap of each random-read run
#   BENCH_RAND_IO_MB [SIZE/4]  bytes read per random run (all jobs together)
#   BENCH_CORE_ROUNDS [101]    rounds of the core micro-benchmark (16 MiB each)
#   BENCH_TMPDIR [/var/tmp]    where the data and mountpoints are created
#   BENCH_BUILD_DIR [build-release]
#   BENCH_HEXZFS_BIN []        benchmark this hexzfs binary instead of the
#                              release build (e.g. an experimental copy)
#   BENCH_HEXZFS_ARGS []       extra hexzfs arguments, e.g. "-s" or
#                              "-o readahead_kb=128"
# With BENCH_HEXZFS_BIN or BENCH_HEXZFS_ARGS set nothing is published.
# scripts/bench_contents.sh --help lists the BENCH_CONTENTS_* variables,
# scripts/bench_metadata.sh --help the BENCH_METADATA_* ones.
#
# Results: bench-results/<date>/ (raw.tsv, results.tsv, results.txt,
# results.md, core.tsv, chart.png, bench.log, daemon logs; contents/ for
# the contents view), and, unless --quick or --no-publish, a copy in
# doc/bench/ for the README.
set -euo pipefail
export LC_ALL=C

readonly PEERS=(direct hexzfs bindfs squashfuse_ll)
readonly FUSE_PEERS=(hexzfs bindfs squashfuse_ll)
readonly WORKLOADS=(seq_cold seq_warm rand_1 rand_4 ls_l stat_all cat_all rss_anon)

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO
BENCH_NAME=bench.sh
# shellcheck source=scripts/bench_lib.sh
. "$REPO/scripts/bench_lib.sh"

QUICK=0
[[ ${BENCH_QUICK:-0} == 1 ]] && QUICK=1
INSTALL=1
PUBLISH=1
SUITE=all
FORWARD=()

usage() {
	sed -n '/^# Usage:/,/^# Results:/{/^# Results:/d; s/^# \{0,1\}//; p}' "${BASH_SOURCE[0]}"
}

while (($#)); do
	case "$1" in
	--quick)
		QUICK=1
		FORWARD+=("$1")
		;;
	--no-install)
		INSTALL=0
		FORWARD+=("$1")
		;;
	--no-publish)
		PUBLISH=0
		FORWARD+=("$1")
		;;
	--suite)
		(($# >= 2)) || { echo "bench.sh: --suite needs raw, contents, metadata or all" >&2; exit 2; }
		SUITE=$2
		shift
		;;
	--suite=*) SUITE=${1#--suite=} ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		echo "bench.sh: unknown argument '$1'" >&2
		usage >&2
		exit 2
		;;
	esac
	shift
done

case "$SUITE" in
raw | all) ;;
contents) exec "$REPO/scripts/bench_contents.sh" "${FORWARD[@]}" ;;
metadata) exec "$REPO/scripts/bench_metadata.sh" "${FORWARD[@]}" ;;
*)
	echo "bench.sh: --suite must be raw, contents, metadata or all, not '$SUITE'" >&2
	exit 2
	;;
esac

if ((QUICK)); then
	PUBLISH=0
	: "${BENCH_ROUNDS:=1}" "${BENCH_SIZE_MB:=128}" "${BENCH_FILES:=1000}"
	: "${BENCH_RAND_SECONDS:=3}" "${BENCH_CORE_ROUNDS:=21}"
fi
ROUNDS=${BENCH_ROUNDS:-7}
SIZE_MB=${BENCH_SIZE_MB:-1024}
NFILES=${BENCH_FILES:-10000}
SMALL_KB=${BENCH_SMALL_KB:-4}
RAND_SECONDS=${BENCH_RAND_SECONDS:-10}
RAND_IO_MB=${BENCH_RAND_IO_MB:-$((SIZE_MB / 4))}
CORE_ROUNDS=${BENCH_CORE_ROUNDS:-101}
TMPBASE=${BENCH_TMPDIR:-/var/tmp}
BUILD_DIR=${BENCH_BUILD_DIR:-build-release}
[[ $BUILD_DIR = /* ]] || BUILD_DIR="$REPO/$BUILD_DIR"
HEXZFS_BIN=${BENCH_HEXZFS_BIN:-}
read -r -a HEXZFS_ARGS <<<"${BENCH_HEXZFS_ARGS:-}"
if [[ -n $HEXZFS_BIN || ${#HEXZFS_ARGS[@]} -gt 0 ]]; then
	PUBLISH=0
fi

for v in ROUNDS SIZE_MB NFILES SMALL_KB RAND_SECONDS RAND_IO_MB CORE_ROUNDS; do
	if ! [[ ${!v} =~ ^[1-9][0-9]*$ ]]; then
		echo "bench.sh: $v must be a positive whole number, not '${!v}'" >&2
		exit 2
	fi
done
if ((RAND_IO_MB < 4 || RAND_IO_MB > SIZE_MB)); then
	echo "bench.sh: BENCH_RAND_IO_MB must lie between 4 and BENCH_SIZE_MB" >&2
	exit 2
fi
readonly ROUNDS SIZE_MB NFILES SMALL_KB RAND_SECONDS RAND_IO_MB CORE_ROUNDS TMPBASE BUILD_DIR
readonly HEXZFS_BIN HEXZFS_ARGS
readonly SIZE_BYTES=$((SIZE_MB * 1024 * 1024))

STAMP=$(date -u +%Y%m%d-%H%M%S)
((QUICK)) && STAMP+="-quick"
OUT="$REPO/bench-results/$STAMP"
readonly STAMP OUT
mkdir -p "$OUT"
LOG="$OUT/bench.log"
readonly LOG
: >"$LOG"

# ---------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------

# command:package. gnuplot-nox rather than gnuplot, whose first alternative
# pulls in Qt and X11; it has the pngcairo terminal.
readonly NEEDED=(
	bindfs:bindfs squashfuse_ll:squashfuse mksquashfs:squashfs-tools fio:fio
	gnuplot:gnuplot-nox fincore:util-linux fusermount3:fuse3
	meson:meson ninja:ninja-build cc:gcc pkg-config:pkg-config
)

# ---------------------------------------------------------------------------
# Work directory, mounts, cleanup
# ---------------------------------------------------------------------------

WORK=""
LOAD_START=""
declare -A PID=() MNT=() ROOT=()

# Unmount one peer's mount (only ever one we made) and reap its daemon.
unmount_peer() {
	local peer=$1 mnt=${MNT[$1]:-} pid=${PID[$1]:-} i

	if [[ -n $mnt ]] && mountpoint -q "$mnt" 2>/dev/null; then
		for i in 1 2 3 4 5 6 7 8 9 10; do
			fusermount3 -u "$mnt" 2>/dev/null && break
			sleep 0.2
		done
		mountpoint -q "$mnt" 2>/dev/null && fusermount3 -uz "$mnt" 2>/dev/null
	fi
	if [[ -n $pid ]]; then
		for i in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "warning: $peer daemon $pid still running after unmount; terminating it"
			kill "$pid" 2>/dev/null || true
		fi
		wait "$pid" 2>/dev/null || true
	fi
	PID[$peer]=""
	return 0
}

cleanup() {
	local rc=$? peer

	trap - EXIT INT TERM
	set +e
	for peer in "${FUSE_PEERS[@]}"; do
		unmount_peer "$peer"
	done
	if [[ -n $WORK && -d $WORK ]]; then
		rm -rf --one-file-system "$WORK"
	fi
	((rc == 0)) || printf 'bench.sh: failed (exit %s); mounts and work directory removed; log: %s\n' \
		"$rc" "$LOG" | tee -a "$LOG" >&2
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mount_peer() {
	local peer=$1 mnt=${MNT[$1]} dlog="$OUT/daemon-$1.log" i

	case "$peer" in
	hexzfs) "$HEXZFS" -f "${HEXZFS_ARGS[@]}" "$SRC" "$mnt" </dev/null >>"$dlog" 2>&1 & ;;
	bindfs) bindfs -f -r "$SRC" "$mnt" </dev/null >>"$dlog" 2>&1 & ;;
	squashfuse_ll) squashfuse_ll -f "$IMG" "$mnt" </dev/null >>"$dlog" 2>&1 & ;;
	esac
	PID[$peer]=$!
	for i in $(seq 200); do
		mountpoint -q "$mnt" && return 0
		kill -0 "${PID[$peer]}" 2>/dev/null || break
		sleep 0.05
	done
	die "$peer did not mount on $mnt (see $dlog)"
}


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------

make_data() {
	local d width=5

	((${#NFILES} > width)) && width=${#NFILES}
	log "creating data in $WORK: a ${SIZE_MB} MiB snapshot, 3 x $NFILES snapshots of ${SMALL_KB} KiB"
	mkdir -p "$SRC"
	head -c "$SIZE_BYTES" /dev/urandom >"$SRC/big.hxz"
	for d in ls stat cat; do
		mkdir "$SRC/$d"
		head -c $((NFILES * SMALL_KB * 1024)) /dev/urandom |
			split -b $((SMALL_KB * 1024)) -a "$width" -d --additional-suffix=.hxz - "$SRC/$d/f"
	done
	(cd "$SRC/stat" && printf '%s\0' ./*.hxz) >"$WORK/stat.names"
	(cd "$SRC/cat" && printf '%s\0' ./*.hxz) >"$WORK/cat.names"
	log "creating the squashfs image (uncompressed)"
	mksquashfs "$SRC" "$IMG" -noI -noD -noF -noX -no-xattrs -no-duplicates \
		-no-progress -quiet >>"$LOG" 2>&1
	sync -f "$SRC/big.hxz"
	find "$SRC" -type f -exec cat {} + >/dev/null
}

# Keep the sources in the page cache and say so.
warm_sources() {
	local f size res

	for f in "$SRC/big.hxz" "$IMG"; do
		cat "$f" >/dev/null
		size=$(stat -c %s "$f")
		res=$(resident "$f")
		((res == size)) || log "warning: only $res of $size bytes of $f are in the page cache"
	done
}

# ---------------------------------------------------------------------------
# Workloads: each prints one number
# ---------------------------------------------------------------------------

# Drop the mount's pages of a file; never the source's. fincore checks it;
# a mount whose files pass through to their source (FUSE passthrough) has
# no pages of its own and shows the source's, hence a warning, not an error.
drop_mount_cache() {
	local peer=$1 file=$2 res

	[[ $peer == direct ]] && return 0
	"$DROPCACHE" "$file"
	res=$(resident "$file")
	if ((res != 0)); then
		printf 'warning: %s: %s bytes of %s resident after the drop\n' "$peer" "$res" "$file" >>"$LOG"
	fi
}


# dd with 1 MiB blocks; MB/s (10^6 bytes per second) from dd's own timing.
seq_read() {
	dd_read "$1" "$SIZE_BYTES"
}

w_seq_cold() {
	drop_mount_cache "$1" "$2/big.hxz"
	seq_read "$2/big.hxz"
}

w_seq_warm() {
	# The previous workload (seq_cold) has just read the file through
	# this mount; whatever the kernel kept is the warm state.
	seq_read "$2/big.hxz"
}

# fio random 4 KiB reads, psync, buffered, cold; total IOPS of all jobs.
# Every peer replays the same offsets (fio's fixed seeds and random map),
# RAND_IO_MB in all, so no peer reads more of the file than another and
# none gets warmer as it goes; RAND_SECONDS caps the slow ones.
rand_read() {
	local peer=$1 file=$2 jobs=$3 inval=1 out

	[[ $peer == direct ]] && inval=0
	drop_mount_cache "$peer" "$file"
	out=$(fio --name=rand --filename="$file" --readonly --ioengine=psync --rw=randread \
		--bs=4k --direct=0 --invalidate="$inval" --numjobs="$jobs" --group_reporting \
		--io_size=$((RAND_IO_MB / jobs))M --runtime="$RAND_SECONDS" \
		--output-format=terse --terse-version=3 2>>"$LOG")
	awk -F';' '{ printf "%d\n", $8 }' <<<"$out"
}

w_rand_1() { rand_read "$1" "$2/big.hxz" 1; }
w_rand_4() { rand_read "$1" "$2/big.hxz" 4; }


do_ls() { ls -l "$1/ls" >/dev/null; }
do_stat() { (cd "$1/stat" && xargs -0 stat --format=%s -- <"$WORK/stat.names" >/dev/null); }
do_cat() { (cd "$1/cat" && xargs -0 cat -- <"$WORK/cat.names" >/dev/null); }

w_ls_l() { timed do_ls "$2"; }
w_stat_all() { timed do_stat "$2"; }
w_cat_all() { timed do_cat "$2"; }

w_rss_anon() {
	local kb

	kb=$(awk '/^RssAnon:/ { print $2 }' "/proc/${PID[$1]}/status")
	awk -v kb="$kb" 'BEGIN { printf "%.2f\n", kb / 1024 }'
}

unit_of() {
	case "$1" in
	seq_*) echo MB/s ;;
	rand_*) echo IOPS ;;
	rss_anon) echo MiB ;;
	*) echo s ;;
	esac
}

# 1 when a larger figure is better.
higher_is_better() {
	case "$1" in
	seq_* | rand_*) echo 1 ;;
	*) echo 0 ;;
	esac
}

label_of() {
	case "$1" in
	seq_cold) echo "sequential read, cold (dd bs=1M)" ;;
	seq_warm) echo "sequential re-read, warm" ;;
	rand_1) echo "random 4 KiB read, cold, 1 job" ;;
	rand_4) echo "random 4 KiB read, cold, 4 jobs" ;;
	ls_l) echo "ls -l of $NFILES snapshots, cold" ;;
	stat_all) echo "stat of $NFILES snapshots, cold" ;;
	cat_all) echo "cat of $NFILES x ${SMALL_KB} KiB snapshots, cold" ;;
	rss_anon) echo "daemon RssAnon after all of the above" ;;
	esac
}

# ---------------------------------------------------------------------------
# Rounds
# ---------------------------------------------------------------------------

run_rounds() {
	local r w p v i k order

	printf 'round\tworkload\tpeer\tvalue\tunit\n' >"$OUT/raw.tsv"
	for ((r = 1; r <= ROUNDS; r++)); do
		log "round $r/$ROUNDS"
		warm_sources
		for p in "${FUSE_PEERS[@]}"; do
			mount_peer "$p"
		done
		# Rotate the order of the peers from round to round.
		order=()
		for ((i = 0; i < ${#PEERS[@]}; i++)); do
			k=$(((i + r - 1) % ${#PEERS[@]}))
			order+=("${PEERS[$k]}")
		done
		for w in "${WORKLOADS[@]}"; do
			for p in "${order[@]}"; do
				[[ $w == rss_anon && $p == direct ]] && continue
				v=$("w_$w" "$p" "${ROOT[$p]}")
				printf '%s\t%s\t%s\t%s\t%s\n' "$r" "$w" "$p" "$v" "$(unit_of "$w")" >>"$OUT/raw.tsv"
				printf '  %-9s %-14s %12s %s\n' "$w" "$p" "$v" "$(unit_of "$w")" | tee -a "$LOG"
			done
		done
		for p in "${FUSE_PEERS[@]}"; do
			unmount_peer "$p"
		done
	done
}

run_core_bench() {
	log "core micro-benchmark: read_exact against memcpy ($CORE_ROUNDS rounds)"
	local span=256

	((QUICK)) && span=64
	TMPDIR="$WORK" "$CORE_BENCH" -r "$CORE_ROUNDS" -s "$span" | tee -a "$LOG" >"$OUT/core.tsv"
}

# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------

machine_description() {
	machine_common
	echo "source fs:   $(findmnt -no FSTYPE -T "$TMPBASE") (sources kept in the page cache)"
	if [[ -n $HEXZFS_BIN || ${#HEXZFS_ARGS[@]} -gt 0 ]]; then
		echo "hexzfs:      $HEXZFS ${HEXZFS_ARGS[*]} (custom: not the release build of this tree)"
	else
		echo "hexzfs:      $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown), $BUILD_DIR (buildtype=release)"
	fi
	echo "peers:       libfuse $(pkg-config --modversion fuse3), bindfs $(bindfs --version | awk '{ print $2 }'), squashfuse $(dpkg-query -W -f '${Version}' squashfuse 2>/dev/null || echo '?'), $(fio --version)"
	echo "parameters:  rounds=$ROUNDS size=${SIZE_MB}MiB files=$NFILES small=${SMALL_KB}KiB rand_io=${RAND_IO_MB}MiB rand_cap=${RAND_SECONDS}s"
	echo "load:        $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end (1/5/15 min averages)"
}

# results.tsv: workload unit then, per peer, median min max; then the
# ratios of hexzfs to each peer, oriented so that > 1 means hexzfs is better.
summarize() {
	# workload peer unit median min max
	medians 2 "$OUT/raw.tsv" "$OUT/medians.tsv"

	{
		printf 'workload\tunit'
		for p in "${PEERS[@]}"; do printf '\t%s\t%s_min\t%s_max' "$p" "$p" "$p"; done
		printf '\thexzfs_vs_direct\thexzfs_vs_bindfs\thexzfs_vs_squashfuse_ll\n'
		for w in "${WORKLOADS[@]}"; do
			awk -F'\t' -v w="$w" -v unit="$(unit_of "$w")" -v hb="$(higher_is_better "$w")" \
				-v peers="${PEERS[*]}" '
				$1 == w { med[$2] = $4; lo[$2] = $5; hi[$2] = $6 }
				END {
					np = split(peers, P, " ")
					printf "%s\t%s", w, unit
					for (i = 1; i <= np; i++) {
						p = P[i]
						if (p in med) printf "\t%g\t%g\t%g", med[p], lo[p], hi[p]
						else printf "\t-\t-\t-"
					}
					for (i = 1; i <= np; i++) {
						p = P[i]
						if (p == "hexzfs") continue
						if (!(p in med) || med[p] == 0 || med["hexzfs"] == 0) { printf "\t-"; continue }
						printf "\t%.3f", hb ? med["hexzfs"] / med[p] : med[p] / med["hexzfs"]
					}
					printf "\n"
				}' "$OUT/medians.tsv"
		done
	} >"$OUT/results.tsv"
}

# Column of results.tsv by name.
col() {
	awk -F'\t' -v w="$1" -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
		$1 == w { print $k }' "$OUT/results.tsv"
}

# A median as shown in the tables: precision by unit.
val() {
	col "$1" "$2" | awk -v u="$(unit_of "$1")" '$0 == "-" { print; next }
		{ if (u == "s") printf "%.3f\n", $0; else if (u == "MiB") printf "%.1f\n", $0; else printf "%.0f\n", $0 }'
}

# A ratio as shown in the tables.
rat() {
	col "$1" "$2" | awk '$0 == "-" { print; next } { printf "%.2f\n", $0 }'
}

core_ratio() {
	awk -F'\t' -v s="$1" -v set="$2" '$1 == s && $2 == set { print $5 }' "$OUT/core.tsv"
}


report() {
	local w p h fmt rss

	machine_description >"$OUT/machine.txt"
	fmt='%-44s %-5s %10s %10s %10s %13s %8s %8s %8s\n'
	{
		echo "hexzfs benchmark ($STAMP)"
		echo
		cat "$OUT/machine.txt"
		echo
		echo "Medians of $ROUNDS rounds. Ratios: hexzfs/peer for MB/s and IOPS, peer/hexzfs"
		echo "for seconds and MiB, so that > 1 always means hexzfs is better."
		echo
		# shellcheck disable=SC2059
		printf "$fmt" workload unit direct hexzfs bindfs squashfuse_ll "/direct" "/bindfs" "/squashfs"
		for w in "${WORKLOADS[@]}"; do
			# shellcheck disable=SC2059
			printf "$fmt" "$(label_of "$w")" "$(unit_of "$w")" \
				"$(val "$w" direct)" "$(val "$w" hexzfs)" "$(val "$w" bindfs)" \
				"$(val "$w" squashfuse_ll)" "$(rat "$w" hexzfs_vs_direct)" \
				"$(rat "$w" hexzfs_vs_bindfs)" "$(rat "$w" hexzfs_vs_squashfuse_ll)"
		done
		echo
		echo "libhexz read_exact vs memcpy (median GB/s of $CORE_ROUNDS rounds; ratio read_exact/memcpy):"
		awk -F'\t' '/^#/ || $1 == "size" { next }
			{ printf "  %8s %-7s memcpy %7.2f GB/s  read_exact %7.2f GB/s  ratio %.3f\n",
				($1 >= 1048576 ? $1 / 1048576 " MiB" : $1 / 1024 " KiB"), $2, $3, $4, $5 }' "$OUT/core.tsv"
		echo
		echo "Targets (ratio as above; threshold):"
		verdict "cold sequential >= 1.5x bindfs" "$(col seq_cold hexzfs_vs_bindfs)" 1.5 0
		verdict "cold sequential >= 3x squashfuse_ll" "$(col seq_cold hexzfs_vs_squashfuse_ll)" 3 0
		verdict "warm sequential >= 0.9x direct" "$(col seq_warm hexzfs_vs_direct)" 0.9 0
		verdict "random 4 KiB cold, 1 job >= 2x bindfs" "$(col rand_1 hexzfs_vs_bindfs)" 2 0
		verdict "random 4 KiB cold, 4 jobs >= 2x bindfs" "$(col rand_4 hexzfs_vs_bindfs)" 2 0
		verdict "ls -l no slower than bindfs" "$(col ls_l hexzfs_vs_bindfs)" 1 0
		verdict "cat of small files faster than bindfs" "$(col cat_all hexzfs_vs_bindfs)" 1 1
		for p in 131072 1048576; do
			for h in hot stream; do
				verdict "core read_exact >= 0.9x memcpy, $((p / 1024)) KiB $h" "$(core_ratio "$p" "$h")" 0.9 0
			done
		done
		rss=$(col rss_anon hexzfs)
		awk -v r="$rss" 'BEGIN { printf "  %-58s %8.2f  %s\n", "hexzfs RssAnon < 16 MiB (MiB)", r, (r < 16) ? "met" : "MISSED" }'
	} >"$OUT/results.txt"

	{
		echo "| workload | unit | direct | hexzfs | bindfs | squashfuse_ll | hexzfs vs direct | vs bindfs | vs squashfuse_ll |"
		echo "|---|---|--:|--:|--:|--:|--:|--:|--:|"
		for w in "${WORKLOADS[@]}"; do
			printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(label_of "$w")" "$(unit_of "$w")" \
				"$(val "$w" direct)" "$(val "$w" hexzfs)" "$(val "$w" bindfs)" \
				"$(val "$w" squashfuse_ll)" "$(rat "$w" hexzfs_vs_direct)" \
				"$(rat "$w" hexzfs_vs_bindfs)" "$(rat "$w" hexzfs_vs_squashfuse_ll)"
		done
		awk -F'\t' '/^#/ || $1 == "size" { next }
			{ printf "| libhexz read_exact, %s %s | GB/s | %s (memcpy) | %s | | | %s | | |\n",
				($1 >= 1048576 ? $1 / 1048576 " MiB" : $1 / 1024 " KiB"), $2, $3, $4, $5 }' "$OUT/core.tsv"
		echo
		echo "![hexzfs relative to its peers](chart.png)"
		echo
		echo "Medians of $ROUNDS rounds; ratios > 1 mean hexzfs is better (hexzfs/peer for"
		echo "MB/s and IOPS, peer/hexzfs for seconds and MiB; read_exact/memcpy for libhexz)."
		echo
		echo '```'
		cat "$OUT/machine.txt"
		echo '```'
	} >"$OUT/results.md"
}

chart() {
	local w i=0 subtitle

	{
		echo "# index label vs_direct vs_bindfs vs_squashfuse_ll (> 1: hexzfs better)"
		for w in "${WORKLOADS[@]}"; do
			printf '%d\t"%s"\t%s\t%s\t%s\n' "$i" "$(chart_label "$w")" \
				"$(rat "$w" hexzfs_vs_direct)" "$(rat "$w" hexzfs_vs_bindfs)" \
				"$(rat "$w" hexzfs_vs_squashfuse_ll)"
			i=$((i + 1))
		done
	} >"$OUT/chart.dat"
	subtitle="$(sed -n 's/^cpu: *//p' "$OUT/machine.txt"), $(sed -n 's/^kernel: *//p' "$OUT/machine.txt"), $(date -u +%Y-%m-%d); medians of $ROUNDS rounds"
	gnuplot -e "datafile='$OUT/chart.dat'; outfile='$OUT/chart.png'; subtitle='$subtitle'" \
		"$REPO/bench/chart.gp" >>"$LOG" 2>&1 || die "gnuplot failed (see $LOG)"
}

chart_label() {
	case "$1" in
	seq_cold) printf '%s\n' 'seq read\ncold' ;;
	seq_warm) printf '%s\n' 'seq read\nwarm' ;;
	rand_1) printf '%s\n' 'rand 4K\n1 job' ;;
	rand_4) printf '%s\n' 'rand 4K\n4 jobs' ;;
	ls_l) echo 'ls -l' ;;
	stat_all) printf '%s\n' 'stat\neach' ;;
	cat_all) printf '%s\n' 'cat small\nfiles' ;;
	rss_anon) printf '%s\n' 'daemon\nRssAnon' ;;
	esac
}

publish() {
	local dest="$REPO/doc/bench" f

	mkdir -p "$dest"
	for f in results.txt results.tsv results.md chart.png; do
		cp "$OUT/$f" "$dest/$f"
	done
	log "published to $dest"
}

# ---------------------------------------------------------------------------

main() {
	local started p extra

	started=$(date +%s)
	LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
	extra=()
	pkg-config --exists fuse3 2>/dev/null || extra+=(libfuse3-dev)
	install_tools "${extra[@]}"
	build_release
	WORK=$(mktemp -d "$TMPBASE/hexzfs-bench.XXXXXX")
	SRC="$WORK/src"
	IMG="$WORK/image.sqfs"
	readonly SRC IMG
	ROOT[direct]="$SRC"
	for p in "${FUSE_PEERS[@]}"; do
		MNT[$p]="$WORK/mnt-$p"
		ROOT[$p]="${MNT[$p]}"
		mkdir "${MNT[$p]}"
	done
	make_data
	run_rounds
	run_core_bench
	summarize
	report
	chart
	ln -sfn "$STAMP" "$REPO/bench-results/latest"
	cat "$OUT/results.txt"
	((PUBLISH)) && publish
	log "results in $OUT ($(($(date +%s) - started)) s)"
	if [[ $SUITE == all ]]; then
		# Free the raw view's data (and its page cache) first.
		rm -rf --one-file-system "$WORK"
		WORK=""
		log "the contents view: scripts/bench_contents.sh ${FORWARD[*]}"
		BENCH_OUT="$OUT/contents" "$REPO/scripts/bench_contents.sh" "${FORWARD[@]}"
	fi
}

main
