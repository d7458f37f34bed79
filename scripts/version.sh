#!/usr/bin/env bash
# Print the project version, as declared in the root meson.build.
set -euo pipefail
sed -n "s/^  version: '\([0-9.]*\)',$/\1/p" "$(dirname "$0")/../meson.build" | head -n 1
