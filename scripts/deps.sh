#!/usr/bin/env bash
# Install the Debian packages hexzfs needs to build and test, if any is missing.
# Usage: scripts/deps.sh [build|test]   (default: test, which includes build)
set -euo pipefail

build_pkgs=(gcc meson ninja-build pkg-config libfuse3-dev fuse3)
test_pkgs=(check valgrind python3 attr util-linux procps psmisc clang libclang-rt-14-dev shellcheck)

want=("${build_pkgs[@]}")
if [ "${1:-test}" = test ]; then
	want+=("${test_pkgs[@]}")
fi

missing=()
for pkg in "${want[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$pkg")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
