#!/usr/bin/python3
"""Generate deterministic bytes shaped like a used disk image, for benchmarks.

    gen_disk_image.py SIZE OUT [--seed N] [--max-segment SIZE]

SIZE accepts K/M/G suffixes (binary).  The image is a sequence of 4 KiB
aligned segments of four kinds, chosen by a seeded PRNG:

* random bytes (compressed media, encrypted files): incompressible;
* text (logs, configuration, source): words and numbers in lines;
* binary (executables, databases): bytes from a skewed distribution, which
  LZ4 hardly compresses but zstd's entropy coder does;
* zeros (free space).

With the default mix, 64 KiB blocks shrink about 1.5x with LZ4 and about 2x
with zstd (zero blocks included).  The same SIZE and seed always give the
same bytes.
"""

from __future__ import annotations

import argparse
import random
import sys

# (kind, weight) of the segments; tuned for ~1.5x LZ4 and ~2x zstd
MIX = (("random", 24), ("text", 40), ("binary", 21), ("zeros", 15))
SEGMENT_MIN = 4096
SEGMENT_MAX = 1 << 20

_SYLLABLES = ("ka", "to", "ri", "en", "sys", "lib", "usr", "var", "log", "net", "conf",
              "data", "pro", "ex", "in", "al", "or", "an", "de", "ser", "vice", "ne",
              "mo", "dul", "boot", "core", "xt", "fs", "io", "mem")


def _text_pool(rng: random.Random, size: int) -> bytes:
    """Pseudo-text: lines of Zipf-distributed made-up words and numbers."""
    words = ["".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4)))
             for _ in range(3000)]
    cum, acc = [], 0.0
    for i in range(len(words)):
        acc += 1.0 / (i + 1)
        cum.append(acc)
    picked = rng.choices(words, cum_weights=cum, k=size // 5)
    for i in range(0, len(picked), 7):
        r = rng.random()
        if r < 0.3:
            picked[i] = "%08d" % rng.randrange(10**8)
        elif r < 0.5:
            picked[i] = "=%d\n" % rng.randrange(100000)
        else:
            picked[i] += "\n"
    return " ".join(picked).encode("ascii")[:size]


def _binary_table(rng: random.Random) -> bytes:
    """A 256-entry translation giving a skewed byte distribution (mostly small
    values and 0x00/0xff), applied to random bytes."""
    out = bytearray()
    for i in range(256):
        r = rng.random()
        if r < 0.10:
            out.append(0)
        elif r < 0.16:
            out.append(0xFF)
        else:
            out.append(min(255, int(rng.expovariate(1 / 12.0))))
    return bytes(out)


def generate(size: int, out, seed: int = 1, max_segment: int = SEGMENT_MAX) -> None:
    """Write ``size`` bytes of disk-like data to the binary file ``out``;
    segments are 4 KiB to ``max_segment`` bytes long."""
    rng = random.Random(seed)
    pool = _text_pool(rng, 2 << 20)
    table = _binary_table(rng)
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    written = 0
    while written < size:
        kind = rng.choices(kinds, weights)[0]
        n = rng.randint(SEGMENT_MIN // 4096, max(1, max_segment // 4096)) * 4096
        n = min(n, size - written)
        if kind == "random":
            data = rng.randbytes(n)
        elif kind == "text":
            parts = []
            left = n
            while left:
                start = rng.randrange(len(pool) - 65536)
                take = min(left, rng.randint(4096, 65536))
                parts.append(pool[start:start + take])
                left -= take
            data = b"".join(parts)
        elif kind == "binary":
            data = rng.randbytes(n).translate(table)
        else:
            data = bytes(n)
        out.write(data)
        written += n


def _size(s: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    s = s.strip().lower()
    if s and s[-1] in units:
        return int(float(s[:-1]) * units[s[-1]])
    return int(s, 0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("size", type=_size)
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max-segment", type=_size, default=SEGMENT_MAX,
                   help="longest run of one kind of data (default 1M)")
    a = p.parse_args(argv)
    if a.out == "-":
        generate(a.size, sys.stdout.buffer, a.seed, a.max_segment)
    else:
        with open(a.out, "wb") as f:
            generate(a.size, f, a.seed, a.max_segment)
    return 0


if __name__ == "__main__":
    sys.exit(main())
