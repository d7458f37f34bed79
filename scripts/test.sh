#!/usr/bin/env bash
# Run every test of hexzfs from a fresh machine: install what is missing,
# configure, build, and run the unit and mount tests, then the same under
# valgrind (unit tests), under ASan+UBSan (everything), the concurrent
# paths under TSan, then fuzz each
# parser of untrusted input for a bounded time.
# Usage: scripts/test.sh
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

"$top/scripts/deps.sh" test

setup() { # DIR [meson options...]
	local dir=$1
	shift
	if [ -f "$dir/build.ninja" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
	ninja -C "$dir"
}

echo "== build and test (debugoptimized, -Werror)"
setup build
meson test -C build --print-errorlogs

echo "== unit tests under valgrind memcheck"
meson test -C build --setup valgrind --suite unit --print-errorlogs

echo "== everything under ASan+UBSan"
setup build-asan -Db_sanitize=address,undefined -Db_lundef=false
meson test -C build-asan --print-errorlogs

echo "== concurrency under ThreadSanitizer (clang)"
CC=clang setup build-tsan -Db_sanitize=thread -Db_lundef=false
meson test -C build-tsan --setup tsan --print-errorlogs \
	concurrency truncation misc open_errors large_sparse bounds block_cache
meson test -C build-tsan --setup tsan --suite robustness --print-errorlogs

echo "== fuzzing every libFuzzer target for ${FUZZ_SECONDS:-30} s"
bash "$top/scripts/fuzz.sh"

echo "== all test runs passed"
