#!/usr/bin/env bash
# Scale: 10,000 snapshots in one directory list quickly and correctly; the
# daemon's private memory stays small while it serves a 1 GiB snapshot.
# The 30 s bounds are hang guards, not performance targets.
set -euo pipefail
# shellcheck source=tests/mount/lib.sh
. "$(dirname -- "$0")/lib.sh"

N=10000
mkdir "$SRC/many"
"$PYTHON" - "$SRC/many" "$N" <<'EOF'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open(os.path.join(d, f"snap-{i:05d}.hxz"), "wb") as f:
        f.write(b"x" * (i % 4099))
EOF
# Hidden entries among them, spread through the listing.
for i in 0 1234 5000 9998; do
	printf 'not listed\n' >"$SRC/many/readme-$i.txt"
	mkfifo "$SRC/many/fifo-$i.hxz"
	ln -s nowhere "$SRC/many/dangling-$i.hxz"
done

GiB=$((1 << 30))
"$PYTHON" - "$SRC/big.hxz" "$GiB" <<'EOF'
import os, sys
path, size = sys.argv[1], int(sys.argv[2])
with open(path, "wb") as f:
    f.truncate(size)
    for off in range(0, size, 64 << 20):  # 1 MiB of data every 64 MiB
        f.seek(off)
        f.write(os.urandom(1 << 20))
EOF

rss_anon_kib() { # PID
	awk '/^RssAnon:/ { print $2 }' "/proc/$1/status"
}

elapsed_since() { # START_MS
	echo "$(($(now_ms) - $1)) ms"
}

mount_fg "$SRC" "$MNT"

# ------------------------------------------------------------- listing

t=$(now_ms)
rc=0
count=$(timeout 30 ls -f "$MNT/many" | grep -c '\.hxz$') || rc=$?
echo "# ls of $N entries: $(elapsed_since "$t")"
check_eq "ls of $N snapshots completes (30 s guard)" 0 "$rc"
check_eq "ls lists all $N snapshots" "$N" "$count"

t=$(now_ms)
rc=0
timeout 30 ls -l "$MNT/many" >"$WORK/ls-l" || rc=$?
echo "# ls -l of $N entries: $(elapsed_since "$t")"
check_eq "ls -l of $N snapshots completes (30 s guard)" 0 "$rc"
check_eq "ls -l shows $N entries" "$N" "$(grep -c '\.hxz$' "$WORK/ls-l")"

pycheck names "$MNT/many" "$SRC/many"

# Names, sizes and inode numbers, as find sees them through the mount.
t=$(now_ms)
expected=$(cd "$SRC/many" && find . -type f -name '*.hxz' -printf '%f %s %i\n' | LC_ALL=C sort)
rc=0
seen=$(cd "$MNT/many" && timeout 30 find . -mindepth 1 -printf '%f %s %i\n' | LC_ALL=C sort) || rc=$?
echo "# find -printf of $N entries: $(elapsed_since "$t")"
check_eq "find of $N snapshots completes (30 s guard)" 0 "$rc"
check_eq "every name, size and inode of the $N snapshots matches the source" "$expected" "$seen"

printf 'late\n' >"$SRC/many/snap-late.hxz"
check_eq "a snapshot added to the big directory shows on the next listing" "$((N + 1))" \
	"$(timeout 30 ls -f "$MNT/many" | grep -c '\.hxz$')"
check_eq "the added snapshot reads" late "$(cat "$MNT/many/snap-late.hxz")"
rm "$SRC/many/snap-00042.hxz"
check_eq "a snapshot deleted from the big directory leaves the next listing" "$N" \
	"$(timeout 30 ls -f "$MNT/many" | grep -c '\.hxz$')"

# --------------------------------------------------------------- memory

cat "$MNT/many/snap-00001.hxz" >/dev/null
before=$(rss_anon_kib "$DAEMON_PID")
t=$(now_ms)
check_ok "read the 1 GiB snapshot end to end (first time)" timeout 60 cmp "$SRC/big.hxz" "$MNT/big.hxz"
echo "# 1 GiB read and compared: $(elapsed_since "$t")"
check_ok "read it again through a new open" timeout 60 cmp "$SRC/big.hxz" "$MNT/big.hxz"
"$PYTHON" -c '
import mmap, sys
with open(sys.argv[1], "rb") as f:
    m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
    s = 0
    for off in range(0, len(m), 1 << 20):
        s += m[off]
' "$MNT/big.hxz"
after=$(rss_anon_kib "$DAEMON_PID")
echo "# daemon RssAnon: ${before} KiB before, ${after} KiB after the reads"
check_le "the daemon's RssAnon grows by less than 64 MiB while a 1 GiB snapshot is read (twice, then mapped)" \
	$((after - before)) $((64 * 1024))
unmount_fg "$MNT"
