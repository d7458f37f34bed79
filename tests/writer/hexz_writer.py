#!/usr/bin/python3
"""Independent writer of hexz archives (format version 1), for tests and benchmarks.

Written only from the format reference (doc/hexz-format.md), not from any reader.
Everything the format can express is reachable from the CLI and from the
module API:

* LZ4 or zstd blocks (level configurable), an optional zstd dictionary
  (trained from the data or given) stored right after the 4096-byte header;
* a main stream and/or an auxiliary stream, or a directory tree packed into
  the main stream with a JSON manifest;
* fixed-size blocks or content-defined blocks (a gear rolling-hash chunker);
* zero blocks, deduplication, index pages interleaved with the data, BLAKE3
  hashes (computed by the ``b3sum`` command), CRC-32 checksums;
* AES-256-GCM encryption with a PBKDF2-HMAC-SHA256 key;
* thin archives whose blocks refer to a parent chain by hash or by position;
* metadata and Ed25519 signatures, header field overrides and byte patches
  for hostile-input tests.

Module use::

    import hexz_writer as hw
    arch = hw.build_archive(hw.Options(main=b"...", compression="zstd"))
    arch.header.version = 2                 # tamper with anything
    arch.main_pages[0].blocks[0].checksum ^= 1
    data = hw.serialize(arch)               # bytes of the archive

``build_archive`` lays the file out and writes the data blocks into a body
(in memory unless a file object is given); every structure (header, pages,
master index, metadata, signature) stays a Python object until
``serialize``/``finish`` encodes it, so a test can change any field first.

The output is deterministic for the same inputs; only a missing ``salt``
makes encrypted archives random (as hexz itself does).

Speed: fixed-size blocks go at well over 100 MB/s (512 MiB in about 5 s);
the content-defined chunker is pure Python (about 7 MB/s).  Run it with
/usr/bin/python3, which has the Debian python3-lz4, python3-zstandard and
python3-cryptography modules; ``b3sum`` must be on PATH.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import json
import math
import os
import stat
import struct
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass, field
from typing import BinaryIO, Callable, Iterator

import lz4.block
import zstandard

MAGIC = b"HEXZ"
VERSION = 1
HEADER_SIZE = 4096
COMPRESSION_LZ4 = 0
COMPRESSION_ZSTD = 1
COMPRESSIONS = {"lz4": COMPRESSION_LZ4, "zstd": COMPRESSION_ZSTD}
PARENT_OFFSET = 2**64 - 1
BLOCK_INFO_SIZE = 52
PAGE_ENTRY_SIZE = 28
ZERO_HASH = bytes(32)
DEFAULT_BLOCK_SIZE = 65536
DEFAULT_PAGE_ENTRIES = 4096
DEFAULT_ITERATIONS = 600_000
SIGNATURE_SIZE = 64
MAX_PARENT_CHAIN = 64  # the writer follows this far; readers stop at 16

_M64 = (1 << 64) - 1


class WriterError(Exception):
    """Raised for unusable inputs (missing parents, bad options...)."""


# ---------------------------------------------------------------------------
# bincode 1.x encoding (little-endian, fixed-width integers)

def enc_u8(v: int) -> bytes:
    """Encode a u8."""
    return struct.pack("<B", v)


def enc_u32(v: int) -> bytes:
    """Encode a little-endian u32."""
    return struct.pack("<I", v)


def enc_u64(v: int) -> bytes:
    """Encode a little-endian u64."""
    return struct.pack("<Q", v)


def enc_bool(v: bool | int) -> bytes:
    """Encode a bool as one byte; an int is written as given (hostile tests)."""
    return enc_u8(int(v))


def enc_string(s: str | bytes) -> bytes:
    """Encode a String: u64 byte count then the UTF-8 bytes."""
    b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    return enc_u64(len(b)) + b


def enc_option(value, encode: Callable[[object], bytes]) -> bytes:
    """Encode an Option<T>: tag 0, or tag 1 followed by T."""
    return b"\x00" if value is None else b"\x01" + encode(value)


# ---------------------------------------------------------------------------
# Format structures

@dataclass
class Encryption:
    """The header's ``encryption`` field: a 16-byte salt and the PBKDF2 rounds."""
    salt: bytes
    iterations: int

    def encode(self) -> bytes:
        if len(self.salt) != 16:
            raise WriterError("salt must be 16 bytes")
        return bytes(self.salt) + enc_u32(self.iterations)


@dataclass
class Header:
    """The archive header (FORMAT.md section 3), field for field."""
    magic: bytes = MAGIC
    version: int = VERSION
    block_size: int = DEFAULT_BLOCK_SIZE
    index_offset: int = 0
    parent_paths: list[str] = field(default_factory=list)
    dictionary_offset: int | None = None
    dictionary_length: int | None = None
    metadata_offset: int | None = None
    metadata_length: int | None = None
    signature_offset: int | None = None
    signature_length: int | None = None
    encryption: Encryption | None = None
    compression: int = COMPRESSION_LZ4
    has_main: bool = True
    has_auxiliary: bool = False
    variable_blocks: bool = False
    cdc_params: tuple[int, int, int] | None = None

    def encode(self) -> bytes:
        """Serialize with bincode (not padded; see ``finish``)."""
        out = [bytes(self.magic), enc_u32(self.version), enc_u32(self.block_size),
               enc_u64(self.index_offset), enc_u64(len(self.parent_paths))]
        out += [enc_string(p) for p in self.parent_paths]
        out += [enc_option(self.dictionary_offset, enc_u64),
                enc_option(self.dictionary_length, enc_u32),
                enc_option(self.metadata_offset, enc_u64),
                enc_option(self.metadata_length, enc_u32),
                enc_option(self.signature_offset, enc_u64),
                enc_option(self.signature_length, enc_u32),
                enc_option(self.encryption, lambda e: e.encode()),
                enc_u32(self.compression),
                enc_bool(self.has_main), enc_bool(self.has_auxiliary),
                enc_bool(self.variable_blocks),
                enc_option(self.cdc_params,
                           lambda t: b"".join(enc_u32(x) for x in t))]
        return b"".join(out)


@dataclass
class BlockInfo:
    """One index entry (52 bytes): where a block is stored and what it holds."""
    offset: int
    length: int
    logical_len: int
    checksum: int
    hash: bytes = ZERO_HASH

    def encode(self) -> bytes:
        return (struct.pack("<QIII", self.offset, self.length, self.logical_len,
                            self.checksum) + bytes(self.hash))

    @property
    def kind(self) -> str:
        """'zero', 'parent' or 'data' (FORMAT.md section 5)."""
        if self.offset == PARENT_OFFSET and self.length == 0:
            return "parent"
        if self.offset == 0 and self.length == 0:
            return "zero"
        return "data"


@dataclass
class PageEntry:
    """A master-index entry (28 bytes) describing one index page."""
    offset: int
    length: int
    start_block: int
    start_logical: int

    def encode(self) -> bytes:
        return struct.pack("<QIQQ", self.offset, self.length, self.start_block,
                           self.start_logical)


@dataclass
class Page:
    """An index page: its master-index entry and its BlockInfos.

    ``file_offset`` is where ``finish`` writes the page's bytes; it starts equal
    to ``entry.offset`` but is kept apart so that a test can change the entry
    without moving the page.  ``raw`` replaces the encoded bytes if set.
    """
    entry: PageEntry
    blocks: list[BlockInfo]
    file_offset: int
    raw: bytes | None = None

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return enc_u64(len(self.blocks)) + b"".join(b.encode() for b in self.blocks)


@dataclass
class MasterIndex:
    """The master index at ``index_offset``."""
    main_pages: list[PageEntry]
    auxiliary_pages: list[PageEntry]
    main_size: int
    auxiliary_size: int

    def encode(self) -> bytes:
        out = [enc_u64(len(self.main_pages))]
        out += [p.encode() for p in self.main_pages]
        out.append(enc_u64(len(self.auxiliary_pages)))
        out += [p.encode() for p in self.auxiliary_pages]
        out += [enc_u64(self.main_size), enc_u64(self.auxiliary_size)]
        return b"".join(out)


@dataclass
class BlockRecord:
    """Bookkeeping about one block (not part of the format): its global number,
    stream ('main'/'auxiliary'), logical offset, BlockInfo and how it was made
    ('data', 'dedup', 'zero', 'parent', 'parent-position')."""
    number: int
    stream: str
    logical_offset: int
    info: BlockInfo
    how: str


@dataclass
class Archive:
    """A laid-out archive whose structures are still Python objects.

    ``body`` holds the bytes of the file up to the master index (header area
    and page areas are placeholders filled by ``finish``).  ``patches``
    (offset, bytes) are applied last; ``truncate_to`` cuts the file.
    """
    header: Header
    body: BinaryIO
    main_pages: list[Page]
    auxiliary_pages: list[Page]
    master: MasterIndex
    index_file_offset: int
    metadata: bytes | None = None
    signature: bytes | None = None
    sign_key: bytes | None = None
    trailer: bytes = b""
    patches: list[tuple[int, bytes]] = field(default_factory=list)
    truncate_to: int | None = None
    allow_header_overflow: bool = False
    blocks: list[BlockRecord] = field(default_factory=list)
    manifest: dict | None = None
    dictionary: bytes | None = None

    def pages(self) -> list[Page]:
        """All pages, main first."""
        return self.main_pages + self.auxiliary_pages

    def fix_tail_offsets(self) -> None:
        """Recompute metadata/signature offsets after the master index changed."""
        end = self.index_file_offset + len(self.master.encode())
        if self.metadata is not None:
            self.header.metadata_offset, self.header.metadata_length = end, len(self.metadata)
            end += len(self.metadata)
        if self.signature is not None or self.sign_key is not None:
            self.header.signature_offset = end
            self.header.signature_length = (SIGNATURE_SIZE if self.signature is None
                                            else len(self.signature))

    def block(self, number: int) -> BlockRecord:
        """The record of global block ``number``."""
        return self.blocks[number]


# ---------------------------------------------------------------------------
# Options

@dataclass
class Options:
    """Everything ``build_archive`` needs.

    Streams (``main``, ``auxiliary``) are bytes or a path; ``None`` means the
    stream is absent.  ``directory`` packs a tree into the main stream.
    """
    main: bytes | str | os.PathLike | None = None
    auxiliary: bytes | str | os.PathLike | None = None
    directory: str | os.PathLike | None = None
    compression: str = "lz4"
    level: int | None = None
    dictionary: bytes | None = None
    train_dictionary: bool = False
    dictionary_size: int = 64 * 1024
    block_size: int = DEFAULT_BLOCK_SIZE
    variable: bool = False
    min_size: int | None = None
    avg_size: int | None = None
    max_size: int | None = None
    page_entries: int = DEFAULT_PAGE_ENTRIES
    dedup: bool = True
    hashes: bool = True
    zero_blocks: bool = True
    password: bytes | str | None = None
    iterations: int = DEFAULT_ITERATIONS
    salt: bytes | None = None
    parents: list[str] = field(default_factory=list)
    parent_lookup: bool = True
    parent_by_position: bool = False
    base_dir: str | None = None
    manifest_json: bytes | None = None
    sign_key: bytes | None = None
    signature: bytes | None = None
    header_overrides: dict = field(default_factory=dict)
    corrupt_blocks: list[int] = field(default_factory=list)
    allow_header_overflow: bool = False


# ---------------------------------------------------------------------------
# BLAKE3 through b3sum

def blake3_many(chunks: list[bytes]) -> list[bytes]:
    """BLAKE3 digests of ``chunks``, computed by one b3sum run per 2048 blocks.

    The blocks are written to numbered files in a temporary directory (on
    /dev/shm when it exists) and hashed in a single b3sum invocation.
    """
    if not chunks:
        return []
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    out: list[bytes] = []
    with tempfile.TemporaryDirectory(prefix="hexzw-", dir=base) as tmp:
        for start in range(0, len(chunks), 2048):
            group = chunks[start:start + 2048]
            names = []
            for i, chunk in enumerate(group):
                name = str(i)
                with open(os.path.join(tmp, name), "wb") as f:
                    f.write(chunk)
                names.append(name)
            proc = subprocess.run(["b3sum", "--"] + names, cwd=tmp, check=True,
                                  stdout=subprocess.PIPE)
            lines = proc.stdout.decode("ascii").splitlines()
            if len(lines) != len(group):
                raise WriterError("unexpected b3sum output")
            for name, line in zip(names, lines):
                digest, _, got = line.partition("  ")
                if got != name:
                    raise WriterError("unexpected b3sum output line %r" % line)
                out.append(bytes.fromhex(digest))
    return out


def blake3(data: bytes) -> bytes:
    """BLAKE3 of one buffer (via b3sum)."""
    return blake3_many([data])[0]


# ---------------------------------------------------------------------------
# Chunking

def _gear_table() -> list[int]:
    """256 pseudo-random 64-bit gear values, fixed for reproducibility."""
    return [int.from_bytes(hashlib.sha256(b"hexz-writer gear %d" % i).digest()[:8], "little")
            for i in range(256)]


GEAR = _gear_table()


def cdc_sizes(opts: Options) -> tuple[int, int, int]:
    """(min, avg, max) chunk sizes: avg defaults to block_size, min avg/4, max avg*4."""
    avg = opts.avg_size or opts.block_size
    mn = opts.min_size if opts.min_size is not None else max(1, avg // 4)
    mx = opts.max_size if opts.max_size is not None else avg * 4
    if not 0 < mn <= avg <= mx:
        raise WriterError("need 0 < min <= avg <= max for --variable")
    return mn, avg, mx


def cdc_params(opts: Options) -> tuple[int, int, int]:
    """The header's cdc_params: (log2 of the average size, min, max) -- this
    matches FORMAT.md's example (16, 16384, 262144) for the 64 KiB default."""
    mn, avg, mx = cdc_sizes(opts)
    return (max(0, round(math.log2(avg))), mn, mx)


def _cut_point(buf: bytes, start: int, end: int, mn: int, mx: int, mask: int) -> int:
    """End of the chunk starting at ``start``: the first position at least
    ``mn`` bytes in where the gear hash has all ``mask`` bits clear, else
    ``start + mx`` (or ``end``).  The hash only depends on the last 64 bytes,
    so hashing starts 64 bytes before the minimum cut point."""
    limit = min(end, start + mx)
    first = start + mn
    if first >= limit:
        return limit
    gear = GEAR
    h = 0
    for b in buf[max(start, first - 64):first]:
        h = ((h << 1) + gear[b]) & _M64
    pos = first
    for b in buf[first:limit]:
        h = ((h << 1) + gear[b]) & _M64
        pos += 1
        if not h & mask:
            return pos
    return limit


def variable_chunks(f: BinaryIO, mn: int, avg: int, mx: int) -> Iterator[bytes]:
    """Content-defined chunks of the stream ``f`` (gear rolling hash).

    A cut is allowed with probability 2**-bits per byte after the minimum,
    where 2**bits is about ``avg - min``, so chunks average about ``avg``.
    """
    bits = max(1, round(math.log2(max(2, avg - mn))))
    mask = ((1 << bits) - 1) << (64 - bits)
    buf = b""
    start = 0
    eof = False
    window = max(4 * mx, 8 << 20)
    while True:
        if not eof and len(buf) - start < mx:
            more = f.read(window)
            eof = not more
            buf = buf[start:] + more
            start = 0
            continue
        if start >= len(buf):
            return
        cut = _cut_point(buf, start, len(buf), mn, mx, mask)
        yield buf[start:cut]
        start = cut


def fixed_chunks(f: BinaryIO, size: int) -> Iterator[bytes]:
    """Chunks of exactly ``size`` bytes (the last one may be short)."""
    while True:
        chunk = f.read(size)
        while chunk and len(chunk) < size:
            more = f.read(size - len(chunk))
            if not more:
                break
            chunk += more
        if not chunk:
            return
        yield chunk


# ---------------------------------------------------------------------------
# Sources

@dataclass
class Segment:
    """A piece of a stream that starts on a block (and page) boundary: a whole
    stream, or one file of a directory."""
    data: bytes | None = None
    path: str | None = None

    def open(self) -> BinaryIO:
        return io.BytesIO(self.data) if self.path is None else open(self.path, "rb")

    def size(self) -> int:
        return len(self.data) if self.path is None else os.path.getsize(self.path)


def _segment(src: bytes | str | os.PathLike) -> Segment:
    if isinstance(src, (bytes, bytearray, memoryview)):
        return Segment(data=bytes(src))
    return Segment(path=os.fspath(src))


def scan_directory(root: str | os.PathLike) -> list[tuple[str, str, os.stat_result]]:
    """Regular files under ``root`` as (relative path with '/', full path, lstat),
    sorted by the UTF-8 bytes of the relative path.  Symlinks, devices and
    directories themselves are not packed."""
    root = os.fspath(root)
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in filenames:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            if stat.S_ISREG(st.st_mode):
                rel = os.path.relpath(full, root).replace(os.sep, "/")
                found.append((rel, full, st))
    found.sort(key=lambda t: t[0].encode("utf-8", "surrogateescape"))
    return found


# ---------------------------------------------------------------------------
# Compression and encryption

def make_compressor(opts: Options, dictionary: bytes | None) -> Callable[[bytes], bytes]:
    """A function compressing one block as FORMAT.md section 5 stores it."""
    if opts.compression == "lz4":
        if dictionary is not None:
            raise WriterError("dictionaries are for zstd only")
        if opts.level is not None and opts.level > 0:
            level = opts.level

            def lz4_hc(data: bytes) -> bytes:
                return enc_u32(len(data)) + lz4.block.compress(
                    data, store_size=False, mode="high_compression", compression=level)
            return lz4_hc

        def lz4_fast(data: bytes) -> bytes:
            return enc_u32(len(data)) + lz4.block.compress(data, store_size=False)
        return lz4_fast
    if opts.compression == "zstd":
        level = 3 if opts.level is None else opts.level
        dict_data = zstandard.ZstdCompressionDict(dictionary) if dictionary is not None else None
        cctx = zstandard.ZstdCompressor(level=level, dict_data=dict_data,
                                        write_content_size=True, write_checksum=False)
        return cctx.compress
    raise WriterError("unknown compression %r" % opts.compression)


def derive_key(password: bytes, salt: bytes, iterations: int) -> bytes:
    """PBKDF2-HMAC-SHA256, 32 bytes."""
    return hashlib.pbkdf2_hmac("sha256", password, salt, iterations, 32)


def block_nonce(number: int) -> bytes:
    """AES-GCM nonce of global block ``number``: 4 zero bytes, then BE u64."""
    return b"\0\0\0\0" + struct.pack(">Q", number)


def _password_bytes(pw: bytes | str) -> bytes:
    return pw.encode("utf-8") if isinstance(pw, str) else bytes(pw)


def train_dictionary(segments: list[Segment], size: int, piece: int) -> bytes:
    """Train a zstd dictionary of at most ``size`` bytes from pieces of the data
    (at most ~16 MiB of samples, spread evenly); smaller sizes are tried when
    the data are too few for the requested size."""
    budget = 16 << 20
    total = sum(s.size() for s in segments)
    if total == 0:
        raise WriterError("cannot train a dictionary on empty input")
    stride = max(1, math.ceil(total / budget))
    samples: list[bytes] = []
    index = 0
    for seg in segments:
        with seg.open() as f:
            for chunk in fixed_chunks(f, piece):
                if index % stride == 0 and chunk.count(0) != len(chunk):
                    samples.append(chunk)
                index += 1
    size = min(size, max(1024, sum(map(len, samples)) // 4))
    while True:
        try:
            return zstandard.train_dictionary(size, samples, threads=0).as_bytes()
        except zstandard.ZstdError:
            if size <= 1024 or len(samples) < 2:
                raise WriterError("zstd dictionary training failed (too little data)")
            size //= 2


# ---------------------------------------------------------------------------
# Reading archives (parents only: headers, indexes and unencrypted blocks)

class _Buf:
    """Cursor over bytes for bincode decoding."""

    def __init__(self, data: bytes, pos: int = 0):
        self.data, self.pos = data, pos

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise WriterError("truncated structure")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def u8(self) -> int:
        return self.take(1)[0]

    def u32(self) -> int:
        return struct.unpack("<I", self.take(4))[0]

    def u64(self) -> int:
        return struct.unpack("<Q", self.take(8))[0]

    def boolean(self) -> bool:
        v = self.u8()
        if v > 1:
            raise WriterError("bad bool")
        return bool(v)

    def option(self, read):
        tag = self.u8()
        if tag > 1:
            raise WriterError("bad option tag")
        return read() if tag else None


def decode_header(data: bytes) -> Header:
    """Decode a header from the first bytes of an archive."""
    b = _Buf(data)
    h = Header(magic=b.take(4), version=b.u32(), block_size=b.u32(), index_offset=b.u64())
    if h.magic != MAGIC:
        raise WriterError("not a hexz archive")
    h.parent_paths = [b.take(b.u64()).decode("utf-8") for _ in range(b.u64())]
    h.dictionary_offset = b.option(b.u64)
    h.dictionary_length = b.option(b.u32)
    h.metadata_offset = b.option(b.u64)
    h.metadata_length = b.option(b.u32)
    h.signature_offset = b.option(b.u64)
    h.signature_length = b.option(b.u32)
    h.encryption = b.option(lambda: Encryption(b.take(16), b.u32()))
    h.compression = b.u32()
    h.has_main, h.has_auxiliary, h.variable_blocks = b.boolean(), b.boolean(), b.boolean()
    h.cdc_params = b.option(lambda: (b.u32(), b.u32(), b.u32()))
    return h


def _decode_page_entries(b: _Buf) -> list[PageEntry]:
    return [PageEntry(*struct.unpack("<QIQQ", b.take(PAGE_ENTRY_SIZE))) for _ in range(b.u64())]


class ParentArchive:
    """Minimal reader of an (unencrypted) archive used as a parent."""

    def __init__(self, path: str):
        self.path = path
        with open(path, "rb") as f:
            self.data = f.read()
        self.header = decode_header(self.data[:HEADER_SIZE])
        b = _Buf(self.data, self.header.index_offset)
        main_pages = _decode_page_entries(b)
        aux_pages = _decode_page_entries(b)
        self.sizes = {"main": b.u64(), "auxiliary": b.u64()}
        self.streams: dict[str, list[tuple[int, BlockInfo]]] = {}
        for name, entries in (("main", main_pages), ("auxiliary", aux_pages)):
            blocks = []
            for pe in entries:
                pb = _Buf(self.data, pe.offset)
                pos = pe.start_logical
                for _ in range(pb.u64()):
                    info = BlockInfo(*struct.unpack("<QIII", pb.take(20)), hash=pb.take(32))
                    blocks.append((pos, info))
                    pos += info.logical_len
            self.streams[name] = blocks
        self._dctx = None

    def stored_hashes(self) -> set[bytes]:
        """BLAKE3 hashes recorded for this archive's data blocks (non-zero ones)."""
        return {info.hash for blocks in self.streams.values() for _, info in blocks
                if info.kind == "data" and info.hash != ZERO_HASH}

    def read_block(self, info: BlockInfo) -> bytes:
        """Decompressed bytes of one data block (checks the CRC)."""
        if self.header.encryption is not None:
            raise WriterError("%s: parents are opened without encryption" % self.path)
        stored = self.data[info.offset:info.offset + info.length]
        if zlib.crc32(stored) != info.checksum:
            raise WriterError("%s: CRC mismatch in parent block" % self.path)
        if self.header.compression == COMPRESSION_LZ4:
            return lz4.block.decompress(stored[4:], uncompressed_size=info.logical_len)
        if self._dctx is None:
            h = self.header
            d = None
            if h.dictionary_offset is not None:
                d = zstandard.ZstdCompressionDict(
                    self.data[h.dictionary_offset:h.dictionary_offset + h.dictionary_length])
            self._dctx = zstandard.ZstdDecompressor(dict_data=d)
        return self._dctx.decompress(stored, max_output_size=info.logical_len)


def resolve_parent(path: str, child_dir: str) -> str | None:
    """Where a parent path is found: as given, then relative to the child's directory."""
    if os.path.isfile(path):
        return path
    alt = os.path.join(child_dir, path)
    return alt if os.path.isfile(alt) else None


def parent_chain(paths: list[str], child_dir: str) -> list[ParentArchive]:
    """The parents in order, then their parents (breadth first), each once."""
    chain: list[ParentArchive] = []
    seen: set[str] = set()
    level = [(p, child_dir) for p in paths]
    depth = 0
    while level and depth < MAX_PARENT_CHAIN:
        nxt = []
        for p, d in level:
            found = resolve_parent(p, d)
            if found is None:
                raise WriterError("parent %r not found (as given or in %r)" % (p, d))
            real = os.path.realpath(found)
            if real in seen:
                continue
            seen.add(real)
            pa = ParentArchive(found)
            chain.append(pa)
            nxt += [(q, os.path.dirname(real)) for q in pa.header.parent_paths]
        level = nxt
        depth += 1
    return chain


# ---------------------------------------------------------------------------
# Building

class _StreamState:
    """Pages of one stream while it is being written."""

    def __init__(self, name: str, logical: int = 0):
        self.name = name
        self.pages: list[Page] = []
        self.current: list[BlockInfo] = []
        self.page_start_block = 0
        self.page_start_logical = 0
        self.logical = logical


class _Builder:
    """Lays the archive out: dictionary, blocks with interleaved pages."""

    def __init__(self, opts: Options, body: BinaryIO, dictionary: bytes | None):
        self.opts = opts
        self.body = body
        self.compress = make_compressor(opts, dictionary)
        self.pos = HEADER_SIZE
        body.seek(0)
        body.write(bytes(HEADER_SIZE))
        if dictionary is not None:
            body.write(dictionary)
            self.pos += len(dictionary)
        self.block_no = 0
        self.records: list[BlockRecord] = []
        self.dedup: dict[bytes, BlockInfo] = {}
        self.b3cache: dict[bytes, bytes] = {}
        self.zero_hash: dict[int, bytes] = {}
        self.aes = None
        if opts.password is not None:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
            self.aes = AESGCM(derive_key(_password_bytes(opts.password), opts.salt,
                                         opts.iterations))
        self.parent_hashes: set[bytes] = set()
        self.position_parent: ParentArchive | None = None
        self.position_maps: dict[str, dict[int, BlockInfo]] = {}
        if opts.parents and opts.parent_lookup:
            chain = parent_chain(opts.parents, opts.base_dir or ".")
            if opts.parent_by_position:
                self.position_parent = chain[0]
                self.position_maps = {s: dict(b) for s, b in chain[0].streams.items()}
            else:
                for pa in chain:
                    self.parent_hashes |= pa.stored_hashes()
        self.need_hash = opts.hashes or bool(self.parent_hashes)
        self.dedup_on = opts.dedup and self.aes is None

    # -- pages
    def _close_page(self, st: _StreamState) -> None:
        if not st.current:
            return
        page_bytes = 8 + BLOCK_INFO_SIZE * len(st.current)
        entry = PageEntry(self.pos, page_bytes, st.page_start_block, st.page_start_logical)
        st.pages.append(Page(entry, st.current, self.pos))
        self.body.write(bytes(page_bytes))  # placeholder, encoded by finish()
        self.pos += page_bytes
        st.current = []

    def _add_block(self, st: _StreamState, info: BlockInfo, how: str) -> None:
        if not st.current:
            st.page_start_block = self.block_no
            st.page_start_logical = st.logical
        st.current.append(info)
        self.records.append(BlockRecord(self.block_no, st.name, st.logical, info, how))
        self.block_no += 1
        st.logical += info.logical_len
        if len(st.current) >= self.opts.page_entries:
            self._close_page(st)

    # -- blocks
    def _position_match(self, st: _StreamState, chunk: bytes) -> bool:
        pinfo = self.position_maps.get(st.name, {}).get(st.logical)
        if pinfo is None or pinfo.kind != "data" or pinfo.logical_len != len(chunk):
            return False
        return self.position_parent.read_block(pinfo) == chunk

    def _store(self, number: int, chunk: bytes, digest: bytes) -> BlockInfo:
        stored = self.compress(chunk)
        if self.aes is not None:
            stored = self.aes.encrypt(block_nonce(number), stored, None)
        info = BlockInfo(self.pos, len(stored), len(chunk), zlib.crc32(stored),
                         digest if self.opts.hashes else ZERO_HASH)
        self.body.write(stored)
        self.pos += len(stored)
        return info

    def _keys(self, chunks: list[bytes]) -> list[bytes | None]:
        """Dedup keys (BLAKE2b) of ``chunks``; None for a zero block."""
        return [None if (self.opts.zero_blocks and c.count(0) == len(c))
                else hashlib.blake2b(c, digest_size=32).digest() for c in chunks]

    def _hash(self, chunks: list[bytes], keys: list[bytes | None]) -> None:
        """BLAKE3 of the chunks not hashed yet, in one b3sum run per 2048."""
        if not self.need_hash:
            return
        todo = {}
        for c, k in zip(chunks, keys):
            if k is not None and k not in self.b3cache:
                todo[k] = c
        for k, d in zip(todo, blake3_many(list(todo.values()))):
            self.b3cache[k] = d

    def _batch(self, st: _StreamState, chunks: list[bytes],
               keys: list[bytes | None] | None = None) -> None:
        if keys is None:
            keys = self._keys(chunks)
            self._hash(chunks, keys)
        for c, k in zip(chunks, keys):
            if len(c) > 0xFFFFFFFF:
                raise WriterError("block too large")
            if k is None:
                if self.opts.hashes and len(c) not in self.zero_hash:
                    self.zero_hash[len(c)] = blake3(c)
                self._add_block(st, BlockInfo(0, 0, len(c), 0,
                                              self.zero_hash.get(len(c), ZERO_HASH)), "zero")
                continue
            digest = self.b3cache.get(k, ZERO_HASH)
            if self.position_parent is not None and self._position_match(st, c):
                self._add_block(st, BlockInfo(PARENT_OFFSET, 0, len(c), 0, ZERO_HASH),
                                "parent-position")
            elif digest in self.parent_hashes:
                self._add_block(st, BlockInfo(PARENT_OFFSET, 0, len(c), 0, digest), "parent")
            elif self.dedup_on and k in self.dedup:
                self._add_block(st, dataclasses.replace(self.dedup[k]), "dedup")
            else:
                info = self._store(self.block_no, c, digest)
                if self.dedup_on:
                    self.dedup[k] = info
                self._add_block(st, info, "data")

    def _chunks(self, f: BinaryIO) -> Iterator[bytes]:
        if self.opts.variable:
            return variable_chunks(f, *cdc_sizes(self.opts))
        return fixed_chunks(f, self.opts.block_size)

    def _small_segments(self, st: _StreamState, group: list[list[bytes]]) -> None:
        """Write segments read whole, hashing all their chunks at once: a
        directory of many small files then costs one b3sum run per 2048
        blocks rather than one per file."""
        every = [c for chunks in group for c in chunks]
        keys = self._keys(every)
        self._hash(every, keys)
        i = 0
        for chunks in group:
            if chunks:
                self._batch(st, chunks, keys[i:i + len(chunks)])
                i += len(chunks)
            self._close_page(st)

    def write_stream(self, name: str, segments: list[Segment]) -> _StreamState:
        """Write all blocks of a stream; a page ends at every segment boundary.
        Blocks are handled in batches of at most 32 MiB or 4096 blocks: a
        large segment in several, small ones several to a batch."""
        st = _StreamState(name)
        group: list[list[bytes]] = []
        gsize = gcount = 0
        for seg in segments:
            if seg.size() < (32 << 20):
                with seg.open() as f:
                    chunks = list(self._chunks(f))
                group.append(chunks)
                gsize += sum(len(c) for c in chunks)
                gcount += len(chunks)
                if gsize >= (32 << 20) or gcount >= 4096:
                    self._small_segments(st, group)
                    group, gsize, gcount = [], 0, 0
                continue
            if group:
                self._small_segments(st, group)
                group, gsize, gcount = [], 0, 0
            with seg.open() as f:
                batch: list[bytes] = []
                size = 0
                for c in self._chunks(f):
                    batch.append(c)
                    size += len(c)
                    if size >= (32 << 20) or len(batch) >= 4096:
                        self._batch(st, batch)
                        batch, size = [], 0
                if batch:
                    self._batch(st, batch)
            self._close_page(st)
        if group:
            self._small_segments(st, group)
        return st


def build_archive(opts: Options, body: BinaryIO | None = None) -> Archive:
    """Lay out an archive from ``opts``; data blocks go to ``body`` (a seekable
    binary file, default an in-memory buffer).  Nothing structural is encoded
    yet: change any field of the result, then call ``serialize``/``finish``."""
    if body is None:
        body = io.BytesIO()
    if opts.directory is not None and opts.main is not None:
        raise WriterError("give a main stream or a directory, not both")
    if opts.page_entries < 1:
        raise WriterError("page entries must be at least 1")
    if opts.block_size < 1 or opts.block_size > 0xFFFFFFFF:
        raise WriterError("bad block size")
    if opts.password is not None and opts.salt is None:
        opts = dataclasses.replace(opts, salt=os.urandom(16))

    manifest = None
    main_segments: list[Segment] | None = None
    if opts.directory is not None:
        files = scan_directory(opts.directory)
        main_segments = [Segment(path=full) for _, full, _ in files]
        entries, off = [], 0
        for (rel, full, st), seg in zip(files, main_segments):
            entries.append({"path": rel, "offset": off, "size": st.st_size,
                            "mode": st.st_mode, "mtime": int(st.st_mtime)})
            off += st.st_size
        manifest = {"files": entries}
    elif opts.main is not None:
        main_segments = [_segment(opts.main)]
    aux_segments = [_segment(opts.auxiliary)] if opts.auxiliary is not None else None

    dictionary = opts.dictionary
    if opts.train_dictionary and dictionary is None:
        if opts.compression != "zstd":
            raise WriterError("dictionaries are for zstd only")
        dictionary = train_dictionary((main_segments or []) + (aux_segments or []),
                                      opts.dictionary_size, 4096)

    b = _Builder(opts, body, dictionary)
    main = b.write_stream("main", main_segments or [])
    aux = b.write_stream("auxiliary", aux_segments or [])
    if manifest is not None:
        if main.logical != sum(e["size"] for e in manifest["files"]):
            raise WriterError("a file changed size while it was packed")

    header = Header(block_size=opts.block_size, parent_paths=list(opts.parents),
                    compression=COMPRESSIONS[opts.compression],
                    has_main=main_segments is not None,
                    has_auxiliary=aux_segments is not None,
                    variable_blocks=opts.variable,
                    cdc_params=cdc_params(opts) if opts.variable else None)
    if opts.variable:
        header.block_size = cdc_sizes(opts)[1]
    if dictionary is not None:
        header.dictionary_offset, header.dictionary_length = HEADER_SIZE, len(dictionary)
    if opts.password is not None:
        header.encryption = Encryption(bytes(opts.salt), opts.iterations)
    header.index_offset = b.pos
    master = MasterIndex([p.entry for p in main.pages], [p.entry for p in aux.pages],
                         main.logical, aux.logical)
    if opts.manifest_json is not None:
        metadata = bytes(opts.manifest_json)
    elif manifest is not None:
        metadata = json.dumps(manifest, ensure_ascii=False,
                              separators=(",", ":")).encode("utf-8")
    else:
        metadata = None
    arch = Archive(header=header, body=body, main_pages=main.pages,
                   auxiliary_pages=aux.pages, master=master, index_file_offset=b.pos,
                   metadata=metadata, signature=opts.signature, sign_key=opts.sign_key,
                   allow_header_overflow=opts.allow_header_overflow,
                   blocks=b.records, manifest=manifest, dictionary=dictionary)
    arch.fix_tail_offsets()
    for name, value in opts.header_overrides.items():
        set_header_field(header, name, value)
    for n in opts.corrupt_blocks:
        corrupt_block(arch, n)
    return arch


def set_header_field(header: Header, name: str, value) -> None:
    """Set a header field from a JSON-like value (lists for tuples, hex strings
    for byte fields, {"salt": hex, "iterations": n} for encryption)."""
    if not hasattr(header, name):
        raise WriterError("no header field %r" % name)
    if name == "magic" and isinstance(value, str):
        value = value.encode("latin-1")
    elif name == "encryption" and isinstance(value, dict):
        value = Encryption(bytes.fromhex(value["salt"]), int(value["iterations"]))
    elif name == "cdc_params" and value is not None:
        value = tuple(value)
    setattr(header, name, value)


def corrupt_block(arch: Archive, number: int) -> None:
    """Flip one byte in the middle of the stored bytes of data block ``number``."""
    if not 0 <= number < len(arch.blocks):
        raise WriterError("no block %d (the archive has %d)" % (number, len(arch.blocks)))
    info = arch.block(number).info
    if info.kind != "data":
        raise WriterError("block %d stores nothing" % number)
    off = info.offset + info.length // 2
    arch.body.seek(off)
    old = arch.body.read(1)
    arch.patches.append((off, bytes([old[0] ^ 0x5A])))


def sign(seed: bytes, message: bytes) -> bytes:
    """Ed25519 signature of SHA-256(message) with the 32-byte private ``seed``."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    return Ed25519PrivateKey.from_private_bytes(seed).sign(hashlib.sha256(message).digest())


def public_key(seed: bytes) -> bytes:
    """The raw 32-byte Ed25519 public key of ``seed``."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives import serialization
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def finish(arch: Archive, f: BinaryIO) -> None:
    """Encode every structure of ``arch`` into ``f``, which already holds the
    body: header at 0 (zero-padded to 4096), pages, master index, metadata,
    signature, trailer; then patches and truncation."""
    hdr = arch.header.encode()
    if len(hdr) > HEADER_SIZE and not arch.allow_header_overflow:
        raise WriterError("header is %d bytes, over %d" % (len(hdr), HEADER_SIZE))
    f.seek(0)
    f.write(hdr.ljust(HEADER_SIZE, b"\0"))
    for page in arch.pages():
        f.seek(page.file_offset)
        f.write(page.encode())
    tail = arch.master.encode() + (arch.metadata or b"")
    f.seek(arch.index_file_offset)
    f.write(tail)
    if arch.signature is not None:
        f.write(arch.signature)
    elif arch.sign_key is not None:
        f.write(sign(arch.sign_key, tail))
    f.write(arch.trailer)
    f.truncate()
    for off, data in arch.patches:
        f.seek(off)
        f.write(data)
    if arch.truncate_to is not None:
        f.truncate(arch.truncate_to)
    f.flush()


def serialize(arch: Archive) -> bytes:
    """The archive's bytes (the body is copied, ``arch`` is not changed)."""
    arch.body.seek(0)
    out = io.BytesIO(arch.body.read())
    finish(arch, out)
    return out.getvalue()


def write_archive(opts: Options, path: str, tamper: Callable[[Archive], None] | None = None
                  ) -> Archive:
    """Build and write an archive to ``path`` streaming (the body is the file
    itself, so large inputs do not sit in memory).  ``tamper`` may change the
    structures before they are encoded.  Returns the Archive."""
    if opts.base_dir is None:
        opts = dataclasses.replace(opts, base_dir=os.path.dirname(os.path.abspath(path)))
    tmp = path + ".tmp-%d" % os.getpid()
    try:
        with open(tmp, "w+b") as f:
            arch = build_archive(opts, f)
            if tamper is not None:
                tamper(arch)
            finish(arch, f)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return arch


def summary(arch: Archive) -> dict:
    """A JSON-able description of what was written."""
    hows: dict[str, int] = {}
    for r in arch.blocks:
        hows[r.how] = hows.get(r.how, 0) + 1
    h = arch.header
    return {
        "header": {k: (v.hex() if isinstance(v, bytes) else
                       {"salt": v.salt.hex(), "iterations": v.iterations}
                       if isinstance(v, Encryption) else v)
                   for k, v in dataclasses.asdict(h).items() if k != "encryption"}
        | {"encryption": None if h.encryption is None else
           {"salt": h.encryption.salt.hex(), "iterations": h.encryption.iterations}},
        "main_size": arch.master.main_size,
        "auxiliary_size": arch.master.auxiliary_size,
        "main_pages": len(arch.main_pages),
        "auxiliary_pages": len(arch.auxiliary_pages),
        "blocks": len(arch.blocks),
        "block_kinds": hows,
    }


# ---------------------------------------------------------------------------
# CLI

def _int(s: str) -> int:
    return int(s, 0)


def _size(s: str) -> int:
    """Parse 4096, 64K, 1M, 2G (binary units)."""
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    s = s.strip().lower()
    if s and s[-1] in units:
        return int(float(s[:-1]) * units[s[-1]])
    return int(s, 0)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="hexz_writer.py",
        description="Write a hexz (format 1) archive; see FORMAT.md.")
    p.add_argument("output", help="archive to write")
    s = p.add_argument_group("streams")
    s.add_argument("--main", metavar="FILE", help="main stream from FILE")
    s.add_argument("--aux", "--auxiliary", dest="aux", metavar="FILE",
                   help="auxiliary stream from FILE")
    s.add_argument("--dir", metavar="DIR", help="pack the regular files under DIR "
                   "into the main stream, with a JSON manifest")
    c = p.add_argument_group("compression and blocks")
    c.add_argument("--compression", "-c", choices=sorted(COMPRESSIONS), default="lz4")
    c.add_argument("--level", type=int, help="zstd level (default 3); LZ4: >0 selects "
                   "the high-compression mode at that level")
    c.add_argument("--dict", metavar="FILE", help="zstd dictionary stored verbatim")
    c.add_argument("--train-dict", action="store_true", help="train a zstd dictionary "
                   "from the data")
    c.add_argument("--dict-size", type=_size, default=64 * 1024)
    c.add_argument("--block-size", type=_size, default=DEFAULT_BLOCK_SIZE)
    c.add_argument("--variable", action="store_true", help="content-defined blocks")
    c.add_argument("--min-size", type=_size)
    c.add_argument("--avg-size", type=_size, help="default: --block-size")
    c.add_argument("--max-size", type=_size)
    c.add_argument("--page-entries", type=int, default=DEFAULT_PAGE_ENTRIES)
    c.add_argument("--no-dedup", action="store_true")
    c.add_argument("--no-hash", action="store_true", help="all-zero BLAKE3 fields")
    c.add_argument("--no-zero-blocks", action="store_true",
                   help="store all-zero chunks as data blocks")
    e = p.add_argument_group("encryption")
    e.add_argument("--password")
    e.add_argument("--passfile", help="password = file contents minus one trailing newline")
    e.add_argument("--iterations", type=int, default=DEFAULT_ITERATIONS)
    e.add_argument("--salt", help="16 bytes in hex (default random)")
    t = p.add_argument_group("thin archives")
    t.add_argument("--parent", action="append", default=[], metavar="PATH",
                   help="parent archive (repeatable; written as given)")
    t.add_argument("--parent-by-position", action="store_true",
                   help="refer to the first parent's block at the same stream offset, "
                   "all-zero hash")
    t.add_argument("--no-parent-lookup", action="store_true",
                   help="only record the parent paths (they need not exist)")
    m = p.add_argument_group("metadata and hostile-input helpers")
    m.add_argument("--manifest-json", metavar="FILE", help="metadata written verbatim")
    m.add_argument("--sign-key", metavar="HEX", help="Ed25519 32-byte seed: sign the archive")
    m.add_argument("--signature-hex", metavar="HEX", help="raw signature bytes to store")
    m.add_argument("--set", action="append", default=[], metavar="FIELD=JSON",
                   help="override a header field, e.g. version=2, metadata_offset=null")
    m.add_argument("--corrupt-block", action="append", type=int, default=[], metavar="N",
                   help="flip a byte in stored block number N")
    m.add_argument("--patch", action="append", default=[], metavar="OFFSET:HEX",
                   help="overwrite bytes at OFFSET")
    m.add_argument("--truncate", type=_int, help="cut the file to this many bytes")
    m.add_argument("--trailer-hex", default="", help="bytes appended at the end")
    m.add_argument("--allow-header-overflow", action="store_true",
                   help="write a header over 4096 bytes over the data, as hexz does")
    p.add_argument("--summary", action="store_true", help="print a JSON summary")
    return p.parse_args(argv)


def options_from_args(a: argparse.Namespace) -> Options:
    """Translate CLI arguments into Options."""
    if a.password is not None and a.passfile is not None:
        raise WriterError("--password or --passfile, not both")
    password = a.password
    if a.passfile is not None:
        with open(a.passfile, "rb") as f:
            password = f.read()
        if password.endswith(b"\r\n"):
            password = password[:-2]
        elif password.endswith(b"\n"):
            password = password[:-1]
    overrides = {}
    for item in a.set:
        name, _, value = item.partition("=")
        overrides[name] = json.loads(value)
    dictionary = None
    if a.dict:
        with open(a.dict, "rb") as f:
            dictionary = f.read()
    manifest = None
    if a.manifest_json:
        with open(a.manifest_json, "rb") as f:
            manifest = f.read()
    return Options(
        main=a.main, auxiliary=a.aux, directory=a.dir, compression=a.compression,
        level=a.level, dictionary=dictionary, train_dictionary=a.train_dict,
        dictionary_size=a.dict_size, block_size=a.block_size, variable=a.variable,
        min_size=a.min_size, avg_size=a.avg_size, max_size=a.max_size,
        page_entries=a.page_entries, dedup=not a.no_dedup, hashes=not a.no_hash,
        zero_blocks=not a.no_zero_blocks, password=password, iterations=a.iterations,
        salt=bytes.fromhex(a.salt) if a.salt else None, parents=a.parent,
        parent_lookup=not a.no_parent_lookup, parent_by_position=a.parent_by_position,
        manifest_json=manifest,
        sign_key=bytes.fromhex(a.sign_key) if a.sign_key else None,
        signature=bytes.fromhex(a.signature_hex) if a.signature_hex else None,
        header_overrides=overrides, corrupt_blocks=a.corrupt_block,
        allow_header_overflow=a.allow_header_overflow)


def main(argv: list[str] | None = None) -> int:
    a = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        opts = options_from_args(a)

        def tamper(arch: Archive) -> None:
            for item in a.patch:
                off, _, hexdata = item.partition(":")
                arch.patches.append((_int(off), bytes.fromhex(hexdata)))
            if a.truncate is not None:
                arch.truncate_to = a.truncate
            arch.trailer = bytes.fromhex(a.trailer_hex)

        arch = write_archive(opts, a.output, tamper)
    except (WriterError, OSError, ValueError) as exc:
        print("hexz_writer: %s" % exc, file=sys.stderr)
        return 1
    if a.summary:
        print(json.dumps(summary(arch), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
