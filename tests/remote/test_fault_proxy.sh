#!/usr/bin/env bash
# Self-test of fault_proxy.py: nginx.sh serves a file, the proxy sits in
# front, and each fault is checked with curl (or a raw socket) to do what it
# says; pass-through is checked byte for byte over one keep-alive connection.
set -Eeuo pipefail
here=$(dirname -- "$(realpath -- "${BASH_SOURCE[0]}")")
. "$here/lib.sh"
REMOTE_SCRIPT=test_fault_proxy.sh
PY=$REMOTE_PYTHON

work=$(mktemp -d)
chunked_pid=
cleanup() {
	[ -z "$chunked_pid" ] || kill "$chunked_pid" 2>/dev/null || true
	"$here/fault_proxy.sh" stop "$work/proxy2" || true
	"$here/fault_proxy.sh" stop "$work/proxy" || true
	"$here/nginx.sh" stop "$work/nginx" || true
	rm -rf -- "$work"
}
trap cleanup EXIT
mkdir "$work/nginx" "$work/proxy" "$work/docroot"
head -c 100000 /dev/urandom >"$work/docroot/obj"
eval "$("$here/nginx.sh" start "$work/nginx" "$work/docroot")"
eval "$("$here/fault_proxy.sh" start "$work/proxy" "127.0.0.1:$NGINX_HTTP_PORT")"
URL=http://127.0.0.1:$FAULT_PROXY_PORT/obj
CTL=http://127.0.0.1:$FAULT_PROXY_CONTROL_PORT
fails=0
fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}
faults() {
	curl -sf -X PUT --data "$1" "$CTL/faults" >/dev/null || fail "control refused $1"
}
# get CURL_ARGS...: sets rc, code and size of the body in $work/out
get() {
	rc=0
	code=$(curl -s -o "$work/out" -D "$work/hdr" -w '%{http_code}' "$@") || rc=$?
	size=$(stat -c %s "$work/out" 2>/dev/null || echo 0)
}

# Pass-through: 200 ranged GETs and HEADs over one connection, identical.
faults '[]'
"$PY" - "$FAULT_PROXY_PORT" "$work/docroot/obj" <<'PYEOF' || fail "keep-alive pass-through"
import http.client, random, sys
data = open(sys.argv[2], "rb").read()
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
random.seed(1)
for i in range(200):
    a = random.randrange(len(data)); b = random.randrange(a, len(data))
    c.request("GET", "/obj", headers={"Range": "bytes=%d-%d" % (a, b)})
    r = c.getresponse(); body = r.read()
    assert r.status == 206 and body == data[a:b + 1], (i, r.status)
    if i % 50 == 0:
        c.request("HEAD", "/obj"); r = c.getresponse(); assert r.read() == b""
        assert int(r.getheader("Content-Length")) == len(data)
c.request("GET", "/obj"); assert c.getresponse().read() == data
sock = c.sock
assert sock is not None  # still the first connection
PYEOF
n=$(curl -s "$CTL/counters" | "$PY" -c 'import json,sys; c=json.load(sys.stdin); print(c["connections"], c["requests"].get("GET 206"), c["bytes_down"] >= 100000)')
[ "$n" = "1 200 True" ] || fail "counters after keep-alive: $n"
# ... and the proxy kept one connection to nginx for them.
n=$(grep -F '" 206 ' "$NGINX_ACCESS_LOG" | sed 's/.*conn=//' | sort -u | wc -l)
[ "$n" = 1 ] || fail "the proxy used $n connections to nginx for one client's"
get "$URL"
cmp -s "$work/out" "$work/docroot/obj" || fail "whole GET differs"

faults '[{"fault":"reset","bytes":1000}]'
get "$URL"
[ "$rc" = 56 ] && [ "$size" = 1000 ] || fail "reset: rc=$rc size=$size"

faults '[{"fault":"truncate","bytes":777}]'
get "$URL"
[ "$rc" = 18 ] && [ "$size" = 777 ] || fail "truncate: rc=$rc size=$size"

faults '[{"fault":"stall","bytes":10,"seconds":3}]'
get --max-time 1 "$URL"
[ "$rc" = 28 ] && [ "$size" = 10 ] || fail "stall: rc=$rc size=$size"
faults '[{"fault":"stall","bytes":10,"seconds":0.5}]'
get --max-time 10 "$URL"
[ "$rc" = 0 ] && cmp -s "$work/out" "$work/docroot/obj" || fail "stall then resume: rc=$rc size=$size"
faults '[{"fault":"stall","bytes":10,"seconds":null}]'
get --max-time 1 "$URL"
[ "$rc" = 28 ] || fail "stall forever: rc=$rc"

for c in 500 502 412; do
	faults "[{\"fault\":\"status\",\"code\":$c}]"
	get "$URL"
	[ "$code" = "$c" ] || fail "status $c: got $code"
done
faults '[{"fault":"status","code":503}]'
get "$URL"
[ "$code" = 503 ] && grep -q '<Code>SlowDown</Code>' "$work/out" || fail "503 SlowDown: $code"

faults '[{"fault":"ignore_range"}]'
get -r 0-99 "$URL"
[ "$code" = 200 ] && cmp -s "$work/out" "$work/docroot/obj" || fail "ignore_range: $code $size"
# The proxy logs a request once it has relayed the answer, which curl may
# have finished reading first: the line is waited for (up to 5 s).
logged=false
for _ in $(seq 50); do
	if tail -n 1 "$FAULT_PROXY_LOG" | grep -q '"range": "bytes=0-99"'; then
		logged=true
		break
	fi
	sleep 0.1
done
$logged || fail "ignore_range log: $(tail -n 1 "$FAULT_PROXY_LOG")"

faults '[{"fault":"shift_range","by":5}]'
get -r 100-199 "$URL"
grep -qi '^content-range: bytes 105-204/100000' "$work/hdr" && [ "$size" = 100 ] &&
	cmp -s "$work/out" <(tail -c +101 "$work/docroot/obj" | head -c 100) || fail "shift_range"

faults '[{"fault":"etag","value":"\"changed\""}]'
get "$URL"
grep -qi '^etag: "changed"' "$work/hdr" || fail "etag"

faults '[{"fault":"extra","bytes":7}]'
n=$("$PY" - "$FAULT_PROXY_PORT" <<'PYEOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"GET /obj HTTP/1.1\r\nHost: x\r\n\r\n")
got = b""
while True:
    d = s.recv(65536)
    if not d: break
    got += d
print(len(got.split(b"\r\n\r\n", 1)[1]))
PYEOF
)
[ "$n" = 100007 ] || fail "extra: body $n"

faults '[{"fault":"drip","interval":0.2,"path":"^/obj$"}]'
start=$(remote_now)
get -r 0-4 "$URL"
t=$(remote_elapsed "$start")
[ "$size" = 5 ] && "$PY" -c "import sys; sys.exit(not $t >= 0.8)" || fail "drip: $size in $t s"

faults '[{"fault":"refuse"}]'
get "$URL"
[ "$rc" = 56 ] || [ "$rc" = 52 ] || [ "$rc" = 7 ] || fail "refuse: rc=$rc"

# next N and matching: only the next 2 GETs of /obj fail.
faults '[{"fault":"status","code":500,"method":"GET","path":"^/obj$","when":{"next":2}}]'
codes=""
for _ in 1 2 3; do get "$URL"; codes="$codes$code "; done
get -I "$URL"
codes="$codes$code"
[ "$codes" = "500 500 200 200" ] || fail "next 2: $codes"
faults '[{"fault":"status","code":502,"when":{"burst":[1,2]}}]'
codes=""
for _ in 1 2 3 4; do get "$URL"; codes="$codes$code "; done
[ "$codes" = "502 200 200 502 " ] || fail "burst: $codes"
faults '[{"fault":"status","code":502,"when":{"p":0}}]'
get "$URL"
[ "$code" = 200 ] || fail "p=0: $code"

curl -s -o /dev/null -w '%{http_code}' -X PUT --data '[{"fault":"nope"}]' "$CTL/faults" |
	grep -q 400 || fail "a bad rule is not refused"
c=$(curl -s "$CTL/counters")
echo "counters: $c"
echo "$c" | "$PY" -c 'import json,sys; c=json.load(sys.stdin); f=c["faults"]
assert f["reset"]==1 and f["truncate"]==1 and f["stall"]==3 and f["status"]==8 and f["refuse"]==1, f
assert c["requests"]["GET 500"]==3 and c["requests"]["HEAD 200"]>=1, c["requests"]' || fail "counters"
# A chunked body (a second proxy, in front of a server that chunks) is
# relayed whole, and a reset counts the bytes of its chunk framing.
mkdir "$work/proxy2"
"$PY" - "$work/chunked.port" <<'PYEOF' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i in range(50):
            part = b"%04d" % i * 100
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        self.wfile.write(b"0\r\n\r\n")
    def log_message(self, *a):
        pass
class S(http.server.HTTPServer):
    def handle_error(self, request, address):
        pass  # the reset the proxy injects reaches this server too
s = S(("127.0.0.1", 0), H)
open(sys.argv[1] + ".tmp", "w").write(str(s.server_port))
__import__("os").rename(sys.argv[1] + ".tmp", sys.argv[1])
s.timeout = 20
for _ in range(3):
    s.handle_request()
PYEOF
chunked_pid=$!
for _ in $(seq 100); do [ -s "$work/chunked.port" ] && break; sleep 0.05; done
eval "$("$here/fault_proxy.sh" start "$work/proxy2" "127.0.0.1:$(cat "$work/chunked.port")" | sed 's/^FAULT_PROXY_/P2_/')"
get "http://127.0.0.1:$P2_PORT/c"
"$PY" -c 'import sys; sys.exit(open(sys.argv[1], "rb").read() != b"".join(b"%04d" % i * 100 for i in range(50)))' \
	"$work/out" && [ "$rc" = 0 ] || fail "chunked body: rc=$rc size=$size"
curl -sf -X PUT --data '[{"fault":"reset","bytes":500}]' "http://127.0.0.1:$P2_CONTROL_PORT/faults" >/dev/null
get --raw "http://127.0.0.1:$P2_PORT/c"
[ "$rc" = 56 ] && [ "$size" = 500 ] || fail "reset in a chunked body: rc=$rc size=$size"
"$here/fault_proxy.sh" stop "$work/proxy2"
kill "$chunked_pid" 2>/dev/null || true
wait "$chunked_pid" 2>/dev/null || true

[ "$fails" = 0 ] || exit 1
echo "fault proxy: all faults behave"
