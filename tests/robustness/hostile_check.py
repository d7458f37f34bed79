#!/usr/bin/python3
"""Read every archive of one batch of gen_hostile.py through a contents mount.

    hostile_check.py HOSTILE_DIR BATCH MOUNTPOINT [--threads N] [--slow SECONDS]

MOUNTPOINT is `hexzfs -o view=contents HOSTILE_DIR/batches/BATCH MOUNTPOINT`.
Lists the mount, then, on N threads, walks each archive shown and reads
every file in 4 KiB chunks (the first 512 KiB and the last 8 KiB of each;
at most 300 files of an archive), comparing what reads with the origin's
bytes as hostile.json says (see gen_hostile.py). A chunk may fail with EIO;
it may never read other bytes, read short, or fail another way.

Prints one "FAIL: ..." line per violation (at most 40, then a count), then
one line of JSON with the figures: archives, shown, hidden, files, reads
(successful chunk reads), verified (of those, compared byte for byte),
eio, wrong, other_errors, expect_mismatch, max_op_seconds,
unverifiable_differ (chunks of archives whose damage the format cannot
detect, e.g. a changed dictionary, that read other bytes: reported, not a
failure). Exit status 1 if any violation, else 0.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import stat
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

CHUNK = 4096
HEAD = 512 * 1024
TAIL = 8 * 1024
MAX_FILES = 300


class Checker:
    def __init__(self, hostile: str, batch: str, mnt: str, slow: float):
        with open(os.path.join(hostile, "hostile.json")) as f:
            self.spec = json.load(f)
        self.expect_dir = os.path.join(hostile, "expect")
        self.batch = batch
        self.mnt = mnt
        self.slow = slow
        self.lock = threading.Lock()
        self.fails: list[str] = []
        self.n = {k: 0 for k in ("archives", "shown", "hidden", "files", "reads", "verified",
                                 "eio", "wrong", "other_errors", "expect_mismatch",
                                 "unverifiable_differ", "slow", "size_differs")}
        self.max_op = 0.0
        self.streams: dict[tuple[str, str], bytes] = {}
        for name, o in self.spec["origins"].items():
            for s in ("main", "auxiliary"):
                if o[s]:
                    with open(os.path.join(self.expect_dir, o[s]), "rb") as f:
                        self.streams[(name, s)] = f.read()

    def fail(self, msg: str, counter: str) -> None:
        with self.lock:
            self.n[counter] += 1
            self.fails.append(msg)

    def count(self, key: str, k: int = 1) -> None:
        with self.lock:
            self.n[key] += k

    def timed(self, what: str, fn, *args):
        t = time.monotonic()
        try:
            return fn(*args)
        finally:
            dt = time.monotonic() - t
            with self.lock:
                self.max_op = max(self.max_op, dt)
            if dt > self.slow:
                self.fail("%s took %.1f s (deadline %.0f s)" % (what, dt, self.slow), "slow")

    # -- what a file should hold
    def expected(self, rec: dict, rel: str, size: int):
        """(stream bytes, layout, base offset) for file `rel` of archive `rec`,
        or None when it is not compared."""
        origin = rec["origin"]
        o = self.spec["origins"].get(origin) if origin else None
        if o is None or rec["verify"] == "none":
            return None
        layout = rec.get("layout", {})
        if rel in ("main", "auxiliary") and (o["tree"] is None or rel not in o["tree"]):
            # A stream shown whole (no manifest, or the manifest was refused).
            data = self.streams.get((origin, rel))
            if data is None:
                return "unknown"
            lay = layout.get(rel, [[0, len(data), "same", 0]])
            return data, lay, 0, sum(seg[1] for seg in lay)
        if rec["verify"] != "all":
            return None
        data = self.streams.get((origin, "main"))
        main_layout = layout.get("main", [[0, len(data), "same", 0]])
        if "ranges" in rec:
            r = rec["ranges"].get(rel)
        elif "formula" in rec:
            f = rec["formula"]
            r = None
            if rel.startswith(f["prefix"]) and rel[len(f["prefix"]):].isdigit():
                i = int(rel[len(f["prefix"]):])
                r = [(i * f["stride"]) % f["modulo"], f["size"]]
        elif o["tree"] is not None:
            r = o["tree"].get(rel)
        else:
            r = None
        if r is None:
            return "unknown"
        return data, main_layout, r[0], r[1]

    def check_chunk(self, rec, rel, got: bytes, off: int, want_len: int, exp) -> None:
        data, layout, base, _ = exp
        lo, hi = base + off, base + off + want_len
        where = "%s/%s/%s at %d" % (self.batch, rec["path"], rel, off)
        if len(got) != want_len:
            self.fail("%s: read %d bytes, expected %d (%s)" % (where, len(got), want_len,
                                                              rec["what"]), "wrong")
            return
        compared = False
        end = base + exp[3]
        if hi > end:
            self.fail("%s: bytes %d-%d read, past the end of the data (%d) (%s)"
                      % (where, max(lo, end), hi, end, rec["what"]), "wrong")
            return
        for start, length, kind, src in layout:
            s, e = max(lo, start), min(hi, start + length)
            if s >= e:
                continue
            if kind == "fail":
                self.fail("%s: bytes %d-%d read although their block cannot decode (%s)"
                          % (where, s, e, rec["what"]), "wrong")
                return
            if kind == "same":
                if got[s - lo:e - lo] != data[src + s - start:src + e - start]:
                    self.fail("%s: other bytes than the original (%s: %s)"
                              % (where, rec["category"], rec["what"]), "wrong")
                    return
                compared = True
        if compared:
            self.count("verified")

    def read_file(self, rec: dict, path: str, rel: str, size: int) -> None:
        exp = self.expected(rec, rel, size)
        if exp == "unknown":
            self.fail("%s/%s: shows %r, which the archive does not hold (%s)"
                      % (self.batch, rec["path"], rel, rec["what"]), "wrong")
            return
        if exp is not None and exp[3] != size:
            # A size from a damaged index is allowed; the bytes past the
            # real end must then fail to read (see check_chunk).
            self.count("size_differs")
        offs = list(range(0, min(size, HEAD), CHUNK))
        tail = max(0, size - TAIL) // CHUNK * CHUNK
        offs += [o for o in range(max(tail, offs[-1] + CHUNK if offs else 0), size, CHUNK)]
        try:
            fd = self.timed("open " + rel, os.open, path, os.O_RDONLY)
        except OSError as e:
            self.fail("%s/%s: open %r: %s" % (self.batch, rec["path"], rel, e), "other_errors")
            return
        differ = 0
        try:
            for off in offs:
                want = min(CHUNK, size - off)
                try:
                    got = self.timed("read %s/%s" % (rec["path"], rel), os.pread, fd, CHUNK, off)
                except OSError as e:
                    if e.errno == errno.EIO:
                        self.count("eio")
                    else:
                        self.fail("%s/%s/%s at %d: %s (only EIO is allowed)"
                                  % (self.batch, rec["path"], rel, off, e), "other_errors")
                        if e.errno in (errno.ENOTCONN, errno.ECONNABORTED):
                            return
                    continue
                self.count("reads")
                if exp is not None:
                    self.check_chunk(rec, rel, got, off, want, exp)
                elif rec["origin"] and rel in ("main", "auxiliary"):
                    data = self.streams.get((rec["origin"], rel))
                    if data is not None and got != data[off:off + len(got)]:
                        differ += 1
        finally:
            os.close(fd)
        if differ:
            self.count("unverifiable_differ", differ)

    def walk(self, rec: dict) -> None:
        top = os.path.join(self.mnt, rec["path"])
        files = []
        stack = [("", top)]
        try:
            while stack and len(files) < 200000:
                rel, d = stack.pop()
                for ent in self.timed("list " + d, lambda: list(os.scandir(d))):
                    r = rel + "/" + ent.name if rel else ent.name
                    st = self.timed("stat " + r, os.lstat, ent.path)
                    if stat.S_ISDIR(st.st_mode):
                        stack.append((r, ent.path))
                    elif stat.S_ISREG(st.st_mode):
                        files.append((r, ent.path, st.st_size))
                    else:
                        self.fail("%s/%s: %r is neither file nor directory"
                                  % (self.batch, rec["path"], r), "wrong")
        except OSError as e:
            self.fail("%s/%s: walking: %s" % (self.batch, rec["path"], e), "other_errors")
            return
        self.count("files", len(files))
        if len(files) > MAX_FILES:
            step = len(files) / MAX_FILES
            files = [files[int(i * step)] for i in range(MAX_FILES)]
        for rel, path, size in files:
            self.read_file(rec, path, rel, size)

    def run(self, threads: int) -> int:
        recs = [r for r in self.spec["archives"] if r["batch"] == self.batch]
        shown = set()
        try:
            for ent in self.timed("list the batch", lambda: list(os.scandir(self.mnt))):
                if ent.is_dir(follow_symlinks=False):
                    shown.add(ent.name)
        except OSError as e:
            self.fail("%s: listing: %s" % (self.batch, e), "other_errors")
        todo = []
        for r in recs:
            self.n["archives"] += 1
            if r["path"] in shown:
                self.n["shown"] += 1
                todo.append(r)
                if r["expect"] == "hidden":
                    self.fail("%s/%s is shown, it must not be (%s)"
                              % (self.batch, r["path"], r["what"]), "expect_mismatch")
            else:
                self.n["hidden"] += 1
                if r["expect"] == "shown":
                    self.fail("%s/%s is hidden, it must be shown (%s)"
                              % (self.batch, r["path"], r["what"]), "expect_mismatch")
        with ThreadPoolExecutor(threads) as ex:
            list(ex.map(self.walk, todo))
        for m in self.fails[:40]:
            print("FAIL: " + m)
        if len(self.fails) > 40:
            print("FAIL: ... and %d more" % (len(self.fails) - 40))
        out = dict(self.n, batch=self.batch, max_op_seconds=round(self.max_op, 3))
        print(json.dumps(out))
        return 1 if self.fails else 0


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("hostile")
    ap.add_argument("batch")
    ap.add_argument("mnt")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--slow", type=float, default=20.0)
    a = ap.parse_args(argv)
    return Checker(a.hostile, a.batch, a.mnt, a.slow).run(a.threads)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
