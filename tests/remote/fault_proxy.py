#!/usr/bin/env python3
"""A fault-injecting HTTP/1.1 proxy for the remote storage tests.

It sits between the client under test and a real server (nginx.sh,
ceph_rgw.sh) on 127.0.0.1: each client connection gets its own upstream
connection, both kept alive, and requests are relayed byte for byte (the
request head is never rewritten, except by the ignore_range fault, so S3
signatures stay valid). Response bodies are framed by Content-Length,
chunked encoding, or the close of the connection; HEAD, 1xx, 204 and 304
have none.

Control: an HTTP endpoint on its own port of 127.0.0.1 (CONTROL_PORT):
  GET  /faults            the rules, as JSON
  PUT  /faults            replace the rules with the JSON list in the body
  GET  /counters          requests by method and status, faults by kind,
                          bytes relayed, connections refused
  POST /reset             zero the counters and truncate the request log
A rule is an object:
  {"fault": KIND, ...parameters...,
   "when": "always" | {"next": N} | {"p": 0.3} | {"burst": [ON, OFF]},
   "path": REGEX, "method": "GET"}            (all but fault optional)
The first rule that matches the request and fires (by its "when") applies.
KIND and its parameters:
  pass                       relay unchanged
  reset       bytes=N        RST (SO_LINGER 0) after N bytes of the body
  stall       bytes=N seconds=S (null: forever)  stop after N body bytes
  status      code=500|502|503|412  answer locally (503: S3 SlowDown XML)
  truncate    bytes=N        close (FIN) after N body bytes
  extra       bytes=N        send N more bytes than Content-Length says
  shift_range by=N           Content-Range start and end shifted by N
  ignore_range               forward without the Range header
  etag        value=STR      replace the ETag of the response
  drip        interval=S     send the body one byte every S seconds (1)
  refuse                     close connections on accept (server down;
                             path and method do not apply)
When the server cannot be reached, the client's connection is closed
(as a server that is down would), not answered with a 502.
A request's body is read whole before it is forwarded, so a client that
sends "Expect: 100-continue" waits for its own timeout (curl: 1 s) first.
Body byte counts are of the body as sent on the wire (chunk framing of a
chunked body included).

The request log (--log) has one JSON object a line per request:
method, path, range, if_match, status, bytes (body bytes sent to the
client), fault (kind or null).

Usage: fault_proxy.py --upstream HOST:PORT --state-file FILE [--log FILE]
The proxy writes {"port": P, "control_port": C, "pid": PID} to FILE once
both ports listen (written to FILE.tmp and renamed), and exits on SIGTERM.
"""

import argparse
import asyncio
import json
import os
import random
import re
import signal
import socket
import struct
import sys

KINDS = {"pass", "reset", "stall", "status", "truncate", "extra",
         "shift_range", "ignore_range", "etag", "drip", "refuse"}
STATUS_REASONS = {412: "Precondition Failed", 500: "Internal Server Error",
                  502: "Bad Gateway", 503: "Service Unavailable"}
SLOWDOWN_XML = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
                b'<Code>SlowDown</Code><Message>Please reduce your request '
                b'rate.</Message></Error>\n')
MAX_HEAD = 64 * 1024
COPY_SIZE = 64 * 1024


class ProtocolError(Exception):
    pass


class Rule:
    def __init__(self, spec):
        if not isinstance(spec, dict):
            raise ValueError("a rule is a JSON object")
        self.spec = spec
        self.kind = spec.get("fault")
        if self.kind not in KINDS:
            raise ValueError("unknown fault %r" % (self.kind,))
        self.path = re.compile(spec["path"]) if "path" in spec else None
        self.method = spec.get("method")
        when = spec.get("when", "always")
        self.next = self.p = self.burst = None
        if when == "always":
            pass
        elif isinstance(when, dict) and "next" in when:
            self.next = int(when["next"])
        elif isinstance(when, dict) and "p" in when:
            self.p = float(when["p"])
            if not 0 <= self.p <= 1:
                raise ValueError("p must be in [0, 1]")
        elif isinstance(when, dict) and "burst" in when:
            on, off = (int(x) for x in when["burst"])
            if on < 1 or off < 0:
                raise ValueError("burst is [ON >= 1, OFF >= 0]")
            self.burst = (on, off)
            self.seen = 0
        else:
            raise ValueError("bad when %r" % (when,))
        for key in ("bytes", "code", "seconds", "by", "interval"):
            if key in spec and spec[key] is not None and \
                    not isinstance(spec[key], (int, float)):
                raise ValueError("%s must be a number" % key)
        if self.kind == "status" and spec.get("code") not in STATUS_REASONS:
            raise ValueError("status code must be one of %s" %
                             sorted(STATUS_REASONS))

    def matches(self, method, path):
        if self.method is not None and method != self.method:
            return False
        return self.path is None or self.path.search(path) is not None

    def fires(self):
        """Whether the rule applies to this matching request (consumes a
        'next' count or a burst step)."""
        if self.next is not None:
            if self.next <= 0:
                return False
            self.next -= 1
            return True
        if self.p is not None:
            return random.random() < self.p
        if self.burst is not None:
            on, off = self.burst
            i = self.seen % (on + off)
            self.seen += 1
            return i < on
        return True


class Proxy:
    def __init__(self, upstream, log_path):
        self.upstream = upstream
        self.log_path = log_path
        self.log = open(log_path, "a", buffering=1) if log_path else None
        self.rules = []
        self.reset_counters()

    def reset_counters(self):
        self.counters = {"requests": {}, "faults": {}, "bytes_up": 0,
                         "bytes_down": 0, "connections": 0, "refused": 0}
        if self.log:
            self.log.truncate(0)

    def count_fault(self, kind):
        f = self.counters["faults"]
        f[kind] = f.get(kind, 0) + 1

    def choose(self, method, path):
        for rule in self.rules:
            if rule.kind != "refuse" and rule.matches(method, path) \
                    and rule.fires():
                return rule
        return None

    # ---- the relay ----

    async def client_connected(self, reader, writer):
        for rule in self.rules:
            if rule.kind == "refuse" and rule.fires():
                self.counters["refused"] += 1
                self.count_fault("refuse")
                abort(writer)
                return
        self.counters["connections"] += 1
        # The upstream connection (reader, writer) in a list, so that one
        # opened by a request that then fails is closed here too.
        up = [None]
        try:
            while True:
                head = await read_head(reader)
                if head is None:
                    break
                if not await self.one_request(reader, writer, head, up):
                    break
        except (ProtocolError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            if up[0] is not None:
                up[0][1].close()
            if not writer.is_closing():
                writer.close()

    async def one_request(self, reader, writer, head, up):
        """Relays one request and its answer; returns whether the client
        connection stays open. up[0] is the upstream connection or None."""
        method, path, headers = parse_request_head(head)
        rule = self.choose(method, path)
        kind = rule.kind if rule else None
        entry = {"method": method, "path": path,
                 "range": header(headers, b"range"),
                 "if_match": header(headers, b"if-match"),
                 "status": None, "bytes": 0, "fault": kind}
        if kind is not None and kind != "pass":
            self.count_fault(kind)
        # The request body is read whole (the tests' requests are small).
        body = await read_body_raw(reader, headers, is_request=True)
        try:
            if kind == "status":
                code = int(rule.spec["code"])
                entry["status"] = code
                entry["bytes"] = await self.local_answer(writer, code)
                return True
            if kind == "ignore_range":
                head = drop_header(head, b"range")
            if up[0] is not None and up[0][0].at_eof():
                # The server closed the idle connection (keep-alive timeout).
                up[0][1].close()
                up[0] = None
            if up[0] is None:
                up[0] = await asyncio.open_connection(*self.upstream)
            up[0][1].write(head + body)
            self.counters["bytes_up"] += len(head) + len(body)
            await up[0][1].drain()
            return await self.relay_response(up, writer, method, rule, entry)
        finally:
            self.finish(method, entry)

    async def local_answer(self, writer, code):
        body = SLOWDOWN_XML if code == 503 else b""
        ctype = b"Content-Type: application/xml\r\n" if body else b""
        writer.write(b"HTTP/1.1 %d %s\r\n%sContent-Length: %d\r\n\r\n" %
                     (code, STATUS_REASONS[code].encode(), ctype, len(body))
                     + body)
        await writer.drain()
        self.counters["bytes_down"] += len(body)
        return len(body)

    async def relay_response(self, holder, writer, method, rule, entry):
        kind = rule.kind if rule else None
        up = holder[0]
        rhead = await read_head(up[0])
        if rhead is None:
            raise ConnectionError("upstream closed")
        status, rheaders = parse_response_head(rhead)
        while 100 <= status < 200 and status != 101:
            writer.write(rhead)
            rhead = await read_head(up[0])
            if rhead is None:
                raise ConnectionError("upstream closed")
            status, rheaders = parse_response_head(rhead)
        entry["status"] = status
        if kind == "etag":
            rhead = set_header(rhead, b"etag",
                               str(rule.spec.get("value", '"replaced"')).encode())
        elif kind == "shift_range":
            rhead = shift_content_range(rhead, int(rule.spec.get("by", 1)))
        elif kind == "extra" and header(rheaders, b"content-length") is None:
            kind = None  # only a Content-Length body can be longer than said
        up_keep = not wants_close(rheaders)
        writer.write(rhead)
        sent = 0
        limit = None
        if kind in ("reset", "truncate", "stall"):
            limit = int(rule.spec.get("bytes", 0))
        has_body = method != "HEAD" and status not in (204, 304)
        chunks = body_chunks(up[0], rheaders) if has_body else None
        stalled = False
        # A body that ends with the connection ends the client's too.
        keep = up_keep and (not has_body or is_chunked(rheaders) or
                            header(rheaders, b"content-length") is not None)
        if chunks is not None:
            async for data in chunks:
                if limit is not None and sent + len(data) >= limit:
                    data_now = data[:limit - sent]
                    writer.write(data_now)
                    sent += len(data_now)
                    await writer.drain()
                    if kind == "reset":
                        entry["bytes"] = sent
                        self.counters["bytes_down"] += sent
                        abort(writer)
                        raise ConnectionError("reset injected")
                    if kind == "truncate":
                        entry["bytes"] = sent
                        self.counters["bytes_down"] += sent
                        writer.close()
                        raise ConnectionError("truncated")
                    if kind == "stall" and not stalled:
                        stalled = True
                        secs = rule.spec.get("seconds")
                        if secs is None:
                            await asyncio.Event().wait()  # forever
                        await asyncio.sleep(float(secs))
                        data = data[len(data_now):]
                        limit = None
                if kind == "drip":
                    interval = float(rule.spec.get("interval", 1))
                    for i in range(len(data)):
                        writer.write(data[i:i + 1])
                        await writer.drain()
                        sent += 1
                        await asyncio.sleep(interval)
                    continue
                writer.write(data)
                sent += len(data)
                await writer.drain()
            if kind == "extra":
                junk = b"X" * int(rule.spec.get("bytes", 1))
                writer.write(junk)
                sent += len(junk)
                keep = False  # the stream is out of step now
        await writer.drain()
        entry["bytes"] = sent
        self.counters["bytes_down"] += sent
        if not up_keep:
            up[1].close()
            holder[0] = None
        return keep

    def finish(self, method, entry):
        req = self.counters["requests"]
        key = "%s %s" % (method, entry["status"])
        req[key] = req.get(key, 0) + 1
        if self.log:
            self.log.write(json.dumps(entry) + "\n")

    # ---- the control endpoint ----

    async def control(self, reader, writer):
        try:
            head = await read_head(reader)
            if head is None:
                return
            method, path, headers = parse_request_head(head)
            body = await read_body_raw(reader, headers, is_request=True)
            code, answer = 200, None
            if method == "GET" and path == "/faults":
                answer = [r.spec for r in self.rules]
            elif method == "PUT" and path == "/faults":
                try:
                    specs = json.loads(body or b"[]")
                    if not isinstance(specs, list):
                        raise ValueError("the body is a JSON list of rules")
                    self.rules = [Rule(s) for s in specs]
                    answer = [r.spec for r in self.rules]
                except (ValueError, KeyError, TypeError, re.error) as e:
                    code, answer = 400, {"error": str(e)}
            elif method == "GET" and path == "/counters":
                answer = self.counters
            elif method == "POST" and path == "/reset":
                self.reset_counters()
                answer = self.counters
            else:
                code, answer = 404, {"error": "no such control %s %s" %
                                     (method, path)}
            data = json.dumps(answer).encode() + b"\n"
            writer.write(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n" %
                         (code, len(data)) + data)
            await writer.drain()
        except (ProtocolError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


# ---- HTTP framing (the proxy must see message boundaries to keep
# connections alive; it never re-encodes what it relays) ----

async def read_head(reader):
    """The raw head up to and including the blank line; None on a clean
    close before any byte."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if not e.partial:
            return None
        raise ProtocolError("connection closed inside a head")
    except asyncio.LimitOverrunError:
        raise ProtocolError("head too long")
    return head


def split_headers(lines):
    headers = []
    for line in lines:
        name, sep, value = line.partition(b":")
        if not sep:
            raise ProtocolError("bad header line %r" % line)
        headers.append((name.strip().lower(), value.strip()))
    return headers


def parse_request_head(head):
    lines = head[:-4].split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3:
        raise ProtocolError("bad request line %r" % lines[0])
    return (parts[0].decode("latin-1"), parts[1].decode("latin-1"),
            split_headers(lines[1:]))


def parse_response_head(head):
    lines = head[:-4].split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise ProtocolError("bad status line %r" % lines[0])
    return int(parts[1]), split_headers(lines[1:])


def header(headers, name):
    for n, v in headers:
        if n == name:
            return v.decode("latin-1")
    return None


def wants_close(headers):
    conn = header(headers, b"connection")
    return conn is not None and conn.lower() == "close"


def is_chunked(headers):
    te = header(headers, b"transfer-encoding")
    return te is not None and te.lower().endswith("chunked")


def drop_header(head, name):
    lines = head[:-4].split(b"\r\n")
    kept = [lines[0]] + [l for l in lines[1:]
                         if l.partition(b":")[0].strip().lower() != name]
    return b"\r\n".join(kept) + b"\r\n\r\n"


def set_header(head, name, value):
    lines = head[:-4].split(b"\r\n")
    out, done = [lines[0]], False
    for l in lines[1:]:
        n = l.partition(b":")[0]
        if n.strip().lower() == name:
            out.append(n + b": " + value)
            done = True
        else:
            out.append(l)
    if not done:
        out.append(name + b": " + value)
    return b"\r\n".join(out) + b"\r\n\r\n"


def shift_content_range(head, by):
    lines = head[:-4].split(b"\r\n")
    for i, l in enumerate(lines):
        n, _, v = l.partition(b":")
        if n.strip().lower() != b"content-range":
            continue
        m = re.match(rb"\s*bytes (\d+)-(\d+)/(\S+)", v)
        if m:
            lines[i] = b"%s: bytes %d-%d/%s" % (
                n, int(m.group(1)) + by, int(m.group(2)) + by, m.group(3))
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def body_chunks(reader, headers):
    """The raw body bytes, as they arrive."""
    if is_chunked(headers):
        while True:
            size_line = await reader.readuntil(b"\r\n")
            try:
                size = int(size_line.split(b";")[0].strip(), 16)
            except ValueError:
                raise ProtocolError("bad chunk size %r" % size_line)
            yield size_line
            if size == 0:
                # Trailers, then the blank line.
                while True:
                    line = await reader.readuntil(b"\r\n")
                    yield line
                    if line == b"\r\n":
                        return
            left = size + 2
            while left:
                data = await reader.read(min(left, COPY_SIZE))
                if not data:
                    raise asyncio.IncompleteReadError(b"", left)
                left -= len(data)
                yield data
        return
    length = header(headers, b"content-length")
    if length is not None:
        left = int(length)
        while left:
            data = await reader.read(min(left, COPY_SIZE))
            if not data:
                raise asyncio.IncompleteReadError(b"", left)
            left -= len(data)
            yield data
        return
    while True:  # delimited by the close of the connection
        data = await reader.read(COPY_SIZE)
        if not data:
            return
        yield data


async def read_body_raw(reader, headers, is_request):
    if is_request and header(headers, b"content-length") is None \
            and not is_chunked(headers):
        return b""
    out = []
    async for data in body_chunks(reader, headers):
        out.append(data)
    return b"".join(out)


def abort(writer):
    """Close with an RST: SO_LINGER on with a zero timeout."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--upstream", required=True, help="HOST:PORT")
    ap.add_argument("--state-file", required=True)
    ap.add_argument("--log")
    args = ap.parse_args()
    host, sep, port = args.upstream.rpartition(":")
    if not sep or not port.isdigit():
        ap.error("--upstream is HOST:PORT")
    proxy = Proxy((host, int(port)), args.log)
    server = await asyncio.start_server(proxy.client_connected, "127.0.0.1", 0,
                                        limit=MAX_HEAD)
    control = await asyncio.start_server(proxy.control, "127.0.0.1", 0,
                                         limit=MAX_HEAD)
    state = {"port": server.sockets[0].getsockname()[1],
             "control_port": control.sockets[0].getsockname()[1],
             "pid": os.getpid()}
    with open(args.state_file + ".tmp", "w") as f:
        json.dump(state, f)
    os.rename(args.state_file + ".tmp", args.state_file)
    print(json.dumps(state), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    control.close()


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
