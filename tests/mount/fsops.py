#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks of a hexzfs mount that need exact errno values, offsets or open
handles held across changes of the source. Run by tests/mount/lib.sh's
pycheck: every check prints one line, "ok: WHAT" or "FAIL: WHAT" followed
by indented details; the exit status is 1 when any check failed.

usage: fsops.py SUBCOMMAND ARGS...   (see the functions named cmd_*)
"""

import errno
import hashlib
import mmap
import os
import stat
import sys
import time

failures = 0


def ok(what):
    print(f"ok: {what}", flush=True)


def fail(what, *details):
    global failures
    failures += 1
    print(f"FAIL: {what}", flush=True)
    for d in details:
        print(f"  {d}", flush=True)


def check(cond, what, *details):
    if cond:
        ok(what)
    else:
        fail(what, *details)
    return cond


def check_eq(what, expected, seen):
    return check(expected == seen, what, f"expected: {expected!r}", f"seen:     {seen!r}")


def errname(e):
    return errno.errorcode.get(e, str(e))


def sha(data):
    return hashlib.sha256(data).hexdigest()[:16]


def parse_ranges(specs):
    """'OFF:LEN' pairs; OFF may be negative (from the end) given a size."""
    return [tuple(int(x, 0) for x in s.split(":")) for s in specs]


def pread_full(fd, length, offset):
    """One pread(2): what a single read call returns, unmodified."""
    return os.pread(fd, length, offset)


# ------------------------------------------------------------ errno checks

def _open(flags, mode=0o644):
    def op(path, _arg):
        fd = os.open(path, flags, mode)
        os.close(fd)
    return op


def _setxattr(path, _arg):
    os.setxattr(path, "user.hexzfs_test", b"1")


def _removexattr(path, _arg):
    os.removexattr(path, "user.hexzfs_test")


def _listdir(path, _arg):
    os.listdir(path)


OPS = {
    "stat": lambda p, a: os.stat(p),
    "lstat": lambda p, a: os.lstat(p),
    "open_r": _open(os.O_RDONLY),
    "open_w": _open(os.O_WRONLY),
    "open_rw": _open(os.O_RDWR),
    "open_append": _open(os.O_WRONLY | os.O_APPEND),
    "open_trunc": _open(os.O_RDONLY | os.O_TRUNC),
    "open_wtrunc": _open(os.O_WRONLY | os.O_TRUNC),
    "open_creat_w": _open(os.O_WRONLY | os.O_CREAT),
    "create": _open(os.O_WRONLY | os.O_CREAT | os.O_EXCL),
    "create_r": _open(os.O_RDONLY | os.O_CREAT | os.O_EXCL),
    "mknod_fifo": lambda p, a: os.mknod(p, 0o644 | stat.S_IFIFO),
    "mknod_reg": lambda p, a: os.mknod(p, 0o644 | stat.S_IFREG),
    "mkfifo": lambda p, a: os.mkfifo(p),
    "mkdir": lambda p, a: os.mkdir(p),
    "rmdir": lambda p, a: os.rmdir(p),
    "unlink": lambda p, a: os.unlink(p),
    "rename": lambda p, a: os.rename(p, a),
    "link": lambda p, a: os.link(p, a),
    "symlink": lambda p, a: os.symlink(a, p),
    "truncate": lambda p, a: os.truncate(p, int(a or 0)),
    "chmod": lambda p, a: os.chmod(p, int(a or "0644", 8)),
    "chown": lambda p, a: os.chown(p, 0, 0),
    "utime": lambda p, a: os.utime(p, (0, 0)),
    "utime_now": lambda p, a: os.utime(p, None),
    "setxattr": _setxattr,
    "removexattr": _removexattr,
    "listdir": _listdir,
    "readlink": lambda p, a: os.readlink(p),
}


def run_op(op, path, arg):
    try:
        OPS[op](path, arg)
        return "OK"
    except OSError as e:
        return errname(e.errno)


def cmd_errno(expected, op, path, arg=None):
    """Check that OP on PATH fails with errno EXPECTED (or OK)."""
    seen = run_op(op, path, arg)
    what = f"{op} {os.path.basename(path)}" + (f" {os.path.basename(arg)}" if arg else "")
    check_eq(f"{what} -> {expected}", expected, seen)


def cmd_readonly(mnt, fname, dname, empty_dname, label):
    """Every modifying operation on the mount at MNT fails with EROFS.
    FNAME: an existing snapshot, DNAME: a subdirectory holding snapshots,
    EMPTY_DNAME: an empty subdirectory (names relative to MNT)."""
    f = os.path.join(mnt, fname)
    d = os.path.join(mnt, dname)
    e = os.path.join(mnt, empty_dname)
    new = os.path.join(mnt, "new-entry.hxz")
    cases = [
        ("open_w", f, None), ("open_rw", f, None), ("open_append", f, None),
        ("open_trunc", f, None), ("open_wtrunc", f, None), ("open_creat_w", f, None),
        ("create", new, None), ("create_r", new, None),
        ("create", os.path.join(d, "new.hxz"), None),
        ("mknod_fifo", new, None), ("mknod_reg", new, None), ("mkfifo", new, None),
        ("unlink", f, None), ("unlink", os.path.join(d, os.listdir(d)[0]), None),
        ("rename", f, new), ("rename", f, os.path.join(d, "moved.hxz")),
        ("rename", d, os.path.join(mnt, "moved-dir")), ("rename", e, os.path.join(mnt, "moved-empty")),
        ("mkdir", os.path.join(mnt, "newdir"), None),
        ("mkdir", os.path.join(d, "newdir"), None),
        ("rmdir", e, None), ("rmdir", d, None),
        ("symlink", new, fname), ("link", f, new),
        ("truncate", f, "0"), ("truncate", f, "1"), ("truncate", f, str(1 << 40)),
        ("chmod", f, "0644"), ("chmod", f, "0444"), ("chmod", d, "0755"), ("chmod", mnt, "0755"),
        ("chown", f, None), ("chown", d, None),
        ("utime", f, None), ("utime_now", f, None), ("utime", d, None), ("utime_now", mnt, None),
        ("setxattr", f, None), ("setxattr", d, None), ("removexattr", f, None),
    ]
    for op, path, arg in cases:
        seen = run_op(op, path, arg)
        rel = os.path.relpath(path, mnt)
        tail = f" {os.path.relpath(arg, mnt) if arg and arg.startswith('/') else arg}" if arg else ""
        check_eq(f"[{label}] {op} {rel}{tail} fails with EROFS", "EROFS", seen)
    # ftruncate through a read-only descriptor is refused by the kernel
    # (EINVAL/EBADF); what matters is that it changes nothing.
    fd = os.open(f, os.O_RDONLY)
    try:
        try:
            os.ftruncate(fd, 0)
            fail(f"[{label}] ftruncate on a read-only fd fails")
        except OSError as ex:
            check(ex.errno in (errno.EROFS, errno.EINVAL, errno.EBADF),
                  f"[{label}] ftruncate on a read-only fd fails ({errname(ex.errno)})")
    finally:
        os.close(fd)
    check_eq(f"[{label}] no new entry appeared", False, os.path.lexists(new))


# ------------------------------------------------------------------- reads

def cmd_preads(mpath, spath, *specs):
    """Each OFF:LEN: one pread on the mount returns exactly what one pread
    of the source returns (LEN bytes, fewer only at EOF, 0 past it)."""
    size = os.stat(spath).st_size
    mfd = os.open(mpath, os.O_RDONLY)
    sfd = os.open(spath, os.O_RDONLY)
    try:
        for off, length in parse_ranges(specs):
            if off < 0:
                off += size
            want = max(0, min(length, size - off))
            try:
                got = pread_full(mfd, length, off)
            except OSError as e:
                fail(f"pread({length}) at {off} of {os.path.basename(mpath)}",
                     f"error {errname(e.errno)}")
                continue
            ref = os.pread(sfd, length, off)
            check(len(got) == want and got == ref,
                  f"pread({length}) at {off} of {os.path.basename(mpath)} returns {want} bytes",
                  f"returned {len(got)} bytes, content {'equal' if got == ref else 'DIFFERENT'}")
    finally:
        os.close(mfd)
        os.close(sfd)


def cmd_seqread(mpath, spath, bufsize):
    """read(2) in BUFSIZE steps from 0 to EOF: each read full but the last,
    contents equal, then 0 at EOF (twice)."""
    bufsize = int(bufsize)
    size = os.stat(spath).st_size
    name = os.path.basename(mpath)
    short = []
    h_m = hashlib.sha256()
    h_s = hashlib.sha256()
    total = 0
    with open(mpath, "rb", buffering=0) as m, open(spath, "rb", buffering=0) as s:
        while True:
            chunk = m.read(bufsize)
            if not chunk:
                break
            if len(chunk) != min(bufsize, size - total):
                short.append((total, len(chunk)))
            total += len(chunk)
            h_m.update(chunk)
            if total > size + bufsize:
                break
        while True:
            chunk = s.read(1 << 20)
            if not chunk:
                break
            h_s.update(chunk)
        eof1 = m.read(bufsize)
        eof2 = m.read(bufsize)
    check_eq(f"sequential read({bufsize}) of {name}: total bytes", size, total)
    check(not short, f"sequential read({bufsize}) of {name}: every read full but the last",
          f"short reads (offset, length): {short[:5]}")
    check_eq(f"sequential read({bufsize}) of {name}: content", h_s.hexdigest(), h_m.hexdigest())
    check_eq(f"sequential read({bufsize}) of {name}: 0 bytes at EOF, twice", (0, 0),
             (len(eof1), len(eof2)))


def cmd_mmap(mpath, spath, *specs):
    """mmap the mounted file (whole, shared, read-only) and compare ranges
    with the source; no range given: the whole file."""
    size = os.stat(spath).st_size
    name = os.path.basename(mpath)
    with open(mpath, "rb") as m, open(spath, "rb") as s:
        mm = mmap.mmap(m.fileno(), 0, mmap.MAP_SHARED, mmap.PROT_READ)
        check_eq(f"mmap of {name}: length", size, len(mm))
        ranges = parse_ranges(specs) if specs else [(0, size)]
        for off, length in ranges:
            if off < 0:
                off += size
            s.seek(off)
            ref = s.read(length)
            check(mm[off:off + length] == ref, f"mmap of {name}: bytes {off}..{off + len(ref)} equal")
        # An mmap at a page-aligned offset: the high part only.
        if size > 2 * mmap.PAGESIZE:
            off = (size // 2) // mmap.ALLOCATIONGRANULARITY * mmap.ALLOCATIONGRANULARITY
            mm2 = mmap.mmap(m.fileno(), size - off, mmap.MAP_SHARED, mmap.PROT_READ, offset=off)
            s.seek(size - 4096)
            check(mm2[-4096:] == s.read(4096), f"mmap of {name} at offset {off}: last page equal")
            mm2.close()
        mm.close()


# --------------------------------------------------------------- attributes

def source_of(spath):
    """What the mount serves for source entry spath (a link's target)."""
    return os.stat(spath)


def cmd_sizes(mdir, sdir):
    """For every entry of the mounted directory: d_ino and d_type from
    readdir, st_size and st_ino from stat (lookup) and fstat (getattr on
    an open file) agree with the source."""
    entries = list(os.scandir(mdir))
    check(len(entries) > 0, f"{mdir}: listing not empty")
    for ent in entries:
        spath = os.path.join(sdir, ent.name)
        src = source_of(spath)
        name = ent.name
        if stat.S_ISDIR(src.st_mode):
            check(ent.is_dir(follow_symlinks=False), f"{name}: readdir type is directory")
            continue
        check(ent.is_file(follow_symlinks=False) and not ent.is_symlink(),
              f"{name}: readdir type is regular file")
        check_eq(f"{name}: readdir d_ino equals the source inode", src.st_ino, ent.inode())
        st = os.stat(ent.path)
        check_eq(f"{name}: stat size equals the source size", src.st_size, st.st_size)
        check_eq(f"{name}: stat st_ino equals the source inode", src.st_ino, st.st_ino)
        fd = os.open(ent.path, os.O_RDONLY)
        try:
            fst = os.fstat(fd)
        finally:
            os.close(fd)
        check_eq(f"{name}: fstat size equals the source size", src.st_size, fst.st_size)
        check_eq(f"{name}: fstat st_ino equals the source inode", src.st_ino, fst.st_ino)


def cmd_names(mdir, sdir):
    """One pass of readdir over MDIR (large enough that the kernel also asks
    for plain READDIR pages, not only READDIRPLUS): names, d_type and d_ino
    equal what the rules say of SDIR (links followed only inside it)."""
    root = os.path.realpath(sdir) + os.sep
    want = {}
    for ent in os.scandir(sdir):
        try:
            st = os.stat(ent.path)
        except OSError:
            continue  # dangling or looping link
        if ent.is_dir(follow_symlinks=False):
            want[ent.name] = ("d", st.st_ino)
        elif ent.name.endswith(".hxz") and stat.S_ISREG(st.st_mode):
            if ent.is_symlink() and not os.path.realpath(ent.path).startswith(root):
                continue
            want[ent.name] = ("f", st.st_ino)
    seen = {}
    for ent in os.scandir(mdir):  # readdir only: no stat of the entries
        t = "d" if ent.is_dir(follow_symlinks=False) else "f" if ent.is_file(
            follow_symlinks=False) else "l" if ent.is_symlink() else "?"
        seen[ent.name] = (t, ent.inode())
    extra = sorted(set(seen) - set(want))
    missing = sorted(set(want) - set(seen))
    check(not extra and not missing, f"{mdir}: readdir lists exactly the {len(want)} visible entries",
          f"not expected: {extra[:10]}", f"missing: {missing[:10]}")
    wrong = [(n, want[n], seen[n]) for n in sorted(set(want) & set(seen)) if want[n] != seen[n]]
    check(not wrong, f"{mdir}: readdir d_type and d_ino of every entry match the source",
          f"(name, expected, seen): {wrong[:10]}")


def cmd_scandir(mdir):
    """Print the entries of MDIR as 'name type' (type from d_type)."""
    for ent in sorted(os.scandir(mdir), key=lambda e: e.name):
        t = "d" if ent.is_dir(follow_symlinks=False) else \
            "l" if ent.is_symlink() else "f" if ent.is_file(follow_symlinks=False) else "?"
        print(f"  {ent.name} {t}")


# ----------------------------------------------------------------- changes

def read_all(fd, size_hint=0):
    out = []
    off = 0
    while True:
        chunk = os.pread(fd, 1 << 20, off)
        if not chunk:
            return b"".join(out)
        out.append(chunk)
        off += len(chunk)


def cmd_hold_delete(mpath, spath):
    """A handle opened before the source is deleted reads the complete old
    content; the name leaves the listing at once."""
    name = os.path.basename(mpath)
    with open(spath, "rb") as f:
        old = f.read()
    fd = os.open(mpath, os.O_RDONLY)
    try:
        first = os.pread(fd, 4096, 0)
        check(first == old[:4096], f"{name}: first page read before the delete")
        os.unlink(spath)
        check(name not in os.listdir(os.path.dirname(mpath)),
              f"{name}: gone from the listing right after the delete")
        data = read_all(fd)
        check(data == old, f"{name}: handle opened before the delete reads the complete old content",
              f"read {len(data)} bytes of {len(old)}, sha {sha(data)} vs {sha(old)}")
        check_eq(f"{name}: fstat of the old handle still gives the old size", len(old),
                 os.fstat(fd).st_size)
    finally:
        os.close(fd)
    time.sleep(2.1)
    check_eq(f"{name}: lookup fails with ENOENT once the entry timeout passed", "ENOENT",
             run_op("stat", mpath, None))
    check_eq(f"{name}: open fails with ENOENT once the entry timeout passed", "ENOENT",
             run_op("open_r", mpath, None))


def replace(spath, data, mtime_from=None):
    tmp = os.path.join(os.path.dirname(spath), ".tmp-" + os.path.basename(spath))
    with open(tmp, "wb") as f:
        f.write(data)
    if mtime_from is not None:
        st = os.stat(mtime_from)
        os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.rename(tmp, spath)


def cmd_hold_replace(mpath, spath, keep_mtime):
    """A snapshot atomically replaced (twice): opens 2 s later see the new
    content; handles opened before keep reading their version. With
    KEEP_MTIME=1 each new version has the same size and mtime as the old."""
    keep = keep_mtime == "1"
    name = os.path.basename(mpath)
    with open(spath, "rb") as f:
        v1 = f.read()
    size = len(v1)
    v2 = os.urandom(size if keep else size + 12345)
    v3 = os.urandom(size if keep else size // 2 + 7)
    label = f"{name} ({'same size and mtime' if keep else 'new size'})"

    h1 = os.open(mpath, os.O_RDONLY)
    h2 = h3 = -1
    try:
        check(os.pread(h1, 4096, 0) == v1[:4096], f"{label}: v1 handle reads before any replace")
        replace(spath, v2, spath if keep else None)
        time.sleep(2.1)
        h2 = os.open(mpath, os.O_RDONLY)
        d2 = read_all(h2)
        check(d2 == v2, f"{label}: open 2 s after the replace reads v2",
              f"read {len(d2)} bytes, sha {sha(d2)}; v1 {len(v1)} {sha(v1)}, v2 {len(v2)} {sha(v2)}")
        check_eq(f"{label}: stat 2 s after the replace gives v2's size", len(v2), os.stat(mpath).st_size)
        check_eq(f"{label}: stat 2 s after the replace gives v2's inode", os.stat(spath).st_ino,
                 os.stat(mpath).st_ino)
        replace(spath, v3, spath if keep else None)
        time.sleep(2.1)
        h3 = os.open(mpath, os.O_RDONLY)
        d3 = read_all(h3)
        check(d3 == v3, f"{label}: open 2 s after the second replace reads v3",
              f"read {len(d3)} bytes, sha {sha(d3)}; v3 {len(v3)} {sha(v3)}")
        d1 = read_all(h1)
        check(d1 == v1, f"{label}: handle opened before the replaces reads all of v1",
              f"read {len(d1)} bytes, sha {sha(d1)}; v1 {len(v1)} {sha(v1)}")
        d2b = read_all(h2)
        check(d2b == v2, f"{label}: v2 handle still reads v2 after the second replace",
              f"read {len(d2b)} bytes, sha {sha(d2b)}")
        with open(mpath, "rb") as f:
            check(f.read() == v3, f"{label}: a fresh open reads v3")
    finally:
        for h in (h1, h2, h3):
            if h >= 0:
                os.close(h)


def cmd_hold_truncate(mpath, spath, new_size, other_mpath, other_spath):
    """The source is truncated in place to NEW_SIZE under an open handle:
    reads past the new end give EIO or a short read at the new end (bytes
    that are the file's real content), never other bytes, never a hang; the
    daemon keeps serving OTHER."""
    new_size = int(new_size)
    name = os.path.basename(mpath)
    with open(spath, "rb") as f:
        old = f.read()
    size = len(old)
    fd = os.open(mpath, os.O_RDONLY)
    try:
        if new_size >= 65536:  # leave the pages past the new end uncached
            check(os.pread(fd, 4096, 0) == old[:4096], f"{name}: first page read before the truncate")
        os.truncate(spath, new_size)
        probes = [(new_size, 4096), (max(0, new_size - 100), 1000), (size // 2, 65536),
                  (size - 10, 10), (size - 4096, 1 << 20), (size, 4096)]
        for off, length in probes:
            what = f"{name} truncated to {new_size}: pread({length}) at {off}"
            try:
                got = os.pread(fd, length, off)
            except OSError as e:
                check(e.errno == errno.EIO, f"{what} fails with EIO or is short",
                      f"error {errname(e.errno)}")
                continue
            allowed = max(0, min(length, new_size - off))
            check(len(got) <= allowed and got == old[off:off + len(got)],
                  f"{what} fails with EIO or is short",
                  f"returned {len(got)} bytes, at most {allowed} allowed, content "
                  f"{'real' if got == old[off:off + len(got)] else 'GARBAGE'}")
        with open(other_mpath, "rb") as f, open(other_spath, "rb") as g:
            check(f.read() == g.read(), f"{name}: another snapshot still reads correctly after the truncate")
        time.sleep(2.1)
        # The handle opened before is still open: the new open must not share its version.
        with open(mpath, "rb") as f:
            data = f.read()
        check(data == old[:new_size],
              f"{name}: an open 2 s after the truncate reads the new {new_size} bytes",
              f"read {len(data)} bytes")
    finally:
        os.close(fd)


def cmd_truncate_stress(mpath, spath, seconds):
    """Eight threads open and read MPATH at random offsets while its source
    is truncated to random sizes and rewritten, over and over: every read
    succeeds or fails with EIO, none hangs (the caller's timeout)."""
    import random
    import threading
    stop = time.time() + float(seconds)
    size = os.stat(spath).st_size
    with open(spath, "rb") as f:
        data = f.read()
    errors = {}
    reads = [0]
    lock = threading.Lock()

    def note(e):
        with lock:
            errors[errname(e)] = errors.get(errname(e), 0) + 1

    def reader():
        while time.time() < stop:
            try:
                fd = os.open(mpath, os.O_RDONLY)
            except OSError as e:
                note(e.errno)
                continue
            try:
                for _ in range(20):
                    try:
                        os.pread(fd, random.choice([4096, 65536, 1 << 20]), random.randrange(size))
                        with lock:
                            reads[0] += 1
                    except OSError as e:
                        note(e.errno)
            finally:
                os.close(fd)

    threads = [threading.Thread(target=reader) for _ in range(8)]
    for t in threads:
        t.start()
    rounds = 0
    while time.time() < stop:
        os.truncate(spath, random.randrange(size))
        time.sleep(0.005)
        with open(spath, "r+b") as f:
            f.write(data)
        rounds += 1
    for t in threads:
        t.join()
    print(f"  {rounds} truncations, {reads[0]} reads, errors {errors}")
    check(set(errors) <= {"EIO"}, f"{os.path.basename(mpath)}: under truncation races reads succeed "
          f"or fail with EIO only", f"errors: {errors}")
    check(reads[0] > 0, f"{os.path.basename(mpath)}: reads went through during the races")


def cmd_add(mdir, sdir):
    """Snapshots added while mounted: a name that was looked up and missing
    opens at once after it is created; listings show new names at once,
    also on a directory handle rewound to the start."""
    name = "added-later.hxz"
    mpath = os.path.join(mdir, name)
    spath = os.path.join(sdir, name)
    check_eq("added-later.hxz: missing before it is created", "ENOENT", run_op("stat", mpath, None))
    dfd = os.open(mdir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        before = set(os.listdir(dfd))
        data = os.urandom(300000)
        with open(spath, "wb") as f:
            f.write(data)
        try:
            with open(mpath, "rb") as f:
                got = f.read()
            check(got == data, "added-later.hxz: opens and reads at once after it is created",
                  f"read {len(got)} bytes of {len(data)}")
        except OSError as e:
            fail("added-later.hxz: opens and reads at once after it is created", f"error {errname(e.errno)}")
        check(name in os.listdir(mdir), "added-later.hxz: in a new listing at once")
        after = set(os.listdir(dfd))  # listdir(fd) rewinds the same handle
        check_eq("added-later.hxz: in the listing of a handle rewound to 0", {name}, after - before)
    finally:
        os.close(dfd)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    fn = globals().get("cmd_" + sys.argv[1].replace("-", "_"))
    if fn is None:
        print(f"unknown subcommand {sys.argv[1]}")
        return 2
    fn(*sys.argv[2:])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
