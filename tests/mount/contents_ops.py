#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks of a hexzfs -o view=contents mount that need exact errno values,
attributes, offsets or handles held across changes of the source, with the
same protocol as fsops.py: each check prints "ok: WHAT" or "FAIL: WHAT"
followed by indented details; the exit status is 1 when any check failed.

The expected contents come from the writer's corpus (corpus.json, see
tests/writer/make_corpus.py) or from files the test wrote itself.

usage: contents_ops.py SUBCOMMAND ARGS...   (see the functions named cmd_*)
"""

import errno
import hashlib
import ctypes
import json
import mmap
import os
import random
import stat
import subprocess
import sys
import threading
import time

# The ok/FAIL protocol and its helpers are fsops.py's, shared.
import fsops  # noqa: E402
from fsops import check, check_eq, errname, fail, ok, sha  # noqa: E402,F401


def read_all(fd):
    out = []
    off = 0
    while True:
        chunk = os.pread(fd, 1 << 20, off)
        if not chunk:
            return b"".join(out)
        out.append(chunk)
        off += len(chunk)


def load(path):
    with open(path, "rb") as f:
        return f.read()


def corpus_cases(corpus):
    with open(os.path.join(corpus, "corpus.json"), encoding="utf-8") as f:
        return {c["name"]: c for c in json.load(f)["cases"]}


# ------------------------------------------------------------------ corpus

def cmd_cases(corpus):
    """One line per corpus case, tab-separated, for the shell:
    name archive password expect_error main_file aux_file aux_size manifest damaged.
    Empty fields are '-'."""
    for c in corpus_cases(corpus).values():
        main = c["main"]["file"] if c["main"] else "-"
        aux = c["auxiliary"]["file"] if c["auxiliary"] else "-"
        aux_size = c["auxiliary"]["size"] if c["auxiliary"] else 0
        fields = [c["name"], c["archive"], c["password"] or "-", c["expect_error"] or "-",
                  main, aux, str(aux_size), "1" if c["manifest"] else "0",
                  ",".join(str(b) for b in c["damaged_blocks"]) or "-"]
        print("\t".join(fields))


def cmd_manifest_files(corpus, case):
    """The manifest of CASE, one line per file: path TAB expected file."""
    for e in corpus_cases(corpus)[case]["manifest"]:
        print(f"{e['path']}\t{e['file']}")


def expected_tree(case):
    """{relative path: ('d', None) or ('f', manifest entry or stream name)}."""
    tree = {}
    if case["manifest"] is not None:
        for e in case["manifest"]:
            parts = e["path"].split("/")
            for i in range(1, len(parts)):
                tree["/".join(parts[:i])] = ("d", None)
            tree[e["path"]] = ("f", e)
    else:
        tree["main"] = ("f", "main")
        if case["auxiliary"] and case["auxiliary"]["size"] > 0:
            tree["auxiliary"] = ("f", "auxiliary")
    return tree


def walk(top):
    """{relative path: 'd' or 'f' or '?'} from readdir's d_type alone."""
    seen = {}
    stack = [""]
    while stack:
        rel = stack.pop()
        for ent in os.scandir(os.path.join(top, rel) if rel else top):
            path = f"{rel}/{ent.name}" if rel else ent.name
            if ent.is_dir(follow_symlinks=False):
                seen[path] = "d"
                stack.append(path)
            elif ent.is_file(follow_symlinks=False):
                seen[path] = "f"
            else:
                seen[path] = "?"
    return seen


def cmd_tree(adir, corpus, name):
    """The archive directory ADIR holds exactly the tree corpus case NAME
    describes (manifest files with the directories their paths imply, or
    main and a non-empty auxiliary), each entry of the right type."""
    case = corpus_cases(corpus)[name]
    want = {p: t for p, (t, _) in expected_tree(case).items()}
    seen = walk(adir)
    extra = sorted(set(seen) - set(want))
    missing = sorted(set(want) - set(seen))
    check(not extra and not missing, f"{name}: the archive directory holds exactly its {len(want)} entries",
          f"not expected: {extra[:10]}", f"missing: {missing[:10]}")
    wrong = [p for p in sorted(set(want) & set(seen)) if want[p] != seen[p]]
    check(not wrong, f"{name}: every entry has the expected type (readdir)", f"wrong: {wrong[:10]}")


# -------------------------------------------------------------- attributes

def parse_ls(adir):
    """`ls -lnR` of ADIR, run before anything else looked at it, so the
    attributes it shows come from READDIRPLUS: {relative path: (type,
    mode, uid, gid, size, mtime)}."""
    out = subprocess.run(["ls", "-lnRa", "--time-style=+%s", "--quoting-style=literal", adir],
                         check=True, capture_output=True, text=True,
                         env=dict(os.environ, LC_ALL="C.UTF-8")).stdout
    res = {}
    rel = ""
    for line in out.splitlines():
        if not line or line.startswith("total "):
            continue
        if line.endswith(":") and line.startswith(adir):
            rel = line[len(adir):-1].lstrip("/")
            continue
        fields = line.split(None, 6)
        if len(fields) < 7:
            continue
        perms, _links, uid, gid, size, mtime, name = fields
        if name in (".", ".."):
            continue
        mode = 0
        for i, ch in enumerate(perms[1:10]):
            if ch != "-":
                mode |= 1 << (8 - i)
        res[f"{rel}/{name}" if rel else name] = (perms[0], mode, int(uid), int(gid), int(size),
                                                 int(mtime))
    return res


def shown_perm(perm, is_dir, umask):
    """What entry_attr makes of permission bits PERM (write bits dropped)."""
    if umask is not None:
        perm = (0o777 if is_dir else 0o666) & ~umask
    return perm & ~0o6222


def cmd_attrs(adir, archive, corpus, name, uid, gid, umask):  # noqa: C901
    """Attributes of archive directory ADIR (source file ARCHIVE, corpus case
    NAME) and of everything in it: types, modes, owners, times and sizes,
    the same from READDIRPLUS (ls -l, first), lookup (stat) and getattr
    (fstat of an open file), d_ino equal to st_ino. UID, GID, UMASK: the
    mount's overrides, or '-'."""
    case = corpus_cases(corpus)[name]
    label = name if (uid, gid, umask) == ("-", "-", "-") else \
        f"[uid={uid},gid={gid},umask={umask}] {name}"
    name = label
    listed = parse_ls(adir)
    src = os.stat(archive)
    uid = src.st_uid if uid == "-" else int(uid)
    gid = src.st_gid if gid == "-" else int(gid)
    umask = None if umask == "-" else int(umask, 8)
    rbits = src.st_mode & 0o444

    st = os.stat(adir)
    what = f"{name}: archive directory"
    check_eq(f"{what}: mode (read bits of {oct(src.st_mode & 0o777)} plus search)",
             oct(stat.S_IFDIR | shown_perm(rbits | rbits >> 2, True, umask)), oct(st.st_mode))
    check_eq(f"{what}: owner and group", (uid, gid), (st.st_uid, st.st_gid))
    check_eq(f"{what}: atime, mtime, ctime of the archive file",
             (src.st_atime_ns, src.st_mtime_ns, src.st_ctime_ns),
             (st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns))
    check_eq(f"{what}: inode number of the archive file", src.st_ino, st.st_ino)
    top = {e.name: e.inode() for e in os.scandir(os.path.dirname(adir))}
    check_eq(f"{what}: d_ino in its parent's listing equals st_ino", st.st_ino,
             top.get(os.path.basename(adir)))

    sizes = {"main": case["main"]["size"] if case["main"] else 0,
             "auxiliary": case["auxiliary"]["size"] if case["auxiliary"] else 0}
    bad = []
    tree = expected_tree(case)
    check_eq(f"{name}: ls -lR lists every entry", sorted(tree), sorted(listed))
    for path, (kind, ent) in sorted(tree.items()):
        full = os.path.join(adir, path)
        if kind == "d":
            want = (stat.S_IFDIR | shown_perm(0o555, True, umask), uid, gid, None, None)
        elif isinstance(ent, dict):
            want = (stat.S_IFREG | shown_perm(ent["mode"] & 0o7777, False, umask), uid, gid,
                    ent["size"], ent["mtime"] * 10**9)
        else:
            want = (stat.S_IFREG | shown_perm(rbits, False, umask), uid, gid, sizes[ent],
                    src.st_mtime_ns)
        st = os.stat(full)
        seen = (st.st_mode, st.st_uid, st.st_gid, st.st_size if kind == "f" else None,
                st.st_mtime_ns if kind == "f" else None)
        if seen != want:
            bad.append(f"{path}: stat (mode, uid, gid, size, mtime) {seen}, expected {want}")
        if kind == "f" and not isinstance(ent, dict) and \
                (st.st_atime_ns, st.st_ctime_ns) != (src.st_atime_ns, src.st_ctime_ns):
            bad.append(f"{path}: atime/ctime {st.st_atime_ns} {st.st_ctime_ns}, "
                       f"expected the archive's {src.st_atime_ns} {src.st_ctime_ns}")
        if st.st_mode & 0o222:
            bad.append(f"{path}: a write bit is shown: {oct(st.st_mode)}")
        ls = listed.get(path)
        if ls:
            lmode = (stat.S_IFDIR if ls[0] == "d" else stat.S_IFREG if ls[0] == "-" else 0) | ls[1]
            lseen = (lmode, ls[2], ls[3], ls[4] if kind == "f" else None)
            if lseen != want[:4]:
                bad.append(f"{path}: ls -l (READDIRPLUS) shows (mode, uid, gid, size) {lseen}, "
                           f"expected {want[:4]}")
            if kind == "f" and ls[5] != want[4] // 10**9:
                bad.append(f"{path}: ls -l mtime {ls[5]}, expected {want[4] // 10**9}")
        if kind == "f":
            fd = os.open(full, os.O_RDONLY)
            try:
                fst = os.fstat(fd)
            finally:
                os.close(fd)
            if (fst.st_size, fst.st_mode, fst.st_ino) != (st.st_size, st.st_mode, st.st_ino):
                bad.append(f"{path}: fstat (size, mode, ino) {(fst.st_size, fst.st_mode, fst.st_ino)}"
                           f" differs from stat {(st.st_size, st.st_mode, st.st_ino)}")
    check(not bad, f"{name}: every entry's mode, owner, size and mtime agree across "
          f"ls -l, stat and fstat (uid {uid}, gid {gid}, umask {oct(umask) if umask is not None else '-'})",
          *bad[:12])
    # Inode numbers: readdir's d_ino equals stat's st_ino; all distinct.
    inos = {}
    mismatch = []
    for dirpath in [""] + [p for p, (k, _) in tree.items() if k == "d"]:
        for ent in os.scandir(os.path.join(adir, dirpath) if dirpath else adir):
            p = f"{dirpath}/{ent.name}" if dirpath else ent.name
            sino = os.stat(ent.path).st_ino
            inos[p] = sino
            if ent.inode() != sino:
                mismatch.append((p, ent.inode(), sino))
    check(not mismatch, f"{name}: readdir d_ino equals st_ino for every entry", f"{mismatch[:5]}")
    check_eq(f"{name}: inode numbers inside the archive are distinct", len(inos),
             len(set(inos.values())))


# ------------------------------------------------------------------- reads

def cmd_damaged(mpath, expected, off, length):
    """Reads of MPATH touching [OFF, OFF+LEN) fail with EIO (each tried on a
    fresh handle, twice); reads around it return the expected bytes."""
    off, length = int(off), int(length)
    ref = load(expected)
    size = len(ref)
    name = os.path.relpath(mpath, os.path.dirname(os.path.dirname(mpath)))
    bad_ranges = [(off, length), (off, 1), (off + length - 1, 1), (off - 100, 200),
                  (off + length - 50, 100), (0, size), (max(0, off - 65536), 131072), (off, length)]
    for o, n in bad_ranges:
        fd = os.open(mpath, os.O_RDONLY)
        try:
            try:
                got = os.pread(fd, n, o)
                # A short read that stops before the damaged block is fine.
                check(len(got) < n and o + len(got) <= off and got == ref[o:o + len(got)],
                      f"{name}: pread({n}) at {o}, touching the damaged block, fails with EIO",
                      f"returned {len(got)} bytes")
            except OSError as e:
                check_eq(f"{name}: pread({n}) at {o}, touching the damaged block, fails with EIO",
                         "EIO", errname(e.errno))
        finally:
            os.close(fd)
    good = [(0, off), (0, 1), (off - 1, 1), (off + length, 1), (off + length, size - off - length),
            (size - 1, 1), (off - 4096, 4096), (off + length, 4096 * 3 + 7)]
    fd = os.open(mpath, os.O_RDONLY)
    try:
        for o, n in good:
            if o < 0 or n <= 0:
                continue
            try:
                got = os.pread(fd, n, o)
                check(got == ref[o:o + n], f"{name}: pread({n}) at {o}, clear of the damaged block, "
                      f"reads the expected bytes", f"returned {len(got)} bytes")
            except OSError as e:
                fail(f"{name}: pread({n}) at {o}, clear of the damaged block, reads the expected bytes",
                     f"error {errname(e.errno)}")
    finally:
        os.close(fd)


def cmd_sha_all(*pairs):
    """Each MPATH=EXPECTED: the mounted file's sha256 equals the expected file's."""
    for pair in pairs:
        mpath, expected = pair.split("=", 1)
        with open(mpath, "rb") as f:
            got = hashlib.sha256(f.read()).hexdigest()
        check_eq(f"{os.path.relpath(mpath, os.path.dirname(os.path.dirname(mpath)))}: sha256",
                 hashlib.sha256(load(expected)).hexdigest(), got)


def cmd_random_reads(seconds, seed, *pairs):
    """For SECONDS, random preads (odd offsets and sizes, one handle per
    file) over every MPATH=EXPECTED pair, each compared with the expected
    bytes. One check per file."""
    rng = random.Random(int(seed))
    files = []
    for pair in pairs:
        mpath, expected = pair.split("=", 1)
        files.append((mpath, load(expected), os.open(mpath, os.O_RDONLY), [0, []]))
    stop = time.time() + float(seconds)
    try:
        while time.time() < stop:
            mpath, ref, fd, res = rng.choice(files)
            size = len(ref)
            off = rng.randrange(size + 2) if rng.random() < 0.9 else size + rng.randrange(5000)
            n = rng.choice([1, 3, 511, 4095, 4097, 65537, 131071, 1 << 20, rng.randrange(1, 300000)])
            try:
                got = os.pread(fd, n, off)
            except OSError as e:
                res[1].append(f"pread({n}) at {off}: {errname(e.errno)}")
                continue
            res[0] += 1
            if got != ref[off:off + n]:
                res[1].append(f"pread({n}) at {off}: {len(got)} bytes, "
                              f"expected {len(ref[off:off + n])}, content differs")
    finally:
        for mpath, ref, fd, res in files:
            os.close(fd)
    for mpath, ref, fd, res in files:
        check(not res[1], f"{os.path.relpath(mpath, os.path.dirname(os.path.dirname(mpath)))}: "
              f"{res[0]} random preads return the expected bytes", *res[1][:5])


def cmd_random_pages(count, seed, direct, *pairs):
    """COUNT reads of one whole page each, at random, spread over every
    MPATH=EXPECTED pair, each compared with the expected bytes; with DIRECT
    1 through O_DIRECT, so that every read reaches the daemon (the page
    cache neither answers nor keeps them). One check per file."""
    import mmap
    page = os.sysconf("SC_PAGE_SIZE")
    rng = random.Random(int(seed))
    flags = os.O_RDONLY | (os.O_DIRECT if direct == "1" else 0)
    buf = mmap.mmap(-1, page)  # page-aligned, as O_DIRECT wants
    files = []
    for pair in pairs:
        mpath, expected = pair.split("=", 1)
        files.append((mpath, load(expected), os.open(mpath, flags), [0, []]))
    try:
        for _ in range(int(count)):
            mpath, ref, fd, res = rng.choice(files)
            off = rng.randrange(len(ref) // page) * page
            try:
                n = os.preadv(fd, [buf], off)
            except OSError as e:
                res[1].append(f"page at {off}: {errname(e.errno)}")
                continue
            res[0] += 1
            if n != page or buf[:] != ref[off:off + page]:
                res[1].append(f"page at {off}: {n} bytes, content differs")
    finally:
        for mpath, ref, fd, res in files:
            os.close(fd)
        buf.close()
    for mpath, ref, fd, res in files:
        check(not res[1], f"{os.path.relpath(mpath, os.path.dirname(os.path.dirname(mpath)))}: "
              f"{res[0]} random {'O_DIRECT ' if direct == '1' else ''}page reads return "
              "the expected bytes", *res[1][:5])


# -------------------------------------------------------------- block fill

def resident_pages(path):
    """Pages of PATH in the page cache (fincore, that is mincore(2))."""
    out = subprocess.run(["fincore", "--noheadings", "--raw", "--output", "PAGES", path],
                         check=True, capture_output=True, text=True).stdout
    return int(out.split()[0])


class ResidentPages:
    """Which pages of an open file are in the page cache, asked of the
    kernel (mincore(2)) through one mapping of it that is never touched,
    so that asking costs no request of the file system."""

    def __init__(self, fd):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.libc.mmap.restype = ctypes.c_void_p
        self.libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                                   ctypes.c_int, ctypes.c_long]
        self.libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
        self.libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        self.size = os.fstat(fd).st_size
        page = os.sysconf("SC_PAGE_SIZE")
        self.vec = ctypes.create_string_buffer(max(1, (self.size + page - 1) // page))
        self.addr = self.libc.mmap(None, max(1, self.size), mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        if self.addr in (None, ctypes.c_void_p(-1).value):
            raise OSError(ctypes.get_errno(), "mmap for mincore")

    def pages(self):
        if self.libc.mincore(self.addr, self.size, self.vec) != 0:
            raise OSError(ctypes.get_errno(), "mincore")
        return {i for i, b in enumerate(self.vec.raw[:len(self.vec) if self.size else 0]) if b & 1}

    def close(self):
        self.libc.munmap(self.addr, max(1, self.size))


def page_runs(pages):
    """PAGES (a set of indexes) as runs "a-b"."""
    runs = []
    for i in sorted(pages):
        if runs and runs[-1][1] == i - 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return " ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs) or "none"


def cmd_fill_direct(mpath, expected, offset, seconds):
    """MPATH is fresh. One page at OFFSET is read with O_DIRECT (as qemu
    reads with cache=none): the bytes are right, and SECONDS later nothing
    of MPATH is in the page cache, for that reader never looks there."""
    import mmap
    page = os.sysconf("SC_PAGE_SIZE")
    offset, seconds = int(offset), float(seconds)
    ref = load(expected)
    name = os.path.relpath(mpath, os.path.dirname(os.path.dirname(mpath)))
    fd = os.open(mpath, os.O_RDONLY | os.O_DIRECT)
    buf = mmap.mmap(-1, page)  # page-aligned, as O_DIRECT wants
    try:
        check_eq(f"{name}: nothing cached before the O_DIRECT read", 0, resident_pages(mpath))
        n = os.preadv(fd, [buf], offset)
        check(n == page and buf[:] == ref[offset:offset + page],
              f"{name}: the O_DIRECT page at {offset} reads right", f"{n} bytes")
        time.sleep(seconds)
        check_eq(f"{name}: {seconds:g} s after an O_DIRECT page read, nothing of it is cached",
                 0, resident_pages(mpath))
    finally:
        os.close(fd)
        buf.close()


def cmd_fill(mpath, expected, offset, want_lo, want_hi, seconds):
    """MPATH is fresh (nothing of it cached). One page at OFFSET is read
    the way a random reader reads it (POSIX_FADV_RANDOM: the kernel asks
    for that page alone). Over SECONDS, the pages the page cache holds
    are exactly that page and the pages of [WANT_LO, WANT_HI) (the last
    one may be partial, at the end of the file): every one of them shows
    up, and no other page ever does; then every byte of MPATH reads back
    as EXPECTED, the stored pages included. The kernel may evict clean
    pages whenever it likes (memory pressure from whatever else runs on
    the machine): a page that leaves again is reported, not failed."""
    page = os.sysconf("SC_PAGE_SIZE")
    offset, lo, hi, seconds = int(offset), int(want_lo), int(want_hi), float(seconds)
    ref = load(expected)
    name = os.path.relpath(mpath, os.path.dirname(os.path.dirname(mpath)))
    want = {offset // page} | set(range(lo // page, (hi + page - 1) // page))
    fd = os.open(mpath, os.O_RDONLY)
    resident = ResidentPages(fd)
    try:
        check_eq(f"{name}: nothing cached before the read", "none", page_runs(resident.pages()))
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
        got = os.pread(fd, page, offset)
        check(got == ref[offset:offset + page], f"{name}: the page at {offset} reads right")
        deadline = time.time() + seconds
        seen = resident.pages()
        while time.time() < deadline:
            time.sleep(0.01)
            seen |= resident.pages()
        last = resident.pages()
        check(seen == want, f"{name}: after one page read at {offset}, the page cache holds "
              f"that page and [{lo}, {hi}), {len(want)} pages, and nothing else",
              f"seen:   {page_runs(seen)}", f"wanted: {page_runs(want)}")
        if (seen & want) - last:
            print(f"  note: pages {page_runs((seen & want) - last)} were cached, then evicted")
        data = read_all(fd)
        check(data == ref, f"{name}: every byte reads back right, the stored pages included",
              f"{len(data)} bytes sha {sha(data)}, expected {len(ref)} {sha(ref)}")
    finally:
        resident.close()
        os.close(fd)


# ----------------------------------------------------------------- changes

def cmd_hold_delete(mpath, archive, expected):
    """MPATH (a file inside archive ARCHIVE) is open when ARCHIVE is
    deleted: the handle reads the complete content (EXPECTED), the archive
    leaves the listing at once, and lookups fail once the timeout passed."""
    ref = load(expected)
    adir = os.path.dirname(mpath)
    aname = os.path.basename(adir)
    fd = os.open(mpath, os.O_RDONLY)
    try:
        check(os.pread(fd, 4096, 0) == ref[:4096], f"{aname}: first page read before the delete")
        os.unlink(archive)
        check(aname not in os.listdir(os.path.dirname(adir)),
              f"{aname}: gone from the listing right after the delete")
        data = read_all(fd)
        check(data == ref, f"{aname}: a handle opened before the delete reads the complete content",
              f"read {len(data)} bytes of {len(ref)}, sha {sha(data)} vs {sha(ref)}")
        check_eq(f"{aname}: fstat of that handle still gives the size", len(ref), os.fstat(fd).st_size)
    finally:
        os.close(fd)
    time.sleep(2.1)
    for p in (adir, mpath):
        try:
            os.stat(p)
            seen = "OK"
        except OSError as e:
            seen = errname(e.errno)
        check_eq(f"{os.path.relpath(p, os.path.dirname(adir))}: lookup fails with ENOENT "
                 f"once the entry timeout passed", "ENOENT", seen)


def cmd_hold_replace(mpath, archive, new_archive, old_expected, new_expected):
    """MPATH (a file inside ARCHIVE) is open when NEW_ARCHIVE is renamed
    over ARCHIVE: an open 2 s later reads NEW_EXPECTED; the earlier handle
    keeps reading OLD_EXPECTED, whole."""
    old = load(old_expected)
    new = load(new_expected)
    aname = os.path.basename(os.path.dirname(mpath))
    h1 = os.open(mpath, os.O_RDONLY)
    try:
        check(os.pread(h1, 4096, 0) == old[:4096], f"{aname}: old handle reads before the replace")
        os.rename(new_archive, archive)
        time.sleep(2.1)
        with open(mpath, "rb") as f:
            d2 = f.read()
            fsize = os.fstat(f.fileno()).st_size
        check(d2 == new, f"{aname}: an open 2 s after the replace reads the new content",
              f"read {len(d2)} bytes sha {sha(d2)}; new {len(new)} {sha(new)}, old {len(old)} {sha(old)}")
        check_eq(f"{aname}: stat 2 s after the replace gives the new size", len(new), fsize)
        d1 = read_all(h1)
        check(d1 == old, f"{aname}: the handle opened before the replace reads all of the old content",
              f"read {len(d1)} bytes sha {sha(d1)}; old {len(old)} {sha(old)}")
        check_eq(f"{aname}: fstat of the old handle gives the old size", len(old), os.fstat(h1).st_size)
    finally:
        os.close(h1)


def cmd_inplace(mpath, archive, expected, seconds, other_mpath, other_expected):
    """ARCHIVE is modified in place, over and over, for SECONDS (random
    bytes written over a random piece, truncated, then its original bytes
    put back), while four threads open MPATH and read random ranges:
    every read returns the expected bytes or fails with EIO (an open may
    fail with ENOENT while the header is damaged), never other bytes.
    Afterwards MPATH reads whole, and OTHER still reads right."""
    ref = load(expected)
    orig = load(archive)
    size = len(ref)
    aname = os.path.basename(os.path.dirname(mpath))
    stop = time.time() + float(seconds)
    lock = threading.Lock()
    stats = {"reads": 0, "errors": {}, "wrong": []}

    def note(kind, e):
        with lock:
            key = f"{kind} {errname(e)}"
            stats["errors"][key] = stats["errors"].get(key, 0) + 1

    def reader(seed):
        rng = random.Random(seed)
        while time.time() < stop:
            try:
                fd = os.open(mpath, os.O_RDONLY)
            except OSError as e:
                note("open", e.errno)
                time.sleep(0.01)
                continue
            try:
                for _ in range(10):
                    off = rng.randrange(size)
                    n = rng.choice([4096, 65536, 1 << 20, rng.randrange(1, 200000)])
                    try:
                        got = os.pread(fd, n, off)
                    except OSError as e:
                        note("read", e.errno)
                        continue
                    right = got == ref[off:off + len(got)]
                    end = off + len(got)
                    if right and len(got) < n and end < size:
                        # The kernel splits a read into several requests
                        # and returns what came before one that failed: a
                        # short read is right if what follows fails, or
                        # reads right (restored meanwhile), but is no EOF.
                        try:
                            more = os.pread(fd, 4096, end)
                            right = len(more) > 0 and more == ref[end:end + len(more)]
                        except OSError as e:
                            right = e.errno == errno.EIO
                            note("read", e.errno)
                    with lock:
                        stats["reads"] += 1
                        if not right:
                            stats["wrong"].append(f"pread({n}) at {off}: {len(got)} bytes, content "
                                                  f"{'right' if got == ref[off:end] else 'WRONG'}"
                                                  f"{'' if got != ref[off:end] else ', then EOF'}")
            finally:
                os.close(fd)

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    rng = random.Random(99)
    rounds = 0
    try:
        while time.time() < stop:
            with open(archive, "r+b") as f:
                kind = rounds % 3
                if kind == 0:  # random bytes over a piece of the data
                    off = rng.randrange(len(orig))
                    f.seek(off)
                    f.write(os.urandom(rng.randrange(1, 8192)))
                elif kind == 1:  # cut short
                    f.truncate(rng.randrange(len(orig)))
                else:  # one byte flipped
                    off = rng.randrange(len(orig))
                    f.seek(off)
                    f.write(bytes([orig[off] ^ 0x5a]))
                f.flush()
                time.sleep(0.02)
                f.seek(0)
                f.write(orig)
                f.truncate(len(orig))
            rounds += 1
            time.sleep(0.01)
    finally:
        for t in threads:
            t.join()
    print(f"  {rounds} modifications, {stats['reads']} reads, errors {stats['errors']}")
    check(not stats["wrong"], f"{aname} modified in place: every read returns the right bytes or fails",
          *stats["wrong"][:8])
    allowed = {"read EIO", "open ENOENT", "open EIO"}
    check(set(stats["errors"]) <= allowed,
          f"{aname} modified in place: reads fail with EIO only (opens with ENOENT or EIO)",
          f"errors: {stats['errors']}")
    check(stats["reads"] > 0, f"{aname} modified in place: reads went through")
    time.sleep(2.1)
    with open(mpath, "rb") as f:
        data = f.read()
    check(data == ref, f"{aname}: restored, an open 2 s later reads the whole content",
          f"read {len(data)} bytes sha {sha(data)}")
    with open(other_mpath, "rb") as f:
        check(f.read() == load(other_expected), f"{aname} modified in place: another archive still reads right")


def describe_wrong(got, off, old, new):
    """Where GOT (read at OFF) first leaves OLD, and what its pages hold:
    old bytes, new bytes, zeros, or old bytes of another offset."""
    first = next((i for i in range(len(got)) if off + i >= len(old) or got[i] != old[off + i]), None)
    parts = []
    pos = 0
    while pos < len(got):
        page_end = min(len(got), ((off + pos) // 4096 + 1) * 4096 - off)
        piece = got[pos:page_end]
        at = off + pos
        if piece == old[at:at + len(piece)]:
            kind = "old"
        elif piece == new[at:at + len(piece)]:
            kind = "new"
        elif piece.count(piece[0]) == len(piece):
            kind = f"all 0x{piece[0]:02x}"
        else:
            where = old.find(piece)
            kind = f"old@{where}" if where >= 0 else "?"
        if parts and parts[-1][1] == kind:
            parts[-1][2] = page_end
        else:
            parts.append([pos, kind, page_end])
        pos = page_end
    return (f"first difference at +{first}; pieces " +
            ", ".join(f"[{off + a}, {off + b}) {k}" for a, k, b in parts))


def cmd_replace_by_copy(mpath, archive, new_archive, old_expected, new_expected):
    """ARCHIVE is overwritten in place with NEW_ARCHIVE's bytes (cp over
    it: truncate, then write) under an open handle on MPATH: every read of
    the old handle returns the old version's bytes (cached) or fails with
    EIO, never the new version's or garbage; an open 2 s later reads
    NEW_EXPECTED."""
    old, new = load(old_expected), load(new_expected)
    aname = os.path.basename(os.path.dirname(mpath))
    fd = os.open(mpath, os.O_RDONLY)
    try:
        check(os.pread(fd, 4096, 0) == old[:4096], f"{aname}: old handle reads before the overwrite")
        with open(new_archive, "rb") as s, open(archive, "r+b") as d:
            d.truncate(0)
            d.write(s.read())
        bad = []
        seen = {"old": 0, "new": 0, "EIO": 0}
        rng = random.Random(5)
        for _ in range(200):
            off = rng.randrange(len(old))
            n = rng.choice([1, 4096, 65536, 300001])
            try:
                got = os.pread(fd, n, off)
            except OSError as e:
                if e.errno != errno.EIO:
                    bad.append(f"pread({n}) at {off}: {errname(e.errno)}")
                seen["EIO"] += 1
                continue
            if got == old[off:off + len(got)]:
                seen["old"] += 1
            elif got == new[off:off + len(got)]:
                seen["new"] += 1
                bad.append(f"pread({n}) at {off}: {len(got)} bytes of the new version")
            else:
                bad.append(f"pread({n}) at {off}: {len(got)} bytes neither old nor new: "
                           f"{describe_wrong(got, off, old, new)}")
        print(f"  old handle after the overwrite: {seen}")
        check(not bad, f"{aname} overwritten in place: the old handle reads its own (old) bytes or EIO",
              *bad[:8])
    finally:
        os.close(fd)
    time.sleep(2.1)
    with open(mpath, "rb") as f:
        data = f.read()
    check(data == new, f"{aname} overwritten in place: an open 2 s later reads the new content",
          f"read {len(data)} bytes sha {sha(data)}, new {len(new)} {sha(new)}")


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    fn = globals().get("cmd_" + sys.argv[1].replace("-", "_"))
    if fn is None:
        print(f"unknown subcommand {sys.argv[1]}")
        return 2
    fn(*sys.argv[2:])
    return 1 if fsops.failures else 0


if __name__ == "__main__":
    sys.exit(main())
