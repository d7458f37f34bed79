#!/usr/bin/env bash
# Every hexzfs -o option that --help lists is documented in the man page and
# in the README, and the man page names no option that --help lacks.
set -euo pipefail

hexzfs=${HEXZFS:?HEXZFS must name the hexzfs binary}
top=${HEXZFS_SOURCE_ROOT:?HEXZFS_SOURCE_ROOT must name the source tree}
man=$top/doc/hexzfs.1
readme=$top/README.md
failures=0

# hexzfs's own options: the --help text before libfuse's section.
help_opts=$("$hexzfs" --help | sed '/^FUSE options:/q' | sed -n 's/^ *-o \([a-z_]*\)=.*/\1/p' | sort -u)
[ -n "$help_opts" ] || { echo "FAIL: --help lists no -o options"; exit 1; }

for opt in $help_opts; do
	if ! grep -q -- "-o $opt=" "$man" && ! grep -q -- "\\\\-o $opt=" "$man"; then
		echo "FAIL: option $opt is in --help but not in doc/hexzfs.1"
		failures=$((failures + 1))
	fi
	if ! grep -q -- "-o $opt=" "$readme"; then
		echo "FAIL: option $opt is in --help but not in README.md"
		failures=$((failures + 1))
	fi
done

man_opts=$(sed -n '/^\.SS hexzfs options/,/^\.SS FUSE options/p' "$man" |
	sed -n 's/^\.BI "\\-o \([a-z_]*\)=.*/\1/p' | sort -u)
for opt in $man_opts; do
	if ! grep -qx -- "$opt" <<<"$help_opts"; then
		echo "FAIL: option $opt is in doc/hexzfs.1 but not in --help"
		failures=$((failures + 1))
	fi
done

checked=$(wc -w <<<"$help_opts")
echo "$checked options checked against the man page and the README"
[ "$failures" -eq 0 ]
