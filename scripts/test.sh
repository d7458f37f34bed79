#!/usr/bin/env bash
# Run every test of hexzfs from a fresh machine: install what is missing,
# then build and test in these configurations, warnings as errors in each
# (-Dwerror=true; a user's or packager's default build does not use it):
#   build          debugoptimized: unit, mount, robustness and every other
#                  suite; then the unit tests under valgrind memcheck
#   build-release  --buildtype=release: unit tests
#   build-plain    --buildtype=plain with Debian's packaging flags
#                  (dpkg-buildflags: -O2, hardening, _FORTIFY_SOURCE): unit tests
#   (temporary)    scripts/demo.sh where pkg-config cannot find check: the
#                  demo needs only the build dependencies
#   build-asan     ASan+UBSan: everything
#   build-tsan     TSan (clang): the concurrent paths
#   build-fuzz     every libFuzzer target for a bounded time (scripts/fuzz.sh),
#                  built right after the dependencies are installed
# A step that fails is named at the end, after the output of the tool that
# failed.
# Usage: scripts/test.sh
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
step="starting"

on_exit() {
	local rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "test.sh: FAILED at step: $step (exit $rc); the failing tool's output is above" >&2
	fi
}
trap on_exit EXIT

begin() { # STEP DESCRIPTION...
	step=$*
	echo "== $*"
}

# Run COMMAND; show its output only if it fails (then fail too).
quietly() { # COMMAND...
	local out
	if ! out=$("$@" 2>&1); then
		printf '%s\n' "$out" >&2
		echo "test.sh: failed: $*" >&2
		return 1
	fi
}

# Configure DIR (warnings are errors) and build it.
setup() { # DIR [meson options...]
	local dir=$1
	shift
	if [ -f "$dir/build.ninja" ]; then
		quietly meson setup --reconfigure "$dir" -Dwerror=true "$@"
	else
		quietly meson setup "$dir" -Dwerror=true "$@"
	fi
	ninja -C "$dir"
}

begin "installing the build and test dependencies (scripts/deps.sh test)"
"$top/scripts/deps.sh" test

begin "building the libFuzzer targets (clang, ASan+UBSan; run at the end)"
bash "$top/scripts/fuzz.sh" --build-only

begin "build and test (debugoptimized, -Werror)"
setup build -Dtests=true
meson test -C build --print-errorlogs

begin "unit tests under valgrind memcheck"
meson test -C build --setup valgrind --suite unit --print-errorlogs

begin "unit tests of a release build (--buildtype=release, -Werror)"
setup build-release --buildtype=release -Dtests=true
meson test -C build-release --suite unit --print-errorlogs

# Meson reads CFLAGS, CPPFLAGS and LDFLAGS only when a build directory is
# first configured, as dh_auto_configure passes them: start afresh each time.
begin "unit tests of a packager's build (--buildtype=plain, dpkg-buildflags, -Werror)"
rm -rf build-plain
CFLAGS=$(dpkg-buildflags --get CFLAGS) CPPFLAGS=$(dpkg-buildflags --get CPPFLAGS) \
	LDFLAGS=$(dpkg-buildflags --get LDFLAGS) setup build-plain --buildtype=plain -Dtests=true
meson test -C build-plain --suite unit --print-errorlogs

begin "the demo where check cannot be found (scripts/demo.sh, build dependencies only)"
bash "$top/scripts/test_demo_without_check.sh"

begin "everything under ASan+UBSan"
setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dtests=true
meson test -C build-asan --print-errorlogs

begin "concurrency under ThreadSanitizer (clang)"
CC=clang setup build-tsan -Db_sanitize=thread -Db_lundef=false -Dtests=true
meson test -C build-tsan --setup tsan --print-errorlogs \
	concurrency truncation misc open_errors large_sparse bounds block_cache archive resident \
	chunk_cache disk_cache remote_read
meson test -C build-tsan --setup tsan --suite robustness --print-errorlogs

begin "fuzzing every libFuzzer target for ${FUZZ_SECONDS:-30} s"
bash "$top/scripts/fuzz.sh"

step="done"
echo "== all test runs passed"
