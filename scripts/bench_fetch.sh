#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# scripts/bench_fetch.sh: libhexz's remote backend against curl on the same
# object from the same server (issue 20's "Measure"), side by side in one
# run, runs interleaved, medians and ratios reported.
#
# One nginx (tests/remote/nginx.sh) on 127.0.0.1 serves SIZE MiB of random
# bytes. Each run measures, in this order:
#   curl          curl -o /dev/null of the object: the wire and the server
#   at-budget     bench/remote_fetch with a 32 MiB memory cache: a cache at
#                 its budget, evicting a chunk for each one it fetches
#   cold          bench/remote_fetch with a cache that holds the object:
#                 every chunk fetched into new memory
#   cached        its second pass: the memory cache's hit path
#   disk          a new context over a disk cache (cache_dir) that the run
#                 filled, its memory cache one chunk: the disk cache's path
#   local         dd bs=4M of the same object as a local file (in the page
#                 cache, as the disk cache's files are): what disk is to
#                 be put beside
# Every remote_fetch pass reads the object in 4 MiB pieces with
# hexz_storage_read_exact() (default chunk 1 MiB, 16 connections).
#
# Usage: scripts/bench_fetch.sh [--runs N] [--size MIB]
# Environment: BUILD_DIR (default build-release: a release build is made there)
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
RUNS=5
SIZE_MIB=256
BUILD_DIR=${BUILD_DIR:-$REPO/build-release}

die() {
	echo "bench_fetch.sh: $*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=${2:-}; shift 2 ;;
	--size) SIZE_MIB=${2:-}; shift 2 ;;
	-h | --help) sed -n '3,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive whole number, not '$RUNS'"
[[ $SIZE_MIB =~ ^[1-9][0-9]*$ ]] || die "--size must be a positive number of MiB, not '$SIZE_MIB'"
for tool in curl nginx meson dd awk; do
	command -v "$tool" >/dev/null || die "$tool is not installed (scripts/deps.sh test installs it)"
done

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
	meson setup "$BUILD_DIR" "$REPO" --buildtype=release >/dev/null
fi
meson compile -C "$BUILD_DIR" remote_fetch >/dev/null
FETCH=$BUILD_DIR/bench/remote_fetch

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hexz-bench-fetch.XXXXXX")
cleanup() {
	"$REPO/tests/remote/nginx.sh" stop "$WORK/nginx" >/dev/null 2>&1 || true
	rm -rf -- "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/docroot" "$WORK/nginx"
head -c $((SIZE_MIB << 20)) /dev/urandom >"$WORK/docroot/object.hxz"
port=$("$REPO/tests/remote/nginx.sh" start "$WORK/nginx" "$WORK/docroot" |
	sed -n 's/^NGINX_HTTP_PORT=//p')
url="http://127.0.0.1:$port/object.hxz"

# The seconds of pass LABEL in remote_fetch's output.
pass_seconds() { # LABEL < output
	awk -v l="$1" '$1 == l { print $5 }'
}

calc() { awk "BEGIN { print $1 }"; }

declare -A samples
add() { samples[$1]+="$2 "; }

for run in $(seq "$RUNS"); do
	add curl "$(curl -s -o /dev/null -w '%{time_total}' "$url")"
	out=$(REMOTE_FETCH_CACHE_BYTES=$((32 << 20)) "$FETCH" "$url")
	add at-budget "$(pass_seconds cold <<<"$out")"
	rm -rf "$WORK/cache"
	out=$(REMOTE_FETCH_CACHE_DIR=$WORK/cache "$FETCH" "$url")
	add cold "$(pass_seconds cold <<<"$out")"
	add cached "$(pass_seconds cached <<<"$out")"
	add disk "$(pass_seconds disk <<<"$out")"
	start=$(date +%s.%N)
	dd if="$WORK/docroot/object.hxz" of=/dev/null bs=4M status=none
	add local "$(calc "$(date +%s.%N) - $start")"
	echo "run $run of $RUNS done" >&2
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

printf '%s MiB object, %s runs, medians (all samples in seconds after the median)\n' "$SIZE_MIB" "$RUNS"
printf '%-10s %9s %10s  %s\n' "pass" "seconds" "MiB/s" "samples"
declare -A med
for k in curl at-budget cold cached disk local; do
	med[$k]=$(median <<<"${samples[$k]}")
	printf '%-10s %9.3f %10.0f  %s\n' "$k" "${med[$k]}" "$(calc "$SIZE_MIB / ${med[$k]}")" \
		"${samples[$k]}"
done
printf 'ratios: at-budget/curl %.2f, cold/curl %.2f, disk/local %.2f\n' \
	"$(calc "${med[at-budget]} / ${med[curl]}")" "$(calc "${med[cold]} / ${med[curl]}")" \
	"$(calc "${med[disk]} / ${med[local]}")"
