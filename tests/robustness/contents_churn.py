#!/usr/bin/python3
"""Self-describing archives for the contents view's churn test.

    contents_churn.py make DIR FIRST COUNT
    contents_churn.py writer DIR SECONDS SEED
    contents_churn.py reader MNT SECONDS SEED [--until-error]
    contents_churn.py openloop MNT COUNT NAMES...

Archive c-IIII.hxz at version V holds a main stream whose 4 KiB chunk J
begins with the header ("HXZCHURN", I, V, J) and goes on with bytes derived
from (I, V, J) alone; its length also follows from (I, V). So a reader can
check any chunk it reads without knowing which version it opened: right
magic, its own archive and chunk number, and the body of the version the
chunk names. A file rewritten in place may mix versions under an old
handle; that is allowed, a chunk that is no version's is not.

writer: for SECONDS, adds archives (created under another name, then
renamed), deletes them, replaces them atomically (rename over), and modifies
them in place (bytes flipped, truncated, rewritten whole with another
version). reader: for SECONDS, lists the mount, opens a random archive's
main, reads it sequentially or at random in 4 KiB..64 KiB requests and
checks every chunk; ENOENT and ESTALE (gone since the listing) and EIO
(damaged in place) are expected, other errors and wrong bytes are not.
--until-error: stop quietly at the first error of any kind except a wrong
byte (the fault tests). openloop: COUNT cycles of open, pread of one chunk
(checked), close over the archives NAMES.

Each command prints one JSON line of counts; the exit status is 1 after a
wrong byte or an unexpected error (listed as "FAIL: ..." lines first).
"""

from __future__ import annotations

import errno
import json
import os
import random
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "writer"))

CHUNK = 4096
MAGIC = b"HXZCHURN"
HDR = struct.Struct("<8sIII")


def size_of(idx: int, ver: int) -> int:
    return (16 + (idx * 7 + ver * 13) % 48) * CHUNK + HDR.size + (idx + ver * 31) % 4000


def chunk_of(idx: int, ver: int, j: int) -> bytes:
    rng = random.Random((idx << 40) | (ver << 20) | j)
    half = (CHUNK - HDR.size) // 2
    body = rng.randbytes(half) + bytes([j & 0xFF]) * (CHUNK - HDR.size - half)
    return HDR.pack(MAGIC, idx, ver, j) + body


def stream_of(idx: int, ver: int) -> bytes:
    n = size_of(idx, ver)
    return b"".join(chunk_of(idx, ver, j) for j in range((n + CHUNK - 1) // CHUNK))[:n]


def archive_of(idx: int, ver: int) -> bytes:
    import hexz_writer as hw
    opts = hw.Options(main=stream_of(idx, ver), block_size=16384, page_entries=4,
                      hashes=False, compression="zstd" if (idx + ver) % 2 else "lz4")
    return hw.serialize(hw.build_archive(opts))


def name_of(idx: int) -> str:
    return "c-%04d.hxz" % idx


def idx_of(name: str) -> int:
    return int(os.path.basename(name)[2:6])


def check_chunk(idx: int, j: int, got: bytes) -> str | None:
    """None if `got` (a whole chunk, or the stream's last) is right."""
    if len(got) < HDR.size:
        return "short chunk of %d bytes" % len(got)
    magic, i, ver, jj = HDR.unpack_from(got)
    if magic != MAGIC or i != idx or jj != j:
        return "header %r %d %d %d, expected archive %d chunk %d" % (magic, i, ver, jj, idx, j)
    if ver > 1 << 19:
        return "version %d" % ver
    end = size_of(idx, ver) - j * CHUNK
    if len(got) > end:
        return "%d bytes, version %d ends %d bytes into this chunk" % (len(got), ver, end)
    if got != chunk_of(idx, ver, j)[:len(got)]:
        return "body differs from version %d" % ver
    return None


def write_atomic(path: str, data: bytes) -> None:
    tmp = os.path.join(os.path.dirname(path), ".incoming-%d" % os.getpid())
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


# ---------------------------------------------------------------- commands

def cmd_make(d: str, first: str, count: str) -> int:
    for i in range(int(first), int(first) + int(count)):
        write_atomic(os.path.join(d, name_of(i)), archive_of(i, 0))
    print(json.dumps({"made": int(count)}))
    return 0


def cmd_writer(d: str, seconds: str, seed: str) -> int:
    rng = random.Random(int(seed))
    end = time.monotonic() + float(seconds)
    live = {idx_of(n): 0 for n in os.listdir(d) if n.startswith("c-")}
    nxt = max(live, default=0) + 1
    n = {"added": 0, "deleted": 0, "replaced": 0, "flipped": 0, "truncated": 0,
         "rewritten": 0}
    while time.monotonic() < end:
        op = rng.choice(("add", "delete", "replace", "replace", "flip", "truncate", "rewrite"))
        if len(live) < 30:
            op = "add"
        elif len(live) > 70:
            op = "delete"
        if op == "add":
            live[nxt] = 0
            write_atomic(os.path.join(d, name_of(nxt)), archive_of(nxt, 0))
            nxt += 1
            n["added"] += 1
            continue
        idx = rng.choice(sorted(live))
        path = os.path.join(d, name_of(idx))
        if op == "delete":
            os.unlink(path)
            del live[idx]
            n["deleted"] += 1
        elif op == "replace":
            live[idx] += 1
            write_atomic(path, archive_of(idx, live[idx]))
            n["replaced"] += 1
        elif op == "flip":
            size = os.path.getsize(path)
            with open(path, "r+b") as f:
                for _ in range(rng.randint(1, 4)):
                    pos = rng.randrange(4096, max(4097, size))
                    f.seek(pos)
                    b = f.read(1)
                    f.seek(pos)
                    f.write(bytes([(b[0] if b else 0) ^ (1 << rng.randrange(8))]))
            n["flipped"] += 1
        elif op == "truncate":
            os.truncate(path, rng.randrange(max(1, os.path.getsize(path))))
            n["truncated"] += 1
        else:
            live[idx] += 1
            data = archive_of(idx, live[idx])
            with open(path, "r+b") as f:
                f.write(data)
                f.truncate()
            n["rewritten"] += 1
        time.sleep(0.01)
    print(json.dumps(n))
    return 0


class Reader:
    def __init__(self):
        self.n = {"opens": 0, "reads": 0, "chunks": 0, "enoent": 0, "eio": 0, "wrong": 0,
                  "errors": 0}
        self.fails: list[str] = []

    def bad(self, msg: str, key: str) -> None:
        self.n[key] += 1
        if len(self.fails) < 20:
            self.fails.append(msg)

    def read_range(self, fd: int, idx: int, off: int, size: int, where: str) -> None:
        got = os.pread(fd, size, off)
        self.n["reads"] += 1
        for k in range(0, len(got), CHUNK):
            j = (off + k) // CHUNK
            why = check_chunk(idx, j, got[k:k + CHUNK])
            if why:
                self.bad("%s chunk %d: %s" % (where, j, why), "wrong")
                return
            self.n["chunks"] += 1

    def one(self, mnt: str, name: str, rng: random.Random) -> None:
        path = os.path.join(mnt, name, "main")
        fd = os.open(path, os.O_RDONLY)
        self.n["opens"] += 1
        try:
            size = os.fstat(fd).st_size
            chunks = (size + CHUNK - 1) // CHUNK
            if rng.random() < 0.5:
                req = CHUNK * rng.choice((1, 4, 16))
                for off in range(0, size, req):
                    self.read_range(fd, idx_of(name), off, req, path)
            else:
                for _ in range(16):
                    off = rng.randrange(chunks) * CHUNK
                    self.read_range(fd, idx_of(name), off, CHUNK * rng.choice((1, 2)), path)
        finally:
            os.close(fd)


def cmd_reader(mnt: str, seconds: str, seed: str, *flags: str) -> int:
    until_error = "--until-error" in flags
    rng = random.Random(int(seed))
    end = time.monotonic() + float(seconds)
    r = Reader()
    stopped = "time"
    while time.monotonic() < end:
        try:
            names = [n for n in os.listdir(mnt) if n.startswith("c-")]
            if not names:
                if until_error:
                    stopped = "empty"
                    break
                time.sleep(0.01)
                continue
            r.one(mnt, rng.choice(names), rng)
        except OSError as e:
            if until_error:
                stopped = errno.errorcode.get(e.errno, str(e.errno))
                break
            if e.errno in (errno.ENOENT, errno.ESTALE):
                r.n["enoent"] += 1
            elif e.errno == errno.EIO:
                r.n["eio"] += 1
            else:
                r.bad("%s: %s" % (e.filename, e), "errors")
        if r.n["wrong"]:
            break
    for f in r.fails:
        print("FAIL: " + f)
    print(json.dumps(dict(r.n, stopped=stopped)))
    return 1 if r.n["wrong"] or r.n["errors"] else 0


def cmd_openloop(mnt: str, count: str, *names: str) -> int:
    r = Reader()
    paths = [(os.path.join(mnt, n, "main"), idx_of(n)) for n in names]
    rng = random.Random(7)
    t = time.monotonic()
    for i in range(int(count)):
        path, idx = paths[i % len(paths)]
        fd = os.open(path, os.O_RDONLY)
        try:
            j = rng.randrange(16)
            got = os.pread(fd, CHUNK, j * CHUNK)
            why = check_chunk(idx, j, got)
            if why:
                r.bad("%s chunk %d: %s" % (path, j, why), "wrong")
            else:
                r.n["chunks"] += 1
        finally:
            os.close(fd)
        r.n["opens"] += 1
    for f in r.fails:
        print("FAIL: " + f)
    print(json.dumps(dict(r.n, seconds=round(time.monotonic() - t, 1))))
    return 1 if r.n["wrong"] else 0


def main(argv: list[str]) -> int:
    cmds = {"make": cmd_make, "writer": cmd_writer, "reader": cmd_reader,
            "openloop": cmd_openloop}
    if not argv or argv[0] not in cmds:
        print(__doc__, file=sys.stderr)
        return 2
    return cmds[argv[0]](*argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
