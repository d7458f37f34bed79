#!/usr/bin/python3
"""Derive thousands of hostile hexz archives from valid ones (issue 13).

    gen_hostile.py OUTDIR [--seed N] [--scale F] [--batch N]

Valid *origins* of every kind are built with the project's own writer
(tests/writer/hexz_writer.py): LZ4 and zstd with both streams and several
index pages, content-defined blocks, a zstd dictionary, encrypted LZ4 and
zstd, a thin archive and its parent, a directory archive with a manifest.
Each is then damaged in many ways:

* bit flips and byte overwrites in the header, the master index, the index
  pages, the blocks, the dictionary and the manifest;
* truncation at and around every structure boundary, and at 0, 1, 4095 and
  4096 bytes;
* structural lies written in place: vector counts of 2^60, page and block
  offsets past the end, into the header, into the index, offsets whose sum
  with the length overflows, lengths of 0 and 2^32-1, logical_len of 0, of
  2^32-1 and of 16 MiB + 1 (alone, and made consistent with the stream
  sizes), page starts that disagree with their blocks, overlapping,
  duplicated and out-of-order pages, stream sizes of 0 and 2^64-1;
* codec lies with the CRC-32 recomputed so that they reach the codec: an
  LZ4 size prefix that lies, LZ4 and zstd blocks that expand far beyond
  logical_len (decompression bombs, with and without a declared content
  size), garbage blocks, garbage dictionaries;
* encryption: a wrong password, a tampered tag (CRC fixed), iteration
  counts of 0, 999, 10,000,001 and 2^32-1, a flipped salt, the encryption
  field removed or added;
* parents: missing, a directory, a FIFO, a device (a link to /dev/zero),
  a symlink loop, a cycle a->b->a, a chain of 100, a path with a newline,
  a path with an embedded NUL byte, parents outside the snapshot directory
  (absolute, through '..', through a symbolic link), damaged parents;
* manifests: invalid JSON, wrong types, '..', absolute and odd paths,
  duplicates, a file and a directory of one name, names past NAME_MAX and
  paths past PATH_MAX, 100,000 entries, ranges past the stream, negative
  and huge numbers.

Everything is deterministic for a given --seed. Output:

    OUTDIR/batches/NAME/...      the archives, in batch directories, each one
                                 mounted on its own (SNAPSHOT_DIR); parents
                                 of thin archives lie in the same directory
    OUTDIR/outside/              parents that lie outside every batch
    OUTDIR/expect/               the origins' streams and manifest files
    OUTDIR/passfile              the password of the encrypted origins (0600)
    OUTDIR/hostile.json          what each archive is and what a reader of it
                                 may see (read by hostile_check.py)

hostile.json: {"origins": {NAME: {"main": FILE|null, "auxiliary": FILE|null,
"tree": {PATH: [OFFSET, SIZE]}|null}}, "batches": [NAME...], "archives":
[{"batch", "path" (in the batch), "origin", "category", "what",
"expect": "shown"|"hidden"|null, "verify": "streams"|"all"|"none",
"layout": {STREAM: [[START, LENGTH, KIND, SOURCE]...]}|absent,
"ranges": {PATH: [OFFSET, SIZE]}|absent, "formula": {...}|absent}]}.

verify "all": every byte read must be the origin's (through the layout: KIND
"same" compares with the origin's stream at SOURCE, "fail" must not read,
"skip" is not compared); "streams": only the files `main` and `auxiliary`
are compared (the manifest or the parent chain was damaged in a way that
may legitimately show other files or other bytes); "none": only that the
daemon answers and stays up.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "writer"))
import hexz_writer as hw  # noqa: E402
from make_corpus import mixed  # noqa: E402  (disk-image-like bytes)

import lz4.block  # noqa: E402
import zstandard  # noqa: E402

PASSWORD = "hostile-password"
SALT = bytes(range(16))
ITERATIONS = 1000
BS = 4096
U64 = (1 << 64) - 1
U32 = (1 << 32) - 1


# ---------------------------------------------------------------- origins

class Origin:
    """A valid archive, its bytes and where each structure lies in them."""

    def __init__(self, name: str, arch: hw.Archive, main: bytes | None,
                 aux: bytes | None, tree: dict | None = None):
        self.name = name
        self.arch = arch
        self.data = hw.serialize(arch)
        self.main, self.aux, self.tree = main, aux, tree
        self.thin = bool(arch.header.parent_paths)
        self.encrypted = arch.header.encryption is not None
        self.lz4 = arch.header.compression == hw.COMPRESSION_LZ4
        self.header_len = len(arch.header.encode())
        self.master_off = arch.index_file_offset
        self.master_len = len(arch.master.encode())
        # Global block number -> (page entry, index in page, record).
        self.entries = []
        records = {r.number: r for r in arch.blocks}
        for page in arch.pages():
            for j, info in enumerate(page.blocks):
                n = page.entry.start_block + j
                self.entries.append((page, j, records[n]))
        self.data_blocks = [e for e in self.entries if e[2].info.kind == "data"]

    def sizes(self) -> dict:
        return {"main": len(self.main or b""), "auxiliary": len(self.aux or b"")}

    def regions(self) -> dict:
        """Byte ranges of each structure: name -> [(start, end)]."""
        h = self.arch.header
        r = {"header": [(0, self.header_len)],
             "master": [(self.master_off, self.master_off + self.master_len)],
             "pages": [(p.file_offset, p.file_offset + len(p.encode()))
                       for p in self.arch.pages()],
             "blocks": sorted({(e[2].info.offset, e[2].info.offset + e[2].info.length)
                               for e in self.data_blocks})}
        if h.dictionary_offset is not None:
            r["dictionary"] = [(h.dictionary_offset, h.dictionary_offset + h.dictionary_length)]
        if h.metadata_offset is not None:
            r["manifest"] = [(h.metadata_offset, h.metadata_offset + h.metadata_length)]
        return r

    def page_entry_pos(self, stream: str, i: int) -> int:
        """File offset of master-index page entry i of a stream."""
        nm = len(self.arch.master.main_pages)
        base = self.master_off + 8
        if stream == "auxiliary":
            base += 28 * nm + 8
        return base + 28 * i

    def sizes_pos(self) -> int:
        m = self.arch.master
        return self.master_off + 8 + 28 * len(m.main_pages) + 8 + 28 * len(m.auxiliary_pages)

    def entry_pos(self, page: hw.Page, j: int) -> int:
        return page.file_offset + 8 + 52 * j


def build_origins(tmp: str) -> dict[str, Origin]:
    m = mixed(32 * 1024 + 123, 1)
    a = mixed(12 * 1024 + 7, 2)
    o: dict[str, Origin] = {}

    def simple(name, main, aux, **kw):
        opts = hw.Options(main=main, auxiliary=aux, block_size=BS, page_entries=3, **kw)
        o[name] = Origin(name, hw.build_archive(opts), main, aux)

    simple("lz4", m, a)
    simple("zstd", m, a, compression="zstd")
    simple("lz4var", m, a, variable=True, min_size=1024, avg_size=2048, max_size=8192)
    dictionary = hw.train_dictionary([hw.Segment(data=mixed(64 * 1024, 3))], 4096, 1024)
    simple("dict", m, a, compression="zstd", dictionary=dictionary)
    simple("enc", m, a, password=PASSWORD, salt=SALT, iterations=ITERATIONS)
    simple("enczstd", m, None, compression="zstd", password=PASSWORD, salt=SALT,
           iterations=ITERATIONS)

    # A thin child and its parent; the parent is written where the child
    # finds it while it is built (by hash), then copied into every batch.
    base_main = mixed(24 * 1024, 4)
    base_aux = mixed(8 * 1024, 5)
    simple("thinbase", base_main, base_aux)
    with open(os.path.join(tmp, "_p_thinbase.hxz"), "wb") as f:
        f.write(o["thinbase"].data)
    child_main = base_main[:BS * 3] + mixed(BS * 2, 6) + base_aux[:BS] + b"child tail"
    child_aux = base_main[BS * 4:]
    opts = hw.Options(main=child_main, auxiliary=child_aux, block_size=BS, page_entries=3,
                      parents=["_p_thinbase.hxz"], base_dir=tmp)
    o["thin"] = Origin("thin", hw.build_archive(opts), child_main, child_aux)

    # A directory archive: files of 0 to 3 blocks, nested directories.
    root = os.path.join(tmp, "tree")
    files = {
        "README": b"hostile corpus\n",
        "etc/hosts": b"127.0.0.1 localhost\n" * 20,
        "etc/empty": b"",
        "var/lib/blob.bin": mixed(3 * BS + 100, 7),
        "var/lib/zeros": bytes(2 * BS),
        "a/b/c/d/deep.txt": b"deep\n",
        "private.key": b"not a key\n",
    }
    for rel, data in files.items():
        full = os.path.join(root, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)
        os.chmod(full, 0o600 if rel == "private.key" else 0o644)
        os.utime(full, (1764000000, 1764000000))
    arch = hw.build_archive(hw.Options(directory=root, block_size=BS, page_entries=3))
    main = b"".join(files[e["path"]] for e in arch.manifest["files"])
    tree = {e["path"]: [e["offset"], e["size"]] for e in arch.manifest["files"]}
    o["manifest"] = Origin("manifest", arch, main, None, tree)
    return o


# ------------------------------------------------------------- mutations

def marked(o: "Origin", stream: str, start: int, length: int, kind: str) -> dict:
    """A layout: the origin's stream, with [start, start + length) of `kind`."""
    size = o.sizes()[stream]
    return {stream: [[0, start, "same", 0], [start, length, kind, start],
                     [start + length, size - start - length, "same", start + length]]}


def put(buf: bytearray, off: int, fmt: str, value: int) -> None:
    struct.pack_into(fmt, buf, off, value & ((1 << (8 * struct.calcsize(fmt))) - 1))


def get(buf: bytes, off: int, fmt: str) -> int:
    return struct.unpack_from(fmt, buf, off)[0]


def set_crc(o: Origin, buf: bytearray, page: hw.Page, j: int, stored: bytes) -> None:
    put(buf, o.entry_pos(page, j) + 16, "<I", zlib.crc32(stored))


class Generator:
    def __init__(self, out: str, seed: int, scale: float, batch: int):
        self.out = out
        self.rng = random.Random(seed)
        self.scale = scale
        self.batch_size = batch
        self.records: list[dict] = []
        self.batches: list[str] = []
        self.count_in_batch = batch
        self.n = 0

    def n_of(self, k: int) -> int:
        return max(1, int(round(k * self.scale)))

    # -- output
    def new_batch(self, name: str | None = None) -> str:
        name = name or "b%02d" % len(self.batches)
        os.makedirs(os.path.join(self.out, "batches", name), exist_ok=True)
        self.batches.append(name)
        self.count_in_batch = 0
        if os.path.exists(os.path.join(self.out, "expect", "_p_thinbase.hxz")):
            shutil.copy(os.path.join(self.out, "expect", "_p_thinbase.hxz"),
                        os.path.join(self.out, "batches", name, "_p_thinbase.hxz"))
            self.records.append({"batch": name, "path": "_p_thinbase.hxz",
                                 "origin": "thinbase", "category": "origin",
                                 "what": "the parent of the thin archives", "expect": "shown",
                                 "verify": "all"})
        return name

    def emit(self, o: Origin | None, data: bytes, category: str, what: str,
             verify: str = "all", expect: str | None = None, name: str | None = None,
             batch: str | None = None, **extra) -> str:
        if batch is None:
            if self.count_in_batch >= self.batch_size:
                self.new_batch()
            batch = self.batches[-1]
            self.count_in_batch += 1
        self.n += 1
        name = name or "%05d-%s-%s.hxz" % (self.n, o.name if o else "x", category)
        with open(os.path.join(self.out, "batches", batch, name), "wb") as f:
            f.write(data)
        rec = {"batch": batch, "path": name, "origin": o.name if o else None,
               "category": category, "what": what, "expect": expect, "verify": verify}
        rec.update(extra)
        self.records.append(rec)
        return name

    # -- generic damage of one origin
    def region_verify(self, o: Origin, region: str) -> str:
        """How much of a damaged archive can still be compared byte for byte."""
        if region == "dictionary":
            # Format 1 covers neither the dictionary nor the decompressed
            # bytes with a checksum: other bytes are possible (reported).
            return "none"
        if region == "manifest" or (o.tree is not None and region == "header"):
            return "streams"
        if o.thin and region in ("header", "master", "pages"):
            # A damaged hash or parent path sends a parent reference to
            # another block (by position), as the format says to.
            return "none"
        return "all"

    def flips(self, o: Origin) -> None:
        regions = o.regions()
        for region, ranges in regions.items():
            total = sum(e - s for s, e in ranges)
            if total == 0:
                continue
            for k in range(self.n_of(24)):
                buf = bytearray(o.data)
                what = []
                for _ in range(1 + (k % 3 == 2)):
                    s, e = self.rng.choice(ranges)
                    pos = self.rng.randrange(s, e)
                    bit = self.rng.randrange(8)
                    buf[pos] ^= 1 << bit
                    what.append("%d.%d" % (pos, bit))
                self.emit(o, bytes(buf), "flip-" + region,
                          "bit flip in the %s at %s" % (region, ", ".join(what)),
                          self.region_verify(o, region))
            for k in range(self.n_of(10)):
                buf = bytearray(o.data)
                s, e = self.rng.choice(ranges)
                pos = self.rng.randrange(s, e)
                n = min(self.rng.choice((1, 1, 2, 4, 8)), e - pos)
                fill = self.rng.choice((b"\xff", b"\x00", b"\x7f", b"\x80",
                                        bytes([self.rng.randrange(256)])))
                buf[pos:pos + n] = fill * n
                self.emit(o, bytes(buf), "overwrite-" + region,
                          "%d bytes of %s overwritten with %s at %d"
                          % (n, region, fill.hex(), pos), self.region_verify(o, region))

    def truncations(self, o: Origin) -> None:
        cuts = {0, 1, 4095, 4096, 4097, len(o.data) - 1, o.header_len - 1, o.header_len}
        for ranges in o.regions().values():
            for s, e in ranges:
                cuts |= {s - 1, s, s + 1, e - 1, e, e + 1}
        for c in sorted(x for x in cuts if 0 <= x < len(o.data)):
            self.emit(o, o.data[:c], "truncate", "cut to %d bytes" % c)

    def structural(self, o: Origin) -> None:
        """Lies about counts, offsets and lengths, written in place."""
        d = o.data
        size = len(d)
        cases = []  # (description, position, format, value)
        for stream in ("main", "auxiliary"):
            pages = o.arch.master.main_pages if stream == "main" else o.arch.master.auxiliary_pages
            count_pos = o.page_entry_pos(stream, 0) - 8
            for v in (1 << 60, 1 << 32, len(pages) + 1, 0, U64):
                cases.append(("%s page count %d" % (stream, v), count_pos, "<Q", v))
            if not pages:
                continue
            e0 = o.page_entry_pos(stream, 0)
            plen = pages[0].length
            for v in (size, size + 1, U64, 0, 100, o.master_off, U64 - 8, (1 << 63)):
                cases.append(("%s page 0 offset %d" % (stream, v), e0, "<Q", v))
            for v in (0, U32, plen + 52, plen - 52, 8):
                cases.append(("%s page 0 length %d" % (stream, v), e0 + 8, "<I", v))
            for v in (1, 1000, U64, 1 << 40):
                cases.append(("%s page 0 start_block %d" % (stream, v), e0 + 12, "<Q", v))
            for v in (1, U64, 1 << 63):
                cases.append(("%s page 0 start_logical %d" % (stream, v), e0 + 20, "<Q", v))
            if len(pages) > 1:
                e1 = o.page_entry_pos(stream, 1)
                p1 = pages[1]
                for v in (p1.start_logical + 1, p1.start_logical - 1, 0, 1 << 63):
                    cases.append(("%s page 1 start_logical %d (disagrees with its blocks)"
                                  % (stream, v), e1 + 20, "<Q", v))
                for v in (pages[0].start_block, p1.start_block + 1000, U64):
                    cases.append(("%s page 1 start_block %d (overlap, gap)" % (stream, v),
                                  e1 + 12, "<Q", v))
        sp = o.sizes_pos()
        for v in (0, 1, U64, 1 << 63, o.arch.master.main_size + 1, o.arch.master.main_size - 1):
            cases.append(("main_size %d" % v, sp, "<Q", v))
        for v in (U64, o.arch.master.auxiliary_size + 4096):
            cases.append(("auxiliary_size %d" % v, sp + 8, "<Q", v))
        # Index pages: counts.
        for page in o.arch.pages()[:2]:
            for v in (1 << 60, 0, len(page.blocks) + 1, len(page.blocks) - 1, U64):
                cases.append(("page at %d: count %d" % (page.file_offset, v),
                              page.file_offset, "<Q", v))
        # Block entries: offsets, lengths, logical lengths.
        picks = o.data_blocks[:1] + self.rng.sample(o.data_blocks[1:], min(2, len(o.data_blocks) - 1))
        for page, j, rec in picks:
            ep = o.entry_pos(page, j)
            info = rec.info
            for v in (size, size - 1, 0, 100, 4000, o.master_off, page.file_offset, U64,
                      U64 - info.length + 2, 1 << 63):
                cases.append(("block %d offset %d" % (rec.number, v), ep, "<Q", v))
            for v in (0, U32, info.length + 1, info.length - 1, 1):
                cases.append(("block %d length %d" % (rec.number, v), ep + 8, "<I", v))
            for v in (0, U32, (16 << 20) + 1, info.logical_len + 1, info.logical_len - 1):
                cases.append(("block %d logical_len %d" % (rec.number, v), ep + 12, "<I", v))
        for desc, pos, fmt, v in cases:
            buf = bytearray(d)
            put(buf, pos, fmt, v)
            self.emit(o, bytes(buf), "struct", desc, "none" if o.thin else "all")
        # Out of order and duplicated pages.
        for stream in ("main", "auxiliary"):
            pages = o.arch.master.main_pages if stream == "main" else o.arch.master.auxiliary_pages
            if len(pages) < 2:
                continue
            e0, e1 = o.page_entry_pos(stream, 0), o.page_entry_pos(stream, 1)
            buf = bytearray(d)
            buf[e0:e0 + 28], buf[e1:e1 + 28] = d[e1:e1 + 28], d[e0:e0 + 28]
            self.emit(o, bytes(buf), "struct", "%s pages 0 and 1 swapped" % stream,
                      "none" if o.thin else "all")
            buf = bytearray(d)
            buf[e1:e1 + 28] = d[e0:e0 + 28]
            self.emit(o, bytes(buf), "struct", "%s page 0 listed twice (overlap)" % stream,
                      "none" if o.thin else "all")
            buf = bytearray(d)
            put(buf, e1, "<Q", pages[0].offset)
            self.emit(o, bytes(buf), "struct", "%s page 1 points at page 0's bytes" % stream,
                      "none" if o.thin else "all")
        self.consistent_logical(o)

    def consistent_logical(self, o: Origin) -> None:
        """A block's logical_len changed with the stream size and the later
        pages moved to match: the index is consistent, the block is not."""
        if o.thin:
            return
        page, j, rec = next(e for e in o.data_blocks if e[2].stream == "main")
        old = rec.info.logical_len
        for new in (0, U32, (16 << 20) + 1, old + 1, old - 1):
            delta = new - old
            buf = bytearray(o.data)
            put(buf, o.entry_pos(page, j) + 12, "<I", new)
            put(buf, o.sizes_pos(), "<Q", o.arch.master.main_size + delta)
            for i, pe in enumerate(o.arch.master.main_pages):
                if pe.start_logical > rec.logical_offset:
                    put(buf, o.page_entry_pos("main", i) + 20, "<Q", pe.start_logical + delta)
            start = rec.logical_offset
            rest = len(o.main) - (start + old)
            layout = {"main": [[0, start, "same", 0], [start, new, "fail", 0],
                               [start + new, rest, "same", start + old]]}
            self.emit(o, bytes(buf), "logical-len",
                      "block %d logical_len %d -> %d, stream sizes and pages consistent"
                      % (rec.number, old, new), "streams" if o.tree else "all",
                      layout=layout)

    def codec_lies(self, o: Origin) -> None:
        """Stored bytes replaced with the CRC fixed, so that the codec sees them."""
        if o.encrypted or o.thin:
            return
        targets = [e for e in o.data_blocks if e[2].info.logical_len > 64][:3]
        for page, j, rec in targets:
            info = rec.info
            stored = o.data[info.offset:info.offset + info.length]
            fail = marked(o, rec.stream, rec.logical_offset, info.logical_len, "fail")
            skip = marked(o, rec.stream, rec.logical_offset, info.logical_len, "skip")
            shared = sum(1 for e in o.data_blocks if e[2].info.offset == info.offset) > 1
            if shared:
                continue  # a shared block's layout would be two ranges: keep it simple
            if o.lz4:
                for v in (info.logical_len + 1, info.logical_len - 1, 0, U32, 1 << 31, 16 << 20):
                    new = struct.pack("<I", v) + stored[4:]
                    buf = bytearray(o.data)
                    buf[info.offset:info.offset + len(new)] = new
                    set_crc(o, buf, page, j, new)
                    self.emit(o, bytes(buf), "lz4-prefix",
                              "block %d: LZ4 size prefix %d for logical_len %d"
                              % (rec.number, v, info.logical_len), layout=fail)
                # A valid LZ4 block that expands past logical_len (a bomb).
                for n in (info.logical_len + 1, 4 << 20, (16 << 20) + 4096):
                    bomb = struct.pack("<I", info.logical_len) + lz4.block.compress(
                        bytes(n), store_size=False)
                    self.append_block(o, page, j, rec, bomb, "lz4-bomb",
                                      "block %d: LZ4 data decoding to %d bytes, logical_len %d"
                                      % (rec.number, n, info.logical_len), fail)
            else:
                for n, content_size in ((64 << 20, True), (64 << 20, False),
                                        (info.logical_len + 1, True),
                                        (info.logical_len - 1, True),
                                        (info.logical_len + 1, False)):
                    cctx = zstandard.ZstdCompressor(level=1, write_content_size=content_size)
                    if content_size:
                        bomb = cctx.compress(bytes(n))
                    else:
                        cobj = cctx.compressobj()
                        bomb = cobj.compress(bytes(n)) + cobj.flush()
                    self.append_block(o, page, j, rec, bomb, "zstd-bomb",
                                      "block %d: zstd frame of %d bytes (%s content size), "
                                      "logical_len %d" % (rec.number, n,
                                                          "declared" if content_size else "no",
                                                          info.logical_len), fail)
                # Other data of exactly logical_len: the format cannot tell.
                other = zstandard.ZstdCompressor().compress(b"x" * info.logical_len)
                self.append_block(o, page, j, rec, other, "zstd-other",
                                  "block %d: another frame of the right size" % rec.number, skip)
            # Garbage of the stored length, CRC fixed.
            for k in range(2):
                g = bytearray(self.rng.randbytes(info.length))
                if o.lz4:
                    g[0:4] = struct.pack("<I", info.logical_len)
                buf = bytearray(o.data)
                buf[info.offset:info.offset + info.length] = g
                set_crc(o, buf, page, j, bytes(g))
                self.emit(o, bytes(buf), "garbage-block",
                          "block %d: random stored bytes, CRC fixed" % rec.number, layout=skip)

    def append_block(self, o, page, j, rec, stored, category, what, layout) -> None:
        """Point block entry j of `page` at `stored`, appended at the end."""
        buf = bytearray(o.data)
        ep = o.entry_pos(page, j)
        put(buf, ep, "<Q", len(buf))
        put(buf, ep + 8, "<I", len(stored))
        set_crc(o, buf, page, j, stored)
        self.emit(o, bytes(buf) + stored, category, what, layout=layout)

    def dictionary_cases(self, o: Origin) -> None:
        h = o.arch.header
        if h.dictionary_offset is None:
            return
        off, n = h.dictionary_offset, h.dictionary_length
        for k in range(3):
            buf = bytearray(o.data)
            buf[off:off + n] = self.rng.randbytes(n)
            self.emit(o, bytes(buf), "garbage-dict", "the dictionary replaced by random bytes",
                      "none")
        buf = bytearray(o.data)
        buf[off + 8:off + n] = bytes(n - 8)
        self.emit(o, bytes(buf), "garbage-dict", "the dictionary zeroed after its magic and ID",
                  "none")
        for v in (0, 1, U32, 16 << 20, (16 << 20) + 1, n + 1):
            hdr = self.header_with(o, dictionary_length=v)
            self.emit(o, hdr, "dict-length", "dictionary_length %d" % v, "none")
        for v in (0, 100, o.master_off, len(o.data), U64):
            hdr = self.header_with(o, dictionary_offset=v)
            self.emit(o, hdr, "dict-offset", "dictionary_offset %d" % v, "none")

    def header_with(self, o: Origin, **fields) -> bytes:
        """The origin with header fields replaced (re-encoded at 0)."""
        h = hw.Header(**{f: getattr(o.arch.header, f) for f in o.arch.header.__dataclass_fields__})
        for k, v in fields.items():
            setattr(h, k, v)
        enc = h.encode()
        if len(enc) > hw.HEADER_SIZE:
            # Over the first data bytes, as hexz itself writes it.
            return enc + o.data[len(enc):]
        return enc.ljust(hw.HEADER_SIZE, b"\0") + o.data[hw.HEADER_SIZE:]

    def header_cases(self, o: Origin) -> None:
        size = len(o.data)
        v = "none" if o.thin else "all"
        for val in (0, 100, 4095, size, size + 1, U64, o.master_off + 1, o.master_off - 1):
            self.emit(o, self.header_with(o, index_offset=val), "header",
                      "index_offset %d" % val, v)
        for val in (0, 2, U32):
            self.emit(o, self.header_with(o, version=val), "header", "version %d" % val, v,
                      expect="hidden")
        self.emit(o, self.header_with(o, magic=b"HEXY"), "header", "bad magic", v,
                  expect="hidden")
        for val in (2, U32):
            self.emit(o, self.header_with(o, compression=val), "header", "compression %d" % val,
                      v, expect="hidden")
        self.emit(o, self.header_with(o, compression=1 - o.arch.header.compression),
                  "header", "the other codec", v)
        for val in (0, U32):
            self.emit(o, self.header_with(o, block_size=val), "header", "block_size %d" % val, v)
        # Option tags other than 0 and 1, bools other than 0 and 1.
        enc = bytearray(o.data)
        enc[o.header_len - 1] = 7
        self.emit(o, bytes(enc), "header", "last header byte 7 (bad tag or bool)", v)
        # A count of parent paths of 2^60 (vector of 2^60 strings).
        buf = bytearray(o.data)
        put(buf, 20, "<Q", 1 << 60)
        self.emit(o, bytes(buf), "header", "parent_paths count 2^60", v, expect="hidden")
        buf = bytearray(o.data)
        put(buf, 20, "<Q", 1)
        buf[28:36] = struct.pack("<Q", 1 << 60)
        self.emit(o, bytes(buf), "header", "a parent path of 2^60 bytes", v, expect="hidden")
        if o.tree is not None:
            h = o.arch.header
            for off, ln in ((size, 10), (h.metadata_offset, U32), (0, h.metadata_length),
                            (U64, 1), (h.metadata_offset + 1, h.metadata_length - 1)):
                self.emit(o, self.header_with(o, metadata_offset=off, metadata_length=ln),
                          "header", "metadata at %d, %d bytes" % (off, ln), "streams")

    def encryption_cases(self, o: Origin) -> None:
        if not o.encrypted:
            # Claims to be encrypted: the password proof fails.
            self.emit(o, self.header_with(o, encryption=hw.Encryption(SALT, ITERATIONS)),
                      "enc-added", "encryption field added to a plain archive",
                      expect="hidden")
            return
        for it in (0, 999, 10_000_001, U32):
            self.emit(o, self.header_with(o, encryption=hw.Encryption(SALT, it)),
                      "enc-iterations", "PBKDF2 iterations %d" % it, expect="hidden")
        salt = bytearray(SALT)
        salt[5] ^= 0x10
        self.emit(o, self.header_with(o, encryption=hw.Encryption(bytes(salt), ITERATIONS)),
                  "enc-salt", "one salt bit flipped", expect="hidden")
        self.emit(o, self.header_with(o, encryption=None), "enc-removed",
                  "encryption field removed: ciphertext taken as plain blocks",
                  layout={s: [[0, n, "fail", 0]] for s, n in o.sizes().items()})
        # The wrong password: the same data under another one.
        opts = hw.Options(main=o.main, auxiliary=o.aux, block_size=BS, page_entries=3,
                          password="another-password", salt=SALT, iterations=ITERATIONS,
                          compression="lz4" if o.lz4 else "zstd")
        self.emit(o, hw.serialize(hw.build_archive(opts)), "enc-password",
                  "encrypted with another password", expect="hidden")
        # Tampered tags, CRC fixed: AES-GCM refuses the block.
        for page, j, rec in o.data_blocks[1:4]:
            info = rec.info
            stored = bytearray(o.data[info.offset:info.offset + info.length])
            stored[-1 - self.rng.randrange(16)] ^= 1 << self.rng.randrange(8)
            buf = bytearray(o.data)
            buf[info.offset:info.offset + info.length] = stored
            set_crc(o, buf, page, j, bytes(stored))
            self.emit(o, bytes(buf), "enc-tag", "block %d: tag bit flipped, CRC fixed"
                      % rec.number,
                      layout=marked(o, rec.stream, rec.logical_offset, info.logical_len,
                                    "fail"))
            stored = bytearray(o.data[info.offset:info.offset + info.length])
            stored[0] ^= 0x01
            buf = bytearray(o.data)
            buf[info.offset:info.offset + info.length] = stored
            set_crc(o, buf, page, j, bytes(stored))
            self.emit(o, bytes(buf), "enc-ciphertext",
                      "block %d: ciphertext bit flipped, CRC fixed" % rec.number,
                      layout=marked(o, rec.stream, rec.logical_offset, info.logical_len,
                                    "fail"))

    # -- parents
    def parent_cases(self, origins: dict[str, Origin]) -> None:
        thin = origins["thin"]
        b = self.new_batch("parents")
        bdir = os.path.join(self.out, "batches", b)
        outside = os.path.join(self.out, "outside")
        os.makedirs(outside, exist_ok=True)
        with open(os.path.join(outside, "_p_outside.hxz"), "wb") as f:
            f.write(origins["thinbase"].data)

        def child(parents: list, what: str, expect, name=None, verify="all"):
            return self.emit(thin, self.header_with(thin, parent_paths=parents), "parent",
                             what, verify, expect=expect, name=name, batch=b)

        child(["_p_thinbase.hxz"], "the valid thin archive", "shown")
        child(["_p_missing.hxz"], "missing parent", "hidden")
        os.mkdir(os.path.join(bdir, "_p_dir.hxz"))
        child(["_p_dir.hxz"], "parent is a directory", "hidden")
        os.mkfifo(os.path.join(bdir, "_p_fifo.hxz"))
        child(["_p_fifo.hxz"], "parent is a FIFO", "hidden")
        os.symlink("/dev/zero", os.path.join(bdir, "_p_zero.hxz"))
        child(["_p_zero.hxz"], "parent is a link to /dev/zero", "hidden")
        child(["/dev/zero"], "parent is /dev/zero", "hidden")
        child(["/dev/null"], "parent is /dev/null", "hidden")
        os.symlink("_p_loop2.hxz", os.path.join(bdir, "_p_loop1.hxz"))
        os.symlink("_p_loop1.hxz", os.path.join(bdir, "_p_loop2.hxz"))
        child(["_p_loop1.hxz"], "parent is a symlink loop", "hidden")
        child([""], "empty parent path", "hidden")
        child(["."], "parent path '.'", "hidden")
        child(["/"], "parent path '/'", "hidden")
        child(["_p_thinbase.hxz/"], "parent path with a trailing slash", "hidden")
        child(["x" * 5000], "parent path of 5000 bytes", "hidden")
        child(["d/" * 2100 + "p.hxz"], "parent path past PATH_MAX", "hidden")
        child(["_p_thinbase.hxz\0evil"], "parent path with an embedded NUL byte", "hidden")
        # A newline in the name is just a name.
        nl = "_p_new\nline.hxz"
        shutil.copy(os.path.join(bdir, "_p_thinbase.hxz"), os.path.join(bdir, nl))
        self.records.append({"batch": b, "path": nl, "origin": "thinbase", "category": "parent",
                             "what": "a parent whose name holds a newline", "expect": "shown",
                             "verify": "all"})
        child([nl], "parent path with a newline", "shown")
        # Outside SNAPSHOT_DIR: absolute, through '..', through a link.
        child([os.path.join(outside, "_p_outside.hxz")], "parent outside, absolute path",
              "hidden", name="out-absolute.hxz")
        child(["../../outside/_p_outside.hxz"], "parent outside, through '..'", "hidden",
              name="out-dotdot.hxz")
        os.symlink(os.path.join("..", "..", "outside", "_p_outside.hxz"),
                   os.path.join(bdir, "_p_outlink.hxz"))
        child(["_p_outlink.hxz"], "parent outside, through a symbolic link", "hidden",
              name="out-symlink.hxz")
        child(["_p_thinbase.hxz", "_p_missing.hxz"], "a second parent missing", "hidden")
        child(["_p_thinbase.hxz"] * 40, "the same parent 40 times", None)
        child(["_p_thinbase.hxz"] * 100, "the same parent 100 times", None)
        # A cycle a -> b -> a, and an archive that is its own parent.
        base = origins["thinbase"]
        for me, other in (("_p_cyc_a.hxz", "_p_cyc_b.hxz"), ("_p_cyc_b.hxz", "_p_cyc_a.hxz")):
            self.emit(base, self.header_with(base, parent_paths=[other]), "parent",
                      "cycle %s -> %s" % (me, other), expect="hidden", name=me, batch=b)
        self.emit(base, self.header_with(base, parent_paths=["_p_self.hxz"]), "parent",
                  "its own parent", expect="hidden", name="_p_self.hxz", batch=b)
        # A chain of 100: chain k has k ancestors; 16 is the deepest allowed.
        for k in range(100):
            parents = ["_p_chain_%03d.hxz" % (k - 1)] if k else []
            self.emit(base, self.header_with(base, parent_paths=parents), "parent",
                      "chain of %d ancestors" % k,
                      expect="shown" if k <= 16 else "hidden", name="_p_chain_%03d.hxz" % k,
                      batch=b)
        # Damaged parents: the child's reads fail or the child is hidden.
        for k in range(self.n_of(40)):
            region = self.rng.choice(("blocks", "blocks", "pages", "master", "header"))
            ranges = base.regions()[region]
            buf = bytearray(base.data)
            s, e = self.rng.choice(ranges)
            pos = self.rng.randrange(s, e)
            buf[pos] ^= 1 << self.rng.randrange(8)
            pname = "_p_dmg_%03d.hxz" % k
            self.emit(base, bytes(buf), "damaged-parent", "parent with a flip in its %s" % region,
                      "all" if region == "blocks" else "none", name=pname, batch=b)
            child([pname], "child of a parent with a flip in its %s" % region, None,
                  verify="all" if region == "blocks" else "none")
        for c in (0, 1, 4096, len(base.data) // 2, len(base.data) - 1):
            pname = "_p_cut_%d.hxz" % c
            self.emit(base, base.data[:c], "damaged-parent", "parent cut to %d bytes" % c,
                      name=pname, batch=b)
            child([pname], "child of a parent cut to %d bytes" % c, None)

    # -- manifests
    def manifest_cases(self, o: Origin) -> None:
        b = self.new_batch("manifests")
        main_size = len(o.main)

        def man(data, what, verify="none", **extra):
            if isinstance(data, (dict, list)):
                data = json.dumps(data).encode()
            elif isinstance(data, str):
                data = data.encode()
            arch = o.arch
            original = arch.metadata
            arch.metadata = data
            arch.fix_tail_offsets()
            try:
                out = hw.serialize(arch)
            finally:
                arch.metadata = original
                arch.fix_tail_offsets()
            self.emit(o, out, "manifest", what, verify, batch=b, **extra)

        good = o.arch.manifest["files"]

        def entry(path, off=0, size=1, mode=0o100644, mtime=1764000000):
            return {"path": path, "offset": off, "size": size, "mode": mode, "mtime": mtime}

        for text in ("", "{", "}", "null", "[]", "{}", '{"files": 5}', '{"files": null}',
                     '{"files": [1, 2, 3]}', '{"files": [[]]}', '{"files": {}}',
                     "\x00\x01\x02", '{"files": [' + "[" * 100000 + "]" * 100000 + "]}",
                     '{"files": []' + " " * 1000, json.dumps({"files": good})[:-5],
                     json.dumps({"files": good}) + "garbage", "\ufeff" + json.dumps({"files": good}),
                     '{"files": [{"path": "a", "offset": 0, "size": 1, "mode": 33188, '
                     '"mtime": 1, "path": "b"}]}'):
            man(text, "invalid or odd JSON: %r" % text[:40])
        for field_, vals in (("path", (5, None, [], {}, True, "")),
                             ("offset", ("0", None, 1.5, -1, -(1 << 63), 1 << 64, 1e30, [], True)),
                             ("size", ("1", None, 0.5, -1, -5, 1 << 64, U64, 1e300, {})),
                             ("mode", ("x", None, -1, 1 << 40, 0o170777, 0o4755, 0o40755, 0)),
                             ("mtime", ("x", None, -1, -(1 << 63), 1 << 63, 1e20, 1.5))):
            for v in vals:
                e = entry("f")
                e[field_] = v
                man({"files": [e]}, "%s = %r" % (field_, v))
            e = entry("f")
            del e[field_]
            man({"files": [e]}, "%s missing" % field_)
        for p in ("..", "../x", "a/../b", "/etc/passwd", "/", "./a", "a/./b", "a//b", "a/",
                  ".", "a/..", "\x00", "a\x00b", "a\nb", "\u00e9\u540d", "\x7f",
                  "x" * 255, "x" * 256, "x" * 300, ("d" * 200 + "/") * 30 + "f",
                  "/".join(["d"] * 3000)):
            man({"files": [entry(p), entry("ok", 0, main_size)]}, "path %r" % p[:40])
        man({"files": [entry("dup", 0, 10), entry("dup", 10, 10)]}, "duplicate paths")
        man({"files": [entry("x", 0, 10), entry("x/y", 10, 10)]}, "a file and a directory x")
        man({"files": [entry("x/y", 10, 10), entry("x", 0, 10)]},
            "a directory and a file x, other order")
        man({"files": [entry("a/b", 0, 5), entry("a", 5, 5), entry("a/c", 10, 5)]},
            "a file a between a/b and a/c")
        for off, size in ((main_size, 1), (main_size + 1, 0), (0, main_size + 1),
                          (U64, 1), (1, U64), (main_size - 1, 2), (1 << 62, 1 << 62)):
            man({"files": [entry("r", off, size), entry("ok", 0, 10)]},
                "range %d+%d past the stream" % (off, size), "all",
                ranges={"ok": [0, 10]})
        ok = [entry("k%03d" % i, i * 7, 7) for i in range(200)]
        man({"files": ok}, "200 overlapping ranges", "all",
            ranges={e["path"]: [e["offset"], e["size"]] for e in ok})
        man({"files": list(reversed(ok))}, "200 entries in reverse order", "all",
            ranges={e["path"]: [e["offset"], e["size"]] for e in ok})
        # 100,000 entries, one directory, each a 16-byte range of the stream.
        n = 100000
        files = [entry("f%06d" % i, (i * 37) % (main_size - 16), 16) for i in range(n)]
        man({"files": files}, "%d entries" % n, "all",
            formula={"prefix": "f", "digits": 6, "count": n, "stride": 37,
                     "modulo": main_size - 16, "size": 16})
        deep = [entry("/".join("d%d" % k for k in range(d)) + "/f", 0, 4) for d in range(1, 40)]
        man({"files": deep}, "files 1 to 39 directories deep", "all",
            ranges={e["path"]: [0, 4] for e in deep})
        man({"files": [entry("x" * 255, 0, 8)]}, "a 255-byte name", "all",
            ranges={"x" * 255: [0, 8]})


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiply the number of random damages of each kind")
    ap.add_argument("--batch", type=int, default=400, help="archives per batch directory")
    a = ap.parse_args(argv)
    out = os.path.abspath(a.out)
    if os.path.exists(out):
        shutil.rmtree(out)
    expect = os.path.join(out, "expect")
    os.makedirs(expect)
    origins = build_origins(expect)
    g = Generator(out, a.seed, a.scale, a.batch)
    olist = {}
    for name, o in origins.items():
        entry = {"main": None, "auxiliary": None, "tree": o.tree, "size": len(o.data)}
        for s, data in (("main", o.main), ("auxiliary", o.aux)):
            if data is not None:
                entry[s] = name + "." + s
                with open(os.path.join(expect, entry[s]), "wb") as f:
                    f.write(data)
        olist[name] = entry
    with open(os.path.join(out, "passfile"), "w") as f:
        f.write(PASSWORD + "\n")
    os.chmod(os.path.join(out, "passfile"), 0o600)

    g.new_batch()
    for o in origins.values():
        g.emit(o, o.data, "origin", "the valid origin", expect="shown")
        g.flips(o)
        g.truncations(o)
        g.structural(o)
        g.header_cases(o)
        g.codec_lies(o)
        g.dictionary_cases(o)
        g.encryption_cases(o)
    g.parent_cases(origins)
    g.manifest_cases(origins["manifest"])
    cats: dict[str, int] = {}
    for r in g.records:
        c = r["category"].split("-")[0]
        cats[c] = cats.get(c, 0) + 1
    with open(os.path.join(out, "hostile.json"), "w") as f:
        json.dump({"origins": olist, "batches": g.batches, "archives": g.records}, f)
    print("%d hostile archives in %d batches (%s)" % (
        len(g.records), len(g.batches), ", ".join("%s %d" % kv for kv in sorted(cats.items()))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
