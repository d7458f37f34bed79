#!/usr/bin/python3
"""Self-check of hexz_writer.py: decode what it wrote with a separate minimal
decoder (written here from FORMAT.md, sharing no code with the writer) and
compare with the inputs.

    /usr/bin/python3 tests/writer/test_writer.py      # exit status 0 = pass
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import traceback
import zlib

import lz4.block
import zstandard
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hexz_writer as hw  # noqa: E402

NONE_OFFSET = 0xFFFFFFFFFFFFFFFF


class DecodeError(Exception):
    """The archive is not what FORMAT.md describes."""


# ---------------------------------------------------------------------------
# Independent minimal decoder

class Cursor:
    """Bounds-checked little-endian reader."""

    def __init__(self, data: bytes, pos: int = 0):
        self.data, self.pos = data, pos

    def bytes(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise DecodeError("read past the end at %d" % self.pos)
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def int(self, n: int) -> int:
        return int.from_bytes(self.bytes(n), "little")

    def flag(self) -> bool:
        v = self.int(1)
        if v not in (0, 1):
            raise DecodeError("bool byte %d" % v)
        return v == 1

    def opt(self, n: int):
        return self.int(n) if self.flag() else None


def b3(data_list: list[bytes]) -> list[bytes]:
    """BLAKE3 through b3sum, one temp file per buffer."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        names = []
        for i, d in enumerate(data_list):
            with open(os.path.join(tmp, "b%d" % i), "wb") as f:
                f.write(d)
            names.append("b%d" % i)
        for start in range(0, len(names), 1000):
            res = subprocess.run(["b3sum", "--no-names"] + names[start:start + 1000],
                                 cwd=tmp, check=True, capture_output=True, text=True)
            out += [bytes.fromhex(x) for x in res.stdout.split()]
    return out


class Decoded:
    """A decoded archive: header dict, pages, blocks, streams."""

    def __init__(self, path: str, password: bytes | None = None, depth: int = 0,
                 seen: tuple = ()):
        self.path = path
        with open(path, "rb") as f:
            self.data = f.read()
        real = os.path.realpath(path)
        if real in seen:
            raise DecodeError("parent cycle")
        if depth > 16:
            raise DecodeError("parent chain deeper than 16")
        self._parse_header()
        self._parse_index()
        self.key = None
        if self.h["encryption"] is not None:
            if password is None:
                raise DecodeError("password needed")
            salt, iters = self.h["encryption"]
            kdf = PBKDF2HMAC(algorithm=SHA256(), length=32, salt=salt, iterations=iters)
            self.key = AESGCM(kdf.derive(password))
        self.parents = []
        for p in self.h["parent_paths"]:
            cand = p if os.path.isfile(p) else os.path.join(os.path.dirname(path), p)
            if not os.path.isfile(cand):
                raise DecodeError("missing parent %s" % p)
            self.parents.append(Decoded(cand, None, depth + 1, seen + (real,)))

    def _parse_header(self):
        c = Cursor(self.data[:4096])
        h = {"magic": c.bytes(4), "version": c.int(4), "block_size": c.int(4),
             "index_offset": c.int(8)}
        if h["magic"] != b"HEXZ" or h["version"] != 1:
            raise DecodeError("bad magic/version")
        h["parent_paths"] = [c.bytes(c.int(8)).decode() for _ in range(c.int(8))]
        for name, n in (("dictionary_offset", 8), ("dictionary_length", 4),
                        ("metadata_offset", 8), ("metadata_length", 4),
                        ("signature_offset", 8), ("signature_length", 4)):
            h[name] = c.opt(n)
        h["encryption"] = (c.bytes(16), c.int(4)) if c.flag() else None
        h["compression"] = c.int(4)
        if h["compression"] not in (0, 1):
            raise DecodeError("compression %d" % h["compression"])
        h["has_main"], h["has_auxiliary"], h["variable_blocks"] = c.flag(), c.flag(), c.flag()
        h["cdc_params"] = (c.int(4), c.int(4), c.int(4)) if c.flag() else None
        h["_length"] = c.pos
        if not 4096 <= h["index_offset"] <= len(self.data):
            raise DecodeError("index offset out of range")
        self.h = h
        self.dict = None
        if h["dictionary_offset"] is not None:
            off, n = h["dictionary_offset"], h["dictionary_length"]
            self.dict = zstandard.ZstdCompressionDict(self.data[off:off + n])

    def _parse_index(self):
        c = Cursor(self.data, self.h["index_offset"])
        pages = {}
        for stream in ("main", "auxiliary"):
            pages[stream] = [(c.int(8), c.int(4), c.int(8), c.int(8)) for _ in range(c.int(8))]
        self.sizes = {"main": c.int(8), "auxiliary": c.int(8)}
        self.index_end = c.pos
        self.pages = pages
        self.blocks = {"main": [], "auxiliary": []}  # (number, logical offset, info)
        self.page_lengths = {"main": [], "auxiliary": []}
        next_block = 0
        for stream in ("main", "auxiliary"):
            logical = 0
            for off, length, start_block, start_logical in pages[stream]:
                if start_logical != logical or start_block != next_block:
                    raise DecodeError("inconsistent page %s@%d" % (stream, off))
                pc = Cursor(self.data[off:off + length])
                count = pc.int(8)
                if length != 8 + 52 * count:
                    raise DecodeError("page length")
                for i in range(count):
                    info = dict(offset=pc.int(8), length=pc.int(4), logical_len=pc.int(4),
                                checksum=pc.int(4), hash=pc.bytes(32))
                    self.blocks[stream].append((start_block + i, logical, info))
                    logical += info["logical_len"]
                next_block = start_block + count
                self.page_lengths[stream].append(count)
            if logical != self.sizes[stream]:
                raise DecodeError("pages of %s end at %d, size %d"
                                  % (stream, logical, self.sizes[stream]))

    def metadata(self) -> bytes | None:
        off = self.h["metadata_offset"]
        return None if off is None else self.data[off:off + self.h["metadata_length"]]

    def stored_by_hash(self) -> dict[bytes, tuple]:
        """Hash -> (archive, info) of every data block in this archive and its chain."""
        out = {}
        level = [self]
        while level:
            nxt = []
            for a in level:
                for stream in ("main", "auxiliary"):
                    for _, _, info in a.blocks[stream]:
                        if info["length"] and info["offset"] != NONE_OFFSET \
                                and info["hash"] != bytes(32):
                            out.setdefault(info["hash"], (a, info))
                nxt += a.parents
            level = nxt
        return out

    def read_data(self, number: int, info: dict) -> bytes:
        stored = self.data[info["offset"]:info["offset"] + info["length"]]
        if len(stored) != info["length"]:
            raise DecodeError("block %d outside the file" % number)
        if zlib.crc32(stored) != info["checksum"]:
            raise DecodeError("CRC mismatch in block %d" % number)
        if self.key is not None:
            nonce = bytes(4) + number.to_bytes(8, "big")
            try:
                stored = self.key.decrypt(nonce, stored, None)
            except InvalidTag:
                raise DecodeError("decryption failed for block %d" % number)
        if self.h["compression"] == 0:
            if int.from_bytes(stored[:4], "little") != info["logical_len"]:
                raise DecodeError("LZ4 prefix mismatch")
            out = lz4.block.decompress(stored[4:], uncompressed_size=info["logical_len"])
        else:
            d = zstandard.ZstdDecompressor(dict_data=self.dict)
            out = d.decompress(stored, max_output_size=info["logical_len"])
        if len(out) != info["logical_len"]:
            raise DecodeError("block %d decompressed to %d" % (number, len(out)))
        return out

    def stream(self, name: str, check_hashes: bool = True) -> bytes:
        by_hash = None
        parts, to_check = [], []
        for number, logical, info in self.blocks[name]:
            if info["offset"] == 0 and info["length"] == 0:
                parts.append(bytes(info["logical_len"]))
            elif info["offset"] == NONE_OFFSET and info["length"] == 0:
                if by_hash is None:
                    by_hash = {}
                    for p in self.parents:
                        for k, v in p.stored_by_hash().items():
                            by_hash.setdefault(k, v)
                hit = by_hash.get(info["hash"]) if info["hash"] != bytes(32) else None
                if hit is not None:
                    arch, pinfo = hit
                    num = next(n for s in ("main", "auxiliary")
                               for n, _, i in arch.blocks[s] if i is pinfo)
                    parts.append(arch.read_data(num, pinfo))
                elif self.parents:
                    p = self.parents[0]
                    match = [(n, i) for n, lo, i in p.blocks[name] if lo == logical]
                    if not match or match[0][1]["logical_len"] != info["logical_len"]:
                        raise DecodeError("unresolvable parent block %d" % number)
                    parts.append(p.stream_block(name, match[0][0]))
                else:
                    raise DecodeError("parent block without parents")
            else:
                data = self.read_data(number, info)
                parts.append(data)
                if info["hash"] != bytes(32):
                    to_check.append((info["hash"], data))
        if check_hashes and to_check:
            got = b3([d for _, d in to_check])
            if got != [h for h, _ in to_check]:
                raise DecodeError("BLAKE3 mismatch")
        return b"".join(parts)

    def stream_block(self, name: str, number: int) -> bytes:
        for n, _, info in self.blocks[name]:
            if n == number:
                if info["length"] == 0 and info["offset"] == 0:
                    return bytes(info["logical_len"])
                return self.read_data(n, info)
        raise DecodeError("no block %d" % number)


# ---------------------------------------------------------------------------
# Test helpers

FAILURES: list[str] = []
TMP = tempfile.mkdtemp(prefix="hexz-writer-test-")


def check(cond: bool, what: str) -> None:
    if not cond:
        raise AssertionError(what)


def run(test) -> None:
    try:
        test()
        print("ok   %s" % test.__name__)
    except Exception:
        FAILURES.append(test.__name__)
        print("FAIL %s" % test.__name__)
        traceback.print_exc()


def sample_data(n: int, seed: int) -> bytes:
    """Mixed data: random, text, zeros, and repeats of earlier 4 KiB pieces."""
    rng = random.Random(seed)
    out = bytearray()
    while len(out) < n:
        k = rng.randrange(4)
        if k == 0:
            out += rng.randbytes(rng.randint(1000, 30000))
        elif k == 1:
            out += (b"line %d of some text\n" % rng.randrange(1000)) * rng.randint(10, 500)
        elif k == 2:
            out += bytes(rng.randint(1000, 40000))
        elif len(out) > 8192:
            s = rng.randrange(0, len(out) - 4096) & ~4095
            out += out[s:s + 4096 * rng.randint(1, 2)]
    return bytes(out[:n])


def write(name: str, **kw) -> str:
    path = os.path.join(TMP, name)
    hw.write_archive(hw.Options(**kw), path)
    return path


def roundtrip(path: str, main: bytes | None, aux: bytes | None,
              password: bytes | None = None) -> Decoded:
    d = Decoded(path, password)
    check(d.h["has_main"] == (main is not None), "has_main")
    check(d.h["has_auxiliary"] == (aux is not None), "has_auxiliary")
    check(d.stream("main") == (main or b""), "main stream differs")
    check(d.stream("auxiliary") == (aux or b""), "auxiliary stream differs")
    return d


# ---------------------------------------------------------------------------
# Tests

def test_spec_examples():
    h = hw.Header(block_size=65536, index_offset=4166, variable_blocks=True,
                  cdc_params=(16, 16384, 262144))
    want = bytes.fromhex(
        "4845585a 01000000 00000100 4610000000000000 0000000000000000"
        "00000000000000 00000000 010001 01100000000040000000000400")
    check(h.encode() == want, "header example of FORMAT.md section 3")
    check(len(hw.Header().encode()) == 43, "smallest header is 43 bytes")
    comp = hw.make_compressor(hw.Options(compression="lz4"), None)(b"hello")
    check(comp == bytes.fromhex("050000005068656c6c6f"), "LZ4 hello example")
    check(zlib.crc32(comp) == 0xF91FFA5E, "hello CRC")


def test_lz4_fixed_two_streams():
    main, aux = sample_data(300000, 1), sample_data(98304, 2)
    main = main + main[:20480]  # repeated blocks within the stream
    aux += main[:40960]  # same blocks across streams (both 4096-aligned)
    p = write("lz4.hxz", main=main, auxiliary=aux, block_size=4096, page_entries=7)
    d = roundtrip(p, main, aux)
    infos = [i for s in ("main", "auxiliary") for _, _, i in d.blocks[s]]
    check(any(i["length"] == 0 and i["offset"] == 0 for i in infos), "zero blocks")
    offs = [i["offset"] for i in infos if i["length"]]
    check(len(offs) != len(set(offs)), "dedup: shared offsets")
    main_offs = {i["offset"] for _, _, i in d.blocks["main"] if i["length"]}
    check(any(i["offset"] in main_offs for _, _, i in d.blocks["auxiliary"] if i["length"]),
          "dedup across streams")
    check(all(n <= 7 for s in d.page_lengths.values() for n in s), "page size")
    check(d.page_lengths["main"][-1] < 7, "short last page")
    check(d.h["compression"] == 0 and d.h["cdc_params"] is None, "header")
    # pages sit after their blocks, master index at the end
    for s in ("main", "auxiliary"):
        for (off, _, sb, _), n in zip(d.pages[s], d.page_lengths[s]):
            blocks = [i for num, _, i in d.blocks[s] if sb <= num < sb + n and i["length"]]
            check(all(i["offset"] < off for i in blocks), "page after its blocks")
    check(d.index_end == len(d.data), "master index runs to the end")


def test_zstd_variable_dict():
    main = sample_data(400000, 3)
    p = write("zv.hxz", main=main, compression="zstd", level=5, variable=True,
              block_size=16384, train_dictionary=True, dictionary_size=8192, page_entries=3)
    d = roundtrip(p, main, None)
    check(d.h["variable_blocks"] and d.h["cdc_params"] == (14, 4096, 65536), "cdc header")
    check(d.h["dictionary_offset"] == 4096 and 0 < d.h["dictionary_length"] <= 8192, "dict")
    sizes = {i["logical_len"] for _, _, i in d.blocks["main"]}
    check(len(sizes) > 3, "variable sizes")
    # content-defined: inserting bytes at the front keeps most later blocks
    p2 = write("zv2.hxz", main=b"x" * 777 + main, compression="zstd", variable=True,
               block_size=16384, hashes=True)
    h1 = {i["hash"] for _, _, i in Decoded(p).blocks["main"]}
    h2 = {i["hash"] for _, _, i in Decoded(p2).blocks["main"]}
    check(len(h1 & h2) > len(h1) // 2, "CDC resynchronises")


def test_given_dictionary_and_no_hash():
    main = sample_data(100000, 4)
    dic = zstandard.train_dictionary(4096, [main[i:i + 2000] for i in range(0, 100000, 2000)])
    p = write("gd.hxz", main=main, compression="zstd", dictionary=dic.as_bytes(),
              hashes=False, block_size=8192)
    d = roundtrip(p, main, None)
    check(d.data[4096:4096 + d.h["dictionary_length"]] == dic.as_bytes(), "dict verbatim")
    check(all(i["hash"] == bytes(32) for _, _, i in d.blocks["main"]), "no hashes")


def test_encrypted():
    main, aux = sample_data(200000, 5), sample_data(50000, 6)
    for comp in ("lz4", "zstd"):
        p = write("enc-%s.hxz" % comp, main=main, auxiliary=aux, compression=comp,
                  password="pw", iterations=1000, salt=bytes(range(16)), block_size=8192)
        d = roundtrip(p, main, aux, b"pw")
        check(d.h["encryption"] == (bytes(range(16)), 1000), "encryption field")
        offs = [i["offset"] for s in d.blocks.values() for _, _, i in s if i["length"]]
        check(len(offs) == len(set(offs)), "no dedup when encrypted")
        try:
            Decoded(p, b"wrong").stream("main")
            check(False, "wrong password accepted")
        except DecodeError:
            pass
    # block numbers continue into the auxiliary stream
    first_aux = d.blocks["auxiliary"][0][0]
    check(first_aux == len(d.blocks["main"]), "global block numbers")


def test_stream_shapes():
    aux = sample_data(30000, 7)
    roundtrip(write("auxonly.hxz", auxiliary=aux), None, aux)
    d = roundtrip(write("emptymain.hxz", main=b"", auxiliary=aux), b"", aux)
    check(d.pages["main"] == [], "empty main has no pages")
    d = roundtrip(write("empty.hxz", main=b""), b"", None)
    check(len(d.data) == 4096 + 32, "empty archive is header + master index")
    d = roundtrip(write("one.hxz", main=sample_data(50000, 8), page_entries=1,
                        block_size=4096), sample_data(50000, 8), None)
    check(set(d.page_lengths["main"]) == {1}, "one entry per page")


def test_thin_chain():
    gp_data = random.Random(9).randbytes(200000)
    write("gp.hxz", main=gp_data, block_size=4096)
    parent_data = gp_data[:100000] + sample_data(50000, 10)
    write("parent.hxz", main=parent_data, block_size=4096, parents=["gp.hxz"])
    child_data = gp_data[102400:200000] + parent_data[102400:150000] + b"new" * 999
    p = write("child.hxz", main=child_data, auxiliary=gp_data[:8192], block_size=4096,
              parents=["parent.hxz"])
    d = roundtrip(p, child_data, gp_data[:8192])
    kinds = [i["offset"] == NONE_OFFSET for s in d.blocks.values() for _, _, i in s]
    check(sum(kinds) > 20, "child refers to the chain")
    check(d.h["parent_paths"] == ["parent.hxz"], "parent path as given")
    pinfo = Decoded(os.path.join(TMP, "parent.hxz"))
    gp_hashes = {i["hash"] for _, _, i in Decoded(os.path.join(TMP, "gp.hxz")).blocks["main"]}
    p_stored = {i["hash"] for _, _, i in pinfo.blocks["main"] if i["length"]}
    child_refs = {i["hash"] for _, _, i in d.blocks["main"] if i["offset"] == NONE_OFFSET}
    check(any(h in gp_hashes and h not in p_stored for h in child_refs),
          "refs only the grandparent stores")
    check(all(i["checksum"] == 0 for _, _, i in d.blocks["main"]
              if i["offset"] == NONE_OFFSET), "parent refs have checksum 0")


def test_by_position():
    base = sample_data(100000, 11)
    write("pbase.hxz", main=base, block_size=4096)
    changed = bytearray(base)
    changed[50000:50010] = b"0123456789"
    p = write("pchild.hxz", main=bytes(changed), block_size=4096, parents=["pbase.hxz"],
              parent_by_position=True)
    d = roundtrip(p, bytes(changed), None)
    refs = [i for _, _, i in d.blocks["main"] if i["offset"] == NONE_OFFSET]
    check(refs and all(i["hash"] == bytes(32) for i in refs), "positional refs, zero hash")


def test_directory():
    root = os.path.join(TMP, "tree")
    files = {"README": b"hello\n", "a/b/c.txt": b"c" * 10, "a/empty": b"",
             "-dash name": b"d" * 100, "sp ace/\u00e9t\u00e9.bin": sample_data(30000, 12),
             "z/big.bin": sample_data(70000, 13)}
    for rel, data in files.items():
        full = os.path.join(root, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)
        os.utime(full, (1700000000, 1700000000))
    os.symlink("README", os.path.join(root, "link"))
    p = write("dir.hxz", directory=root, block_size=8192, compression="zstd",
              sign_key=bytes(range(32)))
    d = Decoded(p)
    main = d.stream("main")
    meta = json.loads(d.metadata())
    paths = [e["path"] for e in meta["files"]]
    check(paths == sorted(files, key=lambda s: s.encode()), "sorted regular files only")
    starts = {lo for _, lo, _ in d.blocks["main"]}
    page_starts = {pe[3] for pe in d.pages["main"]}
    for e in meta["files"]:
        check(list(e) == ["path", "offset", "size", "mode", "mtime"], "manifest keys")
        check(main[e["offset"]:e["offset"] + e["size"]] == files[e["path"]], e["path"])
        check(e["mtime"] == 1700000000 and e["mode"] & 0o170000 == 0o100000, "stat")
        if e["size"]:
            check(e["offset"] in starts and e["offset"] in page_starts, "file boundary")
    check(d.h["metadata_offset"] == d.index_end, "metadata after the master index")
    so, sl = d.h["signature_offset"], d.h["signature_length"]
    check(sl == 64 and so + 64 == len(d.data), "signature at the end")
    pub = Ed25519PublicKey.from_public_bytes(hw.public_key(bytes(range(32))))
    msg = hashlib.sha256(d.data[d.h["index_offset"]:so]).digest()
    try:
        pub.verify(d.data[so:so + 64], msg)
    except InvalidSignature:
        check(False, "signature does not verify")


def test_determinism_and_cli():
    main = sample_data(120000, 14)
    src = os.path.join(TMP, "in.bin")
    with open(src, "wb") as f:
        f.write(main)
    outs = []
    for i in range(2):
        out = os.path.join(TMP, "cli%d.hxz" % i)
        subprocess.run([sys.executable, os.path.join(HERE, "hexz_writer.py"), out,
                        "--main", src, "--aux", src, "-c", "zstd", "--level", "1",
                        "--variable", "--avg-size", "8K", "--page-entries", "5",
                        "--password", "pw", "--iterations", "1000",
                        "--salt", "00" * 16, "--train-dict", "--dict-size", "4K"],
                       check=True)
        with open(out, "rb") as f:
            outs.append(f.read())
    check(outs[0] == outs[1], "deterministic output")
    roundtrip(os.path.join(TMP, "cli0.hxz"), main, main, b"pw")


def test_tamper_api():
    main = sample_data(60000, 15)
    arch = hw.build_archive(hw.Options(main=main, block_size=4096))
    good = hw.serialize(arch)
    path = os.path.join(TMP, "t.hxz")
    with open(path, "wb") as f:
        f.write(good)
    roundtrip(path, main, None)
    arch.header.version = 2
    with open(path, "wb") as f:
        f.write(hw.serialize(arch))
    try:
        Decoded(path)
        check(False, "version 2 accepted")
    except DecodeError:
        pass
    arch.header.version = 1
    n = next(r.number for r in arch.blocks if r.how == "data")
    hw.corrupt_block(arch, n)
    with open(path, "wb") as f:
        f.write(hw.serialize(arch))
    d = Decoded(path)
    try:
        d.stream("main")
        check(False, "corruption not detected")
    except DecodeError as e:
        check("block %d" % n in str(e), "corrupt block number")


def _read_file(outdir: str, rel: str) -> bytes:
    with open(os.path.join(outdir, rel), "rb") as f:
        return f.read()


def test_corpus():
    """make_corpus.py output decodes to the expected files; negative cases fail."""
    out = os.path.join(TMP, "corpus")
    subprocess.run([sys.executable, os.path.join(HERE, "make_corpus.py"), out], check=True,
                   stdout=subprocess.DEVNULL)
    with open(os.path.join(out, "corpus.json"), encoding="utf-8") as f:
        corpus = json.load(f)
    names = set()
    for case in corpus["cases"]:
        name = case["name"]
        check(name not in names, "duplicate case " + name)
        names.add(name)
        path = os.path.join(out, case["archive"])
        pw = case["password"].encode() if case["password"] else None
        if case["expect_error"]:
            try:
                d = Decoded(path, pw)
                d.stream("main")
                d.stream("auxiliary")
            except DecodeError as e:
                words = {"bad_password": "decryption failed", "missing_parent": "missing parent",
                         "parent_cycle": "parent cycle", "chain_too_deep": "deeper than 16"}
                check(words[case["expect_error"]] in str(e), "%s: failed with %s" % (name, e))
                continue
            check(False, "%s: expected %s" % (name, case["expect_error"]))
        d = Decoded(path, pw)
        check(d.h["has_main"] == case["has_main"], name + ": has_main")
        check(d.h["has_auxiliary"] == case["has_auxiliary"], name + ": has_auxiliary")
        check(len(d.blocks["main"]) + len(d.blocks["auxiliary"]) == case["blocks"]["total"],
              name + ": block count")
        for stream, key in (("main", "main"), ("auxiliary", "auxiliary")):
            want = _read_file(out, case[key]["file"]) if case[key] else b""
            check(hashlib.sha256(want).hexdigest() == (case[key] or {}).get(
                "sha256", hashlib.sha256(b"").hexdigest()), name + ": sha256")
            check(d.sizes[stream] == len(want), name + ": size of " + stream)
            if not case["damaged_blocks"]:
                check(d.stream(stream) == want, "%s: %s stream" % (name, stream))
                continue
            for number, logical, info in d.blocks[stream]:
                try:
                    got = d.stream_block(stream, number)
                    check(number not in case["damaged_blocks"], name + ": damage undetected")
                    check(got == want[logical:logical + len(got)], name + ": block data")
                except DecodeError:
                    check(number in case["damaged_blocks"], name + ": unexpected damage")
                    r = case["damaged_ranges"][case["damaged_blocks"].index(number)]
                    check((r["stream"], r["offset"], r["length"])
                          == (stream, logical, info["logical_len"]), name + ": range")
        if case["manifest"] is not None:
            main = d.stream("main")
            meta = json.loads(d.metadata())["files"]
            check([dict(e, file=m["file"]) for e, m in zip(meta, case["manifest"])]
                  == case["manifest"], name + ": manifest")
            for e in case["manifest"]:
                data = _read_file(out, e["file"])
                check(main[e["offset"]:e["offset"] + e["size"]] == data, name + ": file")
        if case["signature_public_key"]:
            pub = Ed25519PublicKey.from_public_bytes(bytes.fromhex(case["signature_public_key"]))
            so = d.h["signature_offset"]
            pub.verify(d.data[so:so + 64],
                       hashlib.sha256(d.data[d.h["index_offset"]:so]).digest())
    for want in ("thin_leaf", "thin_depth16", "thin_depth17", "thin_cycle_a", "dir_tree",
                 "corrupt_block", "encrypted_lz4_wrong_password", "thin_position_child"):
        check(want in names, "case %s present" % want)
    # deterministic
    out2 = os.path.join(TMP, "corpus2")
    subprocess.run([sys.executable, os.path.join(HERE, "make_corpus.py"), out2], check=True,
                   stdout=subprocess.DEVNULL)
    for case in corpus["cases"]:
        if os.path.exists(os.path.join(out, case["archive"])):
            check(_read_file(out, case["archive"]) == _read_file(out2, case["archive"]),
                  case["name"] + ": not deterministic")


def main() -> int:
    for t in (test_spec_examples, test_lz4_fixed_two_streams, test_zstd_variable_dict,
              test_given_dictionary_and_no_hash, test_encrypted, test_stream_shapes,
              test_thin_chain, test_by_position, test_directory,
              test_determinism_and_cli, test_tamper_api, test_corpus):
        run(t)
    if FAILURES:
        print("%d failed: %s (files in %s)" % (len(FAILURES), ", ".join(FAILURES), TMP))
        return 1
    import shutil
    shutil.rmtree(TMP)
    print("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
