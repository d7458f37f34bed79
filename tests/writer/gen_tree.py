#!/usr/bin/python3
"""Generate deterministic directory trees of many files, for the metadata benchmark.

    gen_tree.py tree OUT_DIR --files N --top T --sub S [--sizes MIN:MAX:DIST]
                [--empty SHARE] [--subtree-files M] [--seed K] [--info FILE]
    gen_tree.py manifest OUT.hxz --entries N [--info FILE]

``tree`` creates OUT_DIR (which must not exist) with N regular files in
about T * (S + 1) directories: T top-level directories, each holding 50 to
150 percent of S subdirectories. Every directory holds at least one file;
the others go to directories with lognormal weights, so a few directories
are large and most hold a handful, as in a source tree or a dataset; one
top-level directory, the *subtree*, holds exactly M files in all (the
benchmark tars it). Contents are slices of a pool
of pseudo-text (the generator of gen_disk_image.py), so they compress about
as text does; sizes are drawn from MIN to MAX bytes, log-uniformly (``log``)
or uniformly (``uniform``), and a share of the files (``--empty``) is
empty. Names are made-up words with common extensions; modes are 0644
(one file in twenty 0755), mtimes spread over a year from 2023-11-14. The
same arguments always give the same tree, byte for byte and time for time.
A summary (counts, bytes, the subtree) goes to FILE as JSON, or to stdout.

``manifest`` writes, through hexz_writer, a directory archive whose
manifest lists N empty files (10 to a directory, 100 directories to a
parent): the biggest manifest one can afford to generate, for measuring
how a reader opens it. No file is created on disk besides the archive.

Speed (2 shared cores, ext4): ``tree`` is bound by the file system, about
15,000 files of up to 4 KiB a second (1,000,000 in 67 s); ``manifest``
writes about 1,000,000 entries a second.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_disk_image import _text_pool  # noqa: E402  (same generator as the disk images)

# Bump when the output of either command changes for the same arguments:
# scripts/bench_metadata.sh keys its cache of generated data on it (not on
# this file's bytes).
VERSION = 2

MTIME_BASE = 1700000000  # 2023-11-14
MTIME_SPAN = 365 * 86400
POOL_SIZE = 8 << 20

_SYLLABLES = ("ka", "to", "ri", "en", "sys", "lib", "img", "var", "log", "net", "conf",
              "data", "pro", "ex", "in", "al", "or", "an", "de", "ser", "vice", "ne",
              "mo", "dul", "boot", "core", "xt", "fs", "io", "mem", "test", "util")
_EXTENSIONS = ((".py", 18), (".txt", 12), (".json", 10), (".c", 8), (".h", 8),
               (".md", 5), (".html", 5), (".js", 9), (".csv", 5), (".yaml", 5),
               (".log", 4), (".xml", 4), (".rs", 3), ("", 4))


class _Names:
    """Made-up file and directory names, unique within one directory."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.words = ["".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 3)))
                      for _ in range(4000)]
        self.ext = [e for e, _ in _EXTENSIONS]
        self.ext_w = [w for _, w in _EXTENSIONS]

    def _stem(self) -> str:
        rng = self.rng
        s = rng.choice(self.words)
        r = rng.random()
        if r < 0.35:
            s += "_" + rng.choice(self.words)
        elif r < 0.6:
            s += str(rng.randrange(1000))
        return s

    def file(self, taken: set[str]) -> str:
        return self._unique(self._stem() + self.rng.choices(self.ext, self.ext_w)[0], taken)

    def directory(self, taken: set[str]) -> str:
        return self._unique(self._stem(), taken)

    @staticmethod
    def _unique(name: str, taken: set[str]) -> str:
        base, n = name, 1
        while name in taken:
            n += 1
            name = "%s-%d" % (base, n)
        taken.add(name)
        return name


def _spread(rng: random.Random, count: int, ndirs: int) -> list[int]:
    """``count`` files over ``ndirs`` directories, one in each (a manifest
    lists files, so an archive holds no empty directory, and the squashfs
    image of the tree must not have more), the rest with lognormal weights."""
    if ndirs == 0:
        return []
    weights = [rng.lognormvariate(0.0, 1.2) for _ in range(ndirs)]
    counts = [1] * ndirs
    for i in rng.choices(range(ndirs), weights=weights, k=count - ndirs):
        counts[i] += 1
    return counts


def _size_of(rng: random.Random, lo: int, hi: int, dist: str, empty: float) -> int:
    if empty and rng.random() < empty:
        return 0
    if dist == "uniform":
        return rng.randint(lo, hi)
    return min(hi, int(math.exp(rng.uniform(math.log(lo), math.log(hi + 1)))))


def make_tree(out: str, files: int, top: int, sub: int, lo: int, hi: int, dist: str,
              empty: float, subtree_files: int, seed: int) -> dict:
    """Create the tree under ``out``; return its summary."""
    if files < 1 or top < 2 or sub < 0 or not 0 <= subtree_files <= files:
        raise ValueError("need files >= 1, top >= 2, sub >= 0, 0 <= subtree-files <= files")
    if not 0 < lo <= hi or not 0.0 <= empty < 1.0:
        raise ValueError("need 0 < MIN <= MAX and 0 <= empty < 1")
    rng = random.Random(seed)
    pool = _text_pool(rng, POOL_SIZE)
    names = _Names(rng)

    # Directories: (relative path, index of its top-level directory), and
    # the names taken in each (its files' names must not clash with them).
    taken: set[str] = set()
    dirs: list[tuple[str, int]] = []
    used: list[set[str]] = []
    for t in range(top):
        tname = names.directory(taken)
        sub_taken: set[str] = set()
        dirs.append((tname, t))
        used.append(sub_taken)
        for _ in range(rng.randint(sub // 2, sub + sub // 2)):
            dirs.append((tname + "/" + names.directory(sub_taken), t))
            used.append(set())
    special = rng.randrange(top)
    inside = [i for i, (_, t) in enumerate(dirs) if t == special]
    outside = [i for i, (_, t) in enumerate(dirs) if t != special]
    if subtree_files < len(inside) or files - subtree_files < len(outside):
        raise ValueError("%d files cannot fill %d directories (%d of them in the subtree of "
                         "%d files)" % (files, len(dirs), len(inside), subtree_files))
    per_dir = [0] * len(dirs)
    for idx, n in zip(inside, _spread(rng, subtree_files, len(inside))):
        per_dir[idx] = n
    for idx, n in zip(outside, _spread(rng, files - subtree_files, len(outside))):
        per_dir[idx] = n

    os.mkdir(out)
    total = sub_bytes = 0
    view = memoryview(pool)
    limit = len(pool) - hi
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    for (rel, t), n, taken in zip(dirs, per_dir, used):
        path = os.path.join(out, rel)
        os.mkdir(path)
        for _ in range(n):
            size = _size_of(rng, lo, hi, dist, empty)
            mode = 0o755 if rng.random() < 0.05 else 0o644
            mtime = MTIME_BASE + rng.randrange(MTIME_SPAN)
            fd = os.open(os.path.join(path, names.file(taken)), flags, mode)
            try:
                if size:
                    off = rng.randrange(limit)
                    if os.write(fd, view[off:off + size]) != size:
                        raise OSError("short write in %s" % path)
                os.utime(fd, (mtime, mtime))
            finally:
                os.close(fd)
            total += size
            if t == special:
                sub_bytes += size
    # Directory times last: creating files changed them.
    for rel, _ in reversed(dirs):
        os.utime(os.path.join(out, rel), (MTIME_BASE, MTIME_BASE))
    os.utime(out, (MTIME_BASE, MTIME_BASE))
    return {"version": VERSION, "seed": seed, "files": files, "dirs": len(dirs) + 1,
            "bytes": total, "subtree": dirs[inside[0]][0],
            "subtree_files": subtree_files, "subtree_bytes": sub_bytes}


def manifest_json(entries: int) -> bytes:
    """A manifest of ``entries`` empty files, sorted by path (JSON text)."""
    parts = ['{"files":[']
    template = ('{"path":"d%05d/s%02d/f%08d.dat","offset":0,"size":0,'
                '"mode":33188,"mtime":%d}')
    sep = ""
    for i in range(entries):
        d = i // 10
        parts.append(sep)
        parts.append(template % (d // 100, d % 100, i, MTIME_BASE + i % MTIME_SPAN))
        sep = ","
    parts.append("]}")
    return "".join(parts).encode("ascii")


def make_manifest_archive(out: str, entries: int) -> dict:
    import hexz_writer as hw

    if entries < 1:
        raise ValueError("need at least one entry")
    meta = manifest_json(entries)
    hw.write_archive(hw.Options(main=b"", manifest_json=meta, compression="lz4"), out)
    return {"version": VERSION, "entries": entries, "manifest_bytes": len(meta)}


def _bytes_range(s: str) -> tuple[int, int, str]:
    lo, hi, dist = s.split(":")
    if dist not in ("log", "uniform"):
        raise argparse.ArgumentTypeError("DIST is log or uniform")
    return int(lo), int(hi), dist


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sp = p.add_subparsers(dest="cmd", required=True)
    t = sp.add_parser("tree", help="a directory tree of regular files")
    t.add_argument("out")
    t.add_argument("--files", type=int, required=True)
    t.add_argument("--top", type=int, required=True, help="top-level directories")
    t.add_argument("--sub", type=int, required=True,
                   help="mean subdirectories of each top-level directory")
    t.add_argument("--sizes", type=_bytes_range, default=(1024, 65536, "log"),
                   metavar="MIN:MAX:DIST", help="file sizes (default 1024:65536:log)")
    t.add_argument("--empty", type=float, default=0.0, help="share of empty files")
    t.add_argument("--subtree-files", type=int, default=0,
                   help="files of the one top-level directory made for tar")
    t.add_argument("--seed", type=int, default=1)
    m = sp.add_parser("manifest", help="an archive whose manifest lists N empty files")
    m.add_argument("out")
    m.add_argument("--entries", type=int, required=True)
    for q in (t, m):
        q.add_argument("--info", help="write the summary here (default: stdout)")
    a = p.parse_args(argv)
    try:
        if a.cmd == "tree":
            lo, hi, dist = a.sizes
            info = make_tree(a.out, a.files, a.top, a.sub, lo, hi, dist, a.empty,
                             a.subtree_files, a.seed)
        else:
            info = make_manifest_archive(a.out, a.entries)
    except (ValueError, OSError) as e:
        print("gen_tree.py: %s" % e, file=sys.stderr)
        return 1
    text = json.dumps(info, sort_keys=True) + "\n"
    if a.info:
        with open(a.info, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
