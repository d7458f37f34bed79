#!/usr/bin/python3
"""Generate a corpus of small hexz archives with their expected contents.

    make_corpus.py OUTDIR

Writes the archives, the expected decompressed streams and manifest file
contents as plain files, and OUTDIR/corpus.json describing every case.  The
output is deterministic (fixed seeds, salts and modes/mtimes) and takes a few
seconds.

corpus.json::

    {"version": 1,
     "generator": "tests/writer/make_corpus.py",
     "error_kinds": {...},                   # meaning of expect_error values
     "cases": [{
        "name": str,                         # unique case name
        "archive": str,                      # path relative to OUTDIR
        "description": str,
        "password": str | null,              # to open the archive with
        "expect_error": str | null,          # null, or one of error_kinds
        "expect_error_stage": "open" | "open_or_read" | null,
        "compression": "lz4" | "zstd",
        "encrypted": bool,
        "variable_blocks": bool,
        "block_size": int,                   # header block_size
        "dictionary": bool,
        "parents": [str],                    # parent_paths as written
        "parent_depth": int,                 # ancestors in the chain
        "has_main": bool, "has_auxiliary": bool,
        "main": {"file": str, "size": int, "sha256": str} | null,
        "auxiliary": {"file": str, "size": int, "sha256": str} | null,
        "manifest": [{"path": str, "offset": int, "size": int, "mode": int,
                      "mtime": int, "file": str}] | null,
        "signature_public_key": str | null,  # hex Ed25519 key if signed
        "damaged_blocks": [int],             # global numbers of corrupted blocks
        "damaged_ranges": [{"stream": "main"|"auxiliary", "offset": int,
                            "length": int}],  # stream bytes those blocks hold
        "blocks": {"total": int, "data": int, "dedup": int, "zero": int,
                   "parent": int, "parent-position": int},
        "pages": {"main": int, "auxiliary": int}
     }, ...]}

When ``expect_error`` is set, opening (or, for a wrong password, opening or
the first read) must fail; the stream descriptions then tell what the archive
would hold with the right password/parents.  Reads of ``damaged_ranges`` must
fail (EIO); every other byte must read back as the expected stream files.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hexz_writer as hw  # noqa: E402

PASSWORD = "hexz-test-password"
SALT = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
ITERATIONS = 1000
SIGN_SEED = bytes(range(32))
BS = 4096

ERROR_KINDS = {
    "bad_password": "the password does not decrypt the blocks (AES-GCM tag fails)",
    "missing_parent": "a parent path resolves neither as given nor next to the archive",
    "parent_cycle": "the parent chain loops back to an archive already in it",
    "chain_too_deep": "the parent chain has more than 16 ancestors",
}


def mixed(n: int, seed: int) -> bytes:
    """4 KiB-aligned pieces of random, text-like, zero and repeated data."""
    rng = random.Random(seed)
    out = bytearray()
    while len(out) < n:
        kind = rng.randrange(5)
        size = BS * rng.randint(1, 4)
        if kind == 0:
            out += rng.randbytes(size)
        elif kind == 1:
            words = [rng.choice((b"alpha", b"beta", b"gamma", b"hexz", b"block", b"page"))
                     for _ in range(size // 4)]
            out += (b" ".join(words) + b"\n")[:size].ljust(size, b".")
        elif kind == 2:
            out += bytes(size)
        elif kind == 3 and len(out) >= BS:
            start = rng.randrange(len(out) // BS) * BS
            out += out[start:start + BS]
        else:
            out += rng.randbytes(BS // 2) + bytes(BS // 2)
    return bytes(out[:n])


class Corpus:
    """Collects cases and writes corpus.json."""

    def __init__(self, outdir: str):
        self.out = outdir
        os.makedirs(outdir, exist_ok=True)
        self.cases: list[dict] = []

    def path(self, name: str) -> str:
        return os.path.join(self.out, name)

    def _stream(self, name: str, suffix: str, data: bytes | None) -> dict | None:
        if data is None:
            return None
        fname = "%s.%s" % (name, suffix)
        with open(self.path(fname), "wb") as f:
            f.write(data)
        return {"file": fname, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}

    def write(self, name: str, opts: hw.Options, archive: str | None = None,
              tamper=None) -> hw.Archive:
        """Write ``archive`` (default NAME.hxz) from ``opts``."""
        return hw.write_archive(opts, self.path(archive or name + ".hxz"), tamper)

    def add(self, name: str, description: str, opts: hw.Options, arch: hw.Archive,
            main: bytes | None, aux: bytes | None, archive: str | None = None,
            password: str | None = None, expect_error: str | None = None,
            manifest_files: dict[str, bytes] | None = None, parent_depth: int = 0,
            damaged: list[int] = ()) -> None:
        """Record a case (expected streams are written next to the archive)."""
        assert expect_error is None or expect_error in ERROR_KINDS
        counts = {k: 0 for k in ("data", "dedup", "zero", "parent", "parent-position")}
        for r in arch.blocks:
            counts[r.how] += 1
        counts["total"] = len(arch.blocks)
        manifest = None
        if arch.manifest is not None:
            manifest = []
            os.makedirs(self.path(name + ".files"), exist_ok=True)
            for i, e in enumerate(arch.manifest["files"]):
                fname = "%s.files/%03d" % (name, i)
                with open(self.path(fname), "wb") as f:
                    f.write(manifest_files[e["path"]])
                manifest.append(dict(e, file=fname))
        h = arch.header
        stage = None
        if expect_error:
            stage = "open_or_read" if expect_error == "bad_password" else "open"
        self.cases.append({
            "name": name,
            "archive": archive or name + ".hxz",
            "description": description,
            "password": password,
            "expect_error": expect_error,
            "expect_error_stage": stage,
            "compression": opts.compression,
            "encrypted": h.encryption is not None,
            "variable_blocks": h.variable_blocks,
            "block_size": h.block_size,
            "dictionary": h.dictionary_offset is not None,
            "parents": list(h.parent_paths),
            "parent_depth": parent_depth,
            "has_main": h.has_main,
            "has_auxiliary": h.has_auxiliary,
            "main": self._stream(name, "main", main),
            "auxiliary": self._stream(name, "aux", aux),
            "manifest": manifest,
            "signature_public_key": hw.public_key(opts.sign_key).hex() if opts.sign_key else None,
            "damaged_blocks": list(damaged),
            "damaged_ranges": [{"stream": arch.block(n).stream,
                                "offset": arch.block(n).logical_offset,
                                "length": arch.block(n).info.logical_len} for n in damaged],
            "blocks": counts,
            "pages": {"main": len(arch.main_pages), "auxiliary": len(arch.auxiliary_pages)},
        })

    def simple(self, name: str, description: str, main: bytes | None,
               aux: bytes | None = None, password: str | None = None, **kw) -> hw.Archive:
        """Write and record a case whose streams are given as bytes."""
        opts = hw.Options(main=main, auxiliary=aux, password=password,
                          salt=SALT if password else None, iterations=ITERATIONS, **kw)
        arch = self.write(name, opts)
        self.add(name, description, opts, arch, main, aux, password=password)
        return arch

    def save(self) -> None:
        with open(self.path("corpus.json"), "w", encoding="utf-8") as f:
            json.dump({"version": 1, "generator": "tests/writer/make_corpus.py",
                       "error_kinds": ERROR_KINDS, "cases": self.cases},
                      f, indent=1, ensure_ascii=False)
            f.write("\n")


def make_tree(root: str) -> dict[str, bytes]:
    """A small tree with nested dirs, odd names, empty and multi-block files."""
    rng = random.Random(77)
    multi = rng.randbytes(BS * 2) + bytes(BS * 2) + (b"text line\n" * 1000) + rng.randbytes(100)
    files = {
        "README": b"hexz corpus directory archive\n",
        "docs/guide.txt": b"A guide.\n" * 50,
        "nested/a/b/c/deep.txt": b"deep file\n",
        "nested/empty-in-dir": b"",
        "empty.txt": b"",
        "with space.txt": b"spaces in the name\n",
        "\u00fcn\u00efc\u00f8d\u00e9-\u540d\u524d.txt": "UTF-8 name \u540d\u524d\n".encode(),
        "-leading-dash": b"dash\n",
        "--double-dash name": b"two dashes and a space\n",
        "big/multi-block.bin": multi,
        "big/copy-of-multi.bin": multi,
        "bin/tool.sh": b"#!/bin/sh\necho tool\n",
        "private.key": b"not really a key\n",
    }
    modes = {"bin/tool.sh": 0o755, "private.key": 0o600}
    for rel, data in files.items():
        full = os.path.join(root, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)
        os.chmod(full, modes.get(rel, 0o644))
        os.utime(full, (1764000000, 1764000000 + len(rel)))
    os.symlink("README", os.path.join(root, "link-to-readme"))  # not packed
    return files


def build(out: str) -> Corpus:
    c = Corpus(out)
    m1 = mixed(128 * 1024 + 123, 1)
    a1 = mixed(48 * 1024 + 7, 2)

    # compression
    c.simple("lz4_fixed", "LZ4, fixed 4 KiB blocks, main stream", m1, block_size=BS)
    c.simple("lz4_hc", "LZ4 high-compression level 9", m1, block_size=BS, level=9)
    c.simple("zstd_fixed", "zstd level 3, fixed 4 KiB blocks", m1, block_size=BS,
             compression="zstd")
    c.simple("zstd_level19", "zstd level 19, 16 KiB blocks", m1, block_size=16384,
             compression="zstd", level=19)
    c.simple("zstd_dict_trained", "zstd with a dictionary trained from the data",
             m1, a1, block_size=BS, compression="zstd", train_dictionary=True,
             dictionary_size=8192)
    given = hw.train_dictionary([hw.Segment(data=mixed(64 * 1024, 3))], 4096, 1024)
    c.simple("zstd_dict_given", "zstd with a given (pre-trained) dictionary",
             m1, block_size=BS, compression="zstd", dictionary=given)
    c.simple("no_hash", "LZ4 with all-zero BLAKE3 fields", m1, block_size=BS, hashes=False)

    # blocks
    c.simple("lz4_variable", "LZ4, content-defined blocks (min 2K avg 8K max 32K)", m1, a1,
             compression="lz4", variable=True, avg_size=8192, min_size=2048, max_size=32768)
    c.simple("zstd_variable", "zstd, content-defined blocks (default min/max)", m1,
             compression="zstd", variable=True, block_size=8192)
    c.simple("block_1000", "block size 1000 (not a power of two), short last block",
             m1[:20500], block_size=1000)
    c.simple("block_bigger_than_data", "1 MiB blocks, one short block", m1[:70000],
             block_size=1 << 20)
    zero_main = bytes(BS * 5) + b"x" * BS + bytes(BS * 3 + 100)
    c.simple("zero_blocks", "all-zero chunks stored as zero blocks, incl. a short one",
             zero_main, block_size=BS)
    c.simple("zero_blocks_stored", "all-zero chunks stored as data (--no-zero-blocks)",
             zero_main, block_size=BS, zero_blocks=False)
    x = random.Random(5).randbytes(BS * 3)
    c.simple("dedup_within", "identical chunks in the main stream share one offset",
             x + x + x[:BS] + x, block_size=BS)
    c.simple("dedup_across", "auxiliary blocks share offsets with main blocks",
             x + b"m" * 5000, random.Random(6).randbytes(BS) + x, block_size=BS)
    c.simple("no_dedup", "identical chunks stored each time (--no-dedup)", x + x,
             block_size=BS, dedup=False)

    # pages
    c.simple("pages_many", "5 entries a page: many pages, short last pages", m1, a1,
             block_size=BS, page_entries=5)
    c.simple("pages_one", "one entry a page", m1[:40000], a1[:20000], block_size=BS,
             page_entries=1)

    # stream shapes
    c.simple("both_streams", "main and auxiliary streams of odd sizes", m1, a1,
             block_size=BS)
    c.simple("aux_only", "only an auxiliary stream (has_main false)", None, a1,
             block_size=BS)
    c.simple("empty_main", "empty main stream and an auxiliary stream", b"", a1,
             block_size=BS)
    c.simple("empty", "fully empty archive: empty main stream, no auxiliary", b"",
             block_size=BS)

    # encryption
    for comp, hashes in (("lz4", True), ("zstd", False)):
        name = "encrypted_%s" % comp
        c.simple(name, "AES-256-GCM, %s, both streams, %s hashes, password %r, %d iterations"
                 % (comp, "BLAKE3" if hashes else "all-zero", PASSWORD, ITERATIONS),
                 m1[:60000], a1[:30000], password=PASSWORD, compression=comp,
                 block_size=BS, hashes=hashes)
    opts = hw.Options(main=m1[:60000], auxiliary=a1[:30000], password=PASSWORD, salt=SALT,
                      iterations=ITERATIONS, block_size=BS)
    arch = hw.build_archive(opts)
    c.add("encrypted_lz4_wrong_password", "encrypted_lz4.hxz opened with a wrong password",
          opts, arch, m1[:60000], a1[:30000], archive="encrypted_lz4.hxz",
          password="wrong-password", expect_error="bad_password")

    # thin archives
    rng = random.Random(11)
    base_main, base_aux = rng.randbytes(BS * 12), rng.randbytes(BS * 4)
    c.simple("thin_base", "full parent of thin_child", base_main, base_aux, block_size=BS)
    child_main = base_main[:BS * 6] + rng.randbytes(BS * 2) + base_aux[:BS * 2] + b"tail"
    child_aux = base_main[BS * 8:]
    c.simple("thin_child", "thin child of thin_base.hxz, refs by hash across streams",
             child_main, child_aux, block_size=BS, parents=["thin_base.hxz"])

    gp = rng.randbytes(BS * 10)
    c.simple("thin_grandparent", "full root of the thin chain", gp, block_size=BS)
    mid = gp[:BS * 4] + rng.randbytes(BS * 4)
    c.simple("thin_parent", "thin child of thin_grandparent", mid, block_size=BS,
             parents=["thin_grandparent.hxz"])
    leaf = gp[BS * 6:] + mid[BS * 4:BS * 6] + gp[:BS] + b"leaf"
    arch = c.simple("thin_leaf", "child of thin_parent referencing blocks only "
                    "thin_grandparent stores", leaf, block_size=BS,
                    parents=["thin_parent.hxz"])
    c.cases[-1]["parent_depth"] = 2

    pos_base = rng.randbytes(BS * 8) + mixed(BS * 4, 12)
    c.simple("thin_position_base", "full parent of thin_position_child", pos_base,
             block_size=BS)
    pos_child = bytearray(pos_base)
    pos_child[BS * 3 + 10:BS * 3 + 20] = b"changed!!!"
    pos_child += b"appended"
    c.simple("thin_position_child", "parent refs with all-zero hash, resolved by position "
             "(same stream and offset in the first parent)", bytes(pos_child),
             block_size=BS, parents=["thin_position_base.hxz"], parent_by_position=True)

    # negative thin cases
    gone = rng.randbytes(BS * 3)
    hw.write_archive(hw.Options(main=gone, block_size=BS), c.path("gone_parent.hxz"))
    opts = hw.Options(main=gone + b"x", block_size=BS, parents=["gone_parent.hxz"])
    arch = c.write("thin_missing_parent", opts)
    os.unlink(c.path("gone_parent.hxz"))
    c.add("thin_missing_parent", "parent gone_parent.hxz does not exist", opts, arch,
          gone + b"x", None, expect_error="missing_parent", parent_depth=1)

    cyc = rng.randbytes(BS * 3)
    c.write("thin_cycle_a", hw.Options(main=cyc, block_size=BS))
    opts_b = hw.Options(main=cyc[BS:] + b"b", block_size=BS, parents=["thin_cycle_a.hxz"])
    arch_b = c.write("thin_cycle_b", opts_b)
    opts_a = hw.Options(main=cyc, block_size=BS, parents=["thin_cycle_b.hxz"],
                        parent_lookup=False)
    arch_a = c.write("thin_cycle_a", opts_a)
    c.add("thin_cycle_a", "parent cycle a -> b -> a", opts_a, arch_a, cyc, None,
          expect_error="parent_cycle")
    c.add("thin_cycle_b", "parent cycle b -> a -> b (b refers to a's blocks)", opts_b,
          arch_b, cyc[BS:] + b"b", None, expect_error="parent_cycle")

    chain = rng.randbytes(BS * 2)
    for k in range(18):
        opts = hw.Options(main=chain, block_size=BS,
                          parents=["chain_%02d.hxz" % (k - 1)] if k else [])
        arch = c.write("chain_%02d" % k, opts)
        if k == 16:
            c.add("thin_depth16", "chain of 16 ancestors (chain_16 -> ... -> chain_00), "
                  "data only in chain_00", opts, arch, chain, None,
                  archive="chain_16.hxz", parent_depth=16)
        if k == 17:
            c.add("thin_depth17", "chain of 17 ancestors: too deep", opts, arch, chain,
                  None, archive="chain_17.hxz", expect_error="chain_too_deep",
                  parent_depth=17)

    # directory archives
    tmp = tempfile.mkdtemp(prefix="hexz-corpus-tree-")
    try:
        files = make_tree(os.path.join(tmp, "tree"))
        for name, desc, kw in (
                ("dir_tree", "directory archive, LZ4 4 KiB blocks", dict(compression="lz4")),
                ("dir_tree_signed", "directory archive, zstd, content-defined blocks, "
                 "Ed25519 signature", dict(compression="zstd", variable=True,
                                           avg_size=4096, sign_key=SIGN_SEED))):
            opts = hw.Options(directory=os.path.join(tmp, "tree"), block_size=BS, **kw)
            arch = c.write(name, opts)
            main = b"".join(files[e["path"]] for e in arch.manifest["files"])
            c.add(name, desc, opts, arch, main, None, manifest_files=files)
    finally:
        shutil.rmtree(tmp)

    # corruption
    opts = hw.Options(main=m1, block_size=BS)
    probe = hw.build_archive(opts)
    shared = {}
    for r in probe.blocks:
        shared[r.info.offset] = shared.get(r.info.offset, 0) + 1
    victim = [r.number for r in probe.blocks if r.how == "data" and shared[r.info.offset] == 1][3]
    opts.corrupt_blocks = [victim]
    arch = c.write("corrupt_block", opts)
    c.add("corrupt_block", "one stored byte of block %d flipped: its CRC fails" % victim,
          opts, arch, m1, None, damaged=[victim])
    return c


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: make_corpus.py OUTDIR", file=sys.stderr)
        return 2
    corpus = build(argv[0])
    corpus.save()
    print("%d cases in %s" % (len(corpus.cases), os.path.join(argv[0], "corpus.json")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
