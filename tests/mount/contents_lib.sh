# shellcheck shell=bash
# What the contents-view mount tests (test_contents_*.sh) share, sourced
# after lib.sh: archives from the project's independent writer
# (tests/writer), generated into $WORK at test time, and the python checks
# of contents_ops.py.

WRITER_DIR=$(cd -- "$MOUNT_TESTS_DIR/../writer" && pwd)
CORPUS=$WORK/corpus
CONTENTS_OPS=("$PYTHON" "$MOUNT_TESTS_DIR/contents_ops.py")
# The corpus password (tests/writer/make_corpus.py's PASSWORD).
# shellcheck disable=SC2034 # used by the tests
CORPUS_PASSWORD=hexz-test-password
# Parent paths "as written" are tried relative to the daemon's working
# directory first: run from an empty one, so that only "beside the child"
# can find them.
mkdir "$WORK/cwd"
cd "$WORK/cwd" || exit 1

# Run a contents_ops.py check (same reporting as pycheck).
cpycheck() {
	# shellcheck disable=SC2034 # pycheck runs "${FSOPS[@]}"
	local -a FSOPS=("${CONTENTS_OPS[@]}")
	pycheck "$@"
}

# The writer, quiet: hexz_writer.py ARGS... (output last).
writer() {
	"$PYTHON" "$WRITER_DIR/hexz_writer.py" "$@" >/dev/null ||
		die "hexz_writer.py $* writes its archive"
}

# Deterministic disk-image-like bytes: OUT SIZE SEED.
image() {
	"$PYTHON" "$WRITER_DIR/gen_disk_image.py" "$2" "$1" --seed "$3" ||
		die "gen_disk_image.py $2 $1 writes its bytes"
}

# The writer's corpus into $CORPUS (archives, expected streams, corpus.json).
make_corpus() {
	"$PYTHON" "$WRITER_DIR/make_corpus.py" "$CORPUS" >/dev/null ||
		die "make_corpus.py generates the corpus"
	# CASES: one line per case (see contents_ops.py cmd_cases).
	# shellcheck disable=SC2034 # used by the tests
	CASES=$("${CONTENTS_OPS[@]}" cases "$CORPUS")
}

# Copy every corpus archive into $SRC (the expected files stay in $CORPUS).
corpus_into_src() {
	local f
	for f in "$CORPUS"/*.hxz; do
		cp -p "$f" "$SRC/"
	done
}

mount_contents() { # [OPTION...]
	mount_fg "$SRC" "$MNT" -o view=contents "$@"
}

# How many lines of the daemon log contain TEXT (fixed string).
log_count() { # TEXT [LOG]
	grep -cF -- "$1" "${2:-$DAEMON_LOG}" || true
}

# Check that a file read through the mount (FILE) fails with ENOENT on lookup.
check_enoent() { # DESCRIPTION PATH
	local out rc=0
	out=$(stat -- "$2" 2>&1) || rc=$?
	if [ "$rc" -ne 0 ] && [[ $out == *"No such file or directory"* ]]; then
		pass "$1"
	else
		fail "$1" "stat $2: status $rc: $out"
	fi
}

# Peak and current resident memory of PID, in KiB: sets VM_HWM and VM_RSS.
daemon_memory() { # PID
	# shellcheck disable=SC2034 # used by the tests
	VM_HWM=$(awk '/^VmHWM:/ { print $2 }' "/proc/$1/status")
	# shellcheck disable=SC2034
	VM_RSS=$(awk '/^VmRSS:/ { print $2 }' "/proc/$1/status")
}

# Unmount $MNT (unmount_fg), then check that the daemon's log holds no
# sanitizer report: UBSan goes on after its reports, so only the log tells.
unmount_contents() {
	unmount_fg "$MNT"
	check_eq "the daemon's log holds no sanitizer report" "" \
		"$(grep -E 'runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer' "$DAEMON_LOG" |
			head -n 5 || true)"
}
