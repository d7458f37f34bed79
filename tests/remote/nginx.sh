#!/usr/bin/env bash
# A test web server: Debian's nginx serving a directory with `autoindex on`
# over http and https on free ports of 127.0.0.1, with a CA and a server
# certificate (for 127.0.0.1 and localhost) made at start with openssl.
#
# Usage: tests/remote/nginx.sh start STATE_DIR DOCROOT
#        tests/remote/nginx.sh stop STATE_DIR
#
# start prints shell assignments (also kept in STATE_DIR/env):
#   NGINX_HTTP_PORT=...  NGINX_HTTPS_PORT=...  NGINX_CA_FILE=STATE_DIR/tls/ca.pem
#   NGINX_ACCESS_LOG=STATE_DIR/access.log     NGINX_STARTUP_SECONDS=...
# The access log has one line per request with its Range and If-Match
# headers, so that tests can count requests and check what was asked.
#
# Everything nginx writes (configuration, keys, pid file, logs, temporary
# files) is in STATE_DIR, which the caller creates (mktemp -d) and removes
# after stop. Both commands are idempotent: start on a running server
# prints its settings again, stop on a stopped one does nothing, so stop
# is safe to call from a trap, and twice.
set -Eeuo pipefail

REMOTE_SCRIPT=nginx.sh
trap 'echo "$REMOTE_SCRIPT: line $LINENO: \"$BASH_COMMAND\" failed" >&2' ERR
# shellcheck source=tests/remote/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

# Seconds: bounds on nginx's start and stop, and on the first answer.
START_DEADLINE=20
STOP_DEADLINE=10
# Attempts at binding, should another process take a free port first.
BIND_ATTEMPTS=5

usage() {
	echo "usage: $0 start STATE_DIR DOCROOT | stop STATE_DIR" >&2
	exit 2
}

# The CA, and a server certificate it signs for 127.0.0.1 and localhost,
# with EC P-256 keys (fast to make). Valid two days: long enough for a run.
make_certificates() {
	local tls=$1
	mkdir -p -- "$tls"
	{
		(
			umask 077
			openssl ecparam -name prime256v1 -genkey -noout -out "$tls/ca.key"
			openssl ecparam -name prime256v1 -genkey -noout -out "$tls/server.key"
		)
		openssl req -x509 -new -key "$tls/ca.key" -subj "/CN=hexzfs test CA" -days 2 \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" -out "$tls/ca.pem"
		openssl req -new -key "$tls/server.key" -subj "/CN=127.0.0.1" -out "$tls/server.csr"
		printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
			"extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" \
			>"$tls/server.ext"
		openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
			-set_serial "0x$(openssl rand -hex 8)" -days 2 -extfile "$tls/server.ext" \
			-out "$tls/server.pem"
	} 2>>"$tls/openssl.log"
}

# write_config STATE DOCROOT HTTP_PORT HTTPS_PORT
write_config() {
	local state=$1 docroot=$2 http_port=$3 https_port=$4 user_line=""
	# As root, nginx would run its workers as nobody, who may not read a
	# test's private (0700) directories: run them as the caller.
	[ "$(id -u)" -ne 0 ] || user_line="user root root;"
	mkdir -p -- "$state/tmp"
	cat >"$state/nginx.conf" <<EOF
# Made by tests/remote/nginx.sh.
$user_line
worker_processes 1;
daemon on;
pid $state/nginx.pid;
error_log $state/error.log warn;
events {
	worker_connections 512;
}
http {
	log_format hexz '\$remote_addr "\$request" \$status \$body_bytes_sent '
		'range="\$http_range" if_match="\$http_if_match" conn=\$connection';
	access_log $state/access.log hexz;
	client_body_temp_path $state/tmp/body;
	proxy_temp_path $state/tmp/proxy;
	fastcgi_temp_path $state/tmp/fastcgi;
	uwsgi_temp_path $state/tmp/uwsgi;
	scgi_temp_path $state/tmp/scgi;
	default_type application/octet-stream;
	sendfile on;
	keepalive_requests 100000;
	server {
		listen 127.0.0.1:$http_port;
		listen 127.0.0.1:$https_port ssl;
		ssl_certificate $state/tls/server.pem;
		ssl_certificate_key $state/tls/server.key;
		root $docroot;
		location / {
			autoindex on;
		}
	}
}
EOF
}

print_env() {
	cat -- "$1/env"
}

start() {
	local state=$1 docroot=$2 started attempt http_port https_port pid
	[ -d "$state" ] || remote_die "state directory $state does not exist (make it with mktemp -d)"
	[ -d "$docroot" ] || remote_die "document root $docroot is not a directory"
	state=$(realpath -- "$state")
	docroot=$(realpath -- "$docroot")
	remote_starting "$state"
	command -v nginx >/dev/null || remote_die "nginx is not installed (Debian package nginx-light)"
	pid=$(remote_pid_of "$state/nginx.pid" nginx "$state")
	if [ -n "$pid" ] && [ -s "$state/env" ]; then
		remote_started "$state"
		print_env "$state"
		return 0
	fi
	started=$(remote_now)
	[ -s "$state/tls/server.pem" ] || make_certificates "$state/tls"
	openssl verify -CAfile "$state/tls/ca.pem" "$state/tls/server.pem" >/dev/null 2>&1 ||
		remote_die "the certificates in $state/tls do not verify: $(tail -n 5 "$state/tls/openssl.log")"
	for attempt in $(seq 1 "$BIND_ATTEMPTS"); do
		http_port=$(remote_free_port)
		https_port=$(remote_free_port)
		[ "$http_port" != "$https_port" ] || continue
		write_config "$state" "$docroot" "$http_port" "$https_port"
		: >"$state/error.log"
		# With `daemon on`, nginx returns once its master listens.
		if timeout "$START_DEADLINE" nginx -p "$state" -c "$state/nginx.conf" \
			-e "$state/error.log" >"$state/nginx.out" 2>&1; then
			break
		fi
		grep -q "Address already in use" "$state/error.log" "$state/nginx.out" ||
			remote_die "nginx failed to start: $(tail -n 5 "$state/error.log" "$state/nginx.out")"
		[ "$attempt" -lt "$BIND_ATTEMPTS" ] ||
			remote_die "no free port after $BIND_ATTEMPTS attempts: $(tail -n 2 "$state/error.log")"
	done
	pid=$(remote_pid_of "$state/nginx.pid" nginx "$state")
	[ -n "$pid" ] || remote_die "nginx exited after starting: $(tail -n 5 "$state/error.log")"
	if ! remote_wait_http "http://127.0.0.1:$http_port/" "$START_DEADLINE" ||
		! remote_wait_http "https://127.0.0.1:$https_port/" "$START_DEADLINE" \
			--cacert "$state/tls/ca.pem"; then
		stop "$state"
		remote_die "nginx does not answer on 127.0.0.1:$http_port and :$https_port"
	fi
	{
		echo "NGINX_HTTP_PORT=$http_port"
		echo "NGINX_HTTPS_PORT=$https_port"
		echo "NGINX_CA_FILE=$state/tls/ca.pem"
		echo "NGINX_ACCESS_LOG=$state/access.log"
		echo "NGINX_STARTUP_SECONDS=$(remote_elapsed "$started")"
	} >"$state/env"
	remote_started "$state"
	print_env "$state"
}

# The master's SIGQUIT is a graceful shutdown: workers finish their
# requests and exit, then the master.
stop() {
	local state=$1 pid workers w
	[ -d "$state" ] || return 0
	state=$(realpath -- "$state")
	pid=$(remote_pid_of "$state/nginx.pid" nginx "$state")
	[ -n "$pid" ] || return 0
	workers=$(ps -o pid= --ppid "$pid" 2>/dev/null || true)
	remote_stop "$state/nginx.pid" nginx "$state" "$STOP_DEADLINE" QUIT || return 1
	for w in $workers; do
		remote_wait_gone "$w" "$STOP_DEADLINE" && continue
		[ "$(cat "/proc/$w/comm" 2>/dev/null)" = nginx ] || continue
		echo "$REMOTE_SCRIPT: nginx worker $w outlived its master: SIGKILL" >&2
		kill -KILL "$w" 2>/dev/null || true
	done
	rm -f -- "$state/env"
}

case ${1:-} in
start)
	[ $# -eq 3 ] || usage
	start "$2" "$3"
	;;
stop)
	[ $# -eq 2 ] || usage
	[ ! -d "$2" ] || remote_stop_starter "$(realpath -- "$2")"
	stop "$2"
	;;
*) usage ;;
esac
