#!/usr/bin/env bash
# Run every test of hexzfs from a fresh machine: install what is missing,
# configure, build, and run the unit and mount tests, then the same under
# valgrind (unit tests) and under ASan+UBSan (everything), then fuzz each
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

echo "== fuzzing every libFuzzer target for ${FUZZ_SECONDS:-30} s"
bash "$top/scripts/fuzz.sh"

echo "== all test runs passed"
