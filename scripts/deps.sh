#!/usr/bin/env bash
# Install the Debian packages hexzfs needs to build and test, if any is missing.
# Usage: scripts/deps.sh [build|test]   (default: test, which includes build)
#   build: what `meson setup -Dtests=false` and ninja need (scripts/demo.sh)
#   test:  that, plus the test frameworks and tools of scripts/test.sh
set -euo pipefail

# The compression, hashing and metadata libraries are for the archive layer
# of libhexz; libcurl (OpenSSL flavour) for its remote storage backends,
# libxml2 for their directory listings, libinih for the AWS credentials and
# config files, expat for the error documents of S3.
build_pkgs=(gcc meson ninja-build pkg-config libfuse3-dev fuse3
	liblz4-dev libzstd-dev zlib1g-dev libssl-dev libyajl-dev libisal-dev
	libcurl4-openssl-dev libinih-dev libxml2-dev libexpat1-dev)
# dpkg-dev: dpkg-buildflags, for the build with Debian's packaging flags.
# The python3 modules and b3sum write and check archives independently of
# the C code; json-c reads the corpus's descriptions in the unit tests.
# nginx-light, openssl and curl: the web server of the remote tests
# (tests/remote/nginx.sh); ceph-*, radosgw: their S3 server (ceph_rgw.sh).
test_pkgs=(check valgrind python3 attr util-linux procps psmisc clang libclang-rt-14-dev shellcheck
	libjson-c-dev python3-lz4 python3-zstandard python3-cryptography b3sum dpkg-dev strace
	nginx-light openssl curl ceph-mon ceph-osd radosgw ceph-common)

case ${1:-test} in
build) want=("${build_pkgs[@]}") ;;
test) want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
*)
	echo "usage: scripts/deps.sh [build|test]" >&2
	exit 2
	;;
esac

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
# apt's own messages stay on the terminal; say which step failed after them.
if ! $SUDO apt-get update -q; then
	echo "deps.sh: 'apt-get update' failed (its output is above)" >&2
	exit 1
fi
if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"; then
	echo "deps.sh: 'apt-get install ${missing[*]}' failed (its output is above)" >&2
	exit 1
fi
