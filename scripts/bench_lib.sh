# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# scripts/bench_lib.sh: helpers shared by scripts/bench.sh (the raw view)
# and scripts/bench_contents.sh (the contents view). Sourced, never run.
#
# The sourcing script sets, before calling them:
#   BENCH_NAME   its own name, for messages
#   REPO OUT LOG INSTALL BUILD_DIR HEXZFS_BIN
#   NEEDED       command:package pairs install_tools checks

log() {
	printf '%s\n' "$*" | tee -a "$LOG"
}

# Also to stderr: die may run inside a command substitution.
die() {
	printf '%s: error: %s\n' "$BENCH_NAME" "$*" | tee -a "$LOG" >&2
	exit 1
}

# Install the packages of NEEDED whose command is missing, plus any
# packages given as arguments (found missing by the caller's own checks).
install_tools() {
	local item cmd missing=("$@")

	for item in "${NEEDED[@]}"; do
		cmd=${item%%:*}
		command -v "$cmd" >/dev/null 2>&1 || missing+=("${item#*:}")
	done
	((${#missing[@]})) || return 0
	if ((!INSTALL)); then
		die "missing packages: ${missing[*]} (run without --no-install, as root)"
	fi
	if ((EUID != 0)); then
		die "missing packages: ${missing[*]}; run as root or install them"
	fi
	log "installing: ${missing[*]}"
	apt-get update -qq >>"$LOG" 2>&1
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >>"$LOG" 2>&1 || die "apt-get install failed (see $LOG)"
}

# Release build in BUILD_DIR. Sets HEXZFS, DROPCACHE, CORE_BENCH and
# ARCHIVE_BENCH (empty when bench/meson.build does not build it).
build_release() {
	log "building hexzfs (release) in $BUILD_DIR"
	if [[ -f $BUILD_DIR/build.ninja ]]; then
		meson configure "$BUILD_DIR" -Dbuildtype=release -Dtests=false >>"$LOG" 2>&1
	else
		meson setup "$BUILD_DIR" "$REPO" -Dbuildtype=release -Dtests=false >>"$LOG" 2>&1
	fi
	meson compile -C "$BUILD_DIR" >>"$LOG" 2>&1 || die "build failed (see $LOG)"
	HEXZFS=${HEXZFS_BIN:-$BUILD_DIR/fuse/hexzfs}
	DROPCACHE="$BUILD_DIR/bench/dropcache"
	CORE_BENCH="$BUILD_DIR/bench/core_bench"
	ARCHIVE_BENCH=""
	if grep -q "archive_bench" "$REPO/bench/meson.build" && [[ -x $BUILD_DIR/bench/archive_bench ]]; then
		ARCHIVE_BENCH="$BUILD_DIR/bench/archive_bench"
	fi
	# shellcheck disable=SC2034 # ARCHIVE_BENCH: for bench_contents.sh
	readonly HEXZFS DROPCACHE CORE_BENCH ARCHIVE_BENCH
	[[ -x $HEXZFS && -x $DROPCACHE && -x $CORE_BENCH ]] || die "build produced no binaries"
}

# Bytes of `file` in the page cache.
resident() {
	fincore --bytes --noheadings --output RES "$1"
}

usec_now() {
	local t=$EPOCHREALTIME
	echo "${t/./}"
}

# Seconds for a command line, to the microsecond.
timed() {
	local t0 t1

	t0=$(usec_now)
	"$@" || return
	t1=$(usec_now)
	awk -v us=$((t1 - t0)) 'BEGIN { printf "%.4f\n", us / 1e6 }'
}

# dd of FILE with 1 MiB blocks; MB/s (10^6 bytes per second) from dd's own
# timing; fails unless exactly BYTES were read.
dd_read() {
	local file=$1 want=$2 line

	line=$(dd if="$file" of=/dev/null bs=1M 2>&1 >/dev/null | tail -n 1)
	awk -v want="$want" '{
		if ($1 != want) { print "short read: " $0 > "/dev/stderr"; exit 1 }
		printf "%.1f\n", $1 / $(NF - 3) / 1e6
	}' <<<"$line"
}

# The part of the machine description both benchmarks share.
machine_common() {
	local cpu virt os

	cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)
	virt=$(lscpu | sed -n 's/^Hypervisor vendor: *//p' | head -n 1)
	os=$(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release)
	echo "date:        $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "cpu:         $cpu, $(nproc) cores${virt:+ (virtual machine, $virt)}"
	echo "memory:      $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "kernel:      $(uname -sr)"
	echo "os:          $os"
}

# medians NKEYS RAW OUT: RAW is a TSV with a header line and the columns
# round, NKEYS key columns, value, unit. OUT gets, per distinct key, the
# keys, the unit, and the median, min and max of the values.
medians() {
	local nkeys=$1 raw=$2 dst=$3 i sortargs=()

	for ((i = 1; i <= nkeys; i++)); do
		sortargs+=(-k "$i,$i")
	done
	sortargs+=(-k "$((nkeys + 1)),$((nkeys + 1))g")
	tail -n +2 "$raw" | cut -f 2- | sort -t $'\t' "${sortargs[@]}" | awk -F'\t' -v nk="$nkeys" '
		function flush() {
			if (n == 0) return
			med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
			printf "%s\t%s\t%g\t%g\t%g\n", key, unit, med, v[1], v[n]
			n = 0
		}
		{
			k = $1
			for (i = 2; i <= nk; i++) k = k "\t" $i
			if (k != key) { flush(); key = k; unit = $(nk + 2) }
			v[++n] = $(nk + 1)
		}
		END { flush() }' >"$dst"
}

# One verdict line: name, ratio, threshold, strict (1: must exceed).
verdict() {
	awk -v name="$1" -v r="$2" -v t="$3" -v strict="$4" 'BEGIN {
		if (r == "" || r == "-") { printf "  %-58s %8s  %s\n", name, "-", "n/a"; exit }
		ok = strict ? (r > t) : (r >= t)
		printf "  %-58s %8.2f  %s\n", name, r, ok ? "met" : "MISSED"
	}'
}
