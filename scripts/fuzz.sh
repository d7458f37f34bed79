#!/usr/bin/env bash
# Fuzz hexzfs for a bounded time: build the libFuzzer targets of fuzz/ (clang,
# ASan+UBSan) in build-fuzz if needed, then run each one for FUZZ_SECONDS on a
# scratch copy of its committed seed corpus. Fails if any target finds a
# crash, a leak, undefined behaviour or a broken invariant; the input that
# did it is kept in build-fuzz/fuzz-artifacts/.
# Usage: scripts/fuzz.sh [--build-only] [TARGET...]   (default: every target)
#   --build-only  build the targets, run none (scripts/test.sh does this
#                 first, so that a target that no longer compiles fails CI
#                 in its first minutes rather than its last)
# Environment: FUZZ_SECONDS (default 30 per target), FUZZ_BUILD (default build-fuzz)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

seconds=${FUZZ_SECONDS:-30}
build=${FUZZ_BUILD:-build-fuzz}
all_targets=(fuzz_options fuzz_mountinfo fuzz_entry_names fuzz_storage fuzz_archive fuzz_manifest fuzz_contents fuzz_listing)
build_only=false
if [ "${1:-}" = --build-only ]; then
	build_only=true
	shift
fi
if [ $# -gt 0 ]; then
	targets=("$@")
else
	targets=("${all_targets[@]}")
fi

case $seconds in
'' | *[!0-9]*)
	echo "fuzz.sh: FUZZ_SECONDS must be a whole number of seconds, not '$seconds'" >&2
	exit 2
	;;
esac
for t in "${targets[@]}"; do
	if [ ! -d "fuzz/corpus/$t" ]; then
		echo "fuzz.sh: unknown target '$t' (known: ${all_targets[*]})" >&2
		exit 2
	fi
done

quietly() { # COMMAND...: its output only if it fails
	local out
	if ! out=$("$@" 2>&1); then
		printf '%s\n' "$out" >&2
		echo "fuzz.sh: failed: $*" >&2
		exit 1
	fi
}

# Warnings are errors here as in every build of scripts/test.sh.
if [ ! -f "$build/build.ninja" ]; then
	CC=clang quietly meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dwerror=true
fi
# Only the fuzz targets (and the libraries they link): the rest of the tree
# is built and tested by scripts/test.sh.
quietly meson compile -C "$build" "${targets[@]}"
if $build_only; then
	echo "fuzz.sh: built ${targets[*]}"
	exit 0
fi

# UBSan only prints by default: make undefined behaviour a crash libFuzzer sees.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/hexzfs-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
artifacts="$top/$build/fuzz-artifacts"
mkdir -p "$artifacts"

failed=()
total_runs=0
start=$SECONDS
for t in "${targets[@]}"; do
	# New inputs go to the scratch copy, never into the committed corpus.
	mkdir -p "$scratch/$t"
	cp -R "fuzz/corpus/$t/." "$scratch/$t/"
	args=(-max_total_time="$seconds" -timeout=10 -print_final_stats=1
		-artifact_prefix="$artifacts/$t-")
	if [ -f "fuzz/$t.dict" ]; then
		args+=(-dict="fuzz/$t.dict")
	fi
	log="$scratch/$t.log"
	status=0
	"$build/fuzz/$t" "${args[@]}" "$scratch/$t" >"$log" 2>&1 || status=$?

	runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 runs in \2 s/p' "$log" | tail -n 1)
	if [ "$status" -eq 0 ] && [ -n "$runs" ]; then
		echo "$t: ok, $runs ($(find "$scratch/$t" -type f | wc -l) inputs in the corpus)"
		total_runs=$((total_runs + ${runs%% *}))
	else
		echo "$t: FAILED (exit $status); the end of its log:"
		tail -n 60 "$log" | sed 's/^/    /'
		echo "    (crashing input, if any, saved under $artifacts/)"
		failed+=("$t")
	fi
done

echo "fuzz.sh: $total_runs runs in $((SECONDS - start)) s over ${#targets[@]} target(s), ${seconds} s each"
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz.sh: failed: ${failed[*]}" >&2
	exit 1
fi
