#!/usr/bin/env bash
# The remote suite: start nginx (http and https) over a fresh corpus and
# Ceph RGW with the corpus uploaded, then run test_remote_read against
# them. Every server is stopped and every file removed from the trap,
# whatever happens.
#
# Usage: run_remote_read.sh TEST_BINARY S3_REQUEST_BINARY HEXZ_INSPECT
set -Eeuo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
SOURCE_ROOT=$(cd -- "$HERE/../.." && pwd)
TEST_BIN=$1
S3_REQUEST=$2
INSPECT=$3
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hexz-remote.XXXXXX")
pyserver_pid=
cleanup() {
	local status=$?
	if [ -n "$pyserver_pid" ]; then
		kill "$pyserver_pid" 2>/dev/null || true
		wait "$pyserver_pid" 2>/dev/null || true
	fi
	"$HERE/nginx.sh" stop "$WORK/nginx" || status=1
	"$HERE/nginx.sh" stop "$WORK/nginx-stop" || status=1
	"$HERE/nginx.sh" stop "$WORK/nginx-disk" || status=1
	"$HERE/fault_proxy.sh" stop "$WORK/proxy" || status=1
	"$HERE/ceph_rgw.sh" stop "$WORK/rgw" || status=1
	rm -rf -- "$WORK"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p -- "$WORK/corpus" "$WORK/nginx" "$WORK/nginx-stop" "$WORK/nginx-disk" "$WORK/proxy" "$WORK/rgw"
"$PYTHON" "$SOURCE_ROOT/tests/writer/make_corpus.py" "$WORK/corpus" >/dev/null

# Both servers start at once: RGW takes seconds, nginx half of one.
HEXZ_S3_REQUEST=$S3_REQUEST "$HERE/ceph_rgw.sh" start "$WORK/rgw" >"$WORK/rgw.out" &
rgw_pid=$!
"$HERE/nginx.sh" start "$WORK/nginx" "$WORK/corpus" >/dev/null
if ! wait "$rgw_pid"; then
	cat "$WORK/rgw.out" >&2
	exit 1
fi
# python's http.server: no ETag (Last-Modified pins the version) and no
# Range support (a 200 with the whole body), a server of REMOTE.md's list.
REMOTE_SCRIPT=run_remote_read.sh
# shellcheck source=tests/remote/lib.sh
. "$HERE/lib.sh"
PYSERVER_PORT=$(remote_free_port)
"$PYTHON" -m http.server --bind 127.0.0.1 --directory "$WORK/corpus" "$PYSERVER_PORT" \
	>"$WORK/pyserver.log" 2>&1 &
pyserver_pid=$!
remote_wait_http "http://127.0.0.1:$PYSERVER_PORT/" 20 ||
	remote_die "python3 -m http.server does not answer: $(tail -n 5 "$WORK/pyserver.log")"
export PYSERVER_PORT

set -a
# shellcheck disable=SC1091
. "$WORK/nginx/env"
# shellcheck disable=SC1091
. "$WORK/rgw/env"
set +a

# The fault-injecting proxy in front of nginx's http port (the fault campaign).
"$HERE/fault_proxy.sh" start "$WORK/proxy" "127.0.0.1:$NGINX_HTTP_PORT" >"$WORK/proxy/started"
set -a
# shellcheck disable=SC1091
. "$WORK/proxy/env"
set +a

# The corpus into the bucket, signed by libhexz's own signer.
for f in "$WORK"/corpus/*.hxz; do
	AWS_ENDPOINT_URL=$RGW_ENDPOINT AWS_REGION=$RGW_REGION AWS_ACCESS_KEY_ID=$RGW_ACCESS_KEY_ID \
		AWS_SECRET_ACCESS_KEY=$RGW_SECRET_ACCESS_KEY \
		"$S3_REQUEST" -T "$f" PUT "$RGW_BUCKET" "$(basename -- "$f")" >/dev/null
done

# hexz-inspect takes URLs: --verify of a thin archive and its parents, and
# --cat equal to the local file, over each backend.
inspect_cases() { # BASE [OPTIONS...]
	local base=$1
	shift
	"$INSPECT" "$@" --verify "${base}chain_03.hxz" >/dev/null
	"$INSPECT" "$@" --cat main "${base}both_streams.hxz" | cmp - "$WORK/corpus/both_streams.main"
	"$INSPECT" "$@" --cat auxiliary "${base}both_streams.hxz" |
		cmp - "$WORK/corpus/both_streams.aux"
	if "$INSPECT" "$@" "${base}missing.hxz" 2>"$WORK/inspect.err"; then
		echo "hexz-inspect opened ${base}missing.hxz" >&2
		exit 1
	fi
	grep -q "404" "$WORK/inspect.err" || {
		echo "hexz-inspect on a missing URL: $(cat "$WORK/inspect.err")" >&2
		exit 1
	}
}
inspect_cases "http://127.0.0.1:$NGINX_HTTP_PORT/"
inspect_cases "https://127.0.0.1:$NGINX_HTTPS_PORT/" --ca-file "$NGINX_CA_FILE"
AWS_ENDPOINT_URL=$RGW_ENDPOINT AWS_REGION=$RGW_REGION AWS_ACCESS_KEY_ID=$RGW_ACCESS_KEY_ID \
	AWS_SECRET_ACCESS_KEY=$RGW_SECRET_ACCESS_KEY inspect_cases "s3://$RGW_BUCKET/"

# S3 settings from the AWS CLI's files alone, none in the environment: a
# named profile's keys (the secret has + / =), region and endpoint_url.
mkdir -m 700 "$WORK/aws"
printf '[hexz]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
	"$RGW_ACCESS_KEY_ID" "$RGW_SECRET_ACCESS_KEY" >"$WORK/aws/credentials"
printf '[profile hexz]\nregion = %s\nendpoint_url = %s\n' "$RGW_REGION" "$RGW_ENDPOINT" \
	>"$WORK/aws/config"
printf '[hexz]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
	"$RGW_ACCESS_KEY_ID" "not-the-secret+/=" >"$WORK/aws/wrong"
chmod 600 "$WORK/aws/credentials" "$WORK/aws/config" "$WORK/aws/wrong"
inspect_profile() { # CREDENTIALS_FILE PROFILE ARGS...
	local creds=$1 profile=$2
	shift 2
	env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_REGION \
		-u AWS_DEFAULT_REGION -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_S3 -u AWS_CA_BUNDLE \
		AWS_PROFILE="$profile" AWS_SHARED_CREDENTIALS_FILE="$creds" \
		AWS_CONFIG_FILE="$WORK/aws/config" "$INSPECT" "$@"
}
inspect_profile "$WORK/aws/credentials" hexz --verify "s3://$RGW_BUCKET/chain_03.hxz" >/dev/null
inspect_profile "$WORK/aws/credentials" hexz --cat main "s3://$RGW_BUCKET/both_streams.hxz" |
	cmp - "$WORK/corpus/both_streams.main"
if inspect_profile "$WORK/aws/wrong" hexz "s3://$RGW_BUCKET/both_streams.hxz" \
	>/dev/null 2>"$WORK/inspect.err"; then
	remote_die "hexz-inspect read S3 with a profile's wrong secret"
fi
grep -q "403" "$WORK/inspect.err" && ! grep -q "not-the-secret" "$WORK/inspect.err" ||
	remote_die "a profile's wrong secret: $(cat "$WORK/inspect.err")"
if inspect_profile "$WORK/aws/credentials" nosuch "s3://$RGW_BUCKET/both_streams.hxz" \
	>/dev/null 2>"$WORK/inspect.err"; then
	remote_die "hexz-inspect ran with AWS_PROFILE naming no profile"
fi
grep -q "nosuch" "$WORK/inspect.err" || remote_die "AWS_PROFILE=nosuch: $(cat "$WORK/inspect.err")"

# hexz-inspect --cache-dir: the directory made 0700, its files 0600; a
# second run reads the same bytes with no GET at all (only its HEAD).
inspect_cached() { # URL EXPECTED_FILE
	"$INSPECT" --cache-dir "$WORK/inspect-cache" --cat main "$1" | cmp - "$2"
}
gets() { grep -c "\"GET /both_streams.hxz " "$WORK/nginx/access.log" || true; }
inspect_cached "http://127.0.0.1:$NGINX_HTTP_PORT/both_streams.hxz" "$WORK/corpus/both_streams.main"
before=$(gets)
inspect_cached "http://127.0.0.1:$NGINX_HTTP_PORT/both_streams.hxz" "$WORK/corpus/both_streams.main"
after=$(gets)
[ "$before" -gt 0 ] && [ "$after" = "$before" ] ||
	remote_die "hexz-inspect --cache-dir: $before GETs after the first run, $after after the second"
[ "$(stat -c %a "$WORK/inspect-cache")" = 700 ] ||
	remote_die "--cache-dir made mode $(stat -c %a "$WORK/inspect-cache"), not 700"
[ -z "$(find "$WORK/inspect-cache" -type f ! -perm 600)" ] && [ -n "$(find "$WORK/inspect-cache" -type f)" ] ||
	remote_die "--cache-dir files: $(ls -la "$WORK/inspect-cache")"
chmod 755 "$WORK/inspect-cache"
if "$INSPECT" --cache-dir "$WORK/inspect-cache" "http://127.0.0.1:$NGINX_HTTP_PORT/both_streams.hxz" \
	>/dev/null 2>"$WORK/inspect.err"; then
	remote_die "hexz-inspect used a cache directory of mode 755"
fi
grep -q "chmod 700" "$WORK/inspect.err" || remote_die "--cache-dir of mode 755: $(cat "$WORK/inspect.err")"

HEXZ_S3_REQUEST=$S3_REQUEST HEXZ_CORPUS_DIR=$WORK/corpus HEXZ_NGINX_SH=$HERE/nginx.sh HEXZ_STOP_STATE=$WORK/nginx-stop \
	HEXZ_DISK_STATE=$WORK/nginx-disk "$TEST_BIN"
