#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Regenerate the seeds of fuzz_contents (fuzz/corpus/fuzz_contents/) with the
test writer, deterministically. Each seed is a flags byte, the archive's
length (u16, little-endian), the archive, then the parent archive _p.hxz that
a thin seed names (see the top of fuzz/fuzz_contents.c). Small inputs: 512-byte
blocks, a few KiB of data (most of each archive is the 4096-byte header area).

    fuzz/make_contents_seeds.py
"""
import os
import random
import shutil
import struct
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "writer"))
import hexz_writer as hw  # noqa: E402

OUT = os.path.join(HERE, "corpus", "fuzz_contents")
SALT = bytes(range(16))


def data(n, seed):
    rng = random.Random(seed)
    out = bytearray()
    while len(out) < n:
        out += rng.choice((rng.randbytes(256), bytes(256), b"hexz text " * 25 + b"\n"))
    return bytes(out[:n])


def seed(name, flags, archive, parent=b""):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes([flags]) + struct.pack("<H", len(archive)) + archive + parent)


def main():
    for f in os.listdir(OUT):
        if not f.startswith(("crash-", "regress-")):
            os.unlink(os.path.join(OUT, f))
    m, a = data(3000, 1), data(1200, 2)
    small = dict(block_size=512, page_entries=3)
    ser = lambda **kw: hw.serialize(hw.build_archive(hw.Options(**small, **kw)))
    seed("lz4-both-streams", 0x02, ser(main=m, auxiliary=a))
    seed("zstd-main", 0x04 | 0x10, ser(main=m, compression="zstd"))
    seed("lz4-variable", 0x06, ser(main=m, variable=True, min_size=256, avg_size=512,
                                    max_size=1024))
    dictionary = hw.train_dictionary([hw.Segment(data=data(16384, 3))], 1024, 256)
    seed("zstd-dict", 0x08, ser(main=m, compression="zstd", dictionary=dictionary))
    seed("encrypted", 0x01 | 0x02, ser(main=m, auxiliary=a, password="fuzz", salt=SALT,
                                       iterations=1))
    seed("encrypted-wrong-password", 0x02, ser(main=m, password="other", salt=SALT,
                                               iterations=1))
    seed("empty", 0x00, ser(main=b""))
    tmp = tempfile.mkdtemp()
    try:
        parent = ser(main=m)
        with open(os.path.join(tmp, "_p.hxz"), "wb") as f:
            f.write(parent)
        child = hw.serialize(hw.build_archive(hw.Options(
            main=m[:1536] + b"child" * 100, parents=["_p.hxz"], base_dir=tmp, **small)))
        seed("thin-with-parent", 0x02, child, parent)
        seed("thin-without-parent", 0x02, child)
        tree = os.path.join(tmp, "tree")
        for rel, n, mode in (("README", 100, 0o644), ("a/b/c.bin", 1500, 0o600),
                             ("a/d", 0, 0o644), ("bin/x", 600, 0o4755)):
            os.makedirs(os.path.dirname(os.path.join(tree, rel)), exist_ok=True)
            with open(os.path.join(tree, rel), "wb") as f:
                f.write(data(n, n))
            os.chmod(os.path.join(tree, rel), mode)
            os.utime(os.path.join(tree, rel), (1764000000, 1764000000))
        seed("manifest", 0x0a, ser(directory=tree))
    finally:
        shutil.rmtree(tmp)
    print("%d seeds in %s" % (len(os.listdir(OUT)), OUT))


if __name__ == "__main__":
    main()
