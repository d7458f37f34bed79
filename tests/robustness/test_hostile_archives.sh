#!/usr/bin/env bash
# Hostile archives in the contents view: gen_hostile.py derives a few
# thousand damaged archives from valid ones of every kind (see its header);
# each batch directory is mounted with -o view=contents and read whole by
# hostile_check.py on 4 threads. For every batch: the daemon stays up and
# exits with status 0 when unmounted, every request is answered (each
# reader runs under a deadline; one operation slower than OP_DEADLINE
# fails too), archives that must be hidden are and those that must be
# shown are, every 4 KiB chunk read is the original's bytes or EIO (never
# other bytes, a short read or another error), no sanitizer report, and
# the daemon's private memory stays within
#
#   cache_size + BASE_OVERHEAD + 16 x the largest archive of the batch
#
# BASE_OVERHEAD (32 MiB): libfuse's request buffers (one per thread), the
# index page caches and trees of a few hundred open archive versions and
# the node table. 16 x the archive: parsing a manifest takes about 15 times
# its size in short-lived JSON objects (the 100,000-entry manifest, 8 MiB,
# peaks near 130 MiB); the daemon then hands that memory back (see
# fuse/contents.c). Memory is sampled every 50 ms and not checked when the
# daemon runs under a sanitizer (shadow memory, quarantine).
set -euo pipefail
# shellcheck source=tests/robustness/robust.sh
. "$(dirname -- "$0")/robust.sh"

CACHE_MIB=4
BASE_OVERHEAD_KIB=$((32 << 10))
READER_DEADLINE=120 # seconds for one batch's reader
OP_DEADLINE=20      # seconds for one operation of it
H=$WORK/hostile

start=$SECONDS
gen=$(timeout 300 "$PYTHON" "$ROBUST_TESTS_DIR/gen_hostile.py" "$H" --seed 13) ||
	die "gen_hostile.py generated the archives" "$gen"
echo "# $gen ($((SECONDS - start)) s)"
cp "$ROBUST_TESTS_DIR/hostile_check.py" "$WORK/hostile_check.py"
mapfile -t BATCHES < <("$PYTHON" -c 'import json, sys
print("\n".join(json.load(open(sys.argv[1]))["batches"]))' "$H/hostile.json")
check_le "gen_hostile.py made batches" 1 "${#BATCHES[@]}"

# The highest RssAnon of PID, sampled every 50 ms into FILE until it exits
# or FILE.stop appears.
sample_memory() { # PID FILE
	local max=0 v
	while [ ! -e "$2.stop" ] && v=$(awk '/^RssAnon:/ { print $2 }' "/proc/$1/status" 2>/dev/null); do
		[ -z "$v" ] || [ "$v" -le "$max" ] || max=$v
		echo "$max" >"$2"
		sleep 0.05
	done
}

RESULTS=$WORK/results.jsonl
: >"$RESULTS"
PEAK_RSS=0
PEAK_HWM=0
cd "$WORK" # relative parent paths "as written" start here: nothing of the batches
for b in "${BATCHES[@]}"; do
	dir=$H/batches/$b
	mount_fg "$dir" "$MNT" -o "view=contents,cache_size=${CACHE_MIB}M,passfile=$H/passfile"
	pid=$DAEMON_PID
	sample_memory "$pid" "$WORK/mem.$b" &
	sampler=$!
	rc=0
	out=$(timeout -s KILL "$READER_DEADLINE" "$PYTHON" "$WORK/hostile_check.py" "$H" "$b" "$MNT" \
		--threads 4 --slow "$OP_DEADLINE" 2>&1) || rc=$?
	touch "$WORK/mem.$b.stop"
	wait "$sampler" || true
	printf '%s\n' "$out" | { grep -v '^{' || true; } | head -n 20 | sed 's/^/    /'
	line=$(printf '%s\n' "$out" | grep '^{' | tail -n 1 || true)
	if [ "$rc" -eq 0 ]; then
		pass "[$b] every read is the original's bytes or EIO, every answer in time, shown/hidden as required"
	else
		fail "[$b] every read is the original's bytes or EIO, every answer in time, shown/hidden as required" \
			"reader status $rc$([ "$rc" -ne 137 ] || echo ": killed after ${READER_DEADLINE}s (a hang)")"
	fi
	[ -z "$line" ] || printf '%s\n' "$line" >>"$RESULTS"
	check_serving "[$b]" "$pid" "$MNT" "$DAEMON_LOG"
	rss=$(cat "$WORK/mem.$b" 2>/dev/null || echo 0)
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
	largest=$(find "$dir" -maxdepth 1 -type f -printf '%s\n' | sort -n | tail -n 1)
	bound=$((CACHE_MIB * 1024 + BASE_OVERHEAD_KIB + 16 * ${largest:-0} / 1024))
	echo "# [$b] daemon: RssAnon peak $rss KiB, VmHWM $hwm KiB (file pages included), bound $bound KiB"
	[ "$rss" -le "$PEAK_RSS" ] || PEAK_RSS=$rss
	[ "$hwm" -le "$PEAK_HWM" ] || PEAK_HWM=$hwm
	if [ -n "$DAEMON_SANITIZER" ]; then
		echo "# [$b] memory bound not checked: the daemon runs under ${DAEMON_SANITIZER^^}"
	else
		check_le "[$b] the daemon's private memory stays within cache_size + overhead" "$rss" "$bound"
	fi
	unmount_fg "$MNT"
done

# The figures, over every batch.
summary=$("$PYTHON" - "$RESULTS" <<'EOF'
import json, sys
keys = ("archives", "shown", "hidden", "files", "reads", "verified", "eio", "wrong",
        "other_errors", "expect_mismatch", "unverifiable_differ", "size_differs")
tot = {k: 0 for k in keys}
mx = 0.0
for line in open(sys.argv[1]):
    r = json.loads(line)
    for k in keys:
        tot[k] += r.get(k, 0)
    mx = max(mx, r.get("max_op_seconds", 0))
print(" ".join("%s=%d" % kv for kv in tot.items()), "max_op_seconds=%.3f" % mx)
EOF
)
echo "# hostile archives: $summary"
declare -A SUM
for kv in $summary; do
	SUM[${kv%%=*}]=${kv#*=}
done
echo "# generated ${SUM[archives]} archives: ${SUM[shown]} shown, ${SUM[hidden]} hidden;" \
	"${SUM[files]} files; ${SUM[reads]} chunk reads, ${SUM[verified]} verified byte for byte," \
	"${SUM[eio]} EIO, ${SUM[wrong]} wrong; slowest operation ${SUM[max_op_seconds]} s;" \
	"daemon peaks: RssAnon $PEAK_RSS KiB, VmHWM $PEAK_HWM KiB"
echo "# reads of archives whose damage format 1 cannot detect (dictionary) that gave other" \
	"bytes: ${SUM[unverifiable_differ]} (not a failure: no checksum covers them)"
check_eq "no wrong byte in any read" 0 "${SUM[wrong]}"
check_eq "no error other than EIO" 0 "${SUM[other_errors]}"
check_le "every archive was looked at" 1000 "${SUM[archives]}"
check_le "reads were verified" 1000 "${SUM[verified]}"
check_eq "nothing left mounted" "" "$(mounts_in_work)"
check_sanitizer_logs
echo "# $((CHECKS - FAILURES)) passed, $FAILURES failed ($((SECONDS - start)) s)"
