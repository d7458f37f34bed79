#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Probes of a hexzfs mount for the robustness tests, where exact errno
values, inherited descriptors or byte-exact paths matter. Lines printed as
"ok: WHAT" or "FAIL: WHAT" (plus indented details) count as checks (see
robust.sh's pycheck); the exit status is 1 when a check failed.

usage: rprobe.py SUBCOMMAND ARGS...   (see the functions named cmd_*)
Paths are taken as bytes (os.fsencode), so any name the shell can pass works.
"""

import errno
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
    (ok if cond else lambda w: fail(w, *details))(what)
    return cond


def errname(e):
    return errno.errorcode.get(e, str(e))


def b(path):
    return os.fsencode(path)


def show(path):
    """A path as printable text: invalid UTF-8 and control characters escaped."""
    return repr(os.fsdecode(path) if isinstance(path, bytes) else path)[1:-1]


# ------------------------------------------------------------ single errno

def _read(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.read(fd, 4096)
    finally:
        os.close(fd)


OPS = {
    "stat": os.stat,
    "lstat": os.lstat,
    "open": lambda p: os.close(os.open(p, os.O_RDONLY)),
    "read": _read,
    "listdir": os.listdir,
    "readlink": os.readlink,
}


def outcome(op, path):
    try:
        OPS[op](path)
        return "OK"
    except OSError as e:
        return errname(e.errno)


def cmd_errno(expected, op, path, label=None):
    """OP on PATH ends with EXPECTED (an errno name, OK, or several joined by |)."""
    seen = outcome(op, b(path))
    check(seen in expected.split("|"), f"{label or op + ' ' + show(os.path.basename(b(path)))} -> {expected}",
          f"seen: {seen}")


def cmd_errno_within(seconds, expected, op, path, label=None):
    """Like errno, and it must come back within SECONDS (no hang)."""
    t = time.monotonic()
    seen = outcome(op, b(path))
    took = time.monotonic() - t
    check(seen in expected.split("|") and took < float(seconds),
          f"{label or op} -> {expected} within {seconds} s",
          f"seen: {seen} after {took:.2f} s")


# ------------------------------------------------- inherited descriptors

def cmd_readfd(fd, spath, start="0", label="held handle", end=None):
    """Read inherited descriptor FD from START to END (default: its end)
    with pread, 1 MiB at a time; every byte must equal SPATH's (a copy of
    the content)."""
    fd, off = int(fd), int(start)
    with open(spath, "rb") as f:
        want = f.read()
    if end is not None:
        want = want[:int(end)]
    total = 0
    while off < len(want) or end is None:
        try:
            got = os.pread(fd, min(1 << 20, len(want) - off) if end is not None else 1 << 20, off)
        except OSError as e:
            fail(f"{label}: reads to the end", f"{errname(e.errno)} at offset {off}")
            return
        if not got:
            break
        if got != want[off:off + len(got)]:
            fail(f"{label}: reads to the end", f"WRONG BYTES in [{off}, {off + len(got)})")
            return
        off += len(got)
        total += len(got)
    check(off == len(want), f"{label}: reads to the end, {total} bytes verified",
          f"stopped at {off} of {len(want)}")


def cmd_readfd_dead(fd, spath, offset, label="held handle"):
    """After the daemon died: a read of inherited FD at OFFSET fails with
    ENOTCONN or ECONNABORTED, or returns the right bytes (pages the kernel
    had cached); it never hangs (the caller's timeout) nor returns others."""
    fd, off = int(fd), int(offset)
    with open(spath, "rb") as f:
        f.seek(off)
        want = f.read(65536)
    try:
        got = os.pread(fd, 65536, off)
    except OSError as e:
        check(e.errno in (errno.ENOTCONN, errno.ECONNABORTED),
              f"{label}: a read at {off} fails with ENOTCONN", f"seen {errname(e.errno)}")
        return
    check(got == want[:len(got)], f"{label}: a read at {off} returns cached bytes, all right "
          f"({len(got)} bytes)", "WRONG BYTES")


# ---------------------------------------------------------- truncation

def cmd_truncate_tail(mpath, spath, new_size):
    """Truncate SPATH in place to NEW_SIZE (not a page multiple) under a
    handle opened before: reads through it return at most the bytes up to
    the new end, each the file's own, or EIO; never bytes past the new end
    (the zeros of the page the new end falls in are not file content)."""
    new_size = int(new_size)
    with open(spath, "rb") as f:
        old = f.read()
    fd = os.open(mpath, os.O_RDONLY)
    try:
        os.truncate(spath, new_size)
        page = 4096
        probes = [(0, 2 * page), (new_size, 100), ((new_size // page) * page, page)]
        for off, length in probes:
            what = f"{os.path.basename(mpath)} truncated to {new_size}: pread({length}) at {off}"
            try:
                got = os.pread(fd, length, off)
            except OSError as e:
                check(e.errno == errno.EIO, f"{what}: EIO or at most the bytes up to the new end",
                      f"error {errname(e.errno)}")
                continue
            allowed = max(0, min(length, new_size - off))
            right = got[:allowed] == old[off:off + min(len(got), allowed)]
            past = got[allowed:]
            check(len(got) <= allowed and right,
                  f"{what}: EIO or at most the bytes up to the new end",
                  f"returned {len(got)} bytes, {allowed} exist up to the new end; "
                  f"{'the ones that exist are right' if right else 'WRONG BYTES'}; "
                  f"{len(past)} bytes past the new end"
                  + (f", all zero" if past and not any(past) else ""))
    finally:
        os.close(fd)


# ---------------------------------------------------------------- names

def cmd_listing(mdir, *expected):
    """The listing of MDIR (bytes) is exactly EXPECTED (hex-encoded names)."""
    want = sorted(bytes.fromhex(x) for x in expected)
    try:
        seen = sorted(os.listdir(b(mdir)))
    except OSError as e:
        fail(f"listing of {show(mdir)}", f"{errname(e.errno)}")
        return
    missing = [show(n) for n in want if n not in seen]
    extra = [show(n) for n in seen if n not in want]
    check(not missing and not extra, f"listing of {show(os.path.basename(b(mdir)))}: "
          f"exactly the {len(want)} expected names", f"missing: {missing}", f"extra: {extra}")


def cmd_same(mdir, sdir, *hexnames):
    """Each name (hex) reads through MDIR exactly as in SDIR, whole."""
    bad = []
    for x in hexnames:
        n = bytes.fromhex(x)
        try:
            with open(os.path.join(b(mdir), n), "rb") as f:
                got = f.read()
            with open(os.path.join(b(sdir), n), "rb") as f:
                want = f.read()
            if got != want:
                bad.append(f"{show(n)}: different bytes")
        except OSError as e:
            bad.append(f"{show(n)}: {errname(e.errno)}")
    check(not bad, f"{len(hexnames)} odd names read exactly as their sources", *bad[:10])


def cmd_deep(mroot, sroot, name, depth, leaf):
    """Walk DEPTH levels of directories NAME (bytes) under MROOT with
    openat (the path may exceed PATH_MAX); LEAF there reads as in SROOT."""
    depth = int(depth)
    n = b(name)
    fds = []
    try:
        fd = os.open(b(mroot), os.O_RDONLY | os.O_DIRECTORY)
        fds.append(fd)
        sfd = os.open(b(sroot), os.O_RDONLY | os.O_DIRECTORY)
        fds.append(sfd)
        for level in range(depth):
            try:
                fd = os.open(n, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            except OSError as e:
                fail(f"walk {depth} levels down the mount", f"level {level + 1}: {errname(e.errno)}")
                return
            fds.append(fd)
            sfd = os.open(n, os.O_RDONLY | os.O_DIRECTORY, dir_fd=sfd)
            fds.append(sfd)
        ok(f"walk {depth} levels down the mount ({depth * (len(n) + 1)} bytes of path)")
        try:
            lfd = os.open(b(leaf), os.O_RDONLY, dir_fd=fd)
            got = os.read(lfd, 1 << 20)
            os.close(lfd)
        except OSError as e:
            fail(f"the snapshot {depth} levels down reads", errname(e.errno))
            return
        sl = os.open(b(leaf), os.O_RDONLY, dir_fd=sfd)
        want = os.read(sl, 1 << 20)
        os.close(sl)
        check(got == want, f"the snapshot {depth} levels down reads as its source ({len(got)} bytes)")
        check(os.listdir(fd) == [leaf], f"the directory {depth} levels down lists only {leaf}",
              f"seen {os.listdir(fd)}")
    finally:
        for fd in fds:
            os.close(fd)



# ------------------------------------------------------- hostile names

ODD_SHOWN = [
    b"N" * 251 + b".hxz",                    # 255 bytes, the longest name
    "\u00e9".encode() * 125 + b"x.hxz",       # 255 bytes of two-byte UTF-8
    b"new\nline.hxz", b"\n.hxz", b"\n\n\n.hxz",
    b" leading space.hxz", b"trailing space .hxz", b"   .hxz",
    b"-rf.hxz", b"--help.hxz", b"-o allow_other.hxz", b"-.hxz",
    b"\xff\xfe.hxz", b"bad\x80utf8.hxz", b"\xc3\x28.hxz", b"\xed\xa0\x80surrogate.hxz",
    b"...hxz", b"..hxz", b".. .hxz", b".hxz", b". .hxz",
    b"..%2f..%2fetc%2fpasswd.hxz", b"..\\..\\x.hxz",
    b"tab\there.hxz", b"esc\x1b[31mred.hxz", b"\x01\x02.hxz", b"del\x7f.hxz",
    b"quote\"'`$(x).hxz", b"*?[glob].hxz", b"comma,=.hxz",
]
ODD_HIDDEN = [
    b"N" * 252 + b".hx", b"x.HXZ", b"x.hxz ", b"x.hxz.", b"x.hxz\n", b"hxz", b".hxz~",
    b"-rf", b"\xff\xfe",
]


def cmd_make_odd_names(sdir):
    for n in ODD_SHOWN + ODD_HIDDEN:
        with open(os.path.join(b(sdir), n), "wb") as f:
            f.write(b"content of " + n + b"\n")
    print(f"made {len(ODD_SHOWN)} odd snapshot names and {len(ODD_HIDDEN)} odd other names")


def cmd_check_odd_names(mdir, sdir):
    """The mount lists exactly the odd names ending in .hxz, each reads as
    its source; the others are not found; over-long names fail cleanly."""
    try:
        seen = set(os.listdir(b(mdir)))
    except OSError as e:
        fail("listing of the odd names", errname(e.errno))
        return
    missing = [show(n) for n in ODD_SHOWN if n not in seen]
    extra = [show(n) for n in seen if n not in ODD_SHOWN]
    check(not missing and not extra,
          f"listing shows exactly the {len(ODD_SHOWN)} odd names ending in .hxz",
          f"missing: {missing}", f"extra: {extra}")
    bad = []
    for n in ODD_SHOWN:
        try:
            with open(os.path.join(b(mdir), n), "rb") as f:
                got = f.read()
            if got != b"content of " + n + b"\n":
                bad.append(f"{show(n)}: wrong content {got[:40]!r}")
            st = os.stat(os.path.join(b(mdir), n))
            if not stat.S_ISREG(st.st_mode):
                bad.append(f"{show(n)}: not a regular file")
        except OSError as e:
            bad.append(f"{show(n)}: {errname(e.errno)}")
    check(not bad, f"each of the {len(ODD_SHOWN)} odd names stats and reads as its source", *bad[:10])
    bad = [show(n) + ": " + outcome("stat", os.path.join(b(mdir), n)) for n in ODD_HIDDEN
           if outcome("stat", os.path.join(b(mdir), n)) != "ENOENT"]
    check(not bad, f"the {len(ODD_HIDDEN)} odd names not ending in .hxz are not found", *bad)
    for what, name in [("a 256-byte name", b"N" * 252 + b".hxz"),
                       ("a 1000-byte name", b"M" * 996 + b".hxz")]:
        seen = outcome("stat", os.path.join(b(mdir), name))
        check(seen == "ENAMETOOLONG", f"{what}: ENAMETOOLONG", f"seen {seen}")
    long_path = os.path.join(b(mdir), *([b"x" * 200] * 25), b"y.hxz")
    seen = outcome("stat", long_path)
    check(seen in ("ENAMETOOLONG", "ENOENT"), f"a {len(long_path)}-byte path: ENAMETOOLONG or ENOENT",
          f"seen {seen}")


def cmd_make_deep(sroot, name, depth, leaf):
    fd = os.open(b(sroot), os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(int(depth)):
        os.mkdir(b(name), dir_fd=fd)
        nfd = os.open(b(name), os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = nfd
    lfd = os.open(b(leaf), os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
    os.write(lfd, b"deep down " + b(name) + b" " + b(depth) + b"\n")
    os.close(lfd)
    os.close(fd)


# ------------------------------------------------------ symlink policies

INSIDE_CONTENT = b"inside plain\n"
OUTSIDE_CONTENT = b"OUTSIDE SECRET\n"


def link_set(sdir, outdir, twindir):
    """name -> (target, kind): kind is inside, outside or hidden."""
    sname = os.path.basename(b(sdir))
    out = b(outdir)
    return {
        b"in-rel.hxz": (b"plain.hxz", "inside"),
        b"in-via-out.hxz": (b"../" + sname + b"/plain.hxz", "inside"),
        b"in-via-proc.hxz": (b"/proc/self/root" + b(sdir) + b"/plain.hxz", "inside"),
        b"via-dirloop.hxz": (b"dirloop/dirloop/dirloop/plain.hxz", "inside"),
        b"out-abs.hxz": (out + b"/secret.hxz", "outside"),
        b"out-rel.hxz": (b"../" + os.path.basename(out) + b"/secret.hxz", "outside"),
        b"out-dotdot.hxz": (b"../" * 40 + out.lstrip(b"/") + b"/secret.hxz", "outside"),
        b"out-proc-root.hxz": (b"/proc/self/root" + out + b"/secret.hxz", "outside"),
        b"out-proc-cwd.hxz": (b"/proc/self/cwd" + out + b"/secret.hxz", "outside"),
        b"out-twin.hxz": (b(twindir) + b"/secret.hxz", "outside"),
        b"loop-a.hxz": (b"loop-b.hxz", "hidden"),
        b"loop-b.hxz": (b"loop-a.hxz", "hidden"),
        b"self.hxz": (b"self.hxz", "hidden"),
        b"dirloop": (b".", "hidden"),
        b"dirloop.hxz": (b".", "hidden"),
        b"out-dir.hxz": (out, "hidden"),
        b"dev-zero.hxz": (b"/dev/zero", "hidden"),
        b"dangling.hxz": (b"nowhere.hxz", "hidden"),
        b"dangling-out.hxz": (out + b"/nowhere.hxz", "hidden"),
    }


def cmd_make_links(sdir, outdir, twindir):
    with open(os.path.join(b(sdir), b"plain.hxz"), "wb") as f:
        f.write(INSIDE_CONTENT)
    for d in (outdir, twindir):
        with open(os.path.join(b(d), b"secret.hxz"), "wb") as f:
            f.write(OUTSIDE_CONTENT)
    for name, (target, _) in link_set(sdir, outdir, twindir).items():
        os.symlink(target, os.path.join(b(sdir), name))
    # Chains: 30 links (resolves; the kernel allows 40), 41 links (ELOOP).
    for sub, length in ((b"chain30", 30), (b"chain41", 41)):
        d = os.path.join(b(sdir), sub)
        os.mkdir(d)
        for i in range(length):
            nxt = b"../plain.hxz" if i == length - 1 else b"c%02d.hxz" % (i + 1)
            os.symlink(nxt, os.path.join(d, b"c%02d.hxz" % i))
    print("made the links")


def cmd_check_links(mdir, sdir, outdir, twindir, policy):
    """What the mount shows of the links under POLICY (inside, any, none):
    exactly the allowed ones, each with its target's content; nothing else
    is found; nothing outside SNAPSHOT_DIR is ever served under inside."""
    links = link_set(sdir, outdir, twindir)
    allowed = {"inside": {"inside"}, "any": {"inside", "outside"}, "none": set()}[policy]
    want = {b"plain.hxz", b"chain30", b"chain41"} | {n for n, (_, k) in links.items() if k in allowed}
    try:
        seen = set(os.listdir(b(mdir)))
    except OSError as e:
        fail(f"[{policy}] listing", errname(e.errno))
        return
    check(seen == want, f"[{policy}] the listing shows exactly the links the policy allows",
          f"missing: {sorted(show(n) for n in want - seen)}",
          f"extra: {sorted(show(n) for n in seen - want)}")
    bad = []
    for name, (target, kind) in links.items():
        path = os.path.join(b(mdir), name)
        if kind in allowed:
            try:
                with open(path, "rb") as f:
                    got = f.read()
                expect = INSIDE_CONTENT if kind == "inside" else OUTSIDE_CONTENT
                if got != expect:
                    bad.append(f"{show(name)}: read {got[:30]!r}")
            except OSError as e:
                bad.append(f"{show(name)}: {errname(e.errno)}")
        else:
            for op in ("stat", "open"):
                o = outcome(op, path)
                if o != "ENOENT":
                    bad.append(f"{show(name)} -> {show(target)}: {op} gives {o}, not ENOENT")
    check(not bad, f"[{policy}] each allowed link reads its target; every other link is not found",
          *bad[:12])
    c30 = outcome("read", os.path.join(b(mdir), b"chain30", b"c00.hxz"))
    check(c30 == ("ENOENT" if policy == "none" else "OK"),
          f"[{policy}] a chain of 30 links: {'not found' if policy == 'none' else 'reads'}", f"seen {c30}")
    c41 = outcome("stat", os.path.join(b(mdir), b"chain41", b"c00.hxz"))
    check(c41 == "ENOENT", f"[{policy}] a chain of 41 links (ELOOP): not found", f"seen {c41}")
    if policy != "any":
        leaked = []
        for root, dirs, files in os.walk(b(mdir)):
            for f in files:
                try:
                    with open(os.path.join(root, f), "rb") as fh:
                        if OUTSIDE_CONTENT in fh.read():
                            leaked.append(show(os.path.join(root, f)))
                except OSError:
                    pass
        check(not leaked, f"[{policy}] no file in the whole mount has content from outside SNAPSHOT_DIR",
              *leaked[:5])



# -------------------------------------------------- swapped under reads

SWAP_INSIDE = b"inside swap\n"


def cmd_make_swap(sdir, outdir):
    """swing.hxz (a link to plain) and sub/ (a directory) in SDIR; twins
    swing.alt and subalt pointing outside, for cmd_swap_race to exchange."""
    s, o = b(sdir), b(outdir)
    with open(os.path.join(s, b"plain.hxz"), "wb") as f:
        f.write(SWAP_INSIDE)
    os.mkdir(os.path.join(s, b"sub"))
    with open(os.path.join(s, b"sub", b"x.hxz"), "wb") as f:
        f.write(SWAP_INSIDE)
    for name in (b"secret.hxz", b"x.hxz"):
        with open(os.path.join(o, name), "wb") as f:
            f.write(OUTSIDE_CONTENT)
    os.symlink(b"plain.hxz", os.path.join(s, b"swing.hxz"))
    os.symlink(os.path.join(o, b"secret.hxz"), os.path.join(s, b"swing.alt"))
    os.symlink(o, os.path.join(s, b"subalt"))


def cmd_swap_race(mdir, sdir, seconds, label):
    """For SECONDS, one thread swaps (renameat2 RENAME_EXCHANGE, atomic)
    swing.hxz with swing.alt and sub/ with subalt, again and again, while
    two threads open and read MDIR/swing.hxz and MDIR/sub/x.hxz: they read
    the inside content or get ENOENT/ESTALE, never the outside content."""
    import ctypes
    import threading
    libc = ctypes.CDLL(None, use_errno=True)
    dfd = os.open(b(sdir), os.O_RDONLY | os.O_DIRECTORY)
    stop = time.monotonic() + float(seconds)
    counts = {"swaps": 0, "inside": 0, "OUTSIDE": 0}
    errors = {}
    lock = threading.Lock()

    def exchange(a, c):
        if libc.renameat2(dfd, a, dfd, c, 2) != 0:  # RENAME_EXCHANGE
            raise OSError(ctypes.get_errno(), "renameat2")

    def swapper():
        while time.monotonic() < stop:
            exchange(b"swing.hxz", b"swing.alt")
            exchange(b"sub", b"subalt")
            counts["swaps"] += 1

    def reader():
        paths = [os.path.join(b(mdir), b"swing.hxz"), os.path.join(b(mdir), b"sub", b"x.hxz")]
        i = 0
        while time.monotonic() < stop:
            i += 1
            try:
                with open(paths[i % 2], "rb") as f:
                    got = f.read()
                key = "inside" if got == SWAP_INSIDE else ("OUTSIDE" if OUTSIDE_CONTENT in got else None)
                with lock:
                    if key:
                        counts[key] += 1
                    else:
                        errors["other content"] = errors.get("other content", 0) + 1
            except OSError as e:
                with lock:
                    errors[errname(e.errno)] = errors.get(errname(e.errno), 0) + 1

    threads = [threading.Thread(target=swapper)] + [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    os.close(dfd)
    print(f"  [{label}] {counts['swaps']} swaps; reads: {counts['inside']} inside, "
          f"{counts['OUTSIDE']} outside; errors {errors}", flush=True)
    check(counts["OUTSIDE"] == 0, f"[{label}] links and directories swapped to outside under "
          f"{counts['inside'] + sum(errors.values())} reads: nothing from outside is served")
    check(set(errors) <= {"ENOENT", "ESTALE"}, f"[{label}] the reads fail only with ENOENT or ESTALE",
          f"errors: {errors}")
    check(counts["inside"] > 0 and counts["swaps"] > 100, f"[{label}] the race ran (reads and swaps)")



# ------------------------------------------- an inode number used twice

def cmd_ino_reuse(mdir, sdir):
    """A handle stays open on an empty snapshot (which no mapping pins)
    while its file is deleted and a new, larger snapshot takes its name and,
    as ext4 readily does, its inode number. The two versions must stay apart:
    the old handle reads the empty version, the new one reads its 300,000
    bytes, before and after the old handle read (a short read there must
    not cut the new version short)."""
    m, s = b(mdir), b(sdir)
    name = b"reused.hxz"
    open(os.path.join(s, name), "wb").close()
    ino = os.stat(os.path.join(s, name)).st_ino
    old = os.open(os.path.join(m, name), os.O_RDONLY)
    try:
        os.unlink(os.path.join(s, name))
        data = bytes((i * 7 + 13) & 0xFF for i in range(300000))
        tmp = os.path.join(s, b".incoming")
        for tries in range(500):
            with open(tmp, "wb") as f:
                f.write(data)
            if os.stat(tmp).st_ino == ino:
                break
            os.unlink(tmp)
        else:
            print("  the filesystem under the test did not reuse the inode number: not checked")
            return
        os.rename(tmp, os.path.join(s, name))
        print(f"  the new version took inode number {ino} after {tries + 1} tries")
        time.sleep(1.1)  # the entry timeout: the name is looked up again
        new = os.open(os.path.join(m, name), os.O_RDONLY)
        try:
            got = os.pread(new, 4096, 200000)
            check(got == data[200000:204096], "inode number reused: the new handle reads its version",
                  f"{len(got)} bytes")
            size = os.fstat(old).st_size
            check(size == 0, "inode number reused: fstat of the old handle shows the empty version",
                  f"size {size}")
            got = os.pread(old, 4096, 100)
            check(got == b"", "inode number reused: the old handle still reads its empty version",
                  f"{len(got)} bytes, {'the new version' if got == data[100:100 + len(got)] else 'other'}")
            got = os.pread(new, 4096, 250000)
            check(got == data[250000:254096],
                  "inode number reused: the new handle reads at 250000 after the old one read",
                  f"{len(got)} bytes (4096 expected); fstat of it now says size {os.fstat(new).st_size}")
        finally:
            os.close(new)
    finally:
        os.close(old)



def cmd_ino_reuse_cached(mdir, sdir):
    """A snapshot (300,000 bytes) is read and closed through the mount, then
    deleted; within the entry timeout a new one (400,000 bytes) takes its
    name and, as ext4 readily does, its inode number. An open through the
    name the kernel still has cached must read the new version whole: its
    400,000 bytes, not the old length."""
    m, s = b(mdir), b(sdir)
    name = b"recycled.hxz"
    old_data = bytes((i * 5 + 1) & 0xFF for i in range(300000))
    new_data = bytes((i * 11 + 3) & 0xFF for i in range(400000))
    with open(os.path.join(s, name), "wb") as f:
        f.write(old_data)
    ino = os.stat(os.path.join(s, name)).st_ino
    time.sleep(1.1)
    t0 = time.monotonic()
    fd = os.open(os.path.join(m, name), os.O_RDONLY)   # looked up now: cached 1 s
    os.pread(fd, 4096, 0)
    os.unlink(os.path.join(s, name))
    os.close(fd)  # the last handle: its mapping goes, nothing pins the inode
    tmp = os.path.join(s, b".incoming")
    for tries in range(500):
        with open(tmp, "wb") as f:
            f.write(new_data)
        if os.stat(tmp).st_ino == ino:
            break
        os.unlink(tmp)
    else:
        print("  the filesystem under the test did not reuse the inode number: not checked")
        return
    os.rename(tmp, os.path.join(s, name))
    elapsed = time.monotonic() - t0
    if elapsed > 0.8:
        print(f"  too slow ({elapsed:.2f} s): the kernel's entry may have expired; not checked")
        return
    print(f"  the new version took inode number {ino} after {tries + 1} tries, {elapsed:.3f} s")
    fd = os.open(os.path.join(m, name), os.O_RDONLY)
    try:
        got = b""
        while True:
            chunk = os.pread(fd, 1 << 20, len(got))
            if not chunk:
                break
            got += chunk
        check(got == new_data, "inode number reused by a new file under a cached name: it reads whole",
              f"read {len(got)} bytes of {len(new_data)}; "
              f"{'the bytes read are right' if got == new_data[:len(got)] else 'WRONG BYTES'}")
    finally:
        os.close(fd)


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
